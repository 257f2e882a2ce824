package io.replicant.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/** The fixture itself, on a private cluster since these tests stop, kill and promote nodes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalPostgresClusterIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void start() {
        cluster = LocalPostgresCluster.builder().replicas(2).logStatements(true).start();
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    @Test
    void replicasStreamAndAreReadOnly() throws SQLException {
        assertFalse(cluster.primary().isInRecovery());
        cluster.primary().query("CREATE TABLE IF NOT EXISTS fixture_t(id int)");
        cluster.primary().query("INSERT INTO fixture_t VALUES (1)");
        cluster.awaitReplay();
        for (PgNode replica : cluster.replicas()) {
            assertTrue(replica.isInRecovery());
            assertEquals("1", replica.query("SELECT count(*) FROM fixture_t"));
            try (Connection c = replica.connect("postgres"); Statement s = c.createStatement()) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute("INSERT INTO fixture_t VALUES (2)"));
                assertEquals("25006", e.getSQLState());
            }
        }
        assertEquals("logical", cluster.primary().query("SHOW wal_level"));
        assertEquals("on", cluster.primary().query("SHOW track_commit_timestamp"));
    }

    @Test
    void statementLogShowsWhereAStatementRan() {
        StatementLog.Mark mark = cluster.markLogs();
        cluster.replica(1).query("SELECT 1 /* marker-7f3a */");
        assertEquals(java.util.Set.of("replica2"), mark.nodesThatLogged("marker-7f3a"));
    }

    @Test
    void pauseAndResumeReplay() {
        PgNode replica = cluster.replica(0);
        cluster.primary().query("CREATE TABLE IF NOT EXISTS fixture_pause(id int)");
        cluster.awaitReplay();
        replica.pauseReplay();
        try {
            cluster.primary().query("INSERT INTO fixture_pause VALUES (1)");
            PgNode.sleep(300);
            assertEquals("0", replica.query("SELECT count(*) FROM fixture_pause"));
        } finally {
            replica.resumeReplay();
        }
        cluster.awaitReplay();
        assertEquals("1", replica.query("SELECT count(*) FROM fixture_pause"));
    }

    @Test
    @Order(Integer.MAX_VALUE) // promotes replica2: runs last
    void stopKillStartAndPromote() {
        PgNode replica = cluster.replica(1);
        replica.stop();
        assertFalse(replica.isRunning());
        replica.start();
        assertTrue(replica.isInRecovery());

        replica.kill();
        assertFalse(replica.acceptsConnections());
        replica.start();
        assertTrue(replica.isInRecovery());

        replica.promote();
        assertFalse(replica.isInRecovery());
        replica.query("CREATE TABLE promoted_ok(id int)");
    }
}
