package io.replicant.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class YamlConfigLoaderTest {
    private static final Map<String, String> ENV = Map.of("DB_PASSWORD", "s3cret");

    private static ReplicantConfig load(String yaml) {
        return YamlConfigLoader.parse("replicant.yaml", yaml, ENV).build();
    }

    /** The shipped example stays valid as options change. */
    @Test
    void exampleConfigurationLoads() throws java.io.IOException {
        String yaml = java.nio.file.Files.readString(java.nio.file.Path.of("..", "examples", "replicant.yaml"));
        ReplicantConfig config = YamlConfigLoader.parse("replicant.yaml", yaml, Map.of("APP_DB_PASSWORD", "x")).build();
        assertEquals("session", config.get(ReplicantOptions.CONSISTENCY));
        assertEquals(16L << 20, config.get(ReplicantOptions.LAG_MAX_BYTES));
        assertEquals(3, config.hosts().size());
    }

    @Test
    void readsAFullConfiguration() {
        ReplicantConfig config = load(String.join("\n",
                "hosts:",
                "  - db1:5432",
                "  - host: db2",
                "    weight: 3",
                "    tags: [reporting]",
                "  - \"[::1]:5433\"",
                "database: app",
                "user: app",
                "password: ${DB_PASSWORD}",
                "primary: first",
                "load_balance: weighted",
                "read_only_functions: [f1, f2]",
                "pool:",
                "  max_size: 4",
                "  connect_timeout: 2s",
                "rules:",
                "  - name: reports",
                "    match: { kind: [select], tables: '^report_' }",
                "    route: replica",
                "    tag: reporting",
                "  - match: { hint: urgent }",
                "    route: primary",
                "jdbc:",
                "  sslmode: disable",
                ""));
        assertEquals(List.of(HostSpec.of("db1", 5432), new HostSpec("db2", 5432, 3, List.of("reporting")),
                HostSpec.of("::1", 5433)), config.hosts());
        assertEquals("s3cret", config.get(ReplicantOptions.PASSWORD));
        assertEquals("weighted", config.get(ReplicantOptions.LOAD_BALANCE));
        assertEquals(List.of("f1", "f2"), config.get(ReplicantOptions.READ_ONLY_FUNCTIONS));
        assertEquals(4, config.get(ReplicantOptions.POOL_MAX_SIZE));
        assertEquals(Duration.ofSeconds(2), config.get(ReplicantOptions.POOL_CONNECT_TIMEOUT));
        assertEquals(Duration.ofMinutes(10), config.get(ReplicantOptions.POOL_IDLE_TIMEOUT), "default");
        assertEquals(2, config.rules().size());
        RuleSpec first = config.rules().get(0);
        assertEquals("reports", first.name());
        assertEquals(Set.of(StatementKind.SELECT), first.kinds());
        assertEquals(RuleSpec.Target.REPLICA, first.route());
        assertEquals("reporting", first.tag());
        assertTrue(first.tables().matcher("report_daily").find());
        assertEquals("rules[1]", config.rules().get(1).name());
        assertEquals(Map.of("sslmode", "disable"), config.jdbcProperties());
        assertEquals("********", config.options().describe().get("password"));
    }

    @Test
    void cdcExampleLoads() throws java.io.IOException {
        String yaml = java.nio.file.Files.readString(java.nio.file.Path.of("..", "examples", "cdc.yaml"));
        ReplicantConfig config = YamlConfigLoader.parse("cdc.yaml", yaml,
                Map.of("REPLICATOR_PASSWORD", "x", "REPORTING_PASSWORD", "y")).build();
        assertEquals(2, config.followers().size());
        assertEquals(Map.of("public.orders", "sales.orders", "public.customers.name", "full_name"),
                config.followers().get(0).rename());
        String docker = java.nio.file.Files.readString(java.nio.file.Path.of("..", "docker", "cdc.yaml"));
        assertEquals("reports", YamlConfigLoader.parse("cdc.yaml", docker, Map.of("APP_DB_PASSWORD", "x")).build()
                .followers().get(0).name());
    }

    @Test
    void dockerProxyConfigLoads() throws java.io.IOException {
        String yaml = java.nio.file.Files.readString(java.nio.file.Path.of("..", "docker", "replicant.yaml"));
        ReplicantConfig config = YamlConfigLoader.parse("replicant.yaml", yaml, Map.of("APP_DB_PASSWORD", "x")).build();
        assertEquals("transaction", config.get(ReplicantOptions.PROXY_POOL_MODE));
        assertEquals(20, config.get(ReplicantOptions.PROXY_POOL_SIZE));
    }

    @Test
    void readsCdcFollowers() {
        ReplicantConfig config = load(String.join("\n",
                "hosts: [db1]",
                "cdc:",
                "  slot: reporting",
                "  tables: ['public\\.orders', 'public\\.customers']",
                "  followers:",
                "    - name: reports",
                "      url: jdbc:postgresql://r1/reports",
                "      user: reporter",
                "      password: ${DB_PASSWORD}",
                "      tables: ['public\\.orders']",
                "      rename: {public.orders: sales.orders}",
                "      create_tables: true",
                "      schema_evolution: basic",
                "      on_error: skip_and_log",
                "    - name: cache",
                "      url: 'jdbc:h2:mem:cache'"));
        assertEquals("reporting", config.get(ReplicantOptions.CDC_SLOT));
        assertEquals(List.of("public\\.orders", "public\\.customers"), config.get(ReplicantOptions.CDC_TABLES));
        assertEquals(2, config.followers().size());
        FollowerSpec reports = config.followers().get(0);
        assertEquals("reports", reports.name());
        assertEquals("jdbc:postgresql://r1/reports", reports.url());
        assertEquals("reporter", reports.user());
        assertEquals(Map.of("public.orders", "sales.orders"), reports.rename());
        assertTrue(reports.createTables());
        assertEquals(FollowerSpec.SchemaEvolution.BASIC, reports.schemaEvolution());
        assertEquals(FollowerSpec.OnError.SKIP_AND_LOG, reports.onError());
        assertFalse(reports.toString().contains("s3cret"));
        assertEquals("follower x (jdbc:postgresql://h/db?user=u&password=********&ssl=true)", new FollowerSpec("x",
                "jdbc:postgresql://h/db?user=u&password=hunter2&ssl=true", null, null, List.of(), List.of(), Map.of(),
                false, FollowerSpec.SchemaEvolution.NONE, FollowerSpec.OnError.STOP, null, "").toString());
        FollowerSpec cache = config.followers().get(1);
        assertFalse(cache.createTables());
        assertEquals(FollowerSpec.OnError.STOP, cache.onError());
        assertEquals(List.of(), cache.tables());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '¦', quoteCharacter = '`', value = {
            "unknown key suggests ¦ `hosts: [a]\nload_balanse: random` ¦ load_balanse: unknown key; did you mean 'load_balance'? (replicant.yaml:2)",
            "bad integer ¦ `hosts: [a]\npool:\n  max_size: abc` ¦ pool.max_size: expected an integer 1..10000, got 'abc' (replicant.yaml:3)",
            "integer out of range ¦ `hosts: [a]\npool:\n  max_size: 0` ¦ pool.max_size: expected an integer 1..10000, got '0' (replicant.yaml:3)",
            "unknown nested key ¦ `hosts: [a]\npool:\n  max_sise: 3` ¦ pool.max_sise: unknown key; did you mean 'max_size'? (replicant.yaml:3)",
            "bad enum ¦ `hosts: [a]\nprimary_reads: sometimes` ¦ primary_reads: expected one of never | when_no_replica | always, got 'sometimes' (replicant.yaml:2)",
            "enum is case-exact ¦ `hosts: [a]\nload_balance: Random` ¦ load_balance: expected one of round_robin | random | weighted | least_in_flight, got 'Random' (replicant.yaml:2)",
            "duration needs unit ¦ `hosts: [a]\npool: {connect_timeout: 5}` ¦ pool.connect_timeout: expected a duration like 250ms, 10s, 5m or 1h, between 250ms and 1h, got '5' (replicant.yaml:2)",
            "bad port ¦ `hosts:\n  - db1\n  - host: db2\n    port: 99999` ¦ hosts[1].port: expected an integer 1..65535, got '99999' (replicant.yaml:4)",
            "bad host:port ¦ `hosts:\n  - db1:x` ¦ hosts[0]: expected an integer 1..65535, got 'x' (replicant.yaml:2)",
            "host missing ¦ `hosts:\n  - port: 5432` ¦ hosts[0].host: is required (replicant.yaml:2)",
            "unknown host key ¦ `hosts:\n  - host: a\n    wieght: 2` ¦ hosts[0].wieght: unknown key; did you mean 'weight'? (replicant.yaml:3)",
            "bad replication ¦ `hosts:\n  - db1\n  - {host: db2, replication: logical}` ¦ hosts[1].replication: expected one of streaming | cdc, got 'logical' (replicant.yaml:3)",
            "cdc host without tag ¦ `hosts:\n  - db1\n  - {host: db2, replication: cdc}` ¦ hosts[1].tags: a CDC follower (replication: cdc) serves only reads routed to one of its tags by a rule or a hint; give it at least one tag (replicant.yaml:3)",
            "no hosts ¦ `database: app` ¦ hosts: at least one host is required (the primary) (replicant.yaml)",
            "duplicate key ¦ `hosts: [a]\nuser: x\nuser: y` ¦ user: duplicate key (replicant.yaml:3)",
            "missing env var ¦ `hosts: [a]\npassword: ${NOT_SET_ANYWHERE}` ¦ password: environment variable NOT_SET_ANYWHERE is not set (replicant.yaml:2)",
            "unknown rule kind ¦ `hosts: [a]\nrules:\n  - match: {kind: selekt}\n    route: replica` ¦ rules[0].match.kind: unknown statement kind 'selekt'; did you mean 'select'? (one of select, values, table, show, explain, insert, update, delete, merge, truncate, copy, ddl, call, do, lock, grant, maintenance, listen, notify, set, reset, discard, begin, commit, rollback, savepoint, prepare, execute, deallocate, cursor, other) (replicant.yaml:3)",
            "bad regex ¦ `hosts: [a]\nrules:\n  - match: {tables: '(unclosed'}\n    route: replica` ¦ rules[0].match.tables: invalid regular expression: Unclosed group (replicant.yaml:3)",
            "route missing ¦ `hosts: [a]\nrules:\n  - match: {kind: select}` ¦ rules[0].route: is required (primary | replica | any) (replicant.yaml:3)",
            "tag needs replica ¦ `hosts: [a]\nrules:\n  - route: primary\n    tag: x` ¦ rules[0].tag: only applies with route: replica (replicant.yaml:3)",
            "unknown jdbc prop ¦ `hosts: [a]\njdbc:\n  sslmodee: require` ¦ jdbc.sslmodee: unknown pgjdbc connection property; did you mean 'sslmode'? (replicant.yaml:3)",
            "bad sslmode ¦ `hosts: [a]\njdbc:\n  sslmode: verfy-full` ¦ jdbc.sslmode: expected one of disable | allow | prefer | require | verify-ca | verify-full, got 'verfy-full' (replicant.yaml:3)",
            "scalar for mapping ¦ `hosts: [a]\npool: 5` ¦ pool: expected a mapping of keys to values (replicant.yaml:2)",
            "list for scalar ¦ `hosts: [a]\nuser: [a, b]` ¦ user: expected a single value (replicant.yaml:2)",
            "syntax error ¦ `hosts: [a\nuser: x` ¦ invalid YAML: expected ',' or ']', but got : (replicant.yaml:2)",
            "unknown follower key ¦ `hosts: [a]\ncdc:\n  followers:\n    - name: f\n      url: jdbc:h2:mem:x\n      on_eror: stop` ¦ cdc.followers[0].on_eror: unknown key; did you mean 'on_error'? (replicant.yaml:6)",
            "follower url missing ¦ `hosts: [a]\ncdc:\n  followers:\n    - name: f` ¦ cdc.followers[0].url: is required (replicant.yaml:4)",
            "follower url not jdbc ¦ `hosts: [a]\ncdc:\n  followers:\n    - {name: f, url: 'postgres://x'}` ¦ cdc.followers[0].url: expected a JDBC URL (jdbc:postgresql:… or jdbc:h2:…) (replicant.yaml:4)",
            "duplicate follower ¦ `hosts: [a]\ncdc:\n  followers:\n    - {name: f, url: 'jdbc:h2:mem:a'}\n    - {name: f, url: 'jdbc:h2:mem:b'}` ¦ cdc.followers[1].name: duplicate follower name 'f' (replicant.yaml:5)",
            "bad on_error ¦ `hosts: [a]\ncdc:\n  followers:\n    - {name: f, url: 'jdbc:h2:mem:a', on_error: ignore}` ¦ cdc.followers[0].on_error: expected one of stop | skip_and_log, got 'ignore' (replicant.yaml:4)",
            "bad cdc table regex ¦ `hosts: [a]\ncdc:\n  tables: ['public\\.(x']` ¦ cdc.tables: invalid regular expression 'public\\.(x': Unclosed group (replicant.yaml:3)",
            "unknown cdc key ¦ `hosts: [a]\ncdc:\n  folowers: []` ¦ cdc.folowers: unknown key; did you mean 'followers'? (replicant.yaml:3)",
            "empty value ¦ `hosts: [a]\nload_balance:` ¦ load_balance: has no value; one of round_robin | random | weighted | least_in_flight is expected (replicant.yaml:2)",
    })
    void errorsNameThePathAndLine(String name, String yaml, String message) {
        ConfigException e = assertThrows(ConfigException.class, () -> load(yaml));
        assertEquals(message, e.getMessage());
        assertEquals(SqlState.INVALID_PARAMETER_VALUE, e.sqlState());
    }

    @Test
    void environmentDefaultsAndEscapes() {
        ReplicantConfig config = load("hosts: [a]\nuser: ${NO_SUCH_USER_VAR:-fallback}\ndatabase: $${literal}\n");
        assertEquals("fallback", config.get(ReplicantOptions.USER));
        assertEquals("${literal}", config.get(ReplicantOptions.DATABASE));
    }

    @Test
    void aBadSecretIsNeverEchoed() {
        // password is free text, so only an interpolation error can concern it: the message names the variable only
        ConfigException e = assertThrows(ConfigException.class, () -> load("hosts: [a]\npassword: ${BROKEN\n"));
        assertFalse(e.getMessage().contains("s3cret"));
        assertTrue(e.getMessage().startsWith("password: unterminated ${"), e.getMessage());
    }

    @Test
    void theShippedExampleIsValid() {
        ReplicantConfig config = YamlConfigLoader.load(java.nio.file.Path.of("..", "examples", "replicant.yaml"),
                Map.of("APP_DB_PASSWORD", "x")).build();
        assertEquals(3, config.hosts().size());
        assertEquals(2, config.rules().size());
    }
}
