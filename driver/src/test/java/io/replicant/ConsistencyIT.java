package io.replicant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.router.Backend;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StaleReads;

/**
 * Lag-aware routing and read-your-writes against real streaming replicas, with replay paused by
 * {@code pg_wal_replay_pause()} to make a replica fall behind on purpose.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConsistencyIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ClusterFixture.setUp(cluster,
                "CREATE TABLE IF NOT EXISTS cs_counter (id int PRIMARY KEY, v int NOT NULL)",
                "INSERT INTO cs_counter VALUES (1, 0), (2, 0) ON CONFLICT (id) DO UPDATE SET v = 0",
                "CREATE TABLE IF NOT EXISTS cs_filler (id serial PRIMARY KEY, pad text)");
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            PgNode.sleep(20);
        }
    }

    /** Writes about {@code kb} kilobytes of WAL on the primary. */
    private void writeWal(int kb) throws SQLException {
        try (Connection c = ClusterFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("INSERT INTO cs_filler (pad) SELECT repeat('x', 1000) FROM generate_series(1, " + kb + ")");
        }
    }

    private static String readOn(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
        }
        return c.unwrap(ReplicantConnection.class).lastRoute().backend();
    }

    @Test
    void aLaggingReplicaLeavesTheReadPoolAndComesBack() throws Exception {
        PgNode paused = cluster.replica(0);
        String pausedName = paused.address();
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster,
                "lag.max_bytes=8kB&monitor.interval=50ms&load_balance=round_robin")) {
            Backend backend = ds.cluster().replicas().stream().filter(b -> b.name().equals(pausedName)).findFirst()
                    .orElseThrow();
            try (Connection c = ds.getConnection()) {
                Map<String, Integer> before = new HashMap<>();
                for (int i = 0; i < 10; i++) {
                    before.merge(readOn(c, "SELECT 1"), 1, Integer::sum);
                }
                assertEquals(5, before.get(pausedName), "round robin uses both replicas while neither lags: " + before);

                paused.pauseReplay();
                try {
                    writeWal(64);
                    await("the paused replica is excluded", backend::isLagging);
                    assertFalse(backend.isEligible());
                    assertTrue(backend.reason().contains("lag.max_bytes"), backend.reason());
                    assertTrue(backend.lagBytes() > 8192, "lag " + backend.lagBytes());
                    await("lag time grows while replay stays paused", () -> backend.lagMillis() >= 200);
                    for (int i = 0; i < 20; i++) {
                        String where = readOn(c, "SELECT 1");
                        assertFalse(where.equals(pausedName), "read " + i + " went to the lagging replica");
                    }
                } finally {
                    paused.resumeReplay();
                }
                await("the replica is re-admitted after catching up", () -> !backend.isLagging());
                assertEquals(0, backend.lagMillis(), "caught up on an idle primary means no lag in time");
                Map<String, Integer> after = new HashMap<>();
                for (int i = 0; i < 10; i++) {
                    after.merge(readOn(c, "SELECT 1"), 1, Integer::sum);
                }
                assertEquals(5, after.get(pausedName), "back in the rotation: " + after);
            }
        }
    }

    @Test
    void fallbackWhenEveryReplicaLags() throws Exception {
        String url = "lag.max_bytes=8kB&monitor.interval=50ms&max_wait=300ms";
        try (ReplicantDataSource error = ClusterFixture.dataSource(cluster, url + "&lag.fallback=error");
                ReplicantDataSource waiting = ClusterFixture.dataSource(cluster, url + "&lag.fallback=wait");
                ReplicantDataSource primary = ClusterFixture.dataSource(cluster, url)) {
            error.cluster();
            waiting.cluster();
            primary.cluster();
            cluster.replicas().forEach(PgNode::pauseReplay);
            try {
                writeWal(64);
                for (ReplicantDataSource ds : new ReplicantDataSource[] {error, waiting, primary}) {
                    List<Backend> replicas = ds.cluster().replicas();
                    await("both replicas lag", () -> replicas.stream().allMatch(Backend::isLagging));
                }
                try (Connection c = error.getConnection(); Statement s = c.createStatement()) {
                    SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1"));
                    assertEquals("08001", e.getSQLState());
                    assertTrue(e.getMessage().contains("lag.fallback: error"), e.getMessage());
                }
                try (Connection c = waiting.getConnection()) {
                    long start = System.nanoTime();
                    readOn(c, "SELECT 1");
                    long waitedMs = (System.nanoTime() - start) / 1_000_000;
                    RouteExplanation route = c.unwrap(ReplicantConnection.class).lastRoute();
                    assertEquals("primary", route.target());
                    assertEquals("replica_lag", route.reason());
                    assertTrue(waitedMs >= 290, "waited max_wait before the primary: " + waitedMs + " ms");
                }
                try (Connection c = primary.getConnection()) {
                    readOn(c, "SELECT 1");
                    assertEquals("replica_lag", c.unwrap(ReplicantConnection.class).lastRoute().reason());
                }
            } finally {
                cluster.replicas().forEach(PgNode::resumeReplay);
            }
            cluster.awaitReplay();
        }
    }

    /** Writes then reads counter {@code id} {@code n} times; returns how many reads did not see their own write. */
    private static int staleReads(Connection writer, Connection reader, int n, int id, boolean passToken)
            throws SQLException {
        return StaleReads.count(writer, reader, "cs_counter", id, n, "", passToken ? ConsistencyIT::passToken
                : StaleReads.Handoff.NONE);
    }

    private static void passToken(Connection writer, Connection reader) throws SQLException {
        String token = writer.unwrap(ReplicantConnection.class).getConsistencyToken();
        assertNotNull(token);
        reader.unwrap(ReplicantConnection.class).setConsistencyToken(token);
    }

    @Test
    void readYourWritesWithAReplicaPaused() throws Exception {
        PgNode paused = cluster.replica(0);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "load_balance=round_robin")) {
            ds.setMeterRegistry(registry);
            ds.cluster();
            paused.pauseReplay();
            try {
                try (Connection c = ds.getConnection()) {
                    int stale = staleReads(c, c, 200, 1, false);
                    assertTrue(stale > 0, "eventual reads must be able to hit the paused replica, else this test "
                            + "could not catch a stale read; saw " + stale);
                }
                try (Connection c = ds.getConnection()) {
                    c.unwrap(ReplicantConnection.class).setConsistency("session");
                    assertEquals(0, staleReads(c, c, 10_000, 1, false), "stale reads in session mode");
                }
                try (Connection writer = ds.getConnection(); Connection reader = ds.getConnection()) {
                    reader.unwrap(ReplicantConnection.class).setConsistency("session");
                    assertEquals(0, staleReads(writer, reader, 2_000, 2, true), "stale reads with a passed token");
                }
            } finally {
                paused.resumeReplay();
            }
            double onReplicas = registry.find("replicant.statements").tag("target", "replica").counters().stream()
                    .mapToDouble(m -> m.count()).sum();
            assertTrue(onReplicas > 5_000, "session reads still go to the live replica: " + onReplicas);
        }
        cluster.awaitReplay();
    }

    @Test
    void tokenModeCoversOtherConnectionsAndHints() throws Exception {
        PgNode paused = cluster.replica(0);
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "consistency=token&load_balance=round_robin")) {
            ds.cluster();
            paused.pauseReplay();
            try (Connection writer = ds.getConnection(); Connection reader = ds.getConnection()) {
                assertEquals(0, staleReads(writer, reader, 500, 2, false),
                        "token mode: a read sees every commit made through the same data source");
            } finally {
                paused.resumeReplay();
            }
        }
        cluster.awaitReplay();
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "load_balance=round_robin");
                Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            String position = cluster.primary().query("SELECT pg_current_wal_insert_lsn()");
            paused.pauseReplay();
            try {
                s.executeUpdate("UPDATE cs_counter SET v = v + 1 WHERE id = 2");
                String after = cluster.primary().query("SELECT pg_current_wal_insert_lsn()");
                for (int i = 0; i < 6; i++) {
                    readOn(c, "/* replicant:min_lsn=" + after + " */ SELECT 1");
                    RouteExplanation route = c.unwrap(ReplicantConnection.class).lastRoute();
                    assertFalse(route.backend().equals(paused.address()),
                            "the hint keeps reads off the replica paused before " + after + " (was at " + position + ")");
                }
                readOn(c, "/* replicant:consistency=strong */ SELECT 1");
                assertEquals("strong_consistency", c.unwrap(ReplicantConnection.class).lastRoute().reason());
            } finally {
                paused.resumeReplay();
            }
        }
        cluster.awaitReplay();
    }

    private static int pidOf(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private void terminate(String address, int pid) {
        PgNode node = cluster.nodes().stream().filter(n -> n.address().equals(address)).findFirst().orElseThrow();
        assertEquals("t", node.query("SELECT pg_terminate_backend(" + pid + ")"));
    }

    @Test
    void aReadThatLosesItsConnectionRunsAgainElsewhereButAWriteDoesNot() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "load_balance=round_robin")) {
            ds.setMeterRegistry(registry);
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
                int firstPid = pidOf(c);
                String first = rc.lastRoute().backend();
                pidOf(c);
                String second = rc.lastRoute().backend();
                assertFalse(first.equals(second));
                terminate(first, firstPid); // the next read goes to `first`, whose server session is gone
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM cs_counter")) {
                    assertTrue(rs.next(), "the read succeeded after one retry");
                }
                assertEquals(second, rc.lastRoute().backend(), "retried on the other replica");
                assertEquals(1.0, registry.get("replicant.errors").tag("sqlstate_class", "57").counter().count());
                assertEquals(1.0, registry.get("replicant.reads.retried").tag("backend", first).counter()
                        .count());

                int primaryPid;
                try (ResultSet rs = s.executeQuery("/* replicant:route=primary */ SELECT pg_backend_pid()")) {
                    rs.next();
                    primaryPid = rs.getInt(1);
                }
                terminate(cluster.primary().address(), primaryPid);
                SQLException e = assertThrows(SQLException.class,
                        () -> s.executeUpdate("UPDATE cs_counter SET v = v WHERE id = 1"));
                assertEquals("08006", e.getSQLState(), "a write is never retried silently");
                assertTrue(e.getMessage().contains("the outcome of its commit is unknown"), e.getMessage());
                assertEquals(1, s.executeUpdate("UPDATE cs_counter SET v = v WHERE id = 1"),
                        "the next write gets a new connection (after the primary passes its health checks)");
            }
        }
    }
}
