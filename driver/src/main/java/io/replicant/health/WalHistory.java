package io.replicant.health;

/**
 * When the primary's WAL position was first seen at each value: a ring of (time, position) samples, added
 * only when the position moves. It turns a replica's replay position into a lag in time: the replica is
 * missing everything written since the oldest sample beyond its position, so an idle primary with a
 * caught-up replica gives 0, and a replica stuck behind a write made 10 s ago gives 10 s.
 */
final class WalHistory {
    private final long[] nanos;
    private final long[] positions;
    private int start;
    private int size;

    WalHistory(int capacity) {
        this.nanos = new long[capacity];
        this.positions = new long[capacity];
    }

    synchronized void record(long nanoTime, long position) {
        if (size > 0 && positions[index(size - 1)] >= position) {
            return;
        }
        if (size == positions.length) {
            start = (start + 1) % positions.length;
            size--;
        }
        nanos[index(size)] = nanoTime;
        positions[index(size)] = position;
        size++;
    }

    /** The primary's newest known position, or -1 before the first sample. */
    synchronized long latest() {
        return size == 0 ? -1 : positions[index(size - 1)];
    }

    /** Milliseconds since the primary first wrote past {@code replayed}; 0 when nothing newer is known. */
    synchronized long lagMillis(long replayed, long nowNanos) {
        int lo = 0;
        int hi = size;
        while (lo < hi) { // first sample beyond the replayed position
            int mid = (lo + hi) >>> 1;
            if (positions[index(mid)] > replayed) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo == size ? 0 : Math.max(0, (nowNanos - nanos[index(lo)]) / 1_000_000);
    }

    private int index(int i) {
        return (start + i) % positions.length;
    }
}
