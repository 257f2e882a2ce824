package io.replicant.config;

/**
 * Every SQLSTATE Replicant itself emits, in one place. Backend errors are passed through unchanged;
 * these are for errors Replicant raises on its own behalf.
 */
public enum SqlState {
    /** Malformed {@code jdbc:replicant:} URL, no reachable host, or a connection could not be made. */
    CONNECTION_UNABLE_TO_CONNECT("08001"),
    /** A client broke the wire protocol (proxy). */
    PROTOCOL_VIOLATION("08P01"),
    /** A physical connection failed while in use; the outcome of an in-flight commit is unknown. */
    CONNECTION_FAILURE("08006"),
    /** A JDBC feature Replicant does not support. */
    FEATURE_NOT_SUPPORTED("0A000"),
    /** An option has a bad value, or a configuration file is invalid. */
    INVALID_PARAMETER_VALUE("22023"),
    /** A statement other than ROLLBACK in a failed transaction, answered by the proxy itself (proxy). */
    IN_FAILED_SQL_TRANSACTION("25P02"),
    /** Bind or Describe of a prepared statement that does not exist, answered by the proxy itself (proxy). */
    INVALID_SQL_STATEMENT_NAME("26000"),
    /** Execute of a portal that does not exist, answered by the proxy itself (proxy). */
    INVALID_CURSOR_NAME("34000"),
    /** A write was attempted in a read-only transaction that runs on a replica. */
    READ_ONLY_SQL_TRANSACTION("25006"),
    /** A setting that cannot change inside a transaction was changed there. */
    ACTIVE_SQL_TRANSACTION("25001"),
    /** commit()/rollback() with autocommit on, as pgjdbc reports it. */
    NO_ACTIVE_SQL_TRANSACTION("25P01"),
    /** A query-string method was called on a PreparedStatement, as pgjdbc reports it. */
    WRONG_OBJECT_TYPE("42809"),
    /** SET or SHOW of a {@code replicant.*} setting that does not exist (proxy). */
    UNDEFINED_OBJECT("42704"),
    /** The configured user lacks a privilege a configured feature needs. */
    INSUFFICIENT_PRIVILEGE("42501"),
    /** The proxy does not serve this role (proxy). */
    INVALID_AUTHORIZATION("28000"),
    /** The proxy does not serve this database (proxy). */
    INVALID_CATALOG_NAME("3D000"),
    /** Authentication failed (passed through from the server, listed for completeness). */
    INVALID_PASSWORD("28P01"),
    /** The logical connection or statement is closed. */
    OBJECT_NOT_IN_PREREQUISITE_STATE("55000"),
    /** An admin console command the proxy does not know (proxy). */
    SYNTAX_ERROR("42601"),
    /** More clients than proxy.max_clients, or no pooled server connection within proxy.pool_wait_timeout (proxy). */
    TOO_MANY_CONNECTIONS("53300"),
    /** A client cancelled its statement while it waited for a pooled server connection (proxy). */
    QUERY_CANCELED("57014"),
    /** The proxy is shutting down (proxy). */
    ADMIN_SHUTDOWN("57P01"),
    /** A new client arrived while the proxy shuts down (proxy). */
    CANNOT_CONNECT_NOW("57P03"),
    /** proxy.idle_timeout expired (proxy). */
    IDLE_SESSION_TIMEOUT("57P05"),
    /** proxy.idle_in_transaction_timeout expired (proxy). */
    IDLE_IN_TRANSACTION_TIMEOUT("25P03"),
    /** Configuration file missing or unreadable. */
    CONFIG_FILE_ERROR("58030");

    private final String code;

    SqlState(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}
