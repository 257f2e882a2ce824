package io.replicant.cdc.apply;

import java.sql.BatchUpdateException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;

/** How a follower error is handled, from its SQLSTATE. */
enum ErrorKind {
    /** Worth retrying at once: serialization failure, deadlock, lock timeout. */
    TRANSIENT,
    /** The follower is unreachable or shutting down: it is down until a reconnect works. */
    UNAVAILABLE,
    /** The follower rejects the change itself (constraint, type, missing object): retrying cannot help. */
    REJECTED;

    static ErrorKind of(SQLException e) {
        SQLException cause = e instanceof BatchUpdateException && e.getNextException() != null ? e.getNextException() : e;
        String state = cause.getSQLState();
        if (cause instanceof SQLRecoverableException || cause instanceof SQLTransientConnectionException) {
            return UNAVAILABLE;
        }
        if (state == null) {
            return UNAVAILABLE;
        }
        if (state.startsWith("08") || state.startsWith("57P") || state.startsWith("53") || state.equals("90067")) {
            return UNAVAILABLE;
        }
        if (state.equals("40001") || state.equals("40P01") || state.equals("55P03") || state.equals("HYT00")) {
            return TRANSIENT;
        }
        return REJECTED;
    }
}
