package io.replicant.proxy.session;

import io.replicant.config.SqlState;
import io.replicant.router.RouteDecision;

/**
 * An error the proxy puts in place of the server's answer to {@link #MARKER}: a statement that cannot join the
 * rest of a batch already running on a server after a Flush.
 */
record BatchRefusal(String sqlState, String message) {

    /** A portal name no client uses: describing it makes the server fail the batch at that point. */
    static final String MARKER = "replicant refused the rest of this batch";

    /** Why {@code sql}, routed by {@code decision} (null inside a transaction), cannot join the batch; null if it can. */
    static BatchRefusal afterFlush(String sql, RouteDecision decision) {
        if (ProxyStatement.of(sql) != null) {
            return new BatchRefusal(SqlState.FEATURE_NOT_SUPPORTED.code(), ProxyStatement.MUST_STAND_ALONE);
        }
        boolean needsPrimary = decision != null && decision.backend() != null && decision.backend().isPrimary();
        if (decision == null || !decision.refused() && !needsPrimary) {
            return null;
        }
        return decision.refused() ? new BatchRefusal(decision.refusal(), decision.detail())
                : new BatchRefusal(SqlState.FEATURE_NOT_SUPPORTED.code(), "a statement that needs the primary cannot "
                        + "follow a Flush in a batch that began on a replica (send Sync first): "
                        + (sql.length() > 200 ? sql.substring(0, 200) : sql));
    }
}
