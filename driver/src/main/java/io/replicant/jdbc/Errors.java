package io.replicant.jdbc;

import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;

import io.replicant.config.ConfigException;
import io.replicant.config.SqlState;

/** Builds the SQLExceptions Replicant raises itself, and recognises fatal ones in one place. */
public final class Errors {
    private Errors() {
    }

    public static SQLException of(SqlState state, String message) {
        return new SQLException(message, state.code());
    }

    public static SQLException of(SqlState state, String message, Throwable cause) {
        return new SQLException(message, state.code(), cause);
    }

    public static SQLException config(ConfigException e) {
        return new SQLException(e.getMessage(), e.sqlState().code(), e);
    }

    static SQLFeatureNotSupportedException unsupported(String what) {
        return new SQLFeatureNotSupportedException(what + " is not supported by Replicant",
                SqlState.FEATURE_NOT_SUPPORTED.code());
    }

    static SQLException closed(String what) {
        return of(SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE, "this " + what + " has been closed");
    }

    /**
     * True when the error means the physical connection is gone or the server is shutting down: SQLSTATE
     * class 08 (connection exception) or 57P01..57P03 (admin/crash shutdown, cannot connect now).
     */
    public static boolean isFatal(SQLException e) {
        for (SQLException cur = e; cur != null; cur = cur.getNextException()) {
            String state = cur.getSQLState();
            if (state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                    || state.equals("57P03"))) {
                return true;
            }
        }
        return false;
    }
}
