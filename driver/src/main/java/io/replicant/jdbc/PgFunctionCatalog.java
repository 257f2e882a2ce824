package io.replicant.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.replicant.router.FunctionCatalog;

/**
 * A snapshot of the primary's {@code pg_proc}: which function names are built-in, and which user-defined
 * ones are VOLATILE. Lookups read the snapshot; refreshes run on the cluster's background thread
 * (periodically, after DDL through Replicant, and when a statement names a function the snapshot lacks).
 */
final class PgFunctionCatalog implements FunctionCatalog {
    private static final Logger LOG = LoggerFactory.getLogger(PgFunctionCatalog.class);
    private static final String QUERY = "SELECT p.proname,"
            + " bool_or(n.nspname IN ('pg_catalog', 'information_schema')) AS builtin,"
            + " bool_or(n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.provolatile = 'v') AS volatile_udf"
            + " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace GROUP BY p.proname";
    /** A burst of unknown names causes one refresh, not one per statement. */
    private static final long MIN_REFRESH_GAP_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Where the catalog connection comes from: a new connection to the primary for each refresh. */
    interface ConnectionSource {
        Connection get() throws SQLException;
    }

    private final String cluster;
    private final ConnectionSource source;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean refreshQueued = new AtomicBoolean();
    private volatile Map<String, Volatility> snapshot = Map.of();
    private volatile long lastRefresh;

    PgFunctionCatalog(String cluster, ConnectionSource source, ScheduledExecutorService executor) {
        this.cluster = cluster;
        this.source = source;
        this.executor = executor;
    }

    /** Loads the snapshot now, on the calling thread, from the given connection. */
    void load(Connection connection) throws SQLException {
        Map<String, Volatility> next = new HashMap<>();
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(QUERY)) {
            while (rs.next()) {
                boolean volatileUdf = rs.getBoolean(3);
                boolean builtin = rs.getBoolean(2);
                next.put(rs.getString(1), volatileUdf ? Volatility.VOLATILE : builtin ? Volatility.BUILTIN : Volatility.SAFE);
            }
        }
        snapshot = Map.copyOf(next);
        lastRefresh = System.nanoTime();
    }

    void schedulePeriodicRefresh(Duration interval) {
        executor.scheduleWithFixedDelay(this::refreshNow, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public Volatility lookup(String name) {
        Volatility v = snapshot.get(name);
        return v != null ? v : Volatility.UNKNOWN;
    }

    @Override
    public void missed(String name) {
        refreshSoon();
    }

    /** Queues one refresh on the background thread, at most once per second. */
    void refreshSoon() {
        if (!refreshQueued.compareAndSet(false, true)) {
            return;
        }
        long wait = Math.max(0, lastRefresh + MIN_REFRESH_GAP_NANOS - System.nanoTime());
        executor.schedule(() -> {
            refreshQueued.set(false);
            refreshNow();
        }, wait, TimeUnit.NANOSECONDS);
    }

    private void refreshNow() {
        try (Connection c = source.get()) {
            load(c);
        } catch (SQLException | RuntimeException e) {
            LOG.warn("[{}] could not refresh the function catalog from the primary: {}", cluster, e.getMessage());
        }
    }
}
