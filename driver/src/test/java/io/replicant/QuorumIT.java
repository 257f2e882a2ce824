package io.replicant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;

/** Quorum commits ({@code replication.mode: sync}) against real streaming replicas. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuorumIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ClusterFixture.setUp(cluster, "CREATE TABLE IF NOT EXISTS qr_rows (id bigint PRIMARY KEY, note text)");
        cluster.primary().query("GRANT pg_read_all_stats TO " + LocalPostgresCluster.APP_USER);
    }

    private static boolean has(PreparedStatement lookup, long id) throws SQLException {
        lookup.setLong(1, id);
        try (ResultSet rs = lookup.executeQuery()) {
            return rs.next();
        }
    }

    @Test
    void everyCommitIsOnBothReplicasWhenItReturns() throws Exception {
        List<Connection> direct = new ArrayList<>();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "replication.mode=sync&quorum.w=2")) {
            ds.setMeterRegistry(registry);
            for (PgNode node : cluster.replicas()) {
                direct.add(ClusterFixture.direct(node));
            }
            List<PreparedStatement> lookups = new ArrayList<>();
            for (Connection c : direct) {
                lookups.add(c.prepareStatement("SELECT 1 FROM qr_rows WHERE id = ?"));
            }
            cluster.replica(0).pauseReplay(); // the check below can see a missing row: an async commit shows it
            try (Connection primary = ClusterFixture.direct(cluster); Statement s = primary.createStatement()) {
                s.executeUpdate("INSERT INTO qr_rows VALUES (0, 'async')");
                assertFalse(has(lookups.get(0), 0), "a paused replica does not have an async commit");
            } finally {
                cluster.replica(0).resumeReplay();
            }
            int missing = 0;
            try (Connection c = ds.getConnection();
                    PreparedStatement insert = c.prepareStatement("INSERT INTO qr_rows VALUES (?, 'w2')")) {
                for (long id = 1; id <= 1000; id++) {
                    insert.setLong(1, id);
                    insert.executeUpdate();
                    for (PreparedStatement lookup : lookups) {
                        if (!has(lookup, id)) {
                            missing++;
                        }
                    }
                }
                // explicit transactions wait at commit(), read-only work does not wait at all
                c.setAutoCommit(false);
                insert.setLong(1, 1001);
                insert.executeUpdate();
                c.commit();
                for (PreparedStatement lookup : lookups) {
                    assertTrue(has(lookup, 1001), "committed with commit(): on every replica when it returns");
                }
                c.setAutoCommit(true);
            }
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                s.addBatch("INSERT INTO qr_rows VALUES (1002, 'batch')");
                s.addBatch("INSERT INTO qr_rows VALUES (1003, 'batch')");
                s.executeBatch();
                for (PreparedStatement lookup : lookups) {
                    assertTrue(has(lookup, 1003), "a batch waits for the quorum too");
                }
            }
            assertEquals(0, missing, "rows missing on a replica right after their commit returned");
            long waits = registry.get("replicant.quorum.wait").tag("outcome", "ok").timer().count();
            assertEquals(1002, waits, "one quorum wait per committed write");
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                s.executeQuery("SELECT count(*) FROM qr_rows").close();
                s.execute("SET application_name = 'no-wait'");
            }
            assertEquals(1002, registry.get("replicant.quorum.wait").tag("outcome", "ok").timer().count(),
                    "reads and SET do not wait for a quorum");
        } finally {
            for (Connection c : direct) {
                c.close();
            }
        }
    }

    @Test
    void commitAndChainIsRefusedRatherThanReturnedBeforeTheQuorum() throws Exception {
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "replication.mode=sync&quorum.w=2");
                Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.executeUpdate("INSERT INTO qr_rows VALUES (6001, 'chained')");
            SQLException e = assertThrows(SQLException.class, () -> s.execute("COMMIT AND CHAIN"));
            assertEquals("0A000", e.getSQLState(), e.getMessage());
            s.execute("COMMIT AND NO CHAIN");
            c.setAutoCommit(true);
            try (PreparedStatement lookup = ClusterFixture.direct(cluster.replica(0))
                    .prepareStatement("SELECT 1 FROM qr_rows WHERE id = ?")) {
                assertTrue(has(lookup, 6001), "the plain COMMIT waited: the row is on the replica");
                lookup.getConnection().close();
            }
        }
    }

    @Test
    void aLargeObjectWrittenOnTheUnwrappedConnectionWaitsAtCommit() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "replication.mode=sync&quorum.w=2")) {
            ds.setMeterRegistry(registry);
            try (Connection c = ds.getConnection()) {
                c.setAutoCommit(false);
                // pgjdbc writes large objects with fast-path calls on its own connection: Replicant sees no statement
                LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
                long oid = objects.createLO();
                try (LargeObject object = objects.open(oid, LargeObjectManager.WRITE)) {
                    object.write(new byte[] {1, 2, 3});
                }
                c.commit();
                assertEquals(1, registry.get("replicant.quorum.wait").tag("outcome", "ok").timer().count(),
                        "the commit waited for the quorum");
                for (PgNode node : cluster.replicas()) {
                    try (Connection replica = ClusterFixture.direct(node); Statement s = replica.createStatement();
                            ResultSet rs = s.executeQuery("SELECT 1 FROM pg_largeobject_metadata WHERE oid = " + oid)) {
                        assertTrue(rs.next(), "the large object is on " + node.name() + " when commit() returns");
                    }
                }
            }
        }
    }

    @Test
    void aStoppedReplicaMakesW2TimeOutButNotW1() throws Exception {
        PgNode stopped = cluster.replica(1);
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster,
                "replication.mode=sync&quorum.w=2&quorum.timeout=500ms");
                ReplicantDataSource warn = ClusterFixture.dataSource(cluster,
                        "replication.mode=sync&quorum.w=2&quorum.timeout=300ms&quorum.on_timeout=warn")) {
            ds.cluster();
            warn.cluster();
            stopped.stop();
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                QuorumTimeoutException e = assertThrows(QuorumTimeoutException.class,
                        () -> s.executeUpdate("INSERT INTO qr_rows VALUES (5001, 'timed out')"));
                assertEquals("RQ001", e.getSQLState());
                assertEquals(1, e.acknowledged());
                assertEquals(2, e.required());
                assertNotNull(e.commitLsn());
                assertTrue(e.getMessage().startsWith("committed on the primary at LSN " + e.commitLsn()
                        + "; only 1 of 2 replicas confirmed within "), e.getMessage());
                try (Connection primary = ClusterFixture.direct(cluster);
                        PreparedStatement lookup = primary.prepareStatement("SELECT 1 FROM qr_rows WHERE id = ?")) {
                    assertTrue(has(lookup, 5001), "the row is committed on the primary");
                }

                c.unwrap(ReplicantConnection.class).setQuorum(1);
                assertEquals(1, s.executeUpdate("INSERT INTO qr_rows VALUES (5002, 'w1 by API')"));
                assertEquals(1, s.executeUpdate("/* replicant:quorum=1 */ INSERT INTO qr_rows VALUES (5003, 'w1 by hint')"));
                assertThrows(QuorumTimeoutException.class,
                        () -> s.executeUpdate("INSERT INTO qr_rows VALUES (5004, 'the override was for one commit')"));
                assertThrows(SQLException.class, () -> c.unwrap(ReplicantConnection.class).setQuorum(3));
            }
            try (Connection c = warn.getConnection(); Statement s = c.createStatement()) {
                assertEquals(1, s.executeUpdate("INSERT INTO qr_rows VALUES (5005, 'warned')"));
                SQLWarning w = c.getWarnings();
                assertNotNull(w, "on_timeout: warn leaves an SQLWarning");
                assertTrue(w.getMessage().contains("only 1 of 2 replicas"), w.getMessage());
            }
        } finally {
            stopped.start();
            cluster.awaitStreaming();
        }
    }

    @Test
    void syncModeNeedsToSeeStandbyPositions() throws Exception {
        cluster.primary().query("REVOKE pg_read_all_stats FROM " + LocalPostgresCluster.APP_USER);
        try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "replication.mode=sync")) {
            SQLException e = assertThrows(SQLException.class, ds::getConnection);
            assertEquals("42501", e.getSQLState());
            assertTrue(e.getMessage().contains("GRANT pg_read_all_stats TO app"), e.getMessage());
        } finally {
            cluster.primary().query("GRANT pg_read_all_stats TO " + LocalPostgresCluster.APP_USER);
        }
    }

    @Test
    void wAboveTheReplicaCountIsAConfigurationError() {
        SQLException e = assertThrows(SQLException.class, () -> {
            try (ReplicantDataSource ds = ClusterFixture.dataSource(cluster, "replication.mode=sync&quorum.w=3")) {
                ds.getConnection().close();
            }
        });
        assertEquals("22023", e.getSQLState());
    }
}
