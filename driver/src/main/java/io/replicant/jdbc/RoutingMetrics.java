package io.replicant.jdbc;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.replicant.router.Backend;
import io.replicant.router.ClassificationCache;
import io.replicant.router.Reason;

/**
 * Micrometer meters of one cluster. Counters are looked up once per tag combination and kept, so the hot
 * path is an array read and an increment.
 *
 * <ul>
 * <li>{@code replicant.statements{target, reason}}: routed statements, target {@code primary|replica}</li>
 * <li>{@code replicant.parse.cache{result}}: classification cache {@code hit|miss}</li>
 * <li>{@code replicant.pins{reason}}: sessions pinned to the primary</li>
 * <li>{@code replicant.errors{sqlstate_class}}: statements that failed, by SQLSTATE class</li>
 * <li>{@code replicant.consistency.wait{outcome}}: time a read waited for a replica to replay the session's
 * position, {@code outcome=replica} when one did, {@code primary} when the read fell back</li>
 * <li>{@code replicant.quorum.wait{outcome}}: time commits waited for their quorum, {@code outcome=ok|timeout}</li>
 * </ul>
 */
public final class RoutingMetrics implements ClassificationCache.CacheListener {
    private final MeterRegistry registry;
    private final String cluster;
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final Counter hits;
    private final Counter misses;
    private final Timer waitSatisfied;
    private final Timer waitFellBack;
    private final Timer quorumOk;
    private final Timer quorumTimeout;
    /** replicant.statements by [primary?0:1][reason], filled on first use: no lookup on the hot path. */
    private final Counter[][] statements = new Counter[2][Reason.values().length];

    RoutingMetrics(MeterRegistry registry, String cluster) {
        this.registry = registry;
        this.cluster = cluster;
        this.hits = Counter.builder("replicant.parse.cache").tag("cluster", cluster).tag("result", "hit")
                .description("Classification cache lookups").register(registry);
        this.misses = Counter.builder("replicant.parse.cache").tag("cluster", cluster).tag("result", "miss")
                .description("Classification cache lookups").register(registry);
        this.waitSatisfied = waitTimer("replica");
        this.waitFellBack = waitTimer("primary");
        this.quorumOk = quorumTimer("ok");
        this.quorumTimeout = quorumTimer("timeout");
    }

    private Timer quorumTimer(String outcome) {
        return Timer.builder("replicant.quorum.wait").tag("cluster", cluster).tag("outcome", outcome)
                .description("Commits waiting for replicas to acknowledge them").publishPercentileHistogram()
                .register(registry);
    }

    public void quorumWait(long nanos, boolean reached) {
        (reached ? quorumOk : quorumTimeout).record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer waitTimer(String outcome) {
        return Timer.builder("replicant.consistency.wait").tag("cluster", cluster).tag("outcome", outcome)
                .description("Reads waiting for a replica to replay the session's position").publishPercentileHistogram()
                .register(registry);
    }

    public void routed(Backend backend, Reason reason) {
        int target = backend.isPrimary() ? 0 : 1;
        Counter counter = statements[target][reason.ordinal()];
        if (counter == null) {
            counter = counter("replicant.statements", "target", target == 0 ? "primary" : "replica", "reason",
                    reason.tag());
            statements[target][reason.ordinal()] = counter; // a benign race: both threads store the same meter
        }
        counter.increment();
    }

    /** An autocommit read that lost its connection to {@code lost} before answering ran again elsewhere. */
    public void retried(Backend lost) {
        counter("replicant.reads.retried", "backend", lost.name(), null, null).increment();
    }

    public void pinned(String reason) {
        counter("replicant.pins", "reason", reason, null, null).increment();
    }

    public void failed(String sqlState) {
        String cls = sqlState == null || sqlState.length() < 2 ? "unknown" : sqlState.substring(0, 2);
        counter("replicant.errors", "sqlstate_class", cls, null, null).increment();
    }

    void consistencyWait(long nanos, boolean satisfied) {
        (satisfied ? waitSatisfied : waitFellBack).record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void hit() {
        hits.increment();
    }

    @Override
    public void miss() {
        misses.increment();
    }

    private Counter counter(String name, String k1, String v1, String k2, String v2) {
        String key = name + '|' + v1 + '|' + v2;
        Counter counter = counters.get(key);
        if (counter == null) {
            Counter.Builder builder = Counter.builder(name).tag("cluster", cluster).tag(k1, v1);
            if (k2 != null) {
                builder.tag(k2, v2);
            }
            counter = counters.computeIfAbsent(key, k -> builder.register(registry));
        }
        return counter;
    }
}
