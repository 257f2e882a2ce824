package io.replicant.proxy.session;

import io.replicant.health.ReplicaMonitor;
import io.replicant.router.Backend;
import io.replicant.router.Lsn;

/**
 * Read-your-writes and monotonic reads for one proxy session ({@code consistency: session}). After the session
 * ran something on one server, a read may go to another only once that server has replayed a primary WAL
 * position taken after it. The proxy learns that position from the replica monitor's next round (it never
 * blocks its event loop on a query of its own), so until then such reads go to the primary.
 */
final class ReadPosition {
    private static final long NONE = Long.MIN_VALUE;

    private long lsn = Lsn.UNKNOWN;
    private Backend lastSource;
    /** When the session last ran something on {@code lastSource} (System.nanoTime), or NONE once covered. */
    private long owedSince = NONE;

    /** The WAL position the session's reads must see; UNKNOWN while none is known. */
    long lsn() {
        return lsn;
    }

    /** An exchange ended on {@code backend}. */
    void ranOn(Backend backend) {
        lastSource = backend;
        owedSince = System.nanoTime();
    }

    /** What a read about to go to a replica needs first. */
    enum Settled {
        /** Nothing owed: the route stands. */
        NOTHING_OWED,
        /** A newer primary position was folded in: route again, so the router checks replicas against it. */
        LEARNED,
        /** The monitor has no primary position from after the session's last statement yet: use the primary. */
        UNKNOWN
    }

    Settled settleFor(Backend replica, ReplicaMonitor monitor) {
        if (owedSince == NONE || replica == lastSource) {
            return Settled.NOTHING_OWED;
        }
        long primary = monitor.primaryPositionSince(owedSince);
        if (primary == Lsn.UNKNOWN) {
            return Settled.UNKNOWN;
        }
        lsn = Math.max(lsn, primary);
        owedSince = NONE;
        return Settled.LEARNED;
    }
}
