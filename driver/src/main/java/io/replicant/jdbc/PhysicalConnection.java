package io.replicant.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

import io.replicant.health.QuorumWait;
import io.replicant.health.WalPosition;
import io.replicant.router.Backend;
import io.replicant.router.Lsn;

/**
 * One pooled pgjdbc connection held by a logical connection, with what has been applied to it: which
 * replayed session settings, and the JDBC-level settings last set, so each is sent only when it changes.
 */
final class PhysicalConnection {
    final Backend backend;
    final Connection connection;
    private final BaseConnection pg;

    /** Session-settings log position applied here (see {@link SessionState}). */
    int appliedEpoch;
    int appliedCount;
    /** Session state was changed here (SET, temp table, LISTEN, advisory lock, …): reset before returning it. */
    boolean dirty;
    /** A PREPARE or DEALLOCATE here may or may not have run (its text failed): the reset deallocates all. */
    boolean preparedUnknown;
    /** {@code synchronous_commit = remote_apply} is set here, so standbys report applying this session's commits at once. */
    boolean applyFeedback;
    private PreparedStatement quorumWait;
    private Boolean autoCommit;
    private Boolean readOnly;
    private Integer isolation;

    PhysicalConnection(Backend backend, Connection connection) throws SQLException {
        this.backend = backend;
        this.connection = connection;
        this.pg = connection.unwrap(BaseConnection.class);
    }

    /** The server's view, from the last ReadyForQuery: IDLE, OPEN or FAILED. */
    TransactionState transactionState() {
        return pg.getTransactionState();
    }

    boolean inTransaction() {
        return pg.getTransactionState() != TransactionState.IDLE;
    }

    void setAutoCommit(boolean value) throws SQLException {
        if (autoCommit == null || autoCommit != value) {
            connection.setAutoCommit(value);
            autoCommit = value;
        }
    }

    void setReadOnly(boolean value) throws SQLException {
        if (readOnly == null || readOnly != value) {
            connection.setReadOnly(value);
            readOnly = value;
        }
    }

    void setIsolation(int level) throws SQLException {
        if (isolation == null || isolation != level) {
            connection.setTransactionIsolation(level);
            isolation = level;
        }
    }

    /** Runs session-management SQL (replayed SETs, cleanup) in one round trip. */
    void execute(String sql) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.execute(sql);
        }
    }

    /**
     * Waits for {@code w} standbys to have this session's last commit (see {@link QuorumWait}).
     *
     * @param followers counts the CDC followers that applied a position, or null when they do not count
     * @return {commit position, standbys that acknowledged it}: fewer than {@code w} when the timeout passed
     */
    long[] awaitQuorum(int w, Duration timeout, boolean replay, CdcQuorum followers) throws SQLException {
        String target = null;
        if (quorumWait == null) {
            // The position before creating the function: its own commit would move it past the one that matters,
            // which CDC followers never get (the DDL is not replicated).
            target = Lsn.format(WalPosition.committed(connection));
            execute(QuorumWait.createFunction(replay));
            quorumWait = connection.prepareStatement(QuorumWait.CALL);
            dirty = true; // DISCARD TEMP on release drops the function
        }
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        boolean first = true;
        while (true) {
            quorumWait.setInt(1, w);
            quorumWait.setInt(2, first ? QuorumWait.FIRST_SPIN_MICROS : QuorumWait.NEXT_SPIN_MICROS);
            quorumWait.setString(3, target);
            first = false;
            String[] answer;
            try (ResultSet rs = quorumWait.executeQuery()) {
                rs.next();
                answer = rs.getString(1).split(" ");
            }
            target = answer[0];
            int acknowledged = Integer.parseInt(answer[1]);
            if (acknowledged < w && followers != null) {
                acknowledged += followers.confirmed(Lsn.parse(target));
            }
            if (acknowledged >= w || System.nanoTime() - deadline >= 0) {
                return new long[] {Lsn.parse(target), acknowledged};
            }
            // a follower applies tens of milliseconds later, and a standby this late is down or far behind: leave the CPU
            if (followers != null || System.nanoTime() - start > QuorumWait.PATIENT_AFTER_NANOS) {
                pauseBriefly();
            }
        }
    }

    private static void pauseBriefly() throws SQLException {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while waiting for the quorum", "57014", e);
        }
    }

    @Override
    public String toString() {
        return backend.toString();
    }
}
