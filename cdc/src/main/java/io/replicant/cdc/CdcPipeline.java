package io.replicant.cdc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.replicant.cdc.apply.Follower;
import io.replicant.cdc.apply.SourceCatalog;
import io.replicant.cdc.event.Lsn;
import io.replicant.cdc.event.SourceTransaction;
import io.replicant.cdc.event.TableId;
import io.replicant.cdc.source.DebeziumSource;
import io.replicant.config.ConfigException;
import io.replicant.config.FollowerSpec;
import io.replicant.config.HostSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CDC pipeline: the primary's committed changes, in commit order and whole transactions, applied to every
 * follower. Start it in-process with {@link #start}, or run {@code replicant cdc --config replicant.yaml}.
 *
 * <p>Nothing is lost or applied twice: a follower stores its position with its data, the slot is confirmed only
 * up to what every follower has, and after a crash or a follower outage the slot resends from there while each
 * follower skips what it already has.
 */
public final class CdcPipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CdcPipeline.class);

    private final List<Follower> followers = new ArrayList<>();
    private final ExecutorService appliers;
    private final ScheduledExecutorService scheduler;
    private final Duration backoff;
    private final Duration maxBackoff;
    private final ReplicantConfig config;
    private final SourceCatalog catalog;
    private final String slot;
    private final DebeziumSource source;
    private volatile Throwable failure;
    private volatile Duration sourceBackoff;
    private volatile long primaryLsn;
    private volatile long slotRetainedBytes;
    private CdcHttpEndpoint http;

    private CdcPipeline(ReplicantConfig config, MeterRegistry registry) {
        this.config = config;
        this.slot = config.get(ReplicantOptions.CDC_SLOT);
        this.catalog = new SourceCatalog(config);
        for (FollowerSpec spec : config.followers()) {
            Follower follower = new Follower(spec, slot, catalog, config.get(ReplicantOptions.CDC_RETRY_ATTEMPTS),
                    registry);
            followers.add(follower);
            Gauge.builder("replicant.cdc.lag.bytes", follower, f -> primaryLsn == 0 ? Double.NaN
                    : Math.max(0, primaryLsn - f.position())).tag("follower", spec.name())
                    .description("WAL bytes between the primary's position and the follower's last applied commit")
                    .register(registry);
            Gauge.builder("replicant.cdc.lag.seconds", follower, f -> f.positionTime() == null ? Double.NaN
                    : Duration.between(f.positionTime(), Instant.now()).toMillis() / 1000.0)
                    .tag("follower", spec.name())
                    .description("Age of the follower's last applied source commit (up to cdc.heartbeat_interval "
                            + "while the source is quiet)")
                    .register(registry);
            Gauge.builder("replicant.cdc.follower.state", follower, f -> f.state().ordinal())
                    .tag("follower", spec.name())
                    .description("0 active, 1 down, 2 reconnected, 3 paused, 4 stopped").register(registry);
        }
        Gauge.builder("replicant.cdc.slot.retained.bytes", this, p -> p.slotRetainedBytes)
                .description("WAL the primary keeps for the pipeline's slot").register(registry);
        this.appliers = Executors.newFixedThreadPool(followers.size(), daemon("replicant-cdc-apply"));
        this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("replicant-cdc-scheduler"));
        this.backoff = config.get(ReplicantOptions.CDC_RETRY_BACKOFF);
        this.maxBackoff = config.get(ReplicantOptions.CDC_RETRY_MAX_BACKOFF);
        this.sourceBackoff = backoff;
        String snapshotMode = config.get(ReplicantOptions.CDC_SNAPSHOT_MODE);
        this.source = new DebeziumSource(config, () -> snapshotMode.equals("always") || snapshotMode.equals("initial")
                && followers.stream().anyMatch(f -> f.position() == 0), this::accept, this::sourceFailed);
    }

    /**
     * Connects to the followers (one that is down is retried in the background) and starts streaming.
     *
     * @param registry where to publish metrics besides the pipeline's own Prometheus endpoint; may be null
     * @throws ConfigException when there is no follower or the HTTP address is invalid
     * @throws SQLException    when the primary cannot be prepared (the heartbeat table)
     */
    public static CdcPipeline start(ReplicantConfig config, MeterRegistry registry) throws SQLException {
        if (config.followers().isEmpty()) {
            throw new ConfigException("cdc.followers", "at least one follower is required", config.source());
        }
        InetSocketAddress httpAddress = httpAddress(config);
        SourceCatalog primary = new SourceCatalog(config);
        if (!config.get(ReplicantOptions.CDC_HEARTBEAT_INTERVAL).isZero()) {
            primary.execute("CREATE TABLE IF NOT EXISTS " + DebeziumSource.HEARTBEAT_TABLE
                    + " (slot text PRIMARY KEY, beat_at timestamptz NOT NULL)");
        }
        primary.execute("CREATE TABLE IF NOT EXISTS " + DebeziumSource.SIGNAL_TABLE
                + " (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))");
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        CompositeMeterRegistry meters = new CompositeMeterRegistry();
        meters.add(prometheus);
        if (registry != null) {
            meters.add(registry);
        }
        CdcPipeline pipeline = new CdcPipeline(config, meters);
        try {
            if (httpAddress != null) {
                pipeline.http = new CdcHttpEndpoint(httpAddress, prometheus, pipeline);
            }
        } catch (IOException e) {
            pipeline.close();
            throw new ConfigException(ReplicantOptions.CDC_HTTP_LISTEN.name(), "cannot listen on " + httpAddress + ": "
                    + e.getMessage(), config.source());
        }
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
        Duration interval = config.get(ReplicantOptions.CDC_STATUS_INTERVAL);
        pipeline.scheduler.scheduleWithFixedDelay(pipeline::readPrimary, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        pipeline.source.start();
        return pipeline;
    }

    private static InetSocketAddress httpAddress(ReplicantConfig config) {
        String text = config.get(ReplicantOptions.CDC_HTTP_LISTEN);
        if (text.equals("off")) {
            return null;
        }
        try {
            return HostSpec.listenAddress(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(ReplicantOptions.CDC_HTTP_LISTEN.name(), e.getMessage(), config.source());
        }
    }

    /** The followers, for status and metrics. */
    public List<Follower> followers() {
        return List.copyOf(followers);
    }

    /** Why the source last stopped on its own, until it delivers again (it is restarted with backoff), or null. */
    public Throwable failure() {
        return failure;
    }

    /** Where the HTTP endpoint listens, or null when it is off. */
    public InetSocketAddress httpAddress() {
        return http == null ? null : http.address();
    }

    /** Stops applying to one follower; the others go on and the slot keeps WAL from its position. */
    public void pause(String name) {
        follower(name).pause();
    }

    /** Resumes a paused (or stopped) follower: it reconnects and the source restarts from the acknowledged point. */
    public void resume(String name) throws SQLException {
        Follower follower = follower(name);
        follower.connect();
        source.restart(() -> followers.forEach(Follower::resume));
    }

    /**
     * Copies a table's current rows to the followers again (Debezium's blocking snapshot, asked for through the
     * signal table), e.g. to repair a follower table: each follower replaces the table's rows with the copy in one
     * transaction, so changed, missing and extra rows are put right, also when the source table is empty.
     * Streaming pauses meanwhile and then resumes where it stopped.
     *
     * @param table {@code schema.table}, a table this pipeline captures
     */
    public void resnapshot(String table) throws SQLException {
        if (!table.matches("[A-Za-z_][A-Za-z0-9_$]*\\.[A-Za-z_][A-Za-z0-9_$]*")) {
            throw new IllegalArgumentException("expected schema.table, got '" + table + "'");
        }
        TableId id = TableId.parse(table, "public");
        if (!DebeziumSource.captures(config, id)) {
            throw new IllegalArgumentException(table + " is not among the tables this pipeline captures "
                    + "(cdc.tables, cdc.exclude_tables)");
        }
        try (Connection c = catalog.connect()) {
            try (PreparedStatement exists = c.prepareStatement(
                    "SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = ?")) {
                exists.setString(1, id.schema());
                exists.setString(2, id.table());
                try (ResultSet rs = exists.executeQuery()) {
                    if (!rs.next()) {
                        throw new IllegalArgumentException("the source has no table " + table);
                    }
                }
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + DebeziumSource.SIGNAL_TABLE
                    + " (id, type, data) VALUES (?, 'execute-snapshot', ?)")) {
                insert.setString(1, UUID.randomUUID().toString());
                insert.setString(2, "{\"data-collections\": [\"" + table + "\"], \"type\": \"blocking\"}");
                insert.executeUpdate();
            }
        }
        LOG.info("copying {} to the followers again", table);
    }

    private Follower follower(String name) {
        return followers.stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no follower named " + name));
    }

    private int accept(List<SourceTransaction> units) throws InterruptedException {
        failure = null;
        sourceBackoff = backoff;
        // States before applying: a follower that goes down while applying needs a reconnect scheduled. (Read
        // after submitting, the apply could already have changed it.)
        List<Follower.State> before = new ArrayList<>(followers.size());
        List<Future<Integer>> results = new ArrayList<>(followers.size());
        for (Follower follower : followers) {
            before.add(follower.state());
            results.add(appliers.submit(() -> follower.apply(units)));
        }
        int applied = units.size();
        for (int i = 0; i < followers.size(); i++) {
            Follower follower = followers.get(i);
            try {
                applied = Math.min(applied, results.get(i).get());
            } catch (ExecutionException e) {
                throw new IllegalStateException("applying to follower " + follower.name() + " failed", e.getCause());
            }
            if (before.get(i) == Follower.State.ACTIVE && follower.state() == Follower.State.DOWN) {
                scheduleReconnect(follower, backoff);
            }
        }
        return applied;
    }

    private void scheduleReconnect(Follower follower, Duration delay) {
        scheduler.schedule(() -> reconnect(follower, delay), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void reconnect(Follower follower, Duration delay) {
        if (follower.state() != Follower.State.DOWN) {
            return; // paused or resumed meanwhile
        }
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

    /** The primary's WAL position and the WAL its slot keeps, for the lag and slot metrics. */
    private void readPrimary() {
        try (Connection c = catalog.connect(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT pg_current_wal_lsn()::text, (SELECT pg_current_wal_lsn() - "
                        + "restart_lsn FROM pg_replication_slots WHERE slot_name = '" + slot.replace("'", "''") + "')")) {
            rs.next();
            primaryLsn = Lsn.parse(rs.getString(1));
            slotRetainedBytes = rs.getLong(2);
        } catch (SQLException e) {
            LOG.debug("reading the primary's position failed: {}", e.toString());
        }
    }

    /** The engine stopped with an error (the primary went away, a refused transaction): start it again. */
    private void sourceFailed(Throwable error) {
        failure = error;
        LOG.error("the change source stopped; starting it again in {} ms: {}", sourceBackoff.toMillis(),
                error.toString(), error);
        Duration delay = sourceBackoff;
        sourceBackoff = delay.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : delay.multipliedBy(2);
        scheduler.schedule(() -> source.restart(() -> followers.forEach(Follower::resume)), delay.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        scheduler.shutdownNow();
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
