package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;

/** proxy.pool_mode: transaction, checked on the servers: how many sessions they see, and what leaks between clients. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProxyTransactionPoolingIT {
    private static final int CLIENTS = 16;
    /** Which primary server session a client's statement ran on. */
    private static final String PRIMARY_PID = "/* replicant:route=primary */ SELECT pg_backend_pid()";
    private static final int ROUNDS = 40;
    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS tp_counter (id int PRIMARY KEY, n int NOT NULL)");
            s.execute("TRUNCATE tp_counter");
            s.execute("INSERT INTO tp_counter SELECT g, 0 FROM generate_series(0, " + (CLIENTS - 1) + ") g");
        }
        cluster.awaitReplay();
    }

    private static ReplicantProxy pooled(LocalPostgresCluster cluster, int size, String extra) throws SQLException {
        return ProxyFixture.start(cluster, "  pool_mode: transaction\n  pool_size: " + size + "\n  threads: 1\n" + extra);
    }

    /** A pgjdbc client through the proxy that the servers can tell apart by application_name. */
    private static Connection client(ReplicantProxy proxy, String application) throws SQLException {
        Properties p = ProxyFixture.credentials();
        p.setProperty("ApplicationName", application);
        p.setProperty("prepareThreshold", "1"); // named server-side statements from the first execution
        return DriverManager.getConnection(ProxyFixture.url(proxy), p);
    }

    /**
     * Clients that log in with different application_names (libpq sends it at login) share one pool: the connection
     * takes each borrower's name as it is lent, and a name set later follows its client.
     */
    @Test
    void applicationsWithNamesOfTheirOwnShareOnePool() throws Exception {
        Properties atLogin = ProxyFixture.credentials();
        atLogin.setProperty("assumeMinServerVersion", "15"); // application_name in the startup packet, as libpq does
        String sql = "/* replicant:route=primary */ SELECT current_setting('application_name') || ' ' || pg_backend_pid()";
        try (ReplicantProxy proxy = pooled(cluster, 1, "")) {
            Properties a = (Properties) atLogin.clone();
            a.setProperty("ApplicationName", "tp-app-a");
            Properties b = (Properties) atLogin.clone();
            b.setProperty("ApplicationName", "tp-app-b");
            try (Connection ca = DriverManager.getConnection(ProxyFixture.url(proxy), a);
                    Connection cb = DriverManager.getConnection(ProxyFixture.url(proxy), b);
                    Statement sa = ca.createStatement(); Statement sb = cb.createStatement()) {
                Set<String> pids = new HashSet<>();
                for (int i = 0; i < 3; i++) {
                    for (Statement s : List.of(sa, sb)) {
                        String[] seen = textOf(s, sql).split(" ");
                        assertEquals(s == sa ? "tp-app-a" : "tp-app-b", seen[0]);
                        pids.add(seen[1]);
                    }
                }
                assertEquals(1, pids.size(), "both clients used the pool's one primary connection: " + pids);
                sb.execute("SET application_name = 'tp-app-b2'");
                assertEquals("tp-app-a", textOf(sa, sql).split(" ")[0]);
                assertEquals("tp-app-b2", textOf(sb, sql).split(" ")[0]);
                assertEquals("tp-app-b2", cb.getClientInfo("ApplicationName"));
                sb.execute("RESET ALL"); // on the connection client a opened: back to b's own name, not a's
                assertEquals("tp-app-b", textOf(sb, sql).split(" ")[0]);
                assertEquals("tp-app-b", cb.getClientInfo("ApplicationName"));
            }
        }
    }

    /**
     * Clients in other time zones and date styles share one pool too, each seeing its own settings. RESET ALL (an
     * asyncpg pool sends it at each release) and RESET return to the client's startup values, as on PostgreSQL,
     * and the client is told those, not the server's defaults a pooled connection returns to. A value the server
     * refuses ends the client's session as PostgreSQL ends it at login, and the others go on.
     */
    @Test
    void clientsWithSettingsOfTheirOwnShareOnePoolAndResetToThem() throws Exception {
        String sql = "/* replicant:route=primary */ SELECT concat_ws('|', current_setting('TimeZone'),"
                + " current_setting('DateStyle'), current_setting('application_name'), pg_backend_pid(),"
                + " current_setting('extra_float_digits'))";
        Map<String, String> berlin = Map.of("TimeZone", "Europe/Berlin", "DateStyle", "SQL, DMY",
                "application_name", "tp-berlin", "extra_float_digits", "3"); // as pgjdbc sends it
        Map<String, String> york = Map.of("timezone", "America/New_York", "application_name", "tp-york"); // as PGTZ
        try (ReplicantProxy proxy = pooled(cluster, 1, "  auth: trust\n");
                WireClient a = new WireClient(proxy.address().getPort(), LocalPostgresCluster.APP_USER, berlin);
                WireClient b = new WireClient(proxy.address().getPort(), LocalPostgresCluster.APP_USER, york)) {
            assertEquals("Europe/Berlin", WireClient.parameterStatus(a.login()).get("TimeZone"));
            Set<String> pids = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                String[] seenByA = a.query(sql).singleValue().split("\\|");
                String[] seenByB = b.query(sql).singleValue().split("\\|");
                assertEquals(List.of("Europe/Berlin", "SQL, DMY", "tp-berlin"), List.of(seenByA).subList(0, 3));
                assertEquals(List.of("America/New_York", "tp-york"), List.of(seenByB[0], seenByB[2]));
                assertEquals("3", seenByA[4]);
                assertNotEquals("3", seenByB[4], "a's extra_float_digits must not reach b");
                assertNotEquals("SQL, DMY", seenByB[1], "a's date style must not reach b");
                pids.add(seenByA[3]);
                pids.add(seenByB[3]);
            }
            assertEquals(1, pids.size(), "both clients used the pool's one primary connection: " + pids);

            assertEquals(Map.of("TimeZone", "Asia/Tokyo"),
                    WireClient.parameterStatus(a.query("SET TimeZone = 'Asia/Tokyo'").readUntil('Z')));
            assertTrue(b.query(sql).singleValue().startsWith("America/New_York|"));
            assertTrue(a.query(sql).singleValue().startsWith("Asia/Tokyo|SQL, DMY|tp-berlin|"));
            assertEquals(Map.of("TimeZone", "Europe/Berlin"),
                    WireClient.parameterStatus(a.query("RESET ALL").readUntil('Z')),
                    "told its own startup values, which changed only for TimeZone");
            assertTrue(a.query(sql).singleValue().matches("Europe/Berlin\\|SQL, DMY\\|tp-berlin\\|\\d+\\|3"));
            a.query("SET TimeZone = 'Asia/Tokyo'").readUntil('Z');
            assertEquals(Map.of("TimeZone", "Europe/Berlin"),
                    WireClient.parameterStatus(a.query("RESET timezone").readUntil('Z')));
            assertTrue(b.query(sql).singleValue().startsWith("America/New_York|"));
            assertTrue(a.query(sql).singleValue().startsWith("Europe/Berlin|SQL, DMY|tp-berlin|"));

            try (WireClient mars = new WireClient(proxy.address().getPort(), LocalPostgresCluster.APP_USER,
                    Map.of("TimeZone", "Mars/Olympus_Mons"))) {
                List<WireClient.Message> answer = mars.query(sql).readUntil('E');
                WireClient.Message error = answer.get(answer.size() - 1);
                assertEquals("22023", error.sqlState(), WireClient.describe(answer));
                assertEquals("FATAL", error.field('S'));
                assertTrue(error.field('M').contains("Mars/Olympus_Mons"), error.field('M'));
            }
            assertTrue(b.query(sql).singleValue().startsWith("America/New_York|"));
            assertTrue(a.query(sql).singleValue().startsWith("Europe/Berlin|SQL, DMY|tp-berlin|"));
            // inside a transaction block too, and a rollback takes back both
            a.query("SET TimeZone = 'Asia/Tokyo'").readUntil('Z');
            a.query("BEGIN").readUntil('Z');
            assertEquals(Map.of("TimeZone", "Europe/Berlin"),
                    WireClient.parameterStatus(a.query("RESET ALL").readUntil('Z')));
            assertTrue(a.query(sql).singleValue().startsWith("Europe/Berlin|SQL, DMY|tp-berlin|"));
            assertEquals(Map.of("TimeZone", "Asia/Tokyo"),
                    WireClient.parameterStatus(a.query("ROLLBACK").readUntil('Z')));
            assertTrue(a.query(sql).singleValue().startsWith("Asia/Tokyo|SQL, DMY|tp-berlin|"));
        }
    }

    /**
     * Many clients with settings of their own on a few shared connections at once, reading on the replicas and the
     * primary, in and out of transactions, changing and resetting their settings: none ever sees another's.
     */
    @Test
    void clientsWithSettingsOfTheirOwnNeverSeeAnothersUnderLoad() throws Exception {
        String[] zones = {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"};
        String read = "SELECT current_setting('TimeZone') || ' ' || current_setting('application_name')";
        String onPrimary = "/* replicant:route=primary */ " + read;
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try (ReplicantProxy proxy = pooled(cluster, 2, "  auth: trust\n")) {
            List<Future<Integer>> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                String own = zones[i % zones.length] + " tp-mix-" + i;
                Map<String, String> settings = Map.of("TimeZone", zones[i % zones.length], "application_name",
                        "tp-mix-" + i);
                clients.add(pool.submit(() -> {
                    int checked = 0;
                    try (WireClient c = new WireClient(proxy.address().getPort(), LocalPostgresCluster.APP_USER,
                            settings)) {
                        for (int r = 0; r < ROUNDS; r++) {
                            assertEquals(own, c.query(read).singleValue());
                            assertEquals(own, c.query(onPrimary).singleValue());
                            if (r % 5 == 0) {
                                c.query("SET TimeZone = 'UTC'").readUntil('Z');
                                assertEquals("UTC " + own.split(" ")[1], c.query(read).singleValue());
                                c.query("RESET ALL").readUntil('Z');
                            }
                            if (r % 7 == 0) {
                                c.query("BEGIN").readUntil('Z');
                                assertEquals(own, c.query(onPrimary).singleValue());
                                c.query("COMMIT").readUntil('Z');
                            }
                            checked++;
                        }
                    }
                    return checked;
                }));
            }
            for (Future<Integer> f : clients) {
                assertEquals(ROUNDS, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void manyClientsShareAFewServerSessionsAndNoWriteIsLost() throws Exception {
        String application = "tp-share";
        List<Connection> watchers = new ArrayList<>();
        for (PgNode node : cluster.nodes()) {
            watchers.add(DriverManager.getConnection(node.jdbcUrl(LocalPostgresCluster.APP_DATABASE),
                    ProxyFixture.credentials()));
        }
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try (ReplicantProxy proxy = pooled(cluster, 2, "")) {
            List<Future<Integer>> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int id = i;
                clients.add(pool.submit(() -> {
                    int reads = 0;
                    try (Connection c = client(proxy, application);
                            PreparedStatement add = c.prepareStatement("UPDATE tp_counter SET n = n + 1 WHERE id = ?");
                            PreparedStatement read = c.prepareStatement("SELECT n FROM tp_counter WHERE id = ?")) {
                        for (int r = 0; r < ROUNDS; r++) {
                            c.setAutoCommit(false);
                            add.setInt(1, id);
                            assertEquals(1, add.executeUpdate());
                            c.commit();
                            c.setAutoCommit(true);
                            read.setInt(1, id);
                            try (ResultSet rs = read.executeQuery()) {
                                assertTrue(rs.next());
                                reads++;
                            }
                        }
                    }
                    return reads;
                }));
            }
            int[] most = new int[watchers.size()];
            while (clients.stream().anyMatch(f -> !f.isDone())) {
                for (int n = 0; n < watchers.size(); n++) {
                    most[n] = Math.max(most[n], sessionsOf(watchers.get(n), application));
                }
                ProxyFixture.sleep(5);
            }
            for (Future<Integer> f : clients) {
                assertEquals(ROUNDS, f.get());
            }
            for (int n = 0; n < watchers.size(); n++) {
                assertTrue(most[n] <= 2, cluster.nodes().get(n).name() + " saw " + most[n]
                        + " server sessions of " + CLIENTS + " clients; proxy.pool_size is 2");
            }
            assertTrue(most[0] >= 1 && most[1] + most[2] >= 1, "the writes used the primary, the reads the replicas");
            try (Statement s = watchers.get(0).createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*), min(n), max(n) FROM tp_counter")) {
                rs.next();
                assertEquals(CLIENTS, rs.getInt(1));
                assertEquals(ROUNDS, rs.getInt(2), "every client's every commit landed once");
                assertEquals(ROUNDS, rs.getInt(3));
            }
        } finally {
            pool.shutdownNow();
            for (Connection w : watchers) {
                w.close();
            }
        }
    }

    private static int sessionsOf(Connection node, String application) throws SQLException {
        try (Statement s = node.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application + "'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void settingsAndPreparedStatementsStayWithTheirClient() throws SQLException {
        try (ReplicantProxy proxy = pooled(cluster, 1, "");
                Connection a = client(proxy, "tp-settings");
                Connection b = client(proxy, "tp-settings");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            int pid = intOf(sa, PRIMARY_PID);
            assertEquals(pid, intOf(sb, PRIMARY_PID),
                    "with proxy.pool_size 1 both clients use the same server session");
            sa.execute("SET work_mem = '7MB'");
            sb.execute("SET statement_timeout = '42s'");
            for (int i = 0; i < 3; i++) {
                assertEquals("7MB", textOf(sa, "/* replicant:route=primary */ SHOW work_mem"));
                assertEquals("0", textOf(sa, "/* replicant:route=primary */ SHOW statement_timeout"));
                assertEquals("4MB", textOf(sb, "/* replicant:route=primary */ SHOW work_mem"));
                assertEquals("42s", textOf(sb, "/* replicant:route=primary */ SHOW statement_timeout"));
                assertEquals("7MB", textOf(sa, "SHOW work_mem"), "on a replica too");
                assertEquals("4MB", textOf(sb, "SHOW work_mem"));
            }
            // pgjdbc names each connection's first server-side statement S_1: the same name, different statements
            try (PreparedStatement pa = a.prepareStatement("SELECT ?::int + 1");
                    PreparedStatement pb = b.prepareStatement("SELECT ?::text || '!'")) {
                for (int i = 0; i < 20; i++) {
                    pa.setInt(1, i);
                    pb.setString(1, "b" + i);
                    try (ResultSet ra = pa.executeQuery(); ResultSet rb = pb.executeQuery()) {
                        ra.next();
                        rb.next();
                        assertEquals(i + 1, ra.getInt(1));
                        assertEquals("b" + i + "!", rb.getString(1));
                    }
                }
            }
        }
    }

    @Test
    void aClientWithTempTablesKeepsItsServerAndOthersWaitThenTimeOut() throws SQLException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (ReplicantProxy proxy = ReplicantProxy.start(ProxyFixture.config(cluster, "  pool_mode: transaction\n"
                + "  pool_size: 1\n  threads: 1\n  pool_wait_timeout: 500ms\n"), meters);
                Connection a = client(proxy, "tp-temp");
                Connection b = client(proxy, "tp-temp");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            int pid = intOf(sa, PRIMARY_PID);
            sa.execute("CREATE TEMP TABLE tp_temp (x int)");
            sa.execute("INSERT INTO tp_temp VALUES (1), (2)");
            SQLException busy = assertThrows(SQLException.class,
                    () -> sb.execute("UPDATE tp_counter SET n = n WHERE id = 0"));
            assertEquals("53300", busy.getSQLState(), busy.getMessage());
            assertTrue(busy.getMessage().contains("proxy.pool_wait_timeout"), busy.getMessage());
            assertEquals(1, meters.get("replicant.proxy.pool.wait").tag("outcome", "timeout").timer().count());
            TrafficStats.Totals traffic = proxy.context().traffic(LocalPostgresCluster.APP_DATABASE).totals();
            assertEquals(1, traffic.waits(), "SHOW STATS counts the wait");
            // the event loop's timer may fire a fraction of a millisecond early
            assertTrue(traffic.waitMicros() >= 490_000, "waited the whole timeout: " + traffic.waitMicros());
            assertEquals(2, intOf(sa, "SELECT count(*) FROM tp_temp"), "the temp table is still there");
            a.close();
            int next = intOf(sb, PRIMARY_PID);
            assertNotEquals(pid, next, "the session with the temp table was not handed on");
            assertEquals(0, intOf(sb, "/* replicant:route=primary */ SELECT count(*) FROM pg_class WHERE relname = 'tp_temp' "
                    + "AND relnamespace = pg_my_temp_schema()"));
        }
    }

    @Test
    void anAdvisoryLockKeepsItsServerSessionWithItsClient() throws SQLException {
        try (ReplicantProxy proxy = pooled(cluster, 2, "");
                Connection a = client(proxy, "tp-lock");
                Connection b = client(proxy, "tp-lock");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            assertEquals("", textOf(sa, "SELECT pg_advisory_lock(4242)::text"));
            assertEquals("false", textOf(sb, "SELECT pg_try_advisory_lock(4242)::text"),
                    "the lock belongs to the other client's server session, which nobody else is given");
            assertEquals("true", textOf(sa, "SELECT pg_advisory_unlock(4242)::text"));
            assertEquals("true", textOf(sb, "SELECT pg_try_advisory_lock(4242)::text"));
            assertEquals("true", textOf(sb, "SELECT pg_advisory_unlock(4242)::text"));
        }
    }

    /** PostgreSQL keeps a session-level lock taken before an error in the same exchange: so does the proxy. */
    @Test
    void anAdvisoryLockTakenBeforeAnErrorKeepsItsServerSessionWithItsClient() throws SQLException {
        try (ReplicantProxy proxy = pooled(cluster, 1, "  pool_wait_timeout: 300ms\n");
                Connection a = client(proxy, "tp-lock-failed");
                Connection b = client(proxy, "tp-lock-failed");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            SQLException error = assertThrows(SQLException.class,
                    () -> sa.execute("SELECT pg_advisory_lock(4243); SELECT 1/0"));
            assertEquals("22012", error.getSQLState());
            SQLException busy = assertThrows(SQLException.class, () -> sb.execute("SELECT pg_try_advisory_lock(4243)"),
                    "the only server holds the other client's lock: it is not handed on");
            assertEquals("53300", busy.getSQLState(), busy.getMessage());
            assertEquals("true", textOf(sa, "SELECT pg_advisory_unlock(4243)::text"));
        }
    }

    /**
     * asyncpg and psycopg 3 through shared connections: asyncpg's prepares with Flush, COPY data sent ahead, and
     * its pool's reset on every connection it takes back (which must not keep the server for its client);
     * psycopg's pipeline mode.
     */
    @Test
    void pythonAsyncClientsOnSharedConnections(@TempDir Path dir) throws Exception {
        try (ReplicantProxy proxy = pooled(cluster, 2, "")) {
            ProxyFixture.assertAsyncpgClientWorks(proxy, dir);
            ProxyFixture.assertPsycopg3ClientWorks(proxy, dir);
        }
    }

    /** What asyncpg's pool sends on every connection it takes back: it must not keep the server for its client. */
    @Test
    void asyncpgsResetQueryLeavesTheConnectionToOthers() throws SQLException {
        try (ReplicantProxy proxy = pooled(cluster, 1, "  pool_wait_timeout: 2s\n");
                Connection a = client(proxy, "tp-reset");
                Connection b = client(proxy, "tp-reset");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            sa.execute("SELECT pg_advisory_unlock_all(); CLOSE ALL; DO $$ BEGIN PERFORM * FROM pg_listening_channels() "
                    + "LIMIT 1; IF FOUND THEN UNLISTEN *; END IF; END; $$; RESET ALL;");
            assertEquals(1, intOf(sb, "/* replicant:route=primary */ SELECT 1"),
                    "the primary's only pooled connection went back after the reset");
            assertEquals(1, intOf(sa, "/* replicant:route=primary */ SELECT 1"));
        }
    }

    /** A cursor that outlives its transaction keeps the server session; one that ends with it does not. */
    @Test
    void onlyACursorWithHoldKeepsTheServerForItsClient() throws SQLException {
        try (ReplicantProxy proxy = pooled(cluster, 1, "  pool_wait_timeout: 2s\n");
                Connection a = client(proxy, "tp-cursor");
                Connection b = client(proxy, "tp-cursor");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            a.setAutoCommit(false);
            sa.execute("DECLARE tp_plain CURSOR FOR SELECT n FROM generate_series(1, 3) n");
            assertEquals(1, intOf(sa, "FETCH NEXT FROM tp_plain"));
            sa.execute("CLOSE tp_plain");
            a.commit();
            a.setAutoCommit(true);
            assertEquals(1, intOf(sb, "/* replicant:route=primary */ SELECT 1"), "no pin for a plain cursor");

            sa.execute("DECLARE tp_held CURSOR WITH HOLD FOR SELECT n FROM generate_series(1, 3) n");
            SQLException waited = assertThrows(SQLException.class,
                    () -> intOf(sb, "/* replicant:route=primary */ SELECT 1"));
            assertEquals("53300", waited.getSQLState(), "the held cursor's session stays with its client");
            assertEquals(1, intOf(sa, "FETCH NEXT FROM tp_held"));
            assertEquals(2, intOf(sa, "FETCH NEXT FROM tp_held"));
            sa.execute("CLOSE tp_held");
        }
    }

    @Test
    void aClientGoneMidTransactionDoesNotHandItsTransactionOn() throws Exception {
        try (ReplicantProxy proxy = pooled(cluster, 1, "");
                Connection b = client(proxy, "tp-gone");
                Statement sb = b.createStatement()) {
            Connection a = client(proxy, "tp-gone");
            a.setAutoCommit(false);
            try (Statement sa = a.createStatement()) {
                sa.executeUpdate("UPDATE tp_counter SET n = -1 WHERE id = 1");
            }
            ExecutorService aborter = Executors.newSingleThreadExecutor();
            a.abort(aborter); // the socket closes: no Terminate, no ROLLBACK
            aborter.shutdown();
            sb.execute("SET lock_timeout = '5s'");
            assertEquals(0, intOf(sb, "/* replicant:route=primary */ SELECT count(*) FROM tp_counter WHERE n = -1"),
                    "the vanished client's uncommitted update is not visible: its transaction did not move on");
            assertEquals(1, sb.executeUpdate("UPDATE tp_counter SET n = n WHERE id = 1"), "and its lock is gone");
        }
    }

    @Test
    void aCancelArrivingLateDoesNotHitTheNextClientsQuery() throws Exception {
        try (ReplicantProxy proxy = pooled(cluster, 1, "");
                Connection a = client(proxy, "tp-cancel");
                Connection b = client(proxy, "tp-cancel");
                Statement sa = a.createStatement();
                Statement sb = b.createStatement()) {
            String onPrimary = "/* replicant:route=primary */ ";
            AtomicBoolean done = new AtomicBoolean();
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try {
                Future<Integer> aCancelled = threads.submit(() -> { // quick queries, cancelled all the time
                    int cancelled = 0;
                    while (!done.get()) {
                        try {
                            sa.executeQuery(onPrimary + "SELECT pg_sleep(0.001)").close();
                        } catch (SQLException e) {
                            assertEquals("57014", e.getSQLState(), e.getMessage());
                            cancelled++;
                        }
                    }
                    return cancelled;
                });
                threads.submit(() -> {
                    while (!done.get()) {
                        sa.cancel();
                    }
                    return null;
                });
                int bCancelled = 0;
                for (int i = 0; i < 300; i++) {
                    try {
                        sb.executeQuery(onPrimary + "SELECT pg_sleep(0.002)").close();
                    } catch (SQLException e) {
                        assertEquals("57014", e.getSQLState(), e.getMessage());
                        bCancelled++;
                    }
                }
                done.set(true);
                assertTrue(aCancelled.get(30, TimeUnit.SECONDS) > 0, "the cancels reached the client's queries");
                assertEquals(0, bCancelled, "cancels meant for the other client's queries hit this one's");
            } finally {
                done.set(true);
                threads.shutdownNow();
            }
        }
    }

    @Test
    void aStatementWaitingForAServerConnectionCanBeCancelled() throws Exception {
        try (ReplicantProxy proxy = pooled(cluster, 1, "");
                Connection a = client(proxy, "tp-wait");
                Connection b = client(proxy, "tp-wait");
                Statement sb = b.createStatement()) {
            a.setAutoCommit(false);
            try (Statement sa = a.createStatement()) {
                sa.executeUpdate("UPDATE tp_counter SET n = n WHERE id = 3"); // holds the primary connection
            }
            ExecutorService thread = Executors.newSingleThreadExecutor();
            Future<SQLException> waiting = thread.submit(() -> {
                try {
                    sb.executeUpdate("UPDATE tp_counter SET n = n WHERE id = 4");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            thread.shutdown();
            ProxyFixture.sleep(300);
            sb.cancel();
            SQLException e = waiting.get(10, TimeUnit.SECONDS);
            assertTrue(e != null, "the waiting statement was cancelled");
            assertEquals("57014", e.getSQLState(), e.getMessage());
            a.commit();
            assertEquals(1, sb.executeUpdate("UPDATE tp_counter SET n = n WHERE id = 4"), "the client goes on");
        }
    }

    @Test
    void idlePooledConnectionsCloseAfterTheIdleTimeoutAndUnusedPoolsAreRetired() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  pool_mode: transaction\n  threads: 1\n"
                + "pool:\n  idle_timeout: 10s\n");
                Connection primary = ProxyFixture.direct(cluster)) {
            try (Connection c = client(proxy, "tp-idle"); Statement s = c.createStatement()) {
                s.execute("UPDATE tp_counter SET n = n WHERE id = 2");
                assertEquals(1, sessionsOf(primary, "tp-idle"), "the write's connection stays in the pool");
            }
            assertEquals(1, proxy.context().pools().size());
            long deadline = System.nanoTime() + 30_000_000_000L;
            while ((sessionsOf(primary, "tp-idle") > 0 || !proxy.context().pools().isEmpty())
                    && System.nanoTime() < deadline) {
                ProxyFixture.sleep(250);
            }
            assertEquals(0, sessionsOf(primary, "tp-idle"), "closed after pool.idle_timeout");
            assertEquals(List.of(), List.copyOf(proxy.context().pools()), "a pool with no connections and no clients "
                    + "is retired (e.g. one per application_name would otherwise pile up)");
            try (Connection c = client(proxy, "tp-idle"); Statement s = c.createStatement()) {
                assertEquals(1, s.executeUpdate("UPDATE tp_counter SET n = n WHERE id = 2"), "opened again when needed");
            }
        }
    }

    @Test
    void aLongIdleConnectionIsCheckedAndOneThatGoneSilentIsReplaced() throws Exception {
        try (ReplicantProxy proxy = pooled(cluster, 1, "  server_check_delay: 300ms\npool:\n  connect_timeout: 2s\n");
                Connection c = client(proxy, "tp-check"); Statement s = c.createStatement()) {
            int pid = intOf(s, PRIMARY_PID);
            ProxyFixture.sleep(400);
            assertEquals(pid, intOf(s, PRIMARY_PID), "a connection that answers its check is lent as before");

            ProxyFixture.sleep(400);
            signal("STOP", pid); // the server session stops answering, without closing anything
            try {
                int next = intOf(s, PRIMARY_PID);
                assertNotEquals(pid, next, "the silent connection was replaced by a new one");
            } finally {
                signal("CONT", pid);
            }
        }
    }

    private static void signal(String signal, int pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Integer.toString(pid)).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + signal + " " + pid);
    }

    @Test
    void pgbenchThroughATwoConnectionPool(@TempDir Path dir) throws Exception {
        try (ReplicantProxy proxy = pooled(cluster, 2, "")) {
            ProxyFixture.run(proxy, dir, "pgbench", "-i", "-s", "1", "-q", "--no-vacuum");
            cluster.awaitReplay();
            for (String mode : List.of("simple", "extended", "prepared")) {
                // one thread per client: pgbench -M prepared prepares synchronously, and a thread blocked on one
                // client waiting for a server cannot let its other clients finish their transactions
                String out = ProxyFixture.run(proxy, dir, "pgbench", "-M", mode, "-c", "8", "-j", "8", "-t", "50");
                assertTrue(out.contains("number of transactions actually processed: 400/400"), out);
                assertTrue(out.contains("number of failed transactions: 0"), out);
            }
        }
    }

    private static int intOf(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }

    private static String textOf(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }
}
