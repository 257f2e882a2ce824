package io.replicant.proxy.backend;

/** A server refused the proxy's login, with the server's SQLSTATE and message (passwords never included). */
public final class BackendLoginException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String sqlState;

    public BackendLoginException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState == null ? "08000" : sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
