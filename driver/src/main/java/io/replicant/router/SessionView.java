package io.replicant.router;

import java.util.Set;

/** The session state the router needs to route one statement. Implemented by the JDBC connection and the proxy session. */
public interface SessionView {
    /** The backend of the open transaction, or null when no transaction is open. */
    Backend transactionBackend();

    /** True when the next statement opens a transaction (autocommit off and none open yet). */
    boolean beginsTransaction();

    /** {@code Connection.setReadOnly(true)}. */
    boolean readOnly();

    Set<String> tempTables();

    /** Why the session is pinned to the primary (e.g. {@code listen}), or null. */
    String pinned();

    /** A route forced through the API for the next statement or the session ("primary", "replica", "any"), or null. */
    String forcedRoute();

    String user();

    String applicationName();
}
