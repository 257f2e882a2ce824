package io.replicant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StatementLog;

/**
 * The routing table, run against a real primary and two streaming replicas. Each case runs on a fresh logical
 * connection; a unique trailing comment marks its statement, and the servers' statement logs show where it ran.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RoutingSuiteIT {
    enum Where {
        PRIMARY, REPLICA, NOWHERE
    }

    enum Mode {
        /** Statement.execute in autocommit. */
        AUTOCOMMIT,
        /** PreparedStatement executed three times (server-side prepared from the second). */
        PREPARED,
        /** setAutoCommit(false), execute, commit. */
        TRANSACTION,
        /** setReadOnly(true) + setAutoCommit(false), execute, rollback. */
        READ_ONLY_TRANSACTION,
        /** setReadOnly(true) in autocommit, which pgjdbc applies to no statement and no SQL BEGIN. */
        READ_ONLY_AUTOCOMMIT
    }

    /**
     * @param setup    statements run first on the same connection (not checked)
     * @param error    expected SQLSTATE, or null for success
     * @param value    expected first column of the first row, or null to skip
     */
    record Case(String name, String sql, Where where, Mode mode, List<String> setup, String error, String value) {
        Case mode(Mode m) {
            return new Case(name, sql, where, m, setup, error, value);
        }

        Case after(String... statements) {
            return new Case(name, sql, where, mode, List.of(statements), error, value);
        }

        Case fails(String sqlState) {
            return new Case(name, sql, where, mode, setup, sqlState, value);
        }

        Case returns(String expected) {
            return new Case(name, sql, where, mode, setup, error, expected);
        }
    }

    private static Case primary(String name, String sql) {
        return new Case(name, sql, Where.PRIMARY, Mode.AUTOCOMMIT, List.of(), null, null);
    }

    private static Case replica(String name, String sql) {
        return new Case(name, sql, Where.REPLICA, Mode.AUTOCOMMIT, List.of(), null, null);
    }

    private static Case nowhere(String name, String sql) {
        return new Case(name, sql, Where.NOWHERE, Mode.AUTOCOMMIT, List.of(), null, null);
    }

    private LocalPostgresCluster cluster;
    private ReplicantDataSource dataSource;
    private final AtomicInteger markers = new AtomicInteger();

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ClusterFixture.setUp(cluster,
                "CREATE TABLE IF NOT EXISTS rt_items (id serial PRIMARY KEY, name text)",
                "INSERT INTO rt_items (name) SELECT 'item' || g FROM generate_series(1, 10) g",
                "CREATE TABLE IF NOT EXISTS rt_trunc (id int)",
                "CREATE SEQUENCE IF NOT EXISTS rt_seq",
                "CREATE SCHEMA IF NOT EXISTS rt_s",
                "CREATE TABLE IF NOT EXISTS rt_s.only_here (v text)",
                "INSERT INTO rt_s.only_here VALUES ('schema rt_s')",
                "CREATE OR REPLACE FUNCTION rt_volatile() RETURNS int VOLATILE LANGUAGE sql AS 'SELECT 1'",
                "CREATE OR REPLACE FUNCTION rt_pure_volatile() RETURNS int VOLATILE LANGUAGE sql AS 'SELECT 2'",
                "CREATE OR REPLACE FUNCTION rt_stable() RETURNS int STABLE LANGUAGE sql AS 'SELECT 3'",
                "CREATE OR REPLACE FUNCTION rt_writer() RETURNS int VOLATILE LANGUAGE sql "
                        + "AS 'INSERT INTO rt_items (name) VALUES (''by function'') RETURNING id'",
                "CREATE OR REPLACE PROCEDURE rt_proc() LANGUAGE sql AS 'SELECT 1'");
        dataSource = ClusterFixture.dataSource(cluster, "read_only_functions=rt_pure_volatile");
    }

    @AfterAll
    void tearDown() {
        dataSource.close();
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        // plain reads go to a replica
        cases.add(replica("select literal", "SELECT 1"));
        cases.add(replica("select by key", "SELECT name FROM rt_items WHERE id = 1").returns("item1"));
        cases.add(replica("aggregate", "SELECT count(*) >= 10 FROM rt_items").returns("t"));
        cases.add(replica("with select", "WITH x AS (SELECT id FROM rt_items) SELECT count(*) > 0 FROM x").returns("t"));
        cases.add(replica("values", "VALUES (1), (2)"));
        cases.add(replica("table", "TABLE rt_s.only_here").returns("schema rt_s"));
        cases.add(replica("parenthesized union", "(SELECT 1) UNION ALL (SELECT 2)"));
        cases.add(replica("show", "SHOW search_path"));
        cases.add(replica("explain", "EXPLAIN SELECT * FROM rt_items"));
        cases.add(replica("explain costs off", "EXPLAIN (COSTS OFF) SELECT 1"));
        cases.add(replica("read-only built-ins", "SELECT random() < 2, now(), clock_timestamp()").returns("t"));
        cases.add(replica("pg_is_in_recovery", "SELECT pg_is_in_recovery()").returns("t"));
        cases.add(replica("stable UDF", "SELECT rt_stable()").returns("3"));
        cases.add(replica("volatile UDF listed in read_only_functions", "SELECT rt_pure_volatile()").returns("2"));
        cases.add(replica("write keyword in a string", "SELECT 'insert into rt_items values (1)'"));
        cases.add(replica("write in a dollar quote", "SELECT $$delete from rt_items$$"));
        cases.add(replica("hint inside a string literal", "SELECT '/* replicant:route=primary */'"));
        cases.add(replica("hint after the statement", "SELECT 1 /* replicant:route=primary */"));
        cases.add(replica("quoted identifier", "SELECT \"name\" FROM rt_items ORDER BY id LIMIT 1").returns("item1"));
        cases.add(replica("order limit offset", "SELECT id FROM rt_items ORDER BY id LIMIT 1 OFFSET 1").returns("2"));
        cases.add(replica("like", "SELECT count(*) > 0 FROM rt_items WHERE name LIKE 'item%'").returns("t"));
        cases.add(replica("self join", "SELECT a.id FROM rt_items a JOIN rt_items b ON a.id = b.id ORDER BY 1 LIMIT 1"));
        cases.add(replica("two reads", "SELECT 1; SELECT 2"));
        cases.add(replica("coalesce max", "SELECT coalesce(max(id), 0) > 0 FROM rt_items").returns("t"));
        cases.add(replica("exists", "SELECT EXISTS (SELECT 1 FROM rt_items)").returns("t"));
        cases.add(replica("set-returning function", "SELECT * FROM generate_series(1, 3) g(i)").returns("1"));
        cases.add(replica("current_setting", "SELECT current_setting('search_path') IS NOT NULL").returns("t"));
        cases.add(replica("json", "SELECT json_build_object('a', 1)::text").returns("{\"a\" : 1}"));
        cases.add(replica("subquery", "SELECT count(*) > 0 FROM rt_items WHERE id IN (SELECT id FROM rt_items)").returns("t"));
        cases.add(replica("window", "SELECT row_number() OVER (ORDER BY id) FROM rt_items LIMIT 1").returns("1"));
        cases.add(replica("cast with typmod", "SELECT 1.234::numeric(10,2)").returns("1.23"));

        // writes go to the primary
        cases.add(primary("insert", "INSERT INTO rt_items (name) VALUES ('x')"));
        cases.add(primary("update", "UPDATE rt_items SET name = name WHERE id = -1"));
        cases.add(primary("delete", "DELETE FROM rt_items WHERE id = -1"));
        cases.add(primary("merge", "MERGE INTO rt_items t USING (SELECT -1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE"));
        cases.add(primary("insert returning", "INSERT INTO rt_items (name) VALUES ('r') RETURNING id > 0").returns("t"));
        cases.add(primary("create table", "CREATE TABLE IF NOT EXISTS rt_ddl (id int)"));
        cases.add(primary("alter table", "ALTER TABLE rt_items ALTER COLUMN name SET DEFAULT 'n'"));
        cases.add(primary("create index", "CREATE INDEX IF NOT EXISTS rt_items_name ON rt_items (name)"));
        cases.add(primary("comment", "COMMENT ON TABLE rt_items IS 'routing suite'"));
        cases.add(primary("truncate", "TRUNCATE rt_trunc"));
        cases.add(primary("call", "CALL rt_proc()"));
        cases.add(primary("do", "DO $$ BEGIN PERFORM 1; END $$"));
        cases.add(primary("lock", "LOCK TABLE rt_items IN SHARE MODE").mode(Mode.TRANSACTION));
        cases.add(primary("grant", "GRANT SELECT ON rt_items TO PUBLIC"));
        cases.add(primary("revoke", "REVOKE SELECT ON rt_items FROM PUBLIC"));
        cases.add(primary("vacuum", "VACUUM rt_trunc"));
        cases.add(primary("analyze", "ANALYZE rt_trunc"));
        cases.add(primary("notify", "NOTIFY rt_channel"));
        cases.add(primary("listen", "LISTEN rt_channel"));
        cases.add(primary("select for update", "SELECT id FROM rt_items WHERE id = 1 FOR UPDATE"));
        cases.add(primary("select for share", "SELECT id FROM rt_items WHERE id = 1 FOR SHARE"));
        cases.add(primary("select for no key update", "SELECT id FROM rt_items WHERE id = 1 FOR NO KEY UPDATE"));
        cases.add(primary("select for key share", "SELECT id FROM rt_items WHERE id = 1 FOR KEY SHARE"));
        cases.add(primary("select into temp", "SELECT * INTO TEMP rt_into_tmp FROM rt_items"));
        cases.add(primary("writable CTE delete", "WITH d AS (DELETE FROM rt_items WHERE id = -1 RETURNING *) SELECT count(*) FROM d"));
        cases.add(primary("writable CTE insert", "WITH i AS (INSERT INTO rt_items (name) VALUES ('cte') RETURNING id) SELECT count(*) FROM i").returns("1"));
        cases.add(primary("multi-statement with a write", "SELECT 1; DELETE FROM rt_items WHERE id = -1"));
        cases.add(primary("nextval", "SELECT nextval('rt_seq') > 0").returns("t"));
        cases.add(primary("setval", "SELECT setval('rt_seq', 1000)"));
        cases.add(primary("currval", "SELECT currval('rt_seq') > 0").after("SELECT nextval('rt_seq')").returns("t"));
        cases.add(primary("lastval", "SELECT lastval() > 0").after("SELECT nextval('rt_seq')").returns("t"));
        cases.add(primary("advisory lock", "SELECT pg_advisory_lock(4242)"));
        cases.add(primary("try advisory lock", "SELECT pg_try_advisory_lock(4243)").returns("t"));
        cases.add(primary("set_config", "SELECT set_config('rt.x', 'y', false)").returns("y"));
        cases.add(primary("pg_notify", "SELECT pg_notify('rt_channel', 'payload')"));
        cases.add(primary("txid_current", "SELECT txid_current() > 0").returns("t"));
        cases.add(primary("pg_current_xact_id", "SELECT pg_current_xact_id() IS NOT NULL").returns("t"));
        cases.add(primary("volatile UDF", "SELECT rt_volatile()").returns("1"));
        cases.add(primary("writing UDF", "SELECT rt_writer() > 0").returns("t"));
        cases.add(primary("large object", "SELECT lo_unlink(lo_create(0))").returns("1"));
        cases.add(primary("unparseable jsonpath operator", "SELECT '{\"a\": 1}'::jsonb @? '$.a'").returns("t"));
        cases.add(primary("explain analyze", "EXPLAIN ANALYZE SELECT 1"));

        // session state
        cases.add(primary("set search_path", "SET search_path TO rt_s, public"));
        cases.add(replica("unqualified select after SET search_path", "SELECT v FROM only_here")
                .after("SET search_path TO rt_s, public").returns("schema rt_s"));
        cases.add(replica("show after SET search_path", "SHOW search_path")
                .after("SET search_path TO rt_s, public").returns("rt_s, public"));
        cases.add(replica("timezone replayed", "SHOW timezone").after("SET timezone = 'Asia/Tokyo'").returns("Asia/Tokyo"));
        cases.add(replica("reset replayed", "SELECT current_setting('timezone') <> 'Asia/Tokyo'")
                .after("SET timezone = 'Asia/Tokyo'", "RESET timezone").returns("t"));
        cases.add(primary("create temp table", "CREATE TEMP TABLE rt_tmp (id int)"));
        cases.add(primary("select from temp table", "SELECT count(*) FROM rt_tmp").after("CREATE TEMP TABLE rt_tmp (id int)")
                .returns("0"));
        cases.add(replica("other table with a temp table around", "SELECT count(*) > 0 FROM rt_items")
                .after("CREATE TEMP TABLE rt_tmp (id int)").returns("t"));
        cases.add(primary("sql prepare", "PREPARE rt_p AS SELECT 1"));
        cases.add(primary("sql execute", "EXECUTE rt_p").after("PREPARE rt_p AS SELECT 1").returns("1"));
        cases.add(primary("deallocate", "DEALLOCATE rt_p").after("PREPARE rt_p AS SELECT 1"));
        cases.add(primary("reset all", "RESET ALL"));
        cases.add(primary("reads after LISTEN stay on the primary", "SELECT 1").after("LISTEN rt_channel"));

        // transactions
        cases.add(primary("read in a read-write transaction", "SELECT 1").mode(Mode.TRANSACTION));
        cases.add(primary("write in a read-write transaction", "INSERT INTO rt_items (name) VALUES ('tx')").mode(Mode.TRANSACTION));
        cases.add(replica("read in a read-only transaction", "SELECT count(*) > 0 FROM rt_items")
                .mode(Mode.READ_ONLY_TRANSACTION).returns("t"));
        cases.add(replica("write in a read-only transaction gets 25006", "INSERT INTO rt_items (name) VALUES ('ro')")
                .mode(Mode.READ_ONLY_TRANSACTION).fails("25006"));
        cases.add(nowhere("advisory lock in a read-only transaction is refused", "SELECT pg_advisory_lock(1)")
                .mode(Mode.READ_ONLY_TRANSACTION).after("SELECT 1").fails("25006"));
        cases.add(replica("SQL BEGIN READ ONLY then read", "SELECT 1").after("BEGIN READ ONLY"));
        cases.add(replica("START TRANSACTION READ ONLY then read", "SELECT 1").after("START TRANSACTION READ ONLY"));
        cases.add(primary("SQL BEGIN then read", "SELECT 1").after("BEGIN"));
        cases.add(replica("SET TRANSACTION READ ONLY first", "SET TRANSACTION READ ONLY").mode(Mode.TRANSACTION));
        cases.add(primary("setReadOnly in autocommit, SQL BEGIN then write",
                "INSERT INTO rt_items (name) VALUES ('ro-autocommit')").after("BEGIN").mode(Mode.READ_ONLY_AUTOCOMMIT));
        cases.add(replica("setReadOnly in autocommit, SQL BEGIN READ ONLY then read", "SELECT 1")
                .after("BEGIN READ ONLY").mode(Mode.READ_ONLY_AUTOCOMMIT));

        // hints
        cases.add(primary("hint primary", "/* replicant:route=primary */ SELECT 1"));
        cases.add(primary("line-comment hint", "-- replicant:route=primary\nSELECT 1"));
        cases.add(replica("hint replica on a volatile UDF", "/* replicant:route=replica */ SELECT rt_volatile()").returns("1"));
        cases.add(primary("hint replica cannot move a write", "/* replicant:route=replica */ INSERT INTO rt_items (name) VALUES ('h')"));
        cases.add(nowhere("bad hint", "/* replicant:route=somewhere */ SELECT 1").fails("22023"));

        // prepared statements, executed three times each
        cases.add(replica("prepared read", "SELECT name FROM rt_items WHERE id = 1").mode(Mode.PREPARED).returns("item1"));
        cases.add(primary("prepared write", "UPDATE rt_items SET name = name WHERE id = 1").mode(Mode.PREPARED));
        cases.add(primary("prepared nextval", "SELECT nextval('rt_seq') > 0").mode(Mode.PREPARED).returns("t"));
        return cases;
    }

    @TestFactory
    Stream<DynamicTest> routing() {
        List<Case> cases = cases();
        assertTrue(cases.size() >= 80, "the routing table has " + cases.size() + " cases");
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private void check(Case c) throws SQLException {
        String marker = "rt-case-" + markers.incrementAndGet();
        String sql = c.sql() + " /* " + marker + " */";
        StatementLog.Mark mark;
        String value = null;
        SQLException error = null;
        try (Connection conn = dataSource.getConnection()) {
            if (c.mode() == Mode.READ_ONLY_TRANSACTION || c.mode() == Mode.READ_ONLY_AUTOCOMMIT) {
                conn.setReadOnly(true);
            }
            if (c.mode() == Mode.TRANSACTION || c.mode() == Mode.READ_ONLY_TRANSACTION) {
                conn.setAutoCommit(false);
            }
            try (Statement s = conn.createStatement()) {
                for (String setup : c.setup()) {
                    s.execute(setup);
                }
            }
            mark = cluster.markLogs();
            try {
                value = c.mode() == Mode.PREPARED ? executePrepared(conn, sql) : execute(conn, sql);
            } catch (SQLException e) {
                error = e;
            }
            if (!conn.getAutoCommit()) {
                conn.rollback();
            }
        }
        Set<String> ranOn = mark.nodesThatLogged(marker);
        if (c.error() == null && error != null) {
            throw error;
        }
        if (c.error() != null) {
            SQLException e = error;
            assertTrue(e != null, "expected SQLSTATE " + c.error() + " but the statement succeeded");
            assertEquals(c.error(), e.getSQLState(), e::getMessage);
        }
        switch (c.where()) {
            case PRIMARY:
                assertEquals(Set.of("primary"), ranOn, () -> "ran on " + ranOn + ": " + mark.linesWith(marker));
                break;
            case REPLICA:
                // one statement runs on one replica; a prepared one executed three times is balanced per execution
                assertTrue(!ranOn.isEmpty() && ranOn.stream().allMatch(n -> n.startsWith("replica"))
                        && (ranOn.size() == 1 || c.mode() == Mode.PREPARED),
                        () -> "ran on " + ranOn + ": " + mark.linesWith(marker));
                break;
            default:
                assertEquals(Set.of(), ranOn, () -> "ran on " + ranOn);
        }
        if (c.value() != null) {
            assertEquals(c.value(), value);
        }
    }

    private static String execute(Connection conn, String sql) throws SQLException {
        try (Statement s = conn.createStatement()) {
            return s.execute(sql) ? first(s.getResultSet()) : null;
        }
    }

    private static String executePrepared(Connection conn, String sql) throws SQLException {
        String value = null;
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < 3; i++) {
                value = ps.execute() ? first(ps.getResultSet()) : null;
            }
        }
        return value;
    }

    private static String first(ResultSet rs) throws SQLException {
        try (rs) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    @TestFactory
    Stream<DynamicTest> readsSpreadOverBothReplicas() {
        return Stream.of(DynamicTest.dynamicTest("round robin", () -> {
            StatementLog.Mark mark = cluster.markLogs();
            try (Connection conn = dataSource.getConnection(); Statement s = conn.createStatement()) {
                for (int i = 0; i < 10; i++) {
                    s.executeQuery("SELECT 1 /* rt-spread */").close();
                }
            }
            assertEquals(Set.of("replica1", "replica2"), mark.nodesThatLogged("rt-spread"));
        }));
    }

    @TestFactory
    Stream<DynamicTest> apiForcesRoutes() {
        return Stream.of(DynamicTest.dynamicTest("next statement and session", () -> {
            try (Connection conn = dataSource.getConnection(); Statement s = conn.createStatement()) {
                ReplicantConnection rc = conn.unwrap(ReplicantConnection.class);
                rc.routeNextStatement(Route.PRIMARY);
                s.execute("SELECT 1");
                assertEquals("primary", rc.lastRoute().target());
                s.execute("SELECT 1");
                assertEquals("replica", rc.lastRoute().target());
                rc.routeSession(Route.PRIMARY);
                s.execute("SELECT 1");
                s.execute("SELECT 2");
                assertEquals("api", rc.lastRoute().reason());
                assertEquals("primary", rc.lastRoute().target());
                assertEquals("primary", rc.explain("SELECT 1").target());
                rc.routeSession(null);
                assertEquals("replica", rc.explain("SELECT 1").target());
                assertEquals("writer_function", rc.explain("SELECT nextval('rt_seq')").reason());
            }
        }), DynamicTest.dynamicTest("a statement on a closed connection fails with 55000", () -> {
            Connection conn = dataSource.getConnection();
            Statement s = conn.createStatement();
            conn.close();
            SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT 1"));
            assertEquals("55000", e.getSQLState());
        }));
    }
}
