package io.replicant.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

import io.replicant.router.Backend;

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

    @Override
    public String toString() {
        return backend.toString();
    }
}
