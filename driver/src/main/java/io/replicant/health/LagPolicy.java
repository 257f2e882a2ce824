package io.replicant.health;

import java.time.Duration;

/**
 * When a replica lags too far to serve reads: beyond {@code maxBytes} or {@code maxTime} (either may be
 * null for no limit). A lagging replica is re-admitted only below {@code readmitPercent} of every limit,
 * so one that hovers near the limit does not flap in and out of the read pool.
 */
record LagPolicy(Long maxBytes, Duration maxTime, int readmitPercent) {

    /** Whether the replica lags now, given whether it lagged before. */
    boolean lagging(boolean wasLagging, long lagBytes, long lagMillis) {
        return exceeds(lagBytes, lagMillis, wasLagging ? readmitPercent : 100);
    }

    private boolean exceeds(long lagBytes, long lagMillis, int percent) {
        return (maxBytes != null && lagBytes * 100 > maxBytes * percent)
                || (maxTime != null && lagMillis * 100 > maxTime.toMillis() * percent);
    }

    String describe(long lagBytes, long lagMillis) {
        return "lag " + lagBytes + " bytes / " + lagMillis + " ms exceeds "
                + (maxBytes != null ? "lag.max_bytes " + maxBytes : "")
                + (maxBytes != null && maxTime != null ? " or " : "")
                + (maxTime != null ? "lag.max_time " + maxTime.toMillis() + " ms" : "");
    }
}
