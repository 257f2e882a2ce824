package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;

/** Quorum commits ({@code replication.mode: sync}) through the proxy, against real streaming replicas. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ProxyQuorumIT {
    private static final String SYNC = "replication:\n  mode: sync\nquorum:\n  w: 2\n";
    private LocalPostgresCluster cluster;
    private final List<Connection> replicas = new ArrayList<>();
    private final List<PreparedStatement> lookups = new ArrayList<>();

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS pq_rows (id bigint PRIMARY KEY, note text)");
        }
        cluster.primary().query("GRANT pg_read_all_stats TO " + LocalPostgresCluster.APP_USER);
        cluster.awaitReplay();
    }

    @BeforeEach
    void connectToReplicas() throws SQLException {
        for (PgNode node : cluster.replicas()) {
            Connection c = DriverManager.getConnection(node.jdbcUrl(LocalPostgresCluster.APP_DATABASE),
                    ProxyFixture.credentials());
            replicas.add(c);
            lookups.add(c.prepareStatement("SELECT 1 FROM pq_rows WHERE id = ?"));
        }
    }

    @AfterEach
    void disconnectFromReplicas() throws SQLException {
        for (Connection c : replicas) {
            c.close();
        }
        replicas.clear();
        lookups.clear();
    }

    /** Whether every replica, asked directly, has row {@code id}. */
    private boolean everywhere(long id) throws SQLException {
        for (PreparedStatement lookup : lookups) {
            lookup.setLong(1, id);
            try (ResultSet rs = lookup.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
            }
        }
        return true;
    }

    private static double waits(SimpleMeterRegistry registry, String outcome) {
        var timer = registry.find("replicant.quorum.wait").tag("outcome", outcome).timer();
        return timer == null ? 0 : timer.count();
    }

    @Test
    void everyCommitIsOnBothReplicasWhenTheProxyReturnsIt(@TempDir Path dir) throws Exception {
        cluster.replica(0).pauseReplay(); // shows the check below can see a missing row: an async commit is missing
        try (Connection primary = ProxyFixture.direct(cluster); Statement s = primary.createStatement()) {
            s.executeUpdate("INSERT INTO pq_rows VALUES (0, 'async')");
            assertFalse(everywhere(0), "a paused replica does not have an async commit");
        } finally {
            cluster.replica(0).resumeReplay();
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ReplicantProxy session = ReplicantProxy.start(ProxyFixture.config(cluster, SYNC), registry);
                ReplicantProxy pooled = ReplicantProxy.start(ProxyFixture.config(cluster,
                        "  pool_mode: transaction\n" + SYNC), registry)) {
            long id = 1;
            int missing = 0;
            int commits = 0;
            for (ReplicantProxy proxy : List.of(session, pooled)) {
                for (String mode : List.of("extended", "simple")) {
                    try (Connection c = ProxyFixture.connect(proxy, mode);
                            PreparedStatement insert = c.prepareStatement("INSERT INTO pq_rows VALUES (?, 'w2')")) {
                        for (int i = 0; i < 150; i++, id++) {
                            insert.setLong(1, id);
                            insert.executeUpdate();
                            commits++;
                            if (!everywhere(id)) {
                                missing++;
                            }
                        }
                        c.setAutoCommit(false); // an explicit transaction waits at its COMMIT
                        insert.setLong(1, id);
                        insert.executeUpdate();
                        c.commit();
                        commits++;
                        assertTrue(everywhere(id++), "committed in a transaction: on every replica when it returns");
                        c.setAutoCommit(true);
                    }
                }
            }
            assertEquals(0, missing, "rows missing on a replica right after the proxy returned their commit");
            assertEquals(commits, waits(registry, "ok"), "one quorum wait per committed write");

            try (Connection c = ProxyFixture.connect(session, "simple"); Statement s = c.createStatement()) {
                s.execute("INSERT INTO pq_rows VALUES (" + id + ", 'a'); INSERT INTO pq_rows VALUES (" + (id + 1)
                        + ", 'b')"); // one implicit transaction
                assertTrue(everywhere(id) && everywhere(id + 1), "a multi-statement query waits too");
                commits++;
                id += 2;
                s.executeQuery("SELECT count(*) FROM pq_rows").close();
                s.execute("SET application_name = 'no wait'");
                c.setAutoCommit(false);
                s.executeUpdate("INSERT INTO pq_rows VALUES (" + id + ", 'rolled back')");
                c.rollback();
                c.setAutoCommit(true);
                assertEquals(1, s.executeUpdate("/* replicant:quorum=0 */ INSERT INTO pq_rows VALUES (" + (id + 1)
                        + ", 'no wait by hint')"));
                id += 2;
                c.setAutoCommit(false);
                s.executeUpdate("INSERT INTO pq_rows VALUES (" + id + ", 'chained')");
                s.execute("COMMIT AND CHAIN"); // commits, and the next transaction begins at once
                assertTrue(everywhere(id), "COMMIT AND CHAIN waits for the quorum");
                s.executeUpdate("INSERT INTO pq_rows VALUES (" + (id + 1) + ", 'in the chained transaction')");
                c.commit();
                assertTrue(everywhere(id + 1), "and so does the chained transaction's commit");
                c.setAutoCommit(true);
                commits += 2;
                id += 2;
                // the client's own synchronous_commit: its commits still wait (the proxy sets remote_apply again)
                s.execute("SET synchronous_commit = local");
                for (int i = 0; i < 5; i++, id++, commits++) {
                    s.executeUpdate("INSERT INTO pq_rows VALUES (" + id + ", 'after a SET')");
                    assertTrue(everywhere(id), "after the client's SET, on every replica when it returns");
                }
                s.execute("DISCARD TEMP"); // drops the proxy's temporary function there too
                for (int i = 0; i < 2; i++, id++, commits++) {
                    s.executeUpdate("INSERT INTO pq_rows VALUES (" + id + ", 'after DISCARD TEMP')");
                    assertTrue(everywhere(id), "after DISCARD TEMP, on every replica when it returns");
                }
            }
            assertEquals(commits, waits(registry, "ok"), "one wait per committed write: reads, SET, a rollback and quorum=0 do not wait");

            ProxyFixture.run(session, dir, "psql", "-X", "-v", "ON_ERROR_STOP=1", "-c",
                    "INSERT INTO pq_rows VALUES (" + id + ", 'psql')");
            assertTrue(everywhere(id), "psql's commit is on every replica when psql exits");
            assertEquals(commits + 1, waits(registry, "ok"));

            try (Connection c = ProxyFixture.connect(session, "extended")) {
                c.setAutoCommit(false); // large objects are written with fast-path function calls, not statements
                LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
                long oid = objects.createLO();
                try (LargeObject object = objects.open(oid, LargeObjectManager.WRITE)) {
                    object.write(new byte[] {1, 2, 3});
                }
                c.commit();
                for (Connection replica : replicas) {
                    try (Statement s = replica.createStatement(); ResultSet rs = s.executeQuery(
                            "SELECT 1 FROM pg_largeobject_metadata WHERE oid = " + oid)) {
                        assertTrue(rs.next(), "a large object's commit is on every replica when it returns");
                    }
                }
            }
            assertEquals(commits + 2, waits(registry, "ok"), "the large object's commit waited");
            assertEquals(0, waits(registry, "timeout"));
        }
    }

    @Test
    void theUnnamedStatementOutlivesTheQuorumWait() throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  auth: trust\n" + SYNC);
                WireClient client = new WireClient(proxy)) {
            client.parse("", "INSERT INTO pq_rows VALUES (7001, 'unnamed') ON CONFLICT (id) DO UPDATE SET note = 'again'")
                    .sync();
            client.readUntil('Z');
            // after the client's SET (a named statement) the proxy sets synchronous_commit again before the next
            // write, and the wait runs queries of its own: both destroy the server's unnamed statement
            client.parse("set", "SET application_name = 'quorum-test'").bind("set").execute().sync();
            client.readUntil('Z');
            for (int i = 0; i < 2; i++) {
                client.bind("").execute().sync();
                List<WireClient.Message> answer = client.readUntil('Z');
                assertTrue(answer.stream().noneMatch(m -> m.type() == 'E'), WireClient.describe(answer));
                assertTrue(everywhere(7001));
            }
        }
    }

    @Test
    void aStoppedReplicaMakesW2FailWithRq001ButNotW1() throws Exception {
        PgNode stopped = cluster.replica(1);
        try (ReplicantProxy strict = ProxyFixture.start(cluster, SYNC + "  timeout: 500ms\n");
                ReplicantProxy lenient = ProxyFixture.start(cluster, SYNC + "  timeout: 300ms\n  on_timeout: warn\n")) {
            stopped.stop();
            try (Connection c = ProxyFixture.connect(strict, "extended"); Statement s = c.createStatement()) {
                SQLException e = assertThrows(SQLException.class,
                        () -> s.executeUpdate("INSERT INTO pq_rows VALUES (5001, 'timed out')"));
                assertEquals("RQ001", e.getSQLState(), e.getMessage());
                assertTrue(e.getMessage().contains("committed on the primary at LSN ")
                        && e.getMessage().contains("only 1 of 2 replicas confirmed within "), e.getMessage());
                try (Connection primary = ProxyFixture.direct(cluster); Statement p = primary.createStatement();
                        ResultSet rs = p.executeQuery("SELECT note FROM pq_rows WHERE id = 5001")) {
                    assertTrue(rs.next(), "the row is committed on the primary");
                }
                assertEquals(1, s.executeUpdate("/* replicant:quorum=1 */ INSERT INTO pq_rows VALUES (5002, 'w1')"));
                SQLException again = assertThrows(SQLException.class,
                        () -> s.executeUpdate("INSERT INTO pq_rows VALUES (5003, 'the hint was for one commit')"));
                assertEquals("RQ001", again.getSQLState());
                c.setAutoCommit(false);
                s.executeUpdate("INSERT INTO pq_rows VALUES (5004, 'rolled back')");
                c.rollback(); // nothing committed: nothing to wait for
                c.setAutoCommit(true);
            }
            try (Connection c = ProxyFixture.connect(lenient, "simple"); Statement s = c.createStatement()) {
                assertEquals(1, s.executeUpdate("INSERT INTO pq_rows VALUES (5005, 'warned')"));
                SQLWarning w = s.getWarnings();
                assertNotNull(w, "on_timeout: warn sends a WARNING notice");
                assertTrue(w.getMessage().contains("only 1 of 2 replicas"), w.getMessage());
            }
        } finally {
            stopped.start();
            cluster.awaitStreaming();
        }
    }
}
