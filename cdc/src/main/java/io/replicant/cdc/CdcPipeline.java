package io.replicant.cdc;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.cdc.apply.Follower;
import io.replicant.cdc.apply.SourceCatalog;
import io.replicant.cdc.event.SourceTransaction;
import io.replicant.cdc.source.DebeziumSource;
import io.replicant.config.ConfigException;
import io.replicant.config.FollowerSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC pipeline: the primary's committed changes, in commit order and whole transactions, applied to every
 * follower. Start it in-process with {@link #start}, or run {@code replicant cdc --config replicant.yaml}.
 *
 * <p>Nothing is lost or applied twice: a follower stores its position with its data, the source acknowledges
 * only what every follower has, and after a crash or a follower outage the source redelivers from there while
 * each follower skips what it already has.
 */
public final class CdcPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CdcPipeline.class);

    private final List<Follower> followers = new ArrayList<>();
    private final ExecutorService appliers;
    private final ScheduledExecutorService reconnects;
    private final Duration backoff;
    private final Duration maxBackoff;
    private final DebeziumSource source;
    private volatile Throwable failure;

    private CdcPipeline(ReplicantConfig config, MeterRegistry registry) {
        String slot = config.get(ReplicantOptions.CDC_SLOT);
        SourceCatalog catalog = new SourceCatalog(config);
        for (FollowerSpec spec : config.followers()) {
            followers.add(new Follower(spec, slot, catalog, config.get(ReplicantOptions.CDC_RETRY_ATTEMPTS),
                    registry));
        }
        this.appliers = Executors.newFixedThreadPool(followers.size(), daemon("replicant-cdc-apply"));
        this.reconnects = Executors.newSingleThreadScheduledExecutor(daemon("replicant-cdc-reconnect"));
        this.backoff = config.get(ReplicantOptions.CDC_RETRY_BACKOFF);
        this.maxBackoff = config.get(ReplicantOptions.CDC_RETRY_MAX_BACKOFF);
        this.source = new DebeziumSource(config, this::accept, this::sourceFailed);
    }

    /**
     * Connects to the followers (one that is down is retried in the background) and starts streaming.
     *
     * @throws ConfigException when there is no follower
     * @throws SQLException    when the primary cannot be prepared (the heartbeat table)
     */
    public static CdcPipeline start(ReplicantConfig config, MeterRegistry registry) throws SQLException {
        if (config.followers().isEmpty()) {
            throw new ConfigException("cdc.followers", "at least one follower is required", config.source());
        }
        if (!config.get(ReplicantOptions.CDC_HEARTBEAT_INTERVAL).isZero()) {
            new SourceCatalog(config).execute("CREATE TABLE IF NOT EXISTS " + DebeziumSource.HEARTBEAT_TABLE
                    + " (slot text PRIMARY KEY, beat_at timestamptz NOT NULL)");
        }
        CdcPipeline pipeline = new CdcPipeline(config, registry == null ? new SimpleMeterRegistry() : registry);
        for (Follower follower : pipeline.followers) {
            try {
                follower.connect();
                follower.resume();
            } catch (SQLException e) {
                LOG.warn("follower {} is not reachable; retrying in the background: {}", follower.name(),
                        e.getMessage());
                pipeline.scheduleReconnect(follower, pipeline.backoff);
            }
        }
        pipeline.source.start();
        return pipeline;
    }

    /** The followers, for status and metrics. */
    public List<Follower> followers() {
        return List.copyOf(followers);
    }

    /** Why the source stopped on its own, or null while it runs. */
    public Throwable failure() {
        return failure;
    }

    private int accept(List<SourceTransaction> units) throws InterruptedException {
        List<Future<Integer>> results = new ArrayList<>(followers.size());
        for (Follower follower : followers) {
            results.add(appliers.submit(() -> follower.apply(units)));
        }
        int applied = units.size();
        for (int i = 0; i < followers.size(); i++) {
            Follower follower = followers.get(i);
            Follower.State before = follower.state();
            try {
                applied = Math.min(applied, results.get(i).get());
            } catch (ExecutionException e) {
                throw new IllegalStateException("applying to follower " + follower.name() + " failed", e.getCause());
            }
            if (before == Follower.State.ACTIVE && follower.state() == Follower.State.DOWN) {
                scheduleReconnect(follower, backoff);
            }
        }
        return applied;
    }

    private void scheduleReconnect(Follower follower, Duration delay) {
        reconnects.schedule(() -> reconnect(follower, delay), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void reconnect(Follower follower, Duration delay) {
        try {
            follower.connect();
        } catch (SQLException e) {
            Duration next = delay.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : delay.multipliedBy(2);
            LOG.info("follower {} is still down (next try in {} ms): {}", follower.name(), next.toMillis(),
                    e.getMessage());
            scheduleReconnect(follower, next);
            return;
        }
        // The source has gone on without this follower: start it again from the position every follower has,
        // and let the follower take changes only from then on.
        LOG.info("follower {} is back; restarting the source from the acknowledged position to catch it up",
                follower.name());
        source.restart(() -> followers.forEach(Follower::resume));
    }

    private void sourceFailed(Throwable error) {
        failure = error;
        LOG.error("the change source stopped: {}", error.toString(), error);
    }

    @Override
    public void close() {
        reconnects.shutdownNow();
        source.close();
        appliers.shutdownNow();
        followers.forEach(Follower::close);
    }

    private static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
