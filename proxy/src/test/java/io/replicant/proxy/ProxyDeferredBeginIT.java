package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/**
 * proxy.defer_begin: a plain BEGIN reaches the server only with the transaction's first statement, and a
 * transaction that ends before one never reaches it; checked on the primary's side, in pg_stat_activity.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyDeferredBeginIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ProxyFixture.setUp(cluster, "CREATE TABLE IF NOT EXISTS db_rows (id int PRIMARY KEY, note text)");
    }

    @BeforeEach
    void empty() throws SQLException {
        ProxyFixture.setUp(cluster, "TRUNCATE db_rows");
    }

    /** The states of the primary's sessions for {@code application}, e.g. "idle" or "idle in transaction". */
    private static String primaryState(Connection watcher, String application) throws SQLException {
        try (Statement s = watcher.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT coalesce(string_agg(state, ','), 'none') FROM pg_stat_activity WHERE application_name = '"
                        + application + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void theServerSeesTheTransactionOnlyWithItsFirstStatement() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "");
                Connection watcher = ProxyFixture.direct(cluster);
                Connection c = ProxyFixture.connect(proxy, "simple", "db-first");
                Statement s = c.createStatement()) {
            s.execute("/* replicant:route=primary */ SELECT 1"); // the session's primary connection is open
            assertEquals("idle", primaryState(watcher, "db-first"));
            s.execute("BEGIN");
            assertEquals("idle", primaryState(watcher, "db-first"), "the BEGIN waits for the first statement");
            s.execute("INSERT INTO db_rows VALUES (1, 'in the transaction')");
            assertEquals("idle in transaction", primaryState(watcher, "db-first"));
            s.execute("COMMIT");
            assertEquals("idle", primaryState(watcher, "db-first"));
            assertEquals(1, count(watcher, "id = 1"));
        }
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  defer_begin: false\n");
                Connection watcher = ProxyFixture.direct(cluster);
                Connection c = ProxyFixture.connect(proxy, "simple", "db-now");
                Statement s = c.createStatement()) {
            s.execute("/* replicant:route=primary */ SELECT 1");
            s.execute("BEGIN");
            assertEquals("idle in transaction", primaryState(watcher, "db-now"), "defer_begin: false sends it at once");
            s.execute("ROLLBACK");
        }
    }

    @Test
    void transactionsCommitRollBackAndFailAsOnTheServer() throws SQLException {
        for (String mode : new String[] {"simple", "extendedForPrepared"}) { // BEGIN by simple query either way
            try (ReplicantProxy proxy = ProxyFixture.start(cluster, "");
                    Connection watcher = ProxyFixture.direct(cluster);
                    Connection c = ProxyFixture.connect(proxy, mode, "db-" + mode);
                    Statement s = c.createStatement();
                    PreparedStatement insert = c.prepareStatement("INSERT INTO db_rows VALUES (?, ?)")) {
                int base = mode.equals("simple") ? 0 : 100;
                s.execute("BEGIN");
                insert(insert, base + 1, "committed");
                s.execute("COMMIT");
                s.execute("begin transaction;");
                insert(insert, base + 2, "rolled back");
                s.execute("ROLLBACK");
                s.execute("START TRANSACTION");
                s.execute("END");
                s.execute("BEGIN");
                s.execute("ABORT");
                s.execute("BEGIN");
                SQLException failed = assertThrows(SQLException.class, () -> s.execute("SELECT 1/0"));
                assertEquals("22012", failed.getSQLState());
                SQLException aborted = assertThrows(SQLException.class, () -> insert(insert, base + 3, "aborted"));
                assertEquals("25P02", aborted.getSQLState(), "the server's transaction failed with the statement");
                s.execute("COMMIT"); // which PostgreSQL answers with ROLLBACK
                try (ResultSet rs = s.executeQuery("/* replicant:route=primary */ SELECT count(*) FROM db_rows"
                        + " WHERE id BETWEEN " + base + " AND " + (base + 99))) {
                    rs.next();
                    assertEquals(1, rs.getInt(1), mode);
                }
                assertEquals(1, count(watcher, "id = " + (base + 1) + " AND note = 'committed'"), mode);
                assertEquals("idle", primaryState(watcher, "db-" + mode));
            }
        }
    }

    @Test
    void inTransactionModeABeginHoldsNoServerUntilItsFirstStatement() throws SQLException {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster,
                "  pool_mode: transaction\n  pool_size: 1\n  threads: 1\n  pool_wait_timeout: 300ms\n");
                Connection watcher = ProxyFixture.direct(cluster);
                Connection holder = ProxyFixture.connect(proxy, "simple", "db-pool"); // one login: one pool
                Connection other = ProxyFixture.connect(proxy, "simple", "db-pool");
                Statement h = holder.createStatement();
                Statement o = other.createStatement()) {
            h.execute("BEGIN");
            h.execute("INSERT INTO db_rows VALUES (1, 'holder')"); // the primary's one pooled connection is held
            o.execute("BEGIN"); // neither needs a server: without defer_begin both would wait, then fail
            o.execute("COMMIT");
            o.execute("BEGIN");
            SQLException waited = assertThrows(SQLException.class,
                    () -> o.execute("INSERT INTO db_rows VALUES (2, 'other')"));
            assertEquals("53300", waited.getSQLState(), waited.getMessage());
            o.execute("ROLLBACK"); // the statement never ran: nothing to roll back on any server
            h.execute("COMMIT");
            o.execute("BEGIN");
            o.execute("INSERT INTO db_rows VALUES (2, 'other')");
            o.execute("COMMIT");
            assertEquals(2, count(watcher, "true"));
            assertEquals("idle", primaryState(watcher, "db-pool"), "the pool's one server session, back in the pool");
        }
    }

    private static void insert(PreparedStatement insert, int id, String note) throws SQLException {
        insert.setInt(1, id);
        insert.setString(2, note);
        assertEquals(1, insert.executeUpdate());
    }

    private static int count(Connection direct, String where) throws SQLException {
        try (Statement s = direct.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM db_rows WHERE " + where)) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
