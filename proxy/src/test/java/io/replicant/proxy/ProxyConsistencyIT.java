package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StaleReads;

/** Read-your-writes through the proxy ({@code consistency: session}) with a replica whose replay is paused. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProxyConsistencyIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS pc_counter (id int PRIMARY KEY, v int)");
            s.execute("INSERT INTO pc_counter VALUES (1, 0) ON CONFLICT DO NOTHING");
        }
        cluster.awaitReplay();
    }

    @Test
    void sessionConsistencyNeverReadsStaleDataWhileEventualDoes() throws Exception {
        PgNode paused = cluster.replica(0);
        try (ReplicantProxy eventual = ProxyFixture.start(cluster, "");
                ReplicantProxy session = ProxyFixture.start(cluster, "consistency: session\n")) { // top level
            paused.pauseReplay();
            try {
                try (Connection c = ProxyFixture.connect(eventual, "extended")) {
                    assertTrue(staleReads(c, 200) > 0, "eventual reads must be able to hit the paused replica, else "
                            + "this test could not catch a stale read");
                }
                for (String mode : new String[] {"simple", "extended"}) {
                    try (Connection c = ProxyFixture.connect(session, mode)) {
                        assertEquals(0, staleReads(c, 2_000), "stale reads in session mode (" + mode + ")");
                    }
                }
            } finally {
                paused.resumeReplay();
            }
            cluster.awaitReplay();
            try (Connection c = ProxyFixture.connect(session, "simple"); Statement s = c.createStatement()) {
                boolean onReplica = false;
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!onReplica && System.nanoTime() < deadline) {
                    try (ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                        rs.next();
                        onReplica = rs.getBoolean(1);
                    }
                    ProxyFixture.sleep(50);
                }
                assertTrue(onReplica, "once the replicas caught up, session reads go to them again");
            }
        }
    }

    private static int staleReads(Connection c, int n) throws SQLException {
        return StaleReads.count(c, c, "pc_counter", 1, n, "", StaleReads.Handoff.NONE);
    }
}
