package io.replicant;

import java.sql.SQLException;
import java.time.Duration;

import io.replicant.router.Lsn;

/**
 * A commit that is durable on the primary but was not acknowledged by enough replicas in time
 * ({@code replication.mode: sync}, {@code quorum.on_timeout: error}). The transaction is NOT rolled back and
 * must not be retried blindly: it is committed, exactly as with PostgreSQL's own synchronous replication when
 * the wait is cancelled.
 */
public final class QuorumTimeoutException extends SQLException {
    private static final long serialVersionUID = 1L;
    /** SQLSTATE of this exception (an implementation-defined class: "Replicant quorum"). */
    public static final String SQL_STATE = "RQ001";

    private final long commitLsn;
    private final int acknowledged;
    private final int required;

    public QuorumTimeoutException(long commitLsn, int acknowledged, int required, Duration waited) {
        super(message(commitLsn, acknowledged, required, waited), SQL_STATE);
        this.commitLsn = commitLsn;
        this.acknowledged = acknowledged;
        this.required = required;
    }

    public static String message(long commitLsn, int acknowledged, int required, Duration waited) {
        return "committed on the primary at LSN " + Lsn.format(commitLsn) + "; only " + acknowledged + " of "
                + required + " replicas confirmed within " + waited.toMillis() + " ms (the transaction is committed, "
                + "do not retry it)";
    }

    /** The commit's WAL position on the primary, as {@code 0/16B6C50}. */
    public String commitLsn() {
        return Lsn.format(commitLsn);
    }

    public int acknowledged() {
        return acknowledged;
    }

    public int required() {
        return required;
    }
}
