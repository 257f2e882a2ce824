package io.replicant.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ReplicantUrlTest {
    private static ReplicantConfig parse(String url, Properties info) {
        return ReplicantUrl.parse(url, info, Map.of(), ReplicantUrlTest.class.getClassLoader());
    }

    @Test
    void hostsDatabaseAndOptions() {
        ReplicantConfig config = parse("jdbc:replicant:postgresql://db1:5433,db2,[::1]:6000/app?user=u&password=p%40ss"
                + "&load_balance=random&pool.max_size=3&read_only_functions=a,b&sslmode=disable", null);
        assertEquals(List.of(HostSpec.of("db1", 5433), HostSpec.of("db2", 5432), HostSpec.of("::1", 6000)), config.hosts());
        assertEquals("app", config.get(ReplicantOptions.DATABASE));
        assertEquals("p@ss", config.get(ReplicantOptions.PASSWORD));
        assertEquals("random", config.get(ReplicantOptions.LOAD_BALANCE));
        assertEquals(3, config.get(ReplicantOptions.POOL_MAX_SIZE));
        assertEquals(List.of("a", "b"), config.get(ReplicantOptions.READ_ONLY_FUNCTIONS));
        assertEquals(Map.of("sslmode", "disable"), config.jdbcProperties());
        assertFalse(config.source().contains("p@ss"));
    }

    @Test
    void urlParametersWinOverProperties() {
        Properties info = new Properties();
        info.setProperty("user", "from-props");
        info.setProperty("load_balance", "random");
        ReplicantConfig config = parse("jdbc:replicant:postgresql://h/db?load_balance=weighted", info);
        assertEquals("from-props", config.get(ReplicantOptions.USER));
        assertEquals("weighted", config.get(ReplicantOptions.LOAD_BALANCE));
    }

    @Test
    void fileAndClasspathConfigurations(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("r.yaml");
        Files.writeString(file, "hosts: [f1, f2]\ndatabase: filedb\n");
        ReplicantConfig fromFile = parse("jdbc:replicant:file:" + file + "?user=x", null);
        assertEquals(2, fromFile.hosts().size());
        assertEquals("filedb", fromFile.get(ReplicantOptions.DATABASE));
        assertEquals("x", fromFile.get(ReplicantOptions.USER));

        ReplicantConfig fromClasspath = parse("jdbc:replicant:classpath:test-replicant.yaml", null);
        assertEquals("classpath-db", fromClasspath.get(ReplicantOptions.DATABASE));
    }

    @Test
    void connectionSecurityPropertiesAreCheckedWhereTheyAreSet() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> parse("jdbc:replicant:postgresql://a/db?channelBinding=always", null));
        assertEquals("channelBinding: expected one of disable | prefer | require, got 'always' (URL parameter)",
                e.getMessage());
        assertEquals(Map.of("sslmode", "verify-full"),
                parse("jdbc:replicant:postgresql://a/db?sslmode=VERIFY-FULL", null).jdbcProperties());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "jdbc:replicant:mysql://h/db                 | 08001 | malformed URL: unknown sub-protocol 'mysql'; expected postgresql://, file: or classpath:",
            "jdbc:replicant:postgresql:///db             | 08001 | malformed URL: no host given; expected jdbc:replicant:postgresql://primary[:port],replica[:port]/database",
            "jdbc:replicant:postgresql://a,,b/db         | 08001 | malformed URL: empty host at position 2 of the host list",
            "jdbc:replicant:postgresql://a:99x/db        | 08001 | host 1: expected an integer 1..65535, got '99x' (URL)",
            "jdbc:replicant:postgresql://u:pw@a/db       | 08001 | malformed URL: credentials in the host part are not supported; use ?user=…&password=… or Properties",
            "jdbc:replicant:postgresql://a/db?foo        | 08001 | malformed URL: URL parameter 'foo' is not of the form name=value",
            "jdbc:replicant:postgresql://a/db?load_balanc=random | 22023 | load_balanc: unknown option; did you mean 'load_balance'? (neither a Replicant option nor a pgjdbc connection property) (URL parameter)",
            "jdbc:replicant:postgresql://a/db?pool.max_size=x    | 22023 | pool.max_size: expected an integer 1..10000, got 'x' (URL parameter)",
            "jdbc:replicant:file:/no/such/replicant.yaml | 58030 | configuration file not found: /no/such/replicant.yaml",
            "jdbc:replicant:classpath:missing.yaml       | 58030 | classpath resource not found: missing.yaml",
    })
    void badUrls(String url, String sqlState, String message) {
        ConfigException e = assertThrows(ConfigException.class, () -> parse(url, null));
        assertEquals(message, e.getMessage());
        assertEquals(sqlState, e.sqlState().code());
    }

    @Test
    void passwordsNeverAppearInErrors() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> parse("jdbc:replicant:postgresql://a/db?password=hunter2&pool.max_size=0", null));
        assertFalse(e.getMessage().contains("hunter2"));
        assertTrue(ReplicantUrl.accepts("jdbc:replicant:anything"));
        assertFalse(ReplicantUrl.accepts("jdbc:postgresql://a/db"));
    }
}
