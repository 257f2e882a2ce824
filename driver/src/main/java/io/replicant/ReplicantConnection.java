package io.replicant;

import java.sql.Connection;

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
}
