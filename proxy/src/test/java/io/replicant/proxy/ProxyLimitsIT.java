package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/** proxy.max_clients, the idle timeouts and graceful shutdown, each on a proxy of its own. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyLimitsIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS pl_items (id int PRIMARY KEY, name text)");
            s.execute("INSERT INTO pl_items VALUES (1, 'one') ON CONFLICT DO NOTHING");
        }
    }

    @Test
    void oneClientMoreThanMaxClientsIsRefusedWith53300() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  max_clients: 2\n");
                Connection first = ProxyFixture.connect(proxy, "simple");
                Connection second = ProxyFixture.connect(proxy, "simple")) {
            SQLException refused = assertThrows(SQLException.class, () -> ProxyFixture.connect(proxy, "simple"));
            assertEquals("53300", refused.getSQLState(), refused.getMessage());
            assertEquals(1, query(first, "SELECT 1"), "admitted clients are unaffected");
            second.close();
            awaitClients(proxy, 1);
            try (Connection third = ProxyFixture.connect(proxy, "simple")) {
                assertEquals(1, query(third, "SELECT 1"), "a freed place is taken again");
            }
        }
    }

    @Test
    void idleClientsHoldNoServerConnections() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "");
                Connection first = ProxyFixture.connect(proxy, "simple");
                Connection direct = ProxyFixture.direct(cluster)) {
            int before = query(direct, "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user");
            java.util.List<Connection> idle = new java.util.ArrayList<>();
            try {
                java.util.Properties p = ProxyFixture.credentials();
                p.setProperty("assumeMinServerVersion", "10"); // settings in the startup packet, no SET query
                for (int i = 0; i < 20; i++) {
                    idle.add(java.sql.DriverManager.getConnection(ProxyFixture.url(proxy), p));
                }
                assertEquals(before, query(direct, "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user"),
                        "logged-in clients that ran nothing opened no server connection");
                try (Statement s = idle.get(0).createStatement()) {
                    s.execute("INSERT INTO pl_items VALUES (5, 'lazy') ON CONFLICT DO NOTHING");
                }
                assertEquals(before + 1, query(direct,
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user"), "the first write opened one");
            } finally {
                for (Connection c : idle) {
                    c.close();
                }
            }
        }
    }

    @Test
    void aClientIdleInATransactionIsDisconnectedAndItsLockReleased() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  idle_in_transaction_timeout: 300ms\n");
                Connection holder = ProxyFixture.connect(proxy, "simple");
                Statement s = holder.createStatement()) {
            s.execute("BEGIN");
            s.execute("UPDATE pl_items SET name = 'held' WHERE id = 1");
            assertEquals(1, query(holder, "SELECT 1"), "a busy transaction is not idle");
            ProxyFixture.sleep(1000);
            SQLException e = assertThrows(SQLException.class, () -> s.execute("COMMIT"));
            assertEquals("25P03", e.getSQLState(), e.getMessage());
            try (Connection direct = ProxyFixture.direct(cluster); Statement d = direct.createStatement()) {
                d.execute("SET lock_timeout = '2s'");
                try (ResultSet rs = d.executeQuery("SELECT name FROM pl_items WHERE id = 1 FOR UPDATE")) {
                    assertTrue(rs.next());
                    assertEquals("one", rs.getString(1), "the transaction was rolled back");
                }
            }
        }
    }

    @Test
    void anIdleClientIsDisconnectedWith57P05() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  idle_timeout: 300ms\n");
                Connection idle = ProxyFixture.connect(proxy, "simple");
                Connection busy = ProxyFixture.connect(proxy, "simple")) {
            for (int i = 0; i < 10; i++) {
                assertEquals(1, query(busy, "SELECT 1"));
                ProxyFixture.sleep(100);
            }
            SQLException e = assertThrows(SQLException.class, () -> query(idle, "SELECT 1"));
            assertEquals("57P05", e.getSQLState(), e.getMessage());
            assertEquals(1, query(busy, "SELECT 1"), "a client that keeps talking stays");
        }
    }

    @Test
    void shutdownLetsOpenTransactionsFinishAndClosesIdleClients() throws Exception {
        ReplicantProxy proxy = ProxyFixture.start(cluster, "  shutdown_timeout: 20s\n");
        try (Connection inTransaction = ProxyFixture.connect(proxy, "simple");
                Connection idle = ProxyFixture.connect(proxy, "simple");
                Statement s = inTransaction.createStatement()) {
            s.execute("DELETE FROM pl_items WHERE id = 2");
            s.execute("BEGIN");
            s.execute("INSERT INTO pl_items VALUES (2, 'during shutdown')");
            CompletableFuture<Void> closing = CompletableFuture.runAsync(proxy::close);
            awaitClients(proxy, 1);
            SQLException e = assertThrows(SQLException.class, () -> query(idle, "SELECT 1"));
            assertEquals("57P01", e.getSQLState(), e.getMessage());
            assertThrows(SQLException.class, () -> ProxyFixture.connect(proxy, "simple"), "no new clients");
            assertFalse(closing.isDone(), "the proxy waits for the open transaction");
            s.execute("INSERT INTO pl_items VALUES (3, 'during shutdown') ON CONFLICT DO NOTHING");
            s.execute("COMMIT");
            closing.get(10, TimeUnit.SECONDS);
            assertThrows(SQLException.class, () -> s.execute("SELECT 1"), "closed once the transaction ended");
        } finally {
            proxy.close();
        }
        try (Connection direct = ProxyFixture.direct(cluster)) {
            assertEquals(2, query(direct, "SELECT count(*) FROM pl_items WHERE id IN (2, 3)"),
                    "the transaction committed during shutdown");
        }
    }

    @Test
    void shutdownTimeoutRollsBackWhatIsStillOpen() throws Exception {
        ReplicantProxy proxy = ProxyFixture.start(cluster, "  shutdown_timeout: 500ms\n");
        try (Connection c = ProxyFixture.connect(proxy, "simple"); Statement s = c.createStatement()) {
            s.execute("DELETE FROM pl_items WHERE id = 4");
            s.execute("BEGIN");
            s.execute("INSERT INTO pl_items VALUES (4, 'never committed')");
            proxy.close();
            assertThrows(SQLException.class, () -> s.execute("COMMIT"));
        }
        try (Connection direct = ProxyFixture.direct(cluster)) {
            assertEquals(0, query(direct, "SELECT count(*) FROM pl_items WHERE id = 4"));
        }
    }

    private static int query(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }

    private static void awaitClients(ReplicantProxy proxy, int clients) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (proxy.context().clients() != clients && System.nanoTime() < deadline) {
            ProxyFixture.sleep(10);
        }
        assertEquals(clients, proxy.context().clients());
    }
}
