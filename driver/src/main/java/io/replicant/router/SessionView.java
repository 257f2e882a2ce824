package io.replicant.router;

import java.util.Set;

/** The session state the router needs to route one statement. Implemented by the JDBC connection and the proxy session. */
public interface SessionView {
    /** The backend of the open transaction, or null when no transaction is open. */
    Backend transactionBackend();

    /** The open transaction had an error: its server refuses all but its end (25P02), so nothing is refused here. */
    boolean transactionFailed();

    /** True when the next statement opens a transaction (autocommit off and none open yet). */
    boolean beginsTransaction();

    /** {@code Connection.setReadOnly(true)}. */
    boolean readOnly();

    Set<String> tempTables();

    /** The names of the SQL-level prepared statements (PREPARE) the session may have: they live on the primary. */
    Set<String> preparedStatements();

    /** Why the session is pinned to the primary (e.g. {@code listen}), or null. */
    String pinned();

    /** A route forced through the API for the next statement or the session ("primary", "replica", "any"), or null. */
    String forcedRoute();

    /** The connection's consistency mode: {@code eventual}, {@code session}, {@code token} or {@code strong}. */
    String consistency();

    /**
     * The WAL position a replica must have replayed before it serves this session's reads ({@code session} and
     * {@code token} modes): the session's last commit, the token it was given, or, for monotonic reads, the
     * primary's position when it last read elsewhere. -1 when there is none.
     */
    long minLsn();

    /** The replica this session last read from ({@code session}/{@code token} modes), preferred while it qualifies; or null. */
    Backend stickyReplica();

    String user();

    String applicationName();
}
