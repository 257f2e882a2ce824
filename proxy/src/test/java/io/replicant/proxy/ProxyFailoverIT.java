package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.replicant.testkit.InsertLoop;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;

/**
 * Losing the primary behind the proxy (a cluster of its own, since the test kills its primary): a client inserts
 * numbered rows through the proxy the whole time, reconnecting after errors, while the primary is killed and a
 * replica promoted. Writes must resume on the new primary through the same proxy, with documented errors only.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProxyFailoverIT {
    private static final String OPTIONS = "monitor:\n  interval: 100ms\npool:\n  connect_timeout: 2s\n"
            + "failover:\n  detect_timeout: 15s\n";

    @Test
    void writesThroughTheProxyFollowAPromotion() throws Exception {
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(2).logStatements(false).start()) {
            try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE pf_rows (id bigint PRIMARY KEY)");
            }
            cluster.awaitReplay();
            try (ReplicantProxy proxy = ProxyFixture.start(cluster, OPTIONS)) {
                InsertLoop writer = new InsertLoop(() -> ProxyFixture.connect(proxy, "extended"),
                        "INSERT INTO pf_rows VALUES (?)", 20);
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
                System.out.printf("proxy failover: writes resumed %d ms after pg_ctl promote returned (%d ms after the "
                        + "kill); failures seen by the client: %d, SQLSTATEs %s%n", (resumed - promotedAt) / 1_000_000,
                        (resumed - killed) / 1_000_000, writer.failures().size(),
                        writer.failures().stream().map(SQLException::getSQLState).distinct().toList());
                assertEquals(promoted.address(), proxy.context().cluster().primary().name());
                for (SQLException e : writer.failures()) {
                    // the insert in flight when the primary died gets its error (the server's own, or 08006); the
                    // ones after it wait for the new primary instead of failing with 08001
                    String state = e.getSQLState();
                    assertTrue("08006".equals(state) || "57P01".equals(state),
                            "undocumented failure " + state + ": " + e.getMessage());
                }

                Set<Long> onNewPrimary = new HashSet<>();
                try (Connection c = promoted.connect(LocalPostgresCluster.APP_DATABASE); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT id FROM pf_rows")) {
                    while (rs.next()) {
                        onNewPrimary.add(rs.getLong(1));
                    }
                }
                long lostAfter = writer.acknowledged().stream().filter(id -> id >= ackedAtKill)
                        .filter(id -> !onNewPrimary.contains(id)).count();
                assertEquals(0, lostAfter, "every insert acknowledged after the failover is on the new primary");
                try (Connection c = ProxyFixture.connect(proxy, "simple"); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT count(*) FROM pf_rows")) {
                    assertTrue(rs.next() && rs.getLong(1) > 0, "the proxy still serves reads");
                }
            }
        }
    }
    @Test
    void withNoPrimaryAWriteWaitsDetectTimeoutOrACancelWhileReadsGoOn() throws Exception {
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(1).logStatements(false).start()) {
            try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE pf_rows (id bigint PRIMARY KEY)");
                s.execute("INSERT INTO pf_rows VALUES (1)");
            }
            cluster.awaitReplay();
            String options = "monitor:\n  interval: 100ms\npool:\n  connect_timeout: 2s\n";
            try (ReplicantProxy brief = ProxyFixture.start(cluster, options + "failover:\n  detect_timeout: 1s\n");
                    ReplicantProxy patient = ProxyFixture.start(cluster, options + "failover:\n  detect_timeout: 60s\n");
                    Connection c = ProxyFixture.connect(brief, "extended");
                    Connection waiting = ProxyFixture.connect(patient, "extended");
                    Statement s = c.createStatement(); Statement w = waiting.createStatement()) {
                cluster.primary().kill();
                SQLException e = assertThrows(SQLException.class, () -> s.executeUpdate("INSERT INTO pf_rows VALUES (2)"));
                assertEquals("08001", e.getSQLState(), e.getMessage());
                assertTrue(e.getMessage().contains("(waited failover.detect_timeout 1000 ms)"), e.getMessage());
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pf_rows")) {
                    assertTrue(rs.next() && rs.getLong(1) == 1, "reads go on on the replica, on the same connection");
                }

                Thread canceller = new Thread(() -> {
                    PgNode.sleep(500);
                    try {
                        w.cancel();
                    } catch (SQLException ignored) {
                        // the assertion below fails instead
                    }
                });
                canceller.start();
                SQLException cancelled = assertThrows(SQLException.class,
                        () -> w.executeUpdate("INSERT INTO pf_rows VALUES (3)"));
                canceller.join();
                assertEquals("57014", cancelled.getSQLState(), cancelled.getMessage());
                try (ResultSet rs = w.executeQuery("SELECT 1")) {
                    assertTrue(rs.next(), "the connection serves the next statement");
                }
            }
        }
    }
}
