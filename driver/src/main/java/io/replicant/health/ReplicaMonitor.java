package io.replicant.health;

import java.sql.Connection;
import java.sql.SQLException;
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
    private final Probe primary;
    private final List<Probe> replicas = new ArrayList<>();
    private final Connector connector;
    private final LagPolicy lagPolicy;
    private final Duration interval;
    private final Duration timeout;
    private final int downAfter;
    private final int upAfter;
    private final WalHistory history = new WalHistory(4096);
    private final ScheduledExecutorService executor;
    private final AtomicBoolean tickQueued = new AtomicBoolean();
    private volatile Sample latestPrimary;

    private record Sample(long sentNanos, long position) {
    }

    public ReplicaMonitor(String cluster, Backend primary, List<Backend> replicas, Connector connector,
            ReplicantConfig config, MeterRegistry registry) {
        this.cluster = cluster;
        this.primary = new Probe(primary);
        for (Backend replica : replicas) {
            this.replicas.add(new Probe(replica));
        }
        this.connector = connector;
        this.lagPolicy = new LagPolicy(config.get(ReplicantOptions.LAG_MAX_BYTES),
                config.get(ReplicantOptions.LAG_MAX_TIME), config.get(ReplicantOptions.LAG_READMIT_PERCENT));
        this.interval = config.get(ReplicantOptions.MONITOR_INTERVAL);
        this.timeout = config.get(ReplicantOptions.HEALTH_TIMEOUT);
        this.downAfter = config.get(ReplicantOptions.HEALTH_DOWN_AFTER);
        this.upAfter = config.get(ReplicantOptions.HEALTH_UP_AFTER);
        AtomicInteger threads = new AtomicInteger();
        this.executor = Executors.newScheduledThreadPool(1 + replicas.size(), r -> {
            Thread t = new Thread(r, "replicant-" + cluster + "-monitor-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        registerGauges(registry, primary);
        replicas.forEach(r -> registerGauges(registry, r));
    }

    private void registerGauges(MeterRegistry registry, Backend b) {
        Gauge.builder("replicant.backend.lag.bytes", b, Backend::lagBytes).tag("cluster", cluster)
                .tag("backend", b.name()).description("Replay lag behind the primary's WAL position").baseUnit("bytes")
                .register(registry);
        Gauge.builder("replicant.backend.lag.seconds", b, x -> x.lagMillis() / 1000.0).tag("cluster", cluster)
                .tag("backend", b.name()).description("Time since the primary wrote what the replica has not replayed")
                .register(registry);
        Gauge.builder("replicant.backend.up", b, x -> x.isAvailable() ? 1 : 0).tag("cluster", cluster)
                .tag("backend", b.name()).description("1 when health checks pass").register(registry);
        Gauge.builder("replicant.backend.eligible", b, x -> x.isEligible() ? 1 : 0).tag("cluster", cluster)
                .tag("backend", b.name()).description("1 when the backend may serve reads (up and within lag limits)")
                .register(registry);
        Gauge.builder("replicant.backend.lagging", b, x -> x.isLagging() ? 1 : 0).tag("cluster", cluster)
                .tag("backend", b.name()).description("1 when excluded from reads for lag").register(registry);
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
        if (primary.backend == backend) {
            return primary;
        }
        for (Probe p : replicas) {
            if (p.backend == backend) {
                return p;
            }
        }
        throw new IllegalArgumentException(backend + " is not monitored here");
    }

    private synchronized void tick() {
        try {
            probe(primary);
            List<Future<?>> running = new ArrayList<>(replicas.size());
            for (Probe replica : replicas) {
                running.add(executor.submit(() -> probe(replica)));
            }
            for (Future<?> f : running) {
                f.get(timeout.toMillis() * 3 + 1000, TimeUnit.MILLISECONDS);
            }
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
            answer = WalPosition.of(probe.connection, (int) Math.max(1, timeout.toSeconds()));
        } catch (SQLException e) {
            failed(probe, e);
            return;
        }
        boolean inRecovery = answer.inRecovery();
        long position = answer.lsn();
        long now = System.nanoTime();
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
            probe.backend.updateLag(position, 0, 0, true, "has not replayed any WAL yet");
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
        closeQuietly(primary);
        replicas.forEach(ReplicaMonitor::closeQuietly);
    }

    /** What the monitor keeps per backend between rounds. */
    private static final class Probe {
        final Backend backend;
        Connection connection;
        int failures;
        int successes;
        boolean warned;

        Probe(Backend backend) {
            this.backend = backend;
        }
    }
}
