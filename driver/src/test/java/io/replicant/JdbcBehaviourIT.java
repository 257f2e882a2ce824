package io.replicant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Types;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/** What an app does with a pgjdbc connection keeps working through Replicant. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JdbcBehaviourIT {
    private LocalPostgresCluster cluster;
    private ReplicantDataSource dataSource;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ClusterFixture.setUp(cluster,
                "CREATE TABLE IF NOT EXISTS jb_items (id serial PRIMARY KEY, name text)",
                "CREATE OR REPLACE FUNCTION jb_upper(t text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT upper(t)'",
                "CREATE OR REPLACE PROCEDURE jb_insert(n text) LANGUAGE sql AS 'INSERT INTO jb_items (name) VALUES (n)'");
        // one physical connection per backend, so a leftover from one logical connection would show in the next
        dataSource = ClusterFixture.dataSource(cluster, "pool.max_size=1");
        dataSource.setMeterRegistry(registry);
    }

    @AfterAll
    void tearDown() {
        dataSource.close();
    }

    private static String one(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql + " returned no row");
            return rs.getString(1);
        }
    }

    @Test
    void generatedKeys() throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("INSERT INTO jb_items (name) VALUES (?)",
                        Statement.RETURN_GENERATED_KEYS)) {
            ps.setString(1, "key");
            assertEquals(1, ps.executeUpdate());
            try (ResultSet keys = ps.getGeneratedKeys()) {
                assertTrue(keys.next());
                assertTrue(keys.getInt("id") > 0);
            }
            try (PreparedStatement byName = c.prepareStatement("INSERT INTO jb_items (name) VALUES ('k2')",
                    new String[] {"id"})) {
                byName.executeUpdate();
                try (ResultSet keys = byName.getGeneratedKeys()) {
                    assertTrue(keys.next());
                }
            }
        }
    }

    @Test
    void batchesRunOnThePrimary() throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("INSERT INTO jb_items (name) VALUES (?)");
                Statement s = c.createStatement()) {
            for (int i = 0; i < 3; i++) {
                ps.setString(1, "batch-" + i);
                ps.addBatch();
            }
            assertArrayEquals(new int[] {1, 1, 1}, ps.executeBatch());
            s.addBatch("INSERT INTO jb_items (name) VALUES ('sb1')");
            s.addBatch("UPDATE jb_items SET name = 'sb2' WHERE name = 'sb1'");
            assertEquals(2, s.executeBatch().length);
            assertEquals("primary", c.unwrap(ReplicantConnection.class).lastRoute().target());
            assertEquals(0, s.executeBatch().length, "an empty batch");
        }
    }

    @Test
    void savepointsAndRollback() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("INSERT INTO jb_items (name) VALUES ('sp-kept')");
            Savepoint sp = c.setSavepoint("sp1");
            s.execute("INSERT INTO jb_items (name) VALUES ('sp-undone')");
            c.rollback(sp);
            c.commit();
            c.setAutoCommit(true);
            cluster.awaitReplay();
            assertEquals("1", one(s, "SELECT count(*) FROM jb_items WHERE name = 'sp-kept'"));
            assertEquals("0", one(s, "SELECT count(*) FROM jb_items WHERE name = 'sp-undone'"));
            SQLException e = assertThrows(SQLException.class, c::commit);
            assertEquals("25P01", e.getSQLState());
        }
    }

    @Test
    void multipleResultsAndScrollableResultSets() throws SQLException {
        try (Connection c = dataSource.getConnection();
                Statement s = c.createStatement(ResultSet.TYPE_SCROLL_INSENSITIVE, ResultSet.CONCUR_READ_ONLY)) {
            assertTrue(s.execute("SELECT 1; SELECT 2"));
            assertTrue(s.getMoreResults());
            try (ResultSet rs = s.getResultSet()) {
                rs.next();
                assertEquals(2, rs.getInt(1));
            }
            try (ResultSet rs = s.executeQuery("SELECT * FROM generate_series(1, 5)")) {
                assertTrue(rs.last());
                assertEquals(5, rs.getInt(1));
                assertTrue(rs.first());
            }
            assertEquals(ResultSet.TYPE_SCROLL_INSENSITIVE, s.getResultSetType());
        }
    }

    @Test
    void copyThroughThePrimarysPgConnection() throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder rows = new StringBuilder();
            for (int i = 0; i < 1000; i++) {
                rows.append("copy-").append(i).append('\n');
            }
            assertEquals(1000, copy.copyIn("COPY jb_items (name) FROM STDIN", new StringReader(rows.toString())));
            // unwrapping pinned the session: the count runs on the primary and sees the rows at once
            assertEquals("1000", one(s, "SELECT count(*) FROM jb_items WHERE name LIKE 'copy-%'"));
            assertEquals("session_pin", c.unwrap(ReplicantConnection.class).lastRoute().reason());
        }
    }

    @Test
    void closingResetsTheSessionBeforeThePhysicalConnectionIsReused() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("SET search_path TO pg_catalog");
            s.execute("SET application_name TO 'dirty'");
            s.execute("CREATE TEMP TABLE jb_tmp (id int)");
            s.execute("SELECT pg_advisory_lock(777)");
            s.execute("PREPARE jb_prepared AS SELECT 1");
            assertEquals("pg_catalog", one(s, "SHOW search_path")); // replayed on the replica too
        }
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            c.unwrap(ReplicantConnection.class).routeSession(Route.PRIMARY);
            assertEquals("\"$user\", public", one(s, "SHOW search_path"));
            assertEquals("", one(s, "SHOW application_name"));
            assertEquals("0", one(s, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"));
            assertEquals("0", one(s, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'jb_prepared'"));
            assertEquals("0", one(s, "SELECT count(*) FROM pg_class WHERE relname = 'jb_tmp' AND relpersistence = 't'"));
            c.unwrap(ReplicantConnection.class).routeSession(Route.REPLICA);
            assertEquals("\"$user\", public", one(s, "SHOW search_path"));
        }
    }

    /** PostgreSQL keeps what ran before an error in the same exchange: the next user of the connection must not. */
    @Test
    void whatAFailedStatementLeftBehindIsNotHandedOn() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            SQLException error = assertThrows(SQLException.class,
                    () -> s.execute("PREPARE jb_failed AS SELECT 7; SELECT pg_advisory_lock(778); SELECT 1/0"));
            assertEquals("22012", error.getSQLState());
            assertEquals("7", one(s, "EXECUTE jb_failed"), "the statement prepared before the error is there");
        }
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            c.unwrap(ReplicantConnection.class).routeSession(Route.PRIMARY);
            assertEquals("0", one(s, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"));
            s.execute("PREPARE jb_failed AS SELECT 8"); // 42P05 on a connection that still had it
            assertEquals("8", one(s, "EXECUTE jb_failed"));
        }
    }

    /** SQL prepared statements live on the primary: a read-only transaction that may EXECUTE them runs there. */
    @Test
    void aReadOnlyTransactionOfASessionWithPreparedStatementsRunsOnThePrimary() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
            s.execute("PREPARE jb_ro AS SELECT 4");
            assertThrows(SQLException.class, () -> s.execute("PREPARE jb_ro_failed AS SELECT 5; SELECT 1/0"));
            c.setReadOnly(true);
            c.setAutoCommit(false);
            assertEquals("4", one(s, "EXECUTE jb_ro"));
            assertEquals("5", one(s, "EXECUTE jb_ro_failed"), "prepared before the error");
            assertEquals("primary", rc.lastRoute().target());
            s.execute("DEALLOCATE jb_ro");
            s.execute("DEALLOCATE jb_ro_failed");
            c.commit();
            assertEquals("replica", rc.explain("SELECT 1").target(), "none left");
            c.rollback();
        }
    }

    /** A connection whose server session ended before its reset is evicted, and the pool goes on serving. */
    @Test
    void aConnectionThatCannotBeResetIsEvicted() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            c.unwrap(ReplicantConnection.class).routeSession(Route.PRIMARY);
            c.setAutoCommit(false);
            s.execute("SET search_path TO pg_catalog");
            String pid = one(s, "SELECT pg_backend_pid()");
            assertEquals("t", cluster.primary().query("SELECT pg_terminate_backend(" + pid + ")"));
        } // closing rolls back and resets it, which fails: it must neither throw nor go back to the pool
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            c.unwrap(ReplicantConnection.class).routeSession(Route.PRIMARY);
            assertEquals("\"$user\", public", one(s, "SHOW search_path"));
        }
    }

    /** With autocommit off the reset ran inside a transaction that the pool then rolled back. */
    @Test
    void closingWithAutocommitOffResetsTheSessionToo() throws SQLException {
        for (boolean readOnly : new boolean[] {false, true}) { // on the primary, then on a replica
            try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                c.setReadOnly(readOnly);
                s.execute("SET search_path TO pg_catalog");
                c.commit();
                assertEquals(readOnly ? "replica" : "primary",
                        c.unwrap(ReplicantConnection.class).explain("SHOW search_path").target());
            }
            try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
                for (Route route : new Route[] {Route.PRIMARY, Route.REPLICA}) {
                    c.unwrap(ReplicantConnection.class).routeSession(route);
                    for (int i = 0; i < 2; i++) { // both replicas
                        assertEquals("\"$user\", public", one(s, "SHOW search_path"), route + ", read only " + readOnly);
                    }
                }
            }
        }
    }

    @Test
    void settingsMadeInARolledBackTransactionAreNotReplayed() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("SET search_path TO pg_catalog");
            c.rollback();
            c.setAutoCommit(true);
            assertEquals("\"$user\", public", one(s, "SHOW search_path"));
            s.execute("BEGIN");
            s.execute("SET search_path TO pg_catalog");
            s.execute("COMMIT");
            assertEquals("replica", c.unwrap(ReplicantConnection.class).explain("SHOW search_path").target());
            assertEquals("pg_catalog", one(s, "SHOW search_path"));
        }
    }

    /** On a replica's read-only transaction too; a savepoint rolled back to takes back what followed it. */
    @Test
    void settingsCommittedOnAReplicaFollowTheSessionButNotThoseASavepointUndid() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
            c.setAutoCommit(false);
            c.setReadOnly(true);
            s.execute("SET search_path TO pg_catalog");
            assertEquals("replica", rc.explain("SHOW search_path").target());
            Savepoint api = c.setSavepoint();
            s.execute("SET statement_timeout = '7s'");
            c.rollback(api);
            c.releaseSavepoint(api);
            SQLException released = assertThrows(SQLException.class, () -> c.releaseSavepoint(api));
            assertTrue(released.getMessage().contains("released"), "pgjdbc's own refusal: " + released);
            s.execute("SAVEPOINT \"By SQL\"");
            s.execute("SET lock_timeout = '3s'");
            s.execute("ROLLBACK TO SAVEPOINT \"By SQL\"");
            c.commit();
            c.setReadOnly(false);
            c.setAutoCommit(true);
            s.execute("SET idle_session_timeout = '9min'; BEGIN"); // a BEGIN draws in what its text ran before it
            s.execute("ROLLBACK");
            for (Route route : new Route[] {Route.PRIMARY, Route.REPLICA}) {
                rc.routeSession(route);
                assertEquals("pg_catalog", one(s, "SHOW search_path"), route.toString());
                assertEquals("0", one(s, "SHOW statement_timeout"), route.toString());
                assertEquals("0", one(s, "SHOW lock_timeout"), route.toString());
                assertEquals("0", one(s, "SHOW idle_session_timeout"), route + ": rolled back with the block");
            }
        }
    }

    @Test
    void metadataCallableStatementsAndWrappers() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            DatabaseMetaData md = c.getMetaData();
            assertSame(c, md.getConnection());
            assertTrue(md.getURL().contains(cluster.primary().address()), md.getURL());
            try (ResultSet tables = md.getTables(null, "public", "jb_items", null)) {
                assertTrue(tables.next());
            }
            try (CallableStatement cs = c.prepareCall("{? = call jb_upper(?)}")) {
                cs.registerOutParameter(1, Types.VARCHAR);
                cs.setString(2, "abc");
                cs.execute();
                assertEquals("ABC", cs.getString(1));
                assertSame(c, cs.getConnection());
            }
            try (CallableStatement cs = c.prepareCall("CALL jb_insert(?)")) {
                cs.setString(1, "by-call");
                cs.execute();
            }
            assertTrue(c.isWrapperFor(ReplicantConnection.class));
            assertTrue(c.isWrapperFor(PGConnection.class));
            assertTrue(c.isValid(2));
            SQLFeatureNotSupportedException e = assertThrows(SQLFeatureNotSupportedException.class,
                    () -> c.setTypeMap(Map.of("x", String.class)));
            assertEquals("0A000", e.getSQLState());
        }
        Connection closed = dataSource.getConnection();
        closed.close();
        assertFalse(closed.isValid(1));
        assertTrue(closed.isClosed());
    }

    @Test
    void cancelStopsTheStatementOnTheServerThatRunsIt() throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            CompletableFuture<SQLException> running = CompletableFuture.supplyAsync(() -> {
                try {
                    s.executeQuery("SELECT pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (c.unwrap(ReplicantConnection.class).lastRoute() == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(300);
            s.cancel();
            SQLException e = running.get(10, TimeUnit.SECONDS);
            assertEquals("57014", e.getSQLState());
            assertEquals("replica", c.unwrap(ReplicantConnection.class).lastRoute().target());
        }
    }

    @Test
    void preparedStatementsArePreparedOncePerPhysicalConnection() throws SQLException {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT name FROM jb_items WHERE id = ?")) {
            c.unwrap(ReplicantConnection.class).routeSession(Route.REPLICA);
            for (int i = 0; i < 10; i++) {
                ps.setInt(1, i);
                ps.executeQuery().close();
            }
            // pgjdbc switches to a named server-side statement after prepareThreshold (5) executions of one
            // physical statement; round robin gave each replica's physical statement five executions.
            try (Statement s = c.createStatement()) {
                assertEquals("1", one(s, "SELECT count(*) FROM pg_prepared_statements"
                        + " WHERE statement = 'SELECT name FROM jb_items WHERE id = $1' AND NOT from_sql"));
            }
        }
    }

    @Test
    void aFunctionCreatedElsewhereIsLearnedFromTheCatalog() throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
            s.execute("SELECT 1"); // the cluster is open and its catalog snapshot taken
            ClusterFixture.setUp(cluster,
                    "CREATE OR REPLACE FUNCTION jb_new_stable() RETURNS int STABLE LANGUAGE sql AS 'SELECT 7'");
            assertEquals("7", one(s, "SELECT jb_new_stable()"));
            assertEquals("unknown_function", rc.lastRoute().reason());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!rc.explain("SELECT jb_new_stable()").target().equals("replica")) {
                assertTrue(System.nanoTime() < deadline, "the catalog was not refreshed within 10 s");
                Thread.sleep(100);
            }
            assertEquals("7", one(s, "SELECT jb_new_stable()"));
            assertEquals("replica", rc.lastRoute().target());
        }
    }

    @Test
    void routingMetricsAreCounted() throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.executeQuery("SELECT 1").close();
            s.executeQuery("SELECT 1").close();
            s.execute("INSERT INTO jb_items (name) VALUES ('metric')");
        }
        assertTrue(registry.get("replicant.statements").tag("target", "replica").tag("reason", "read").counter().count() >= 2);
        assertTrue(registry.get("replicant.statements").tag("target", "primary").tag("reason", "write").counter().count() >= 1);
        assertTrue(registry.get("replicant.parse.cache").tag("result", "hit").counter().count() >= 1);
    }

    @Test
    void rulesFromAYamlFile(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("rules.yaml");
        Files.writeString(yaml, String.join("\n",
                "hosts: [" + String.join(", ", cluster.hostList().split(",")) + "]",
                "database: app",
                "user: app",
                "password: ${JB_PASSWORD:-" + LocalPostgresCluster.APP_PASSWORD + "}",
                "rules:",
                "  - name: items-on-primary",
                "    match: { kind: select, tables: '^jb_items$' }",
                "    route: primary",
                "  - name: admin-tool",
                "    match: { application_name: '^admin' }",
                "    route: primary",
                "  - name: volatile-is-fine",
                "    match: { sql: 'random_page' }",
                "    route: replica",
                ""));
        try (ReplicantDataSource ds = new ReplicantDataSource("jdbc:replicant:file:" + yaml);
                Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
            assertEquals("primary rule items-on-primary", describe(rc.explain("SELECT * FROM jb_items")));
            assertEquals("replica read", describe(rc.explain("SELECT 1")));
            s.executeQuery("SELECT count(*) FROM jb_items").close();
            assertEquals("primary", rc.lastRoute().target());
            c.setClientInfo("ApplicationName", "admin-console");
            assertEquals("primary rule admin-tool", describe(rc.explain("SELECT 1")));
        }
    }

    private static String describe(RouteExplanation e) {
        return e.target() + " " + e.reason() + (e.reason().equals("rule") ? " " + e.detail() : "");
    }
}
