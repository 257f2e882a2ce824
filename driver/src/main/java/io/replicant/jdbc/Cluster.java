package io.replicant.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.replicant.config.HostSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.health.ReplicaMonitor;
import io.replicant.health.Topology;
import io.replicant.config.StatementKind;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.FunctionCatalog;
import io.replicant.router.ClassificationCache;
import io.replicant.router.Router;
import io.replicant.router.StatementClassifier;

/**
 * One configured PostgreSQL cluster: its backends, a HikariCP pool per backend, the router and the
 * function catalog. Shared by every logical connection made from the same configuration.
 */
public final class Cluster implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Cluster.class);
    private final ReplicantConfig config;
    private final String name;
    private final List<Backend> backends;
    private volatile Backend primary;
    private volatile List<Backend> replicas;
    /** Why writes are refused right now (a split brain), or null. */
    private volatile String writeBlock;
    private final Map<Backend, HikariDataSource> pools = new LinkedHashMap<>();
    private volatile Router router;
    private final ClassificationCache cache;
    private final PgFunctionCatalog catalog;
    private final RoutingMetrics metrics;
    private final ScheduledExecutorService housekeeper;
    private final ReplicaMonitor monitor;
    private final int defaultQuorum;
    /** When a connection of this cluster last ran something on the primary ({@code token} consistency). */
    private volatile long lastCommitNanos = System.nanoTime();

    private Cluster(ReplicantConfig config, Backend primary, List<Backend> replicas, MeterRegistry registry) {
        this.config = config;
        this.name = primary.name();
        this.primary = primary;
        this.replicas = List.copyOf(replicas);
        List<Backend> all = new ArrayList<>(replicas);
        all.add(0, primary);
        this.backends = List.copyOf(all);
        this.metrics = new RoutingMetrics(registry, name);
        this.housekeeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "replicant-" + name + "-housekeeper");
            t.setDaemon(true);
            return t;
        });
        // Its own connection, not a pooled one: a pool exhausted by the app must not starve the catalog.
        this.catalog = new PgFunctionCatalog(name, () -> connectDirectly(config, this.primary.host()), housekeeper);
        this.cache = new ClassificationCache(new StatementClassifier(),
                config.get(ReplicantOptions.PARSE_CACHE_SIZE), metrics);
        this.router = new Router(config, cache, catalog);
        this.defaultQuorum = config.get(ReplicantOptions.REPLICATION_MODE).equals("sync")
                ? config.get(ReplicantOptions.QUORUM_W) : 0;
        this.monitor = new ReplicaMonitor(name, backends, new ClusterTopology(),
                host -> connectForHealthCheck(config, host), config, registry);
    }

    /**
     * Opens the cluster: checks the primary is reachable and the credentials work (failing fast with the
     * server's own SQLSTATE, e.g. 28P01 or 08001), finds the primary if {@code primary: discover}, starts the
     * pools and loads the function catalog.
     */
    public static Cluster open(ReplicantConfig config, MeterRegistry registry) throws SQLException {
        List<HostSpec> hosts = config.hosts();
        HostSpec primaryHost = config.get(ReplicantOptions.PRIMARY).equals("discover") ? discoverPrimary(config)
                : hosts.get(0);
        if (primaryHost.cdcFollower()) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "the first host " + primaryHost.address() + " is the "
                    + "primary (primary: first) but is declared a CDC follower (replication: cdc)");
        }
        Backend primary = new Backend(primaryHost, Backend.Role.PRIMARY);
        List<Backend> replicas = new ArrayList<>();
        for (HostSpec host : hosts) {
            if (host != primaryHost) {
                replicas.add(new Backend(host, Backend.Role.REPLICA));
            }
        }
        int capacity = quorumCapacity(config);
        if (config.get(ReplicantOptions.REPLICATION_MODE).equals("sync")
                && config.get(ReplicantOptions.QUORUM_W) > capacity) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "quorum.w " + config.get(ReplicantOptions.QUORUM_W)
                    + " is more than the " + capacity + " configured replicas that can acknowledge (streaming "
                    + "replicas, and CDC followers with quorum.cdc_followers): no commit could ever succeed");
        }
        Cluster cluster = new Cluster(config, primary, replicas, registry);
        try (Connection check = connectDirectly(config, primaryHost)) {
            if (cluster.defaultQuorum > 0) {
                checkCanSeeStandbyPositions(check);
            }
            cluster.catalog.load(check);
        }
        cluster.pools.put(primary, cluster.newPool(primary));
        for (Backend replica : replicas) {
            cluster.pools.put(replica, cluster.newPool(replica));
        }
        cluster.catalog.schedulePeriodicRefresh(config.get(ReplicantOptions.CATALOG_REFRESH));
        cluster.monitor.start();
        LOG.info("[{}] opened: primary {}, replicas {}, options {}", cluster.name, primary.name(),
                replicas.stream().map(Backend::name).toList(), config.options().describe());
        return cluster;
    }

    /** The hosts a quorum commit can count: every streaming host but the primary, and CDC followers if they count. */
    private static int quorumCapacity(ReplicantConfig config) {
        boolean followersCount = config.get(ReplicantOptions.QUORUM_CDC_FOLLOWERS);
        return (int) config.hosts().stream().filter(h -> followersCount || !h.cdcFollower()).count() - 1;
    }

    /** Quorum waits read standby positions from pg_stat_replication, which only privileged roles see. */
    private static void checkCanSeeStandbyPositions(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_has_role(current_user, "
                + "'pg_read_all_stats', 'MEMBER') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")) {
            rs.next();
            if (!rs.getBoolean(1)) {
                throw Errors.of(SqlState.INSUFFICIENT_PRIVILEGE, "replication.mode: sync needs the configured user "
                        + "to see standby positions in pg_stat_replication: GRANT pg_read_all_stats TO "
                        + c.getMetaData().getUserName() + " on the primary");
            }
        }
    }

    private static HostSpec discoverPrimary(ReplicantConfig config) throws SQLException {
        List<HostSpec> primaries = new ArrayList<>();
        SQLException last = null;
        for (HostSpec host : config.hosts()) {
            if (host.cdcFollower()) {
                continue; // writable, but not the cluster's primary
            }
            try (Connection c = connectDirectly(config, host); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    primaries.add(host);
                }
            } catch (SQLException e) {
                if ("28P01".equals(e.getSQLState()) || "28000".equals(e.getSQLState())) {
                    throw e;
                }
                last = e;
                LOG.warn("primary discovery: {} is unreachable: {}", host.address(), e.getMessage());
            }
        }
        if (primaries.size() == 1) {
            return primaries.get(0);
        }
        if (primaries.isEmpty()) {
            throw Errors.of(SqlState.CONNECTION_UNABLE_TO_CONNECT, "primary: discover found no host that is not in "
                    + "recovery among " + addresses(config.hosts()), last);
        }
        throw Errors.of(SqlState.CONNECTION_UNABLE_TO_CONNECT, "primary: discover found more than one primary ("
                + addresses(primaries) + "); refusing to pick one (split brain?)");
    }

    private static String addresses(List<HostSpec> hosts) {
        return String.join(", ", hosts.stream().map(HostSpec::address).toList());
    }

    private static Connection connectDirectly(ReplicantConfig config, HostSpec host) throws SQLException {
        Properties props = backendProperties(config);
        long seconds = Math.max(1, config.get(ReplicantOptions.POOL_CONNECT_TIMEOUT).toSeconds());
        props.setProperty("connectTimeout", Long.toString(seconds));
        props.setProperty("loginTimeout", Long.toString(seconds));
        return DriverManager.getConnection(backendUrl(config, host), props);
    }

    private static Connection connectForHealthCheck(ReplicantConfig config, HostSpec host) throws SQLException {
        Properties props = backendProperties(config);
        String seconds = Long.toString(Math.max(1, config.get(ReplicantOptions.HEALTH_TIMEOUT).toSeconds()));
        props.setProperty("connectTimeout", seconds);
        props.setProperty("loginTimeout", seconds);
        props.setProperty("socketTimeout", seconds);
        props.setProperty("ApplicationName", "replicant-monitor");
        return DriverManager.getConnection(backendUrl(config, host), props);
    }

    private static String backendUrl(ReplicantConfig config, HostSpec host) {
        String database = config.get(ReplicantOptions.DATABASE);
        return "jdbc:postgresql://" + host.address() + "/" + (database == null ? "" : database);
    }

    private static Properties backendProperties(ReplicantConfig config) {
        Properties props = new Properties();
        props.putAll(config.jdbcProperties());
        if (config.get(ReplicantOptions.USER) != null) {
            props.setProperty("user", config.get(ReplicantOptions.USER));
        }
        if (config.get(ReplicantOptions.PASSWORD) != null) {
            props.setProperty("password", config.get(ReplicantOptions.PASSWORD));
        }
        return props;
    }

    private HikariDataSource newPool(Backend backend) {
        HikariConfig hc = new HikariConfig();
        hc.setPoolName("replicant-" + backend.name());
        hc.setDriverClassName("org.postgresql.Driver");
        hc.setJdbcUrl(backendUrl(config, backend.host()));
        Properties props = backendProperties(config);
        props.forEach((k, v) -> hc.addDataSourceProperty((String) k, v));
        hc.setMaximumPoolSize(config.get(ReplicantOptions.POOL_MAX_SIZE));
        hc.setMinimumIdle(config.get(ReplicantOptions.POOL_MIN_IDLE));
        hc.setConnectionTimeout(config.get(ReplicantOptions.POOL_CONNECT_TIMEOUT).toMillis());
        hc.setIdleTimeout(config.get(ReplicantOptions.POOL_IDLE_TIMEOUT).toMillis());
        hc.setMaxLifetime(config.get(ReplicantOptions.POOL_MAX_LIFETIME).toMillis());
        // Reachability was checked by open(); a replica that is down must not stop the cluster from opening.
        hc.setInitializationFailTimeout(-1);
        return new HikariDataSource(hc);
    }

    private HikariDataSource pool(Backend backend) {
        return pools.get(backend);
    }

    /** A physical connection to {@code backend}; a backend that cannot give one is marked down. */
    PhysicalConnection acquire(Backend backend) throws SQLException {
        try {
            return new PhysicalConnection(backend, pool(backend).getConnection());
        } catch (SQLException e) {
            if (!"28P01".equals(e.getSQLState()) && !"28000".equals(e.getSQLState())) {
                monitor.markDown(backend, "no connection: " + e.getMessage());
            }
            // Hikari's timeout carries the server's SQLSTATE (08001, 28P01, 3D000, …) when it has one.
            String state = e.getSQLState() != null ? e.getSQLState() : SqlState.CONNECTION_UNABLE_TO_CONNECT.code();
            throw new SQLException("cannot get a connection to " + backend + ": " + e.getMessage(), state, e);
        }
    }

    /** A live connection to {@code backend} failed with a fatal SQLSTATE: the backend is down until health checks pass. */
    void reportFatal(Backend backend, SQLException cause) {
        monitor.markDown(backend, cause.getSQLState() + ": " + cause.getMessage());
    }

    /** Removes a broken or unresettable connection from its pool instead of returning it. */
    void evict(PhysicalConnection pc) {
        pool(pc.backend).evictConnection(pc.connection);
    }

    public RoutingConnection connect() {
        return new RoutingConnection(this);
    }

    public Router router() {
        return router;
    }

    /**
     * Routes from now on by the routing options and rules of {@code next} (a reloaded configuration); the
     * hosts, pools and monitor stay as they are.
     */
    public void reroute(ReplicantConfig next) {
        router = new Router(next, cache, catalog);
        LOG.info("[{}] routing options and rules reloaded from {}", name, next.source());
    }

    PgFunctionCatalog catalog() {
        return catalog;
    }

    /**
     * Whether a successful statement may have changed data: its commit must reach the quorum, and after a lost
     * connection it must not run again.
     */
    public boolean mayWrite(Classification c) {
        switch (c.verdict()) {
            case WRITE:
            case UNSURE:
                return true;
            case SESSION:
                return c.kind() == StatementKind.EXECUTE;
            case READ:
                for (String function : c.functions()) {
                    FunctionCatalog.Volatility v = catalog.lookup(function);
                    if (v == FunctionCatalog.Volatility.VOLATILE || v == FunctionCatalog.Volatility.UNKNOWN) {
                        return true;
                    }
                }
                return false;
            default:
                return false;
        }
    }

    public RoutingMetrics metrics() {
        return metrics;
    }

    public Backend primary() {
        return primary;
    }

    /** Every configured host, primary first as configured (roles change on failover). */
    public List<Backend> backends() {
        return backends;
    }

    /** Null when writes can go to the primary now; else why not (it is down, or a split brain blocks writes). */
    public String primaryProblem() {
        String block = writeBlock;
        if (block != null) {
            return block;
        }
        Backend p = primary;
        return p.isAvailable() ? null : "the primary " + p.name() + " is down (" + p.reason() + ") and no other "
                + "configured host accepts writes";
    }

    /** Applies the monitor's failover decisions. */
    private final class ClusterTopology implements Topology {
        @Override
        public Backend primary() {
            return primary;
        }

        @Override
        public void switchPrimary(Backend newPrimary) {
            List<Backend> others = new ArrayList<>();
            for (Backend b : backends) {
                b.setRole(b == newPrimary ? Backend.Role.PRIMARY : Backend.Role.REPLICA);
                if (b != newPrimary) {
                    others.add(b);
                }
            }
            replicas = List.copyOf(others);
            primary = newPrimary;
            catalog.refreshSoon();
        }

        @Override
        public void blockWrites(String why) {
            writeBlock = why;
        }
    }

    public List<Backend> replicas() {
        return replicas;
    }

    public ReplicantConfig config() {
        return config;
    }

    public String name() {
        return name;
    }

    /** Notes that a statement or commit on the primary ended at {@code nanos}. */
    public void committedAt(long nanos) {
        lastCommitNanos = nanos;
    }

    public long lastCommitNanos() {
        return lastCommitNanos;
    }

    /** The most W can be. */
    public int quorumCapacity() {
        return quorumCapacity(config);
    }

    /** W for commits without an override: {@code quorum.w} in {@code replication.mode: sync}, else 0. */
    public int defaultQuorum() {
        return defaultQuorum;
    }

    public ReplicaMonitor monitor() {
        return monitor;
    }

    @Override
    public void close() {
        monitor.close();
        housekeeper.shutdownNow();
        pools.values().forEach(HikariDataSource::close);
        LOG.info("[{}] closed", name);
    }
}
