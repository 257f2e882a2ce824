package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.router.Backend;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;

/**
 * A server session killed under a running query: an autocommit read runs again elsewhere without the client
 * noticing (as the JDBC driver retries it); a read inside a transaction is not retried.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyReadRetryIT {
    /** A read that takes a second or two, with no volatile function (so it may run again). */
    private static final String SLOW_READ = "SELECT count(*) FROM generate_series(1, 4000) a, generate_series(1, 4000) b";
    private LocalPostgresCluster cluster;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private ReplicantProxy proxy;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        proxy = ReplicantProxy.start(ProxyFixture.config(cluster, ""), meters);
    }

    @AfterAll
    void stop() {
        proxy.close();
    }

    @Test
    void anAutocommitReadWhoseServerIsKilledRunsAgainOnAnotherReplica() throws Exception {
        for (String mode : new String[] {"simple", "extended"}) {
            String marker = "rr-" + mode + "-" + UUID.randomUUID();
            double retriedBefore = retried();
            try (Connection c = ProxyFixture.connect(proxy, mode); Statement s = c.createStatement()) {
                CompletableFuture<Long> result = CompletableFuture.supplyAsync(() -> {
                    try (ResultSet rs = s.executeQuery(SLOW_READ + " /* " + marker + " */")) {
                        rs.next();
                        return rs.getLong(1);
                    } catch (SQLException e) {
                        throw new IllegalStateException(e.getSQLState() + " " + e.getMessage(), e);
                    }
                });
                PgNode killedOn = killWhereRunning(marker);
                assertNotNull(killedOn, mode + ": the replica session running the read was found and killed");
                assertEquals(16_000_000L, result.get(30, TimeUnit.SECONDS), mode + ": answered after all");
                assertEquals(retriedBefore + 1, retried(), mode + ": counted in replicant.reads.retried");
                awaitAllUp();
            }
        }
    }

    @Test
    void aReadInsideATransactionIsNotRunAgain() throws Exception {
        String marker = "rr-tx-" + UUID.randomUUID();
        double retriedBefore = retried();
        try (Connection c = ProxyFixture.connect(proxy, "extended"); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            CompletableFuture<SQLException> result = CompletableFuture.supplyAsync(() -> {
                try {
                    s.executeQuery(SLOW_READ + " /* " + marker + " */").close();
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            assertNotNull(killWhereRunning(marker));
            SQLException e = result.get(30, TimeUnit.SECONDS);
            assertNotNull(e, "the client is told: a transaction cannot move");
            assertTrue(Set.of("57P01", "08006").contains(e.getSQLState()), e.getSQLState() + " " + e.getMessage());
        }
        assertEquals(retriedBefore, retried());
        awaitAllUp();
    }

    /** Terminates the server session whose query contains {@code marker}, on whichever node runs it. */
    private PgNode killWhereRunning(String marker) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (PgNode node : cluster.nodes()) {
                String killed = node.query("SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM "
                        + "pg_stat_activity WHERE state = 'active' AND query LIKE '%" + marker + "%' "
                        + "AND pid <> pg_backend_pid()");
                if ("t".equals(killed)) {
                    return node;
                }
            }
            ProxyFixture.sleep(20);
        }
        return null;
    }

    private double retried() {
        return meters.find("replicant.reads.retried").counters().stream().mapToDouble(c -> c.count()).sum();
    }

    /** The killed server was marked down; health checks bring it back before the next test routes there. */
    private void awaitAllUp() {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!proxy.context().cluster().backends().stream().allMatch(Backend::isAvailable)
                && System.nanoTime() < deadline) {
            ProxyFixture.sleep(50);
        }
        assertTrue(proxy.context().cluster().backends().stream().allMatch(Backend::isAvailable));
    }
}
