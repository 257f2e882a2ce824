package io.replicant;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Replicant's additions to a JDBC connection: {@code connection.unwrap(ReplicantConnection.class)}.
 */
public interface ReplicantConnection extends Connection {

    /** Forces where the next statement executed on this connection goes. */
    void routeNextStatement(Route route);

    /** Forces where every following statement goes until called again with {@code null}. */
    void routeSession(Route route);

    /** Where {@code sql} would go now, and why, without executing it. */
    RouteExplanation explain(String sql);

    /** Where the last statement executed on this connection went, and why; null before the first one. */
    RouteExplanation lastRoute();

    /**
     * How many replicas must acknowledge the next commit on this connection (the open transaction's, or the next
     * autocommit write's) before it returns, overriding {@code quorum.w} and {@code replication.mode} once;
     * 0 = do not wait.
     *
     * @throws SQLException 22023 if {@code w} is negative or more than the configured streaming replicas
     */
    void setQuorum(int w) throws SQLException;

    /**
     * Sets this connection's consistency mode ({@code eventual}, {@code session}, {@code token}, {@code strong}),
     * overriding the {@code consistency} option.
     *
     * @throws SQLException 22023 for an unknown mode
     */
    void setConsistency(String mode) throws SQLException;

    String getConsistency();

    /**
     * The WAL position this connection has written or read up to, as text like {@code 0/16B6C50}: hand it to
     * another connection or service ({@link #setConsistencyToken}) so its reads see at least as much. May ask the
     * primary for its position once. Null before the connection has run anything.
     */
    String getConsistencyToken() throws SQLException;

    /**
     * In {@code session} and {@code token} modes, reads on this connection go only to replicas that have replayed
     * {@code token} (else the primary after {@code max_wait}). A token never lowers the position already held.
     *
     * @throws SQLException 22023 if the text is not a WAL position
     */
    void setConsistencyToken(String token) throws SQLException;
}
