package io.replicant.proxy.session;

import io.replicant.health.ReplicaMonitor;
import io.replicant.router.Backend;
import io.replicant.router.Lsn;

/**
 * Read-your-writes and monotonic reads for one proxy session ({@code consistency: session}), and in {@code token}
 * consistency also every commit made through the proxy. After the session ran something on one server, a read
 * may go to another only once that server has replayed a primary WAL position taken after it. The proxy learns
 * that position from the replica monitor's next round (it never blocks its event loop on a query of its own), so
 * until then such reads go to the primary.
 */
final class ReadPosition {
    private static final long NONE = Long.MIN_VALUE;

    private long lsn = Lsn.UNKNOWN;
    private Backend lastSource;
    /** When the session last ran something on {@code lastSource} (System.nanoTime), or NONE once covered. */
    private long owedSince = NONE;
    /** Commits through the proxy up to this time are covered by {@code lsn} (token consistency). */
    private long coveredCommits;

    /** @param lastCommit when a statement last ended on the primary: commits before the session began count too */
    ReadPosition(long lastCommit) {
        coveredCommits = lastCommit - 1;
    }

    /** The WAL position the session's reads must see; UNKNOWN while none is known. */
    long lsn() {
        return lsn;
    }

    /** An exchange ended on {@code backend}. */
    void ranOn(Backend backend) {
        lastSource = backend;
        owedSince = System.nanoTime();
    }

    /** A consistency token handed over from elsewhere: reads must see at least {@code position} from now on. */
    void require(long position) {
        lsn = Math.max(lsn, position);
    }

    /** What a read about to go to a replica needs first. */
    enum Settled {
        /** Nothing owed: the route stands. */
        NOTHING_OWED,
        /** A newer primary position was folded in: route again, so the router checks replicas against it. */
        LEARNED,
        /** The monitor has no primary position from after the statements owed yet: use the primary. */
        UNKNOWN
    }

    /**
     * @param lastCommit in token consistency, when a statement last ended on the primary through the proxy (any
     *        session's); otherwise null
     */
    Settled settleFor(Backend replica, ReplicaMonitor monitor, Long lastCommit) {
        long since = owedSince != NONE && replica != lastSource ? owedSince : NONE;
        if (lastCommit != null && lastCommit - coveredCommits > 0 && (since == NONE || lastCommit - since > 0)) {
            since = lastCommit;
        }
        if (since == NONE) {
            return Settled.NOTHING_OWED;
        }
        return fold(monitor, since) ? Settled.LEARNED : Settled.UNKNOWN;
    }

    /**
     * The session's consistency token: a position covering what it has written and read. Null when the monitor
     * has not yet checked the primary since the session's last statement (ask again after its next round);
     * {@link Lsn#UNKNOWN} when the session has nothing to hand over.
     */
    Long token(ReplicaMonitor monitor) {
        return owedSince == NONE || fold(monitor, owedSince) ? lsn : null;
    }

    private boolean fold(ReplicaMonitor monitor, long since) {
        long primary = monitor.primaryPositionSince(since);
        if (primary == Lsn.UNKNOWN) {
            return false;
        }
        lsn = Math.max(lsn, primary);
        if (owedSince != NONE && since - owedSince >= 0) {
            owedSince = NONE;
        }
        if (since - coveredCommits > 0) {
            coveredCommits = since;
        }
        return true;
    }
}
