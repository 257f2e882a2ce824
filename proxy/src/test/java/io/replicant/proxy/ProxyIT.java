package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresBinaries;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StatementLog;

/** Real clients through the proxy to the real primary and replicas; where statements ran is read from the servers' logs. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyIT {
    private LocalPostgresCluster cluster;
    private ReplicantProxy proxy;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS px_items (id int PRIMARY KEY, name text)");
            s.execute("CREATE SCHEMA IF NOT EXISTS px_hidden");
            s.execute("CREATE TABLE IF NOT EXISTS px_hidden.px_only_in_hidden AS SELECT 7 AS x");
        }
        cluster.awaitReplay();
        proxy = ProxyFixture.start(cluster, "");
    }

    @AfterAll
    void stop() {
        proxy.close();
    }

    private Connection viaProxy(String mode) throws SQLException {
        return ProxyFixture.connect(proxy, mode);
    }

    /** Runs {@code sql} tagged with a unique marker; returns the nodes whose logs show it. */
    private Set<String> ranOn(Statement s, String sql) throws SQLException {
        String marker = "px-" + UUID.randomUUID();
        StatementLog.Mark mark = cluster.markLogs();
        s.execute(sql + " /* " + marker + " */");
        long deadline = System.nanoTime() + 5_000_000_000L;
        Set<String> nodes;
        while ((nodes = mark.nodesThatLogged(marker)).isEmpty() && System.nanoTime() < deadline) {
            ProxyFixture.sleep(20);
        }
        return nodes;
    }

    @Test
    void simpleQueriesAreRoutedLikeTheDriverRoutesThem() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            Set<String> reads = new java.util.HashSet<>();
            for (int i = 0; i < 4; i++) {
                Set<String> on = ranOn(s, "SELECT count(*) FROM px_items");
                assertEquals(1, on.size(), "ran on " + on);
                reads.addAll(on);
            }
            assertEquals(Set.of("replica1", "replica2"), reads, "reads spread over both replicas");
            assertEquals(Set.of("primary"), ranOn(s, "INSERT INTO px_items VALUES (1, 'one') ON CONFLICT DO NOTHING"));

            s.execute("BEGIN");
            assertEquals(Set.of("primary"), ranOn(s, "SELECT 1"), "a transaction stays on the primary");
            s.execute("COMMIT");

            s.execute("BEGIN READ ONLY");
            Set<String> first = ranOn(s, "SELECT 1");
            assertTrue(first.size() == 1 && first.iterator().next().startsWith("replica"), "ran on " + first);
            assertEquals(first, ranOn(s, "SELECT 2"), "a read-only transaction stays on its replica");
            s.execute("COMMIT");

            try (ResultSet rs = s.executeQuery("/* replicant:route=primary */ SELECT pg_is_in_recovery()")) {
                rs.next();
                assertEquals(false, rs.getBoolean(1), "the hint sends it to the primary");
            }
        }
    }

    @Test
    void serverErrorsAndRefusalsKeepTheirSqlState() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT * FROM px_no_such_table"));
            assertEquals("42P01", e.getSQLState());
            SQLException hint = assertThrows(SQLException.class,
                    () -> s.executeQuery("/* replicant:route=nowhere */ SELECT 1"));
            assertEquals("22023", hint.getSQLState());
            try (ResultSet rs = s.executeQuery("SELECT 42")) {
                rs.next();
                assertEquals(42, rs.getInt(1), "the session goes on after errors");
            }
            s.execute("BEGIN");
            assertThrows(SQLException.class, () -> s.execute("SELECT 1/0"));
            SQLException aborted = assertThrows(SQLException.class, () -> s.execute("SELECT 1"));
            assertEquals("25P02", aborted.getSQLState(), "only ROLLBACK is accepted in a failed transaction");
            s.execute("ROLLBACK");
        }
    }

    @Test
    void settingsFollowTheSessionOntoReplicas() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            s.execute("SET search_path TO px_hidden, public");
            Set<String> where = ranOn(s, "SELECT x FROM px_only_in_hidden");
            assertTrue(where.size() == 1 && where.iterator().next().startsWith("replica"), "ran on " + where);
            try (ResultSet rs = s.executeQuery("SELECT x FROM px_only_in_hidden")) {
                assertTrue(rs.next());
                assertEquals(7, rs.getInt(1), "resolved through the replayed search_path");
            }
            s.execute("CREATE TEMP TABLE px_temp (a int)");
            assertEquals(Set.of("primary"), ranOn(s, "SELECT count(*) FROM px_items"),
                    "a temp table pins the session to the primary");
        }
    }

    /**
     * A setting made in a read-only transaction on a replica is the session's once the transaction commits, on the
     * primary too; one a rollback or ROLLBACK TO SAVEPOINT undid is not, on any server.
     */
    @Test
    void settingsMadeInATransactionFollowTheSessionWhenItCommits() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            s.execute("BEGIN READ ONLY");
            Set<String> tx = ranOn(s, "SET search_path TO px_hidden, public");
            assertTrue(tx.size() == 1 && tx.iterator().next().startsWith("replica"), "ran on " + tx);
            s.execute("SAVEPOINT before_timeout");
            s.execute("SET statement_timeout = '7s'");
            s.execute("ROLLBACK TO SAVEPOINT before_timeout");
            s.execute("COMMIT");
            s.execute("BEGIN");
            s.execute("SET search_path TO public");
            s.execute("ROLLBACK");
            s.execute("SET idle_session_timeout = '9min'; BEGIN"); // a BEGIN draws in what its text ran before it
            s.execute("ROLLBACK");

            assertEquals(Set.of("primary"), ranOn(s, "INSERT INTO px_items VALUES (2, 'two') ON CONFLICT DO NOTHING"));
            assertEquals("px_hidden, public", show(s, "/* replicant:route=primary */ SHOW search_path"));
            assertEquals("0", show(s, "/* replicant:route=primary */ SHOW statement_timeout"));
            assertEquals("0", show(s, "/* replicant:route=primary */ SHOW idle_session_timeout"));
            Set<String> read = ranOn(s, "SELECT x FROM px_only_in_hidden");
            assertTrue(read.size() == 1 && read.iterator().next().startsWith("replica"), "not pinned: ran on " + read);
            assertEquals("px_hidden, public", show(s, "SHOW search_path"));
            assertEquals("0", show(s, "SHOW statement_timeout"));
            assertEquals("0", show(s, "SHOW idle_session_timeout"));
        }
    }

    /** PostgreSQL keeps what a COMMIT committed before an error later in the same text: so do the other servers. */
    @Test
    void aSettingCommittedBeforeAnErrorInTheSameTextFollowsTheSession() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            SQLException error = assertThrows(SQLException.class,
                    () -> s.execute("SET lock_timeout = '8s'; COMMIT; SET idle_session_timeout = '3min'; SELECT 1/0"));
            assertEquals("22012", error.getSQLState());
            for (String server : List.of("/* replicant:route=primary */", "", "")) { // reads alternate between replicas
                assertEquals("8s", show(s, server + " SHOW lock_timeout"), server);
                assertEquals("0", show(s, server + " SHOW idle_session_timeout"), server);
            }
        }
    }

    /** A statement prepared before an error in the same text stays on the primary: the session is pinned there. */
    @Test
    void aStatementPreparedBeforeAnErrorPinsTheSession() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            assertThrows(SQLException.class, () -> s.execute("PREPARE px_failed AS SELECT 6; SELECT 1/0"));
            s.execute("BEGIN READ ONLY");
            assertEquals("6", show(s, "EXECUTE px_failed"));
            s.execute("COMMIT");
        }
    }

    /**
     * A SET per request in a long session grows the replayed log past its limit: it is compacted, and the replicas
     * that replayed the longer one are reset and replay the shorter one; the session is not pinned to the primary.
     */
    @Test
    void aSettingPerRequestInALongSessionKeepsItsReadsOnReplicas() throws SQLException {
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            s.execute("SET search_path TO px_hidden, public");
            for (int i = 0; i < 600; i++) {
                s.execute("SET app.request_id = '" + i + "'");
                if (i % 50 == 0) { // replicas replay the log as it grows and after it was compacted
                    assertEquals(String.valueOf(i), show(s, "SHOW app.request_id"));
                }
            }
            Set<String> read = ranOn(s, "SELECT x FROM px_only_in_hidden");
            assertTrue(read.size() == 1 && read.iterator().next().startsWith("replica"), "not pinned: ran on " + read);
            for (int i = 0; i < 2; i++) { // both replicas
                assertEquals("599", show(s, "SHOW app.request_id"));
                assertEquals("px_hidden, public", show(s, "SHOW search_path"));
            }
            assertEquals("599", show(s, "/* replicant:route=primary */ SHOW app.request_id"));
        }
    }

    private static String show(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    @Test
    void extendedQueriesAreRoutedAndNamedStatementsFollowThem() throws SQLException {
        String marker = "px-ext-" + UUID.randomUUID();
        StatementLog.Mark mark = cluster.markLogs();
        Properties p = ProxyFixture.credentials();
        p.setProperty("prepareThreshold", "1"); // named server-side statements from the first execution
        try (Connection c = DriverManager.getConnection(ProxyFixture.url(proxy), p);
                PreparedStatement read = c.prepareStatement("SELECT name FROM px_items WHERE id = ? /* " + marker + " */");
                PreparedStatement write = c.prepareStatement(
                        "INSERT INTO px_items VALUES (?, 'ext') ON CONFLICT (id) DO UPDATE SET name = 'ext' /* w" + marker + " */")) {
            write.setInt(1, 3);
            assertEquals(1, write.executeUpdate());
            cluster.awaitReplay();
            read.setInt(1, 3);
            for (int i = 0; i < 6; i++) {
                try (ResultSet rs = read.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals("ext", rs.getString(1));
                }
            }
            c.setAutoCommit(false);
            try (ResultSet rs = read.executeQuery()) {
                assertTrue(rs.next());
            }
            c.commit();
        }
        awaitLogged(mark, "w" + marker);
        assertEquals(Set.of("primary"), mark.nodesThatLogged("w" + marker));
        assertEquals(Set.of("primary", "replica1", "replica2"), mark.nodesThatLogged(marker),
                "reads on both replicas (parsed again on each), and the one in a transaction on the primary");
    }

    /**
     * pgjdbc sends "a; b" as two unnamed statements in one batch: each Bind runs, and is routed by, the Parse just
     * before it (once both Binds ran the last one: the write was lost without an error).
     */
    @Test
    void eachStatementOfAMultiStatementExtendedBatchRuns() throws SQLException {
        String marker = "px-multi-" + UUID.randomUUID();
        StatementLog.Mark mark = cluster.markLogs();
        try (Connection c = viaProxy("extended"); Statement s = c.createStatement()) {
            s.execute("DELETE FROM px_items WHERE id IN (40, 41)");
            s.execute("INSERT INTO px_items VALUES (40, 'multi') /* " + marker + " */; SELECT 1; "
                    + "INSERT INTO px_items VALUES (41, 'multi')");
        }
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM px_items WHERE id IN (40, 41) AND name = 'multi'")) {
            assertTrue(rs.next());
            assertEquals(2, rs.getInt(1));
        }
        awaitLogged(mark, marker);
        assertEquals(Set.of("primary"), mark.nodesThatLogged(marker));
    }

    private static void awaitLogged(StatementLog.Mark mark, String marker) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (mark.nodesThatLogged(marker).isEmpty() && System.nanoTime() < deadline) {
            ProxyFixture.sleep(20);
        }
    }

    @Test
    void pgbenchInAllThreeQueryModes(@TempDir Path dir) throws Exception {
        ProxyFixture.run(proxy, dir, "pgbench", "-i", "-s", "1", "-q", "--no-vacuum"); // DDL and COPY through the proxy
        cluster.awaitReplay();
        for (String mode : List.of("simple", "extended", "prepared")) {
            StatementLog.Mark mark = cluster.markLogs();
            String selectOnly = ProxyFixture.run(proxy, dir, "pgbench", "-S", "-M", mode, "-c", "2", "-j", "1", "-t", "200");
            assertTrue(selectOnly.contains("number of transactions actually processed: 400/400"), selectOnly);
            assertTrue(selectOnly.contains("number of failed transactions: 0"), selectOnly);
            assertEquals(Set.of("replica1", "replica2"),
                    mark.nodesThatLogged("SELECT abalance FROM pgbench_accounts WHERE aid"),
                    "-S -M " + mode + " reads on the replicas");
            String tpcb = ProxyFixture.run(proxy, dir, "pgbench", "-M", mode, "-c", "2", "-j", "1", "-t", "50");
            assertTrue(tpcb.contains("number of transactions actually processed: 100/100"), tpcb);
            assertTrue(tpcb.contains("number of failed transactions: 0"), tpcb);
        }
    }

    @Test
    void cancelReachesTheServerRunningTheQuery() throws Exception {
        for (String sql : List.of("SELECT pg_sleep(30)", "/* replicant:route=primary */ SELECT pg_sleep(30)")) {
            try (Connection c = viaProxy("extended"); Statement s = c.createStatement()) {
                java.util.concurrent.CompletableFuture<SQLException> result =
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                            try {
                                s.executeQuery(sql);
                                return null;
                            } catch (SQLException e) {
                                return e;
                            }
                        });
                ProxyFixture.sleep(500);
                long start = System.nanoTime();
                s.cancel();
                SQLException e = result.get(10, TimeUnit.SECONDS);
                assertTrue(e != null, "the query was not cancelled: " + sql);
                assertEquals("57014", e.getSQLState(), e.getMessage());
                assertTrue(System.nanoTime() - start < 5_000_000_000L);
                try (ResultSet rs = s.executeQuery("SELECT 1")) {
                    assertTrue(rs.next(), "the session goes on after a cancel");
                }
            }
        }
    }

    @Test
    void aVanishedClientLeavesNoLockAndAKilledServerDoesNotStopTheProxy(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("hold.sql");
        Files.writeString(script, "BEGIN;\nUPDATE px_items SET name = 'held' WHERE id = 1;\nSELECT pg_sleep(60);\n");
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            s.execute("INSERT INTO px_items VALUES (1, 'one') ON CONFLICT DO NOTHING");
        }
        List<String> command = List.of(PostgresBinaries.locate().path("psql"), "-X", "-h", "127.0.0.1", "-p",
                Integer.toString(proxy.address().getPort()), "-U", LocalPostgresCluster.APP_USER, "-f",
                script.toString(), LocalPostgresCluster.APP_DATABASE);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("hold.out").toFile());
        pb.environment().put("PGPASSWORD", LocalPostgresCluster.APP_PASSWORD);
        Process holder = pb.start();
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement()) {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!lockedByOther(s) && System.nanoTime() < deadline) {
                ProxyFixture.sleep(50);
            }
            assertTrue(lockedByOther(s), "psql holds the row lock");
            holder.destroyForcibly(); // SIGKILL: the client vanishes mid-transaction
            holder.waitFor(10, TimeUnit.SECONDS);
            deadline = System.nanoTime() + 5_000_000_000L;
            while (lockedByOther(s) && System.nanoTime() < deadline) {
                ProxyFixture.sleep(50);
            }
            assertTrue(!lockedByOther(s), "the lock was released after the client vanished");
        }

        String marker = "px-victim-" + UUID.randomUUID();
        try (Connection victim = viaProxy("simple"); Statement s = victim.createStatement()) {
            victim.setAutoCommit(false); // in a transaction: not run again elsewhere (see ProxyReadRetryIT)
            java.util.concurrent.CompletableFuture<SQLException> result =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            s.executeQuery("/* replicant:route=primary */ SELECT pg_sleep(20) /* " + marker + " */");
                            return null;
                        } catch (SQLException e) {
                            return e;
                        }
                    });
            String terminated = "f";
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!"t".equals(terminated) && System.nanoTime() < deadline) {
                ProxyFixture.sleep(50);
                terminated = cluster.primary().query("SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) "
                        + "FROM pg_stat_activity WHERE query LIKE '%" + marker + "%' AND pid <> pg_backend_pid()");
            }
            assertEquals("t", terminated, "the server session running the query was found and killed");
            SQLException e = result.get(10, TimeUnit.SECONDS);
            assertTrue(e != null, "the client was told its server went away");
            assertTrue(Set.of("57P01", "08006").contains(e.getSQLState()), e.getSQLState() + " " + e.getMessage());
        }
        try (Connection c = viaProxy("simple"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT 1")) {
            assertTrue(rs.next(), "the proxy keeps serving other clients");
        }
    }

    /** True when another session holds the lock on px_items row 1 (checked on the primary). */
    private static boolean lockedByOther(Statement s) throws SQLException {
        s.execute("BEGIN");
        try {
            s.executeQuery("SELECT id FROM px_items WHERE id = 1 FOR UPDATE NOWAIT").close();
            return false;
        } catch (SQLException e) {
            if (!"55P03".equals(e.getSQLState())) {
                throw e;
            }
            return true;
        } finally {
            s.execute("ROLLBACK");
        }
    }

    @Test
    void wrongPasswordIs28P01() {
        Properties p = ProxyFixture.credentials();
        p.setProperty("password", "wrong");
        SQLException e = assertThrows(SQLException.class,
                () -> DriverManager.getConnection(ProxyFixture.url(proxy), p));
        assertEquals("28P01", e.getSQLState());
    }

    @Test
    void pythonPsycopg2ClientIsRoutedLikeAnyOther(@TempDir Path dir) throws Exception {
        String out = ProxyFixture.runPython(proxy, "/psycopg2_client.py", dir);
        for (String expected : List.of("\"autocommit_read_on_replica\": true", "\"error_sqlstate\": \"42P01\"",
                "\"transaction_read\": \"updated\"", "\"transaction_read_on_replica\": false",
                "\"application_name\": \"psycopg2-test\"", "\"rows_counted\": 50000")) {
            assertTrue(out.contains(expected), expected + " not in " + out);
        }
    }

    @Test
    void pythonAsyncpgClientWithItsOwnProtocolCode(@TempDir Path dir) throws Exception {
        ProxyFixture.assertAsyncpgClientWorks(proxy, dir);
    }

    /** pgjdbc sets application_name with SET after its login: rules on it still apply, and SHOW CLIENTS shows it. */
    @Test
    void rulesMatchTheApplicationNameAClientSetAfterLogin() throws Exception {
        String rule = "rules:\n  - name: reports-on-primary\n    match:\n      application_name: '^px-reports'\n"
                + "    route: primary\n";
        try (ReplicantProxy ruled = ProxyFixture.start(cluster, rule);
                Connection reports = ProxyFixture.connect(ruled, "extended", "px-reports-job");
                Connection other = ProxyFixture.connect(ruled, "extended", "px-web");
                Statement r = reports.createStatement();
                Statement o = other.createStatement()) {
            assertEquals(Set.of("primary"), ranOn(r, "SELECT 1"));
            assertTrue(ranOn(o, "SELECT 1").iterator().next().startsWith("replica"));
            try (Connection admin = ProxyFixture.admin(ruled); Statement a = admin.createStatement();
                    ResultSet rs = a.executeQuery("SHOW CLIENTS")) {
                Set<String> names = new HashSet<>();
                while (rs.next()) {
                    names.add(rs.getString("application_name"));
                }
                assertTrue(names.containsAll(Set.of("px-reports-job", "px-web")), names.toString());
            }
        }
    }

    @Test
    void pythonPsycopg3ClientInPipelineMode(@TempDir Path dir) throws Exception {
        ProxyFixture.assertPsycopg3ClientWorks(proxy, dir);
    }

    @Test
    void notificationsReachAnIdleListener() throws Exception {
        try (Connection listener = viaProxy("extended"); Connection notifier = viaProxy("simple");
                Statement l = listener.createStatement(); Statement n = notifier.createStatement()) {
            l.execute("LISTEN px_channel"); // pins the listener to the primary
            n.execute("NOTIFY px_channel, 'while you were idle'");
            org.postgresql.PGNotification[] received = listener.unwrap(org.postgresql.PGConnection.class)
                    .getNotifications(5000);
            assertTrue(received != null && received.length == 1, "one notification, delivered without a query");
            assertEquals("while you were idle", received[0].getParameter());
        }
    }

    @Test
    void psqlSelectOne(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("one.sql");
        Files.writeString(script, "SELECT 1 AS one;\n");
        assertTrue(psql(script).contains("one"));
    }

    @Test
    void psqlScriptWithCopyAndCatalogQueries(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("rows.csv");
        StringBuilder rows = new StringBuilder();
        for (int i = 1000; i < 101_000; i++) {
            rows.append(i).append(",name ").append(i).append('\n');
        }
        Files.writeString(csv, rows);
        Path script = dir.resolve("script.sql");
        Files.writeString(script, String.join("\n",
                "CREATE TABLE IF NOT EXISTS px_copy (id int PRIMARY KEY, name text);",
                "TRUNCATE px_copy;",
                "\\copy px_copy FROM '" + csv + "' WITH (FORMAT csv)",
                "SELECT count(*) AS copied FROM px_copy;",
                "\\d px_copy",
                "\\copy (SELECT id FROM px_copy ORDER BY id) TO '" + dir.resolve("out.csv") + "'",
                ""));
        String out = psql(script);
        assertTrue(out.contains("100000"), out);
        assertTrue(out.contains("Table \"public.px_copy\""), out);
        List<String> copied = Files.readAllLines(dir.resolve("out.csv"));
        assertEquals(100_000, copied.size(), "COPY TO relayed every row");
        assertEquals(List.of("1000", "1001"), copied.subList(0, 2));
        assertEquals("100999", copied.get(copied.size() - 1));
    }

    /**
     * pg_dump sets its settings with set_config, reads in a transaction begun with a plain BEGIN and then made
     * REPEATABLE READ, READ ONLY (so, as in the driver, it stays on the primary), locks each table, and with -j its
     * workers import the leader's exported snapshot, which only exists on the leader's server. Both dumps must
     * equal a direct one.
     */
    @Test
    void pgDumpThroughTheProxyEqualsADirectDump(@TempDir Path dir) throws Exception {
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS px_dumped (id int PRIMARY KEY, note text)");
            s.execute("INSERT INTO px_dumped SELECT i, 'row ' || i FROM generate_series(1, 1000) i ON CONFLICT DO NOTHING");
        }
        cluster.awaitReplay();
        String database = LocalPostgresCluster.APP_DATABASE;
        ProxyFixture.runAt(cluster.primary().port(), database, dir, "pg_dump", "-f", dir.resolve("direct.sql").toString());
        ProxyFixture.run(proxy, dir, "pg_dump", "-f", dir.resolve("proxied.sql").toString());
        assertEquals(dumped(dir.resolve("direct.sql")), dumped(dir.resolve("proxied.sql")));
        assertTrue(dumped(dir.resolve("direct.sql")).contains("row 1000"));

        ProxyFixture.run(proxy, dir, "pg_dump", "-Fd", "-j", "2", "-f", dir.resolve("parallel").toString());
        Process restore = new ProcessBuilder(PostgresBinaries.locate().path("pg_restore"), "-f",
                dir.resolve("restored.sql").toString(), dir.resolve("parallel").toString()).inheritIO().start();
        assertTrue(restore.waitFor(60, TimeUnit.SECONDS) && restore.exitValue() == 0, "pg_restore read the dump");
        assertEquals(dumped(dir.resolve("direct.sql")), dumped(dir.resolve("restored.sql")));
    }

    /**
     * A plain dump without its comments, the per-run \restrict key and sequence positions (a standby reports up to
     * 32 values ahead of the primary, which logs them in advance).
     */
    private static String dumped(Path file) throws IOException {
        return Files.readAllLines(file).stream()
                .filter(l -> !l.startsWith("--") && !l.contains("restrict ") && !l.contains("pg_catalog.setval("))
                .collect(java.util.stream.Collectors.joining("\n"));
    }

    private String psql(Path script) throws IOException, InterruptedException {
        return ProxyFixture.run(proxy, script.getParent(), "psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", script.toString(), "-d");
    }
}
