package io.replicant.proxy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one database's clients did through the proxy, as pgbouncer's {@code SHOW STATS} reports it: totals since
 * the proxy started, and the same differences over the last complete stats period, from which the console
 * derives per-second rates and average durations.
 */
public final class TrafficStats {
    /** pgbouncer's default {@code stats_period}. */
    public static final Duration PERIOD = Duration.ofSeconds(60);

    private final LongAdder transactions = new LongAdder();
    private final LongAdder queries = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();
    private final LongAdder transactionMicros = new LongAdder();
    private final LongAdder queryMicros = new LongAdder();
    private final LongAdder waits = new LongAdder();
    private final LongAdder waitMicros = new LongAdder();
    private Totals periodStart = Totals.NONE; // guarded by this
    private Totals lastPeriod = Totals.NONE; // guarded by this

    /** Counts and times, in microseconds. */
    public record Totals(long transactions, long queries, long received, long sent, long transactionMicros,
            long queryMicros, long waits, long waitMicros) {
        static final Totals NONE = new Totals(0, 0, 0, 0, 0, 0, 0, 0);

        Totals minus(Totals o) {
            return new Totals(transactions - o.transactions, queries - o.queries, received - o.received,
                    sent - o.sent, transactionMicros - o.transactionMicros, queryMicros - o.queryMicros,
                    waits - o.waits, waitMicros - o.waitMicros);
        }
    }

    /**
     * An exchange (a query, or an extended-protocol batch up to Sync) ended with ReadyForQuery;
     * {@code transactionNanos} is how long the transaction it ended took, or negative when one is still open.
     */
    public void exchanged(long nanos, long bytesIn, long bytesOut, long transactionNanos) {
        queries.increment();
        queryMicros.add(TimeUnit.NANOSECONDS.toMicros(nanos));
        received.add(bytesIn);
        sent.add(bytesOut);
        if (transactionNanos >= 0) {
            transactions.increment();
            transactionMicros.add(TimeUnit.NANOSECONDS.toMicros(transactionNanos));
        }
    }

    /** A client waited this long for a pooled server connection (transaction mode). */
    public void waited(long nanos) {
        waits.increment();
        waitMicros.add(TimeUnit.NANOSECONDS.toMicros(nanos));
    }

    public Totals totals() {
        return new Totals(transactions.sum(), queries.sum(), received.sum(), sent.sum(), transactionMicros.sum(),
                queryMicros.sum(), waits.sum(), waitMicros.sum());
    }

    /** Closes a stats period (every {@link #PERIOD}): {@link #lastPeriod()} describes it from now on. */
    synchronized void endPeriod() {
        Totals now = totals();
        lastPeriod = now.minus(periodStart);
        periodStart = now;
    }

    /** What happened during the last complete period; all zero before the first ends. */
    public synchronized Totals lastPeriod() {
        return lastPeriod;
    }
}
