package io.replicant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.testkit.InsertLoop;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;

/**
 * Losing the primary: each test has a cluster of its own, because it kills or splits the primary. An
 * {@link InsertLoop} inserts numbered rows through Replicant the whole time and records which returned success.
 */
class FailoverIT {
    private static final String OPTIONS = "monitor.interval=100ms&pool.connect_timeout=2s&failover.detect_timeout=15s";

    private static Set<Long> rowsOn(PgNode node) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Connection c = node.connect(LocalPostgresCluster.APP_DATABASE); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT id FROM fo_rows")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    private static void createTable(LocalPostgresCluster cluster) throws SQLException {
        ClusterFixture.setUp(cluster, "CREATE TABLE fo_rows (id bigint PRIMARY KEY)");
    }

    /** The documented errors of a lost primary: 08006 saying what happened to the work, or 08001 (no primary yet). */
    private static void assertDocumented(List<SQLException> failures) {
        for (SQLException e : failures) {
            boolean lost = "08006".equals(e.getSQLState()) && e.getMessage().contains("outcome of its commit is unknown");
            boolean noPrimary = "08001".equals(e.getSQLState());
            assertTrue(lost || noPrimary, "undocumented failure " + e.getSQLState() + ": " + e.getMessage());
        }
    }

    @Test
    void writesFollowAnOperatorPromotion() throws Exception {
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(2).logStatements(false).start()) {
            createTable(cluster);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, OPTIONS)) {
                ds.setMeterRegistry(registry);
                InsertLoop writer = new InsertLoop(ds::getConnection, "INSERT INTO fo_rows VALUES (?)", 0);
                writer.start();
                writer.awaitSuccessAfter(System.nanoTime(), 300);

                long killed = System.nanoTime();
                cluster.primary().kill();
                long ackedAtKill = writer.next();
                PgNode promoted = cluster.replica(0);
                promoted.promote();
                long promotedAt = System.nanoTime();
                long resumed = writer.awaitSuccessAfter(promotedAt, 200);
                writer.stop();

                System.out.printf("failover: writes resumed %d ms after pg_ctl promote returned (%d ms after the kill); "
                        + "failures seen by the app: %d%n", (resumed - promotedAt) / 1_000_000,
                        (resumed - killed) / 1_000_000, writer.failures().size());
                assertTrue(resumed - promotedAt < 5_000_000_000L, "writes resumed within 5 s of the promotion");
                assertEquals(promoted.address(), ds.cluster().primary().name());
                assertEquals(1.0, registry.get("replicant.failovers").counter().count());
                assertDocumented(writer.failures());

                Set<Long> onNewPrimary = rowsOn(promoted);
                int lostBefore = 0;
                int lostAfter = 0;
                for (long id : writer.acknowledged()) {
                    if (!onNewPrimary.contains(id)) {
                        if (id < ackedAtKill) {
                            lostBefore++;
                        } else {
                            lostAfter++;
                        }
                    }
                }
                System.out.printf("failover: %d acknowledged inserts, %d acknowledged before the crash missing on the "
                        + "new primary (asynchronous replication allows this)%n", writer.acknowledged().size(), lostBefore);
                assertEquals(0, lostAfter, "every insert acknowledged after the failover is on the new primary");
            }
        }
    }

    @Test
    void replicantPromotesWhenAsked() throws Exception {
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(2).logStatements(false).start()) {
            try (Connection su = cluster.primary().connect(LocalPostgresCluster.APP_DATABASE);
                    Statement s = su.createStatement()) {
                s.execute("GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO " + LocalPostgresCluster.APP_USER);
            }
            createTable(cluster);
            try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster,
                    OPTIONS + "&failover.promote=true&failover.grace=1s")) {
                InsertLoop writer = new InsertLoop(ds::getConnection, "INSERT INTO fo_rows VALUES (?)", 0);
                writer.start();
                writer.awaitSuccessAfter(System.nanoTime(), 200);
                long killed = System.nanoTime();
                cluster.primary().kill();
                // from when it is dead: inserts acknowledged while kill() ran may have reached the old primary
                long resumed = writer.awaitSuccessAfter(System.nanoTime(), 100);
                writer.stop();
                System.out.printf("failover.promote: writes resumed %d ms after the primary was killed (grace 1 s)%n",
                        (resumed - killed) / 1_000_000);
                String newPrimary = ds.cluster().primary().name();
                PgNode promoted = cluster.replicas().stream().filter(n -> n.address().equals(newPrimary)).findFirst()
                        .orElseThrow(() -> new AssertionError("the new primary " + newPrimary + " is not a replica"));
                assertFalse(promoted.isInRecovery(), "Replicant promoted " + promoted);
                long stillReplicas = cluster.replicas().stream().filter(PgNode::isInRecovery).count();
                assertEquals(1, stillReplicas, "exactly one replica was promoted");
                assertDocumented(writer.failures());
            }
        }
    }

    @Test
    void splitBrainBlocksWritesUntilResolved() throws Exception {
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(2).logStatements(false).start()) {
            createTable(cluster);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            String options = "monitor.interval=100ms&pool.connect_timeout=2s&failover.detect_timeout=1s";
            try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, options);
                    ReplicantDataSource highest = ClusterFixture.dataSource(cluster,
                            options + "&failover.split_brain=highest_timeline")) {
                ds.setMeterRegistry(registry);
                ds.cluster();
                highest.cluster();
                PgNode rogue = cluster.replica(1);
                rogue.promote(); // the old primary is still up: two hosts accept writes
                try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    SQLException refused = null;
                    while (refused == null && System.nanoTime() < deadline) {
                        try {
                            s.executeUpdate("INSERT INTO fo_rows VALUES (1)");
                            s.executeUpdate("DELETE FROM fo_rows WHERE id = 1");
                            PgNode.sleep(50);
                        } catch (SQLException e) {
                            refused = e;
                        }
                    }
                    assertTrue(refused != null, "writes were not refused during a split brain");
                    assertEquals("08001", refused.getSQLState());
                    assertTrue(refused.getMessage().contains("split brain"), refused.getMessage());
                    assertEquals(1.0, registry.get("replicant.split_brain").counter().count());
                    SQLException again = assertThrows(SQLException.class,
                            () -> s.executeUpdate("INSERT INTO fo_rows VALUES (2)"));
                    assertTrue(again.getMessage().contains("split brain"), again.getMessage());
                    assertEquals(1, s.executeQuery("SELECT 1").getMetaData().getColumnCount(),
                            "reads on replicas go on");
                }
                try (Connection c = highest.getConnection(); Statement s = c.createStatement()) {
                    s.executeUpdate("INSERT INTO fo_rows VALUES (3)");
                    assertEquals(rogue.address(), highest.cluster().primary().name(),
                            "highest_timeline: the promoted host is on a newer timeline");
                }
                cluster.primary().kill(); // resolves it: only the promoted host accepts writes now
                try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (true) {
                        try {
                            s.executeUpdate("INSERT INTO fo_rows VALUES (4)");
                            break;
                        } catch (SQLException e) {
                            assertTrue(System.nanoTime() < deadline, "writes did not resume: " + e.getMessage());
                        }
                    }
                    assertEquals(rogue.address(), ds.cluster().primary().name());
                }
                assertTrue(rowsOn(rogue).containsAll(List.of(3L, 4L)));
            }
        }
    }
}
