package io.replicant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/** Bad URLs, bad files, unreachable hosts and wrong passwords: precise SQLSTATEs, and never a password in sight. */
@ExtendWith(PostgresClusterExtension.class)
class BadInputIT {
    private static final String SECRET = "wr0ng-pa55word";

    @AfterAll
    static void closeDriverClusters() {
        ReplicantDriver.closeAll();
    }

    private static SQLException connectFails(String url) {
        return assertThrows(SQLException.class, () -> DriverManager.getConnection(url).close());
    }

    @Test
    void malformedUrls() {
        SQLException e = connectFails("jdbc:replicant:postgresql:///app");
        assertEquals("08001", e.getSQLState());
        assertTrue(e.getMessage().contains("no host given"), e.getMessage());

        e = connectFails("jdbc:replicant:postgresql://h:70000/app");
        assertEquals("08001", e.getSQLState());
        assertTrue(e.getMessage().contains("'70000'"), e.getMessage());

        e = connectFails("jdbc:replicant:oracle://h/app");
        assertEquals("08001", e.getSQLState());

        e = connectFails("jdbc:replicant:postgresql://h/app?pool.max_size=lots&password=" + SECRET);
        assertEquals("22023", e.getSQLState());
        assertEquals("pool.max_size: expected an integer 1..10000, got 'lots' (URL parameter)", e.getMessage());
    }

    @Test
    void badConfigurationFiles(@TempDir Path dir) throws IOException {
        SQLException e = connectFails("jdbc:replicant:file:" + dir.resolve("missing.yaml"));
        assertEquals("58030", e.getSQLState());

        Path yaml = dir.resolve("bad.yaml");
        Files.writeString(yaml, "hosts:\n  - 127.0.0.1:1\npool:\n  connect_timeout: soon\n");
        e = connectFails("jdbc:replicant:file:" + yaml);
        assertEquals("22023", e.getSQLState());
        assertTrue(e.getMessage().startsWith("pool.connect_timeout: expected a duration"), e.getMessage());
        assertTrue(e.getMessage().endsWith("(bad.yaml:4)"), e.getMessage());
    }

    @Test
    void unreachablePrimaryFailsFastWith08001() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        long start = System.nanoTime();
        SQLException e = connectFails("jdbc:replicant:postgresql://127.0.0.1:" + closedPort
                + "/app?user=app&password=" + SECRET);
        assertEquals("08001", e.getSQLState());
        assertTrue(e.getMessage().contains("127.0.0.1:" + closedPort), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET));
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "a refused connection is reported at once");
    }

    @Test
    void wrongPasswordIs28P01(LocalPostgresCluster cluster) {
        String url = "jdbc:replicant:postgresql://" + cluster.hostList() + "/app?user=app&password=" + SECRET;
        SQLException e = connectFails(url);
        assertEquals("28P01", e.getSQLState());
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
    }

    @Test
    void unknownDatabaseIs3D000(LocalPostgresCluster cluster) {
        SQLException e = connectFails("jdbc:replicant:postgresql://" + cluster.hostList()
                + "/no_such_db?user=app&password=" + LocalPostgresCluster.APP_PASSWORD);
        assertEquals("3D000", e.getSQLState());
    }

    @Test
    void anUnreachableReplicaIsAvoided(LocalPostgresCluster cluster) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        String hosts = cluster.primary().address() + ",127.0.0.1:" + closedPort + "," + cluster.replica(0).address();
        String url = "jdbc:replicant:postgresql://" + hosts + "/app?user=app&password=" + LocalPostgresCluster.APP_PASSWORD
                + "&pool.connect_timeout=1s";
        try (ReplicantDataSource ds = new ReplicantDataSource(url); Connection c = ds.getConnection();
                Statement s = c.createStatement()) {
            for (int i = 0; i < 6; i++) {
                try (ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                    rs.next();
                    assertTrue(rs.getBoolean(1), "served by the live replica");
                }
            }
            assertFalse(ds.cluster().replicas().get(0).isAvailable());
        }
    }

    @Test
    void primaryReadsNeverWithoutReplicasIs08001(LocalPostgresCluster cluster) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        String url = "jdbc:replicant:postgresql://" + cluster.primary().address() + ",127.0.0.1:" + closedPort
                + "/app?user=app&password=" + LocalPostgresCluster.APP_PASSWORD + "&primary_reads=never&pool.connect_timeout=1s";
        try (ReplicantDataSource ds = new ReplicantDataSource(url); Connection c = ds.getConnection();
                Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.executeQuery("SELECT 1"));
            assertEquals("08001", e.getSQLState());
            s.execute("CREATE TABLE IF NOT EXISTS bad_input_w (id int)"); // writes are unaffected
        }
    }

    @Test
    void primaryDiscovery(LocalPostgresCluster cluster) throws SQLException {
        String hosts = cluster.replica(1).address() + "," + cluster.primary().address() + "," + cluster.replica(0).address();
        String url = "jdbc:replicant:postgresql://" + hosts + "/app?user=app&password=" + LocalPostgresCluster.APP_PASSWORD
                + "&primary=discover";
        try (ReplicantDataSource ds = new ReplicantDataSource(url); Connection c = ds.getConnection();
                Statement s = c.createStatement()) {
            assertEquals(cluster.primary().address(), ds.cluster().primary().name());
            s.execute("CREATE TABLE IF NOT EXISTS discovered (id int)");
            assertEquals("primary", c.unwrap(ReplicantConnection.class).lastRoute().target());
        }
    }

    /** After this class's tests: nothing logged so far in this JVM contains a password. */
    @AfterAll
    static void noPasswordWasEverLogged() throws IOException {
        Path log = Path.of("target", "it.log");
        assertTrue(Files.exists(log), "failsafe sends the test log to target/it.log");
        String text = Files.readString(log);
        assertTrue(text.contains("opened: primary"), "the log has the clusters' start-up lines");
        assertFalse(text.contains(SECRET), "a password appeared in the log");
        assertFalse(text.contains(LocalPostgresCluster.APP_PASSWORD), "a password appeared in the log");
    }
}
