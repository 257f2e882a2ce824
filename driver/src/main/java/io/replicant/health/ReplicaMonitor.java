package io.replicant.health;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.replicant.config.HostSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.router.Backend;
import io.replicant.router.Lsn;

/**
 * One per cluster: every {@code monitor.interval} it asks the primary for its WAL position and each replica
 * for its replay position, on connections of its own, and keeps on each {@link Backend} its lag in bytes and
 * time, health and read eligibility. The cost to the servers is one query per backend per interval,
 * never per statement.
 */
public final class ReplicaMonitor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaMonitor.class);

    /** Opens a connection of the monitor's own to a host, with connect and socket timeouts set. */
    @FunctionalInterface
    public interface Connector {
        Connection open(HostSpec host) throws SQLException;
    }

    private final String cluster;
    private final List<Probe> probes = new ArrayList<>();
    private final Topology topology;
    private final FailoverCoordinator failover;
    private final Connector connector;
    private final LagPolicy lagPolicy;
    private final Duration interval;
    private final Duration timeout;
    private final int downAfter;
    private final int upAfter;
    private final String cdcSlot;
    private final WalHistory history = new WalHistory(4096);
    private final ScheduledExecutorService executor;
    private final AtomicBoolean tickQueued = new AtomicBoolean();
    private volatile Sample latestPrimary;
    private final MeterRegistry registry;
    private final List<Meter> gauges = new ArrayList<>();

    private record Sample(long sentNanos, long position) {
    }

    /**
     * @param backends every configured host; which one is the primary comes from {@code topology}, and changes
     *                 when the monitor finds that another host took over
     */
    public ReplicaMonitor(String cluster, List<Backend> backends, Topology topology, Connector connector,
            ReplicantConfig config, MeterRegistry registry) {
        this.cluster = cluster;
        for (Backend backend : backends) {
            this.probes.add(new Probe(backend));
        }
        this.topology = topology;
        this.connector = connector;
        this.registry = registry;
        this.failover = new FailoverCoordinator(cluster, topology, this::promote,
                config.get(ReplicantOptions.FAILOVER_PROMOTE), config.get(ReplicantOptions.FAILOVER_GRACE),
                config.get(ReplicantOptions.FAILOVER_SPLIT_BRAIN).equals("highest_timeline"), registry);
        this.lagPolicy = new LagPolicy(config.get(ReplicantOptions.LAG_MAX_BYTES),
                config.get(ReplicantOptions.LAG_MAX_TIME), config.get(ReplicantOptions.LAG_READMIT_PERCENT));
        this.interval = config.get(ReplicantOptions.MONITOR_INTERVAL);
        this.timeout = config.get(ReplicantOptions.HEALTH_TIMEOUT);
        this.downAfter = config.get(ReplicantOptions.HEALTH_DOWN_AFTER);
        this.upAfter = config.get(ReplicantOptions.HEALTH_UP_AFTER);
        this.cdcSlot = config.get(ReplicantOptions.CDC_SLOT);
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newScheduledThreadPool(backends.size(), r -> {
            Thread t = new Thread(r, "replicant-" + cluster + "-monitor-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        backends.forEach(b -> registerGauges(registry, b));
    }

    private void registerGauges(MeterRegistry registry, Backend b) {
        gauges.add(Gauge.builder("replicant.backend.lag.bytes", b, Backend::lagBytes).tag("cluster", cluster)
                .tag("backend", b.name()).description("Replay lag behind the primary's WAL position").baseUnit("bytes")
                .register(registry));
        gauges.add(Gauge.builder("replicant.backend.lag.seconds", b, x -> x.lagMillis() / 1000.0).tag("cluster", cluster)
                .tag("backend", b.name()).description("Time since the primary wrote what the replica has not replayed")
                .register(registry));
        gauges.add(Gauge.builder("replicant.backend.up", b, x -> x.isAvailable() ? 1 : 0).tag("cluster", cluster)
                .tag("backend", b.name()).description("1 when health checks pass").register(registry));
        gauges.add(Gauge.builder("replicant.backend.eligible", b, x -> x.isEligible() ? 1 : 0).tag("cluster", cluster)
                .tag("backend", b.name()).description("1 when the backend may serve reads (up and within lag limits)")
                .register(registry));
        gauges.add(Gauge.builder("replicant.backend.lagging", b, x -> x.isLagging() ? 1 : 0).tag("cluster", cluster)
                .tag("backend", b.name()).description("1 when excluded from reads for lag").register(registry));
    }

    /** Runs one round now (so routing starts with real positions), then one every {@code monitor.interval}. */
    public void start() {
        tick();
        executor.scheduleWithFixedDelay(this::tick, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Asks for an extra round as soon as possible (a read waiting for a replica); calls while one is queued merge. */
    public void checkSoon() {
        if (tickQueued.compareAndSet(false, true)) {
            executor.execute(() -> {
                tickQueued.set(false);
                tick();
            });
        }
    }

    /**
     * The primary's WAL position from a check sent at or after {@code sinceNanos} ({@link System#nanoTime()}),
     * so covering everything committed before then; -1 when the newest check is older.
     */
    public long primaryPositionSince(long sinceNanos) {
        Sample s = latestPrimary;
        return s != null && s.sentNanos - sinceNanos >= 0 ? s.position : Lsn.UNKNOWN;
    }

    /** Marks {@code backend} down at once (a fatal error on a live connection); health checks bring it back. */
    public void markDown(Backend backend, String why) {
        Probe probe = probeOf(backend);
        synchronized (probe) {
            probe.successes = 0;
            if (backend.isAvailable()) {
                backend.setAvailable(false, why);
                LOG.warn("[{}] {} is down: {}; it is used again after {} successful health checks", cluster, backend,
                        why, upAfter);
            }
        }
    }

    private Probe probeOf(Backend backend) {
        for (Probe p : probes) {
            if (p.backend == backend) {
                return p;
            }
        }
        throw new IllegalArgumentException(backend + " is not monitored here");
    }

    /** The primary first (replica lag is measured against it), then every other host at once. */
    private synchronized void tick() {
        try {
            Probe primary = probeOf(topology.primary());
            probe(primary);
            List<Future<?>> running = new ArrayList<>(probes.size());
            for (Probe p : probes) {
                if (p != primary) {
                    running.add(executor.submit(() -> probe(p)));
                }
            }
            for (Future<?> f : running) {
                f.get(timeout.toMillis() * 3 + 1000, TimeUnit.MILLISECONDS);
            }
            List<FailoverCoordinator.HostState> states = new ArrayList<>(probes.size());
            for (Probe p : probes) {
                if (p.backend.host().cdcFollower()) {
                    continue; // never a primary: it has its own WAL, not the cluster's
                }
                states.add(new FailoverCoordinator.HostState(p.backend, p.reachable, p.inRecovery, p.timeline, p.position));
            }
            failover.reconcile(states, System.nanoTime());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.error("[{}] replica monitor round failed", cluster, e);
        }
    }

    private void probe(Probe probe) {
        long sent = System.nanoTime();
        WalPosition answer;
        try {
            if (probe.connection == null) {
                probe.connection = connector.open(probe.backend.host());
            }
            int seconds = (int) Math.max(1, timeout.toSeconds());
            answer = probe.backend.host().cdcFollower() ? WalPosition.ofCdcFollower(probe.connection, cdcSlot, seconds)
                    : WalPosition.of(probe.connection, seconds);
        } catch (SQLException e) {
            failed(probe, e);
            return;
        }
        boolean inRecovery = answer.inRecovery();
        long position = answer.lsn();
        long now = System.nanoTime();
        probe.reachable = true;
        probe.inRecovery = inRecovery;
        probe.timeline = answer.timeline();
        probe.position = position;
        synchronized (probe) {
            probe.failures = 0;
            probe.successes++;
            if (!probe.backend.isAvailable() && probe.successes >= upAfter) {
                probe.backend.setAvailable(true, "");
                LOG.info("[{}] {} is up again after {} successful health checks", cluster, probe.backend, upAfter);
            }
        }
        if (probe.backend.isPrimary()) {
            if (inRecovery) {
                probe.backend.updateLag(position, 0, 0, true, "the primary is in recovery (demoted?)");
                warnOnce(probe, "the configured primary " + probe.backend + " reports pg_is_in_recovery() = true");
            } else {
                history.record(now, position);
                latestPrimary = new Sample(sent, position);
                probe.backend.updateLag(position, 0, 0, false, "");
                probe.warned = false;
            }
            return;
        }
        if (!inRecovery) {
            probe.backend.updateLag(position, 0, 0, true, "not in recovery (promoted?)");
            warnOnce(probe, "replica " + probe.backend + " reports pg_is_in_recovery() = false; no reads go there");
            return;
        }
        probe.warned = false;
        if (position == Lsn.UNKNOWN) {
            String why = probe.backend.host().cdcFollower()
                    ? "the CDC pipeline (slot " + cdcSlot + ") has applied nothing here yet" : "has not replayed any WAL yet";
            probe.backend.updateLag(position, 0, 0, true, why);
            return;
        }
        long primaryPosition = history.latest();
        long lagBytes = primaryPosition < 0 ? 0 : Math.max(0, primaryPosition - position);
        long lagMillis = history.lagMillis(position, now);
        boolean was = probe.backend.isLagging();
        boolean lagging = lagPolicy.lagging(was, lagBytes, lagMillis);
        probe.backend.updateLag(position, lagBytes, lagMillis, lagging, lagging ? lagPolicy.describe(lagBytes, lagMillis) : "");
        if (lagging != was) {
            if (lagging) {
                LOG.warn("[{}] {} leaves the read pool: {}", cluster, probe.backend, lagPolicy.describe(lagBytes, lagMillis));
            } else {
                LOG.info("[{}] {} is back in the read pool (lag {} bytes / {} ms)", cluster, probe.backend, lagBytes,
                        lagMillis);
            }
        }
    }

    private void failed(Probe probe, SQLException e) {
        closeQuietly(probe);
        probe.reachable = false;
        synchronized (probe) {
            probe.successes = 0;
            probe.failures++;
            if (probe.backend.isAvailable() && probe.failures >= downAfter) {
                probe.backend.setAvailable(false, "health check failed " + probe.failures + " times: " + e.getMessage());
                LOG.warn("[{}] {} is down: {} consecutive health checks failed, last with {}: {}", cluster, probe.backend,
                        probe.failures, e.getSQLState(), e.getMessage());
            } else {
                LOG.debug("[{}] health check of {} failed: {}", cluster, probe.backend, e.getMessage());
            }
        }
    }

    /** Asks a replica to promote itself; the next rounds see it accept writes and make it the primary. */
    private void promote(Backend replica) throws SQLException {
        Probe probe = probeOf(replica);
        if (probe.connection == null) {
            probe.connection = connector.open(replica.host());
        }
        try (Statement s = probe.connection.createStatement()) {
            s.execute("SELECT pg_promote(false)");
        }
    }

    private void warnOnce(Probe probe, String message) {
        if (!probe.warned) {
            probe.warned = true;
            LOG.warn("[{}] {}", cluster, message);
        }
    }

    private static void closeQuietly(Probe probe) {
        if (probe.connection != null) {
            try {
                probe.connection.close();
            } catch (SQLException ignored) {
                // the connection is already broken
            }
            probe.connection = null;
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(timeout.toMillis() * 2, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        probes.forEach(ReplicaMonitor::closeQuietly);
        gauges.forEach(registry::remove); // a closed cluster's backends must not keep reporting
    }

    /** What the monitor keeps per backend between rounds. */
    private static final class Probe {
        final Backend backend;
        Connection connection;
        int failures;
        int successes;
        boolean warned;
        // the last answer
        volatile boolean reachable;
        volatile boolean inRecovery;
        volatile int timeline;
        volatile long position = Lsn.UNKNOWN;

        Probe(Backend backend) {
            this.backend = backend;
        }
    }
}
