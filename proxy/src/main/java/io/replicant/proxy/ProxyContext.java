package io.replicant.proxy;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.jdbc.Cluster;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.backend.Credentials;
import io.replicant.proxy.backend.ServerSecurity;
import io.replicant.proxy.session.ClientSession;
import io.replicant.proxy.session.ServerPool;
import io.replicant.router.Backend;
import io.replicant.router.RouteDecision;

/** What every client session of one proxy shares: the configuration, the cluster (router, monitor) and meters. */
public final class ProxyContext {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyContext.class);
    private volatile ReplicantConfig config;
    private final ConfigReload.Source source;
    private volatile SslContext tls;
    private final ServerSecurity serverSecurity;
    /** proxy.auth_file's roles; null when not set. */
    private volatile AuthFile authFile;
    /** proxy.auth_query runs here: JDBC blocks, the event loops must not. */
    private final ExecutorService authLookups = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "replicant-auth-query");
        t.setDaemon(true);
        return t;
    });
    private final Cluster cluster;
    private final AtomicInteger clients = new AtomicInteger();
    private final Counter authFailures;
    private final AtomicInteger servers = new AtomicInteger();
    private final Timer primaryExchanges;
    private final Timer replicaExchanges;
    private final Counter bytesFromClients;
    private final Counter bytesToClients;
    /** Transaction mode's waits for a pooled connection, by outcome (served, timeout, cancelled). */
    private final Map<String, Timer> poolWaits;
    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;
    private final AtomicBoolean paused = new AtomicBoolean();
    /** The primary's ParameterStatus values at the latest login, by user and database. */
    private final ConcurrentMap<String, Map<String, String>> serverParameters = new ConcurrentHashMap<>();
    /** Live sessions by the BackendKeyData the proxy gave their clients, for CancelRequests. */
    private final ConcurrentMap<Long, ClientSession> sessionsByKey = new ConcurrentHashMap<>();
    /** SHOW STATS: traffic by database. */
    private final ConcurrentMap<String, TrafficStats> traffic = new ConcurrentHashMap<>();
    /** Transaction pooling: the shared server connections, per event loop, server and login. */
    private final ConcurrentMap<ServerPool.Key, ServerPool> pools = new ConcurrentHashMap<>();

    ProxyContext(ReplicantConfig config, ConfigReload.Source source, Cluster cluster, SslContext tls,
            ServerSecurity serverSecurity, AuthFile authFile, MeterRegistry registry) {
        this.config = config;
        this.source = source;
        this.cluster = cluster;
        this.tls = tls;
        this.serverSecurity = serverSecurity;
        this.authFile = authFile;
        Gauge.builder("replicant.proxy.clients", clients, AtomicInteger::get).tag("cluster", cluster.name())
                .description("Client connections open on the proxy").register(registry);
        this.authFailures = Counter.builder("replicant.proxy.auth.failures").tag("cluster", cluster.name())
                .description("Client logins refused").register(registry);
        Gauge.builder("replicant.proxy.servers", servers, AtomicInteger::get).tag("cluster", cluster.name())
                .description("Server connections open from the proxy").register(registry);
        this.primaryExchanges = exchangeTimer(registry, "primary");
        this.replicaExchanges = exchangeTimer(registry, "replica");
        this.bytesFromClients = bytesCounter(registry, "from_clients");
        this.bytesToClients = bytesCounter(registry, "to_clients");
        this.poolWaits = Map.of("served", poolWaitTimer(registry, "served"), "timeout",
                poolWaitTimer(registry, "timeout"), "cancelled", poolWaitTimer(registry, "cancelled"));
    }

    /** proxy.auth_file's roles, as last read; null when not set. */
    public AuthFile authFile() {
        return authFile;
    }

    /** TLS for clients that ask for it, as last loaded (at start or RELOAD); null when not configured. */
    public SslContext tls() {
        return tls;
    }

    /** Connects and logs in to a server, with the connect timeout and the TLS the configuration asks for. */
    public Future<BackendConnection> openServer(EventLoop loop, Backend backend, Map<String, String> startup,
            Credentials credentials) {
        return BackendConnection.open(loop, backend, startup, credentials, serverSecurity,
                (int) config.get(ReplicantOptions.POOL_CONNECT_TIMEOUT).toMillis());
    }

    /** The configuration in force (it changes on a reload). */
    private Timer exchangeTimer(MeterRegistry registry, String target) {
        return Timer.builder("replicant.proxy.exchange").tag("cluster", cluster.name()).tag("target", target)
                .description("Time from a client's query (or Sync) to the server's ReadyForQuery")
                .publishPercentileHistogram().register(registry);
    }

    private Counter bytesCounter(MeterRegistry registry, String direction) {
        return Counter.builder("replicant.proxy.bytes").tag("cluster", cluster.name()).tag("direction", direction)
                .baseUnit("bytes").description("Protocol bytes relayed").register(registry);
    }

    /** One exchange (a query or an extended-protocol batch) ended with ReadyForQuery. */
    public void exchanged(Backend server, long nanos, long bytesIn, long bytesOut) {
        (server.isPrimary() ? primaryExchanges : replicaExchanges).record(nanos, TimeUnit.NANOSECONDS);
        bytesFromClients.increment(bytesIn);
        bytesToClients.increment(bytesOut);
    }

    /**
     * A statement waited for a pooled server connection (transaction mode): {@code outcome} is {@code served},
     * {@code timeout} (proxy.pool_wait_timeout) or {@code cancelled}.
     */
    public void poolWaited(String database, long nanos, String outcome) {
        poolWaits.get(outcome).record(nanos, TimeUnit.NANOSECONDS);
        traffic(database).waited(nanos);
    }

    /** The traffic of the clients of one (server-side) database. */
    public TrafficStats traffic(String database) {
        return traffic.computeIfAbsent(database, d -> new TrafficStats());
    }

    public Map<String, TrafficStats> traffic() {
        return traffic;
    }

    /** Every {@link TrafficStats#PERIOD}: the averages SHOW STATS reports move on to the period just ended. */
    void endStatsPeriod() {
        traffic.values().forEach(TrafficStats::endPeriod);
    }

    private Timer poolWaitTimer(MeterRegistry registry, String outcome) {
        return Timer.builder("replicant.proxy.pool.wait").tag("cluster", cluster.name()).tag("outcome", outcome)
                .description("Time statements waited for a pooled server connection (transaction mode)")
                .publishPercentileHistogram().register(registry);
    }

    public void serverOpened() {
        servers.incrementAndGet();
    }

    public void serverClosed() {
        servers.decrementAndGet();
    }

    public ReplicantConfig config() {
        return config;
    }

    /**
     * Reads the configuration file again and applies it, or throws and keeps the running one: when the file is
     * invalid (the error names the YAML path and line) or changes what only a restart can change.
     *
     * @return notes for the operator
     */
    public synchronized List<String> reload() {
        if (source == null) {
            throw new ConfigException("(proxy)", "this proxy was not started from a configuration file", "RELOAD");
        }
        ReplicantConfig next = source.load();
        ConfigReload.check(config, next);
        AuthFile nextAuthFile = AuthFile.of(next);
        SslContext nextTls = TlsSupport.serverContext(next); // read again: a renewed certificate at the same path
        cluster.reroute(next);
        authFile = nextAuthFile;
        tls = nextTls;
        config = next;
        LOG.info("[proxy] configuration reloaded from {}", next.source());
        return List.of("configuration reloaded from " + next.source());
    }

    public Cluster cluster() {
        return cluster;
    }

    /** Counts a new client connection; false when it is one more than {@code proxy.max_clients}. */
    public boolean clientOpened(ClientSession session) {
        sessions.add(session);
        return clients.incrementAndGet() <= config.get(ReplicantOptions.PROXY_MAX_CLIENTS);
    }

    public void clientClosed(ClientSession session) {
        sessions.remove(session);
        clients.decrementAndGet();
    }

    /** Every open client session (for shutdown and the admin console). */
    public Set<ClientSession> sessions() {
        return sessions;
    }

    /** Shutting down: sessions end as soon as they are outside a transaction. */
    public boolean draining() {
        return draining;
    }

    void drain() {
        draining = true;
        sessions.forEach(ClientSession::drain);
    }

    /**
     * PAUSE: sessions outside a transaction hold their next request until {@link #resume()}; those in one finish
     * it first. False when already paused.
     */
    public boolean pause() {
        return paused.compareAndSet(false, true);
    }

    /** RESUME: held requests go on. False when not paused. */
    public boolean resume() {
        if (!paused.compareAndSet(true, false)) {
            return false;
        }
        sessions.forEach(ClientSession::resumed);
        return true;
    }

    public boolean paused() {
        return paused.get();
    }

    public int clients() {
        return clients.get();
    }

    /** Registers a session under a fresh (process id, secret key) pair and returns the pair. */
    public int[] register(ClientSession session) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (true) {
            int pid = random.nextInt(1, Integer.MAX_VALUE);
            int key = random.nextInt();
            if (sessionsByKey.putIfAbsent(keyOf(pid, key), session) == null) {
                return new int[] {pid, key};
            }
        }
    }

    public void unregister(int processId, int secretKey) {
        sessionsByKey.remove(keyOf(processId, secretKey));
    }

    /** The session a CancelRequest names, or null (an unknown pair is ignored, as PostgreSQL does). */
    public ClientSession sessionFor(int processId, int secretKey) {
        return sessionsByKey.get(keyOf(processId, secretKey));
    }

    private static long keyOf(int processId, int secretKey) {
        return (long) processId << 32 | (secretKey & 0xFFFFFFFFL);
    }

    /** What the primary reported at the latest login of {@code user} to {@code database}; null if none yet. */
    public Map<String, String> serverParameters(String user, String database) {
        return serverParameters.get(user + '\0' + database);
    }

    public void serverParameters(String user, String database, Map<String, String> parameters) {
        serverParameters.put(user + '\0' + database, Map.copyOf(parameters));
    }

    /**
     * Looks up a role's password verifier with {@code proxy.auth_query} on the primary, off the event loops;
     * completes with null when the role does not exist.
     */
    public CompletableFuture<String> verifierOf(String role) {
        String query = config.get(ReplicantOptions.PROXY_AUTH_QUERY).replace("$1", "?");
        return CompletableFuture.supplyAsync(() -> {
            try (Connection c = cluster.connect();
                    PreparedStatement s = c.prepareStatement("/* replicant:route=primary */ " + query)) {
                s.setString(1, role);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? rs.getString(2) : null;
                }
            } catch (SQLException e) {
                throw new CompletionException(e);
            }
        }, authLookups);
    }

    public ServerPool pool(ServerPool.Key key) {
        return pools.computeIfAbsent(key, k -> new ServerPool(this, k));
    }

    /** Forgets an unused pool; a later session with its key gets a new one. */
    public void retire(ServerPool pool) {
        pools.remove(pool.key(), pool);
    }

    public Collection<ServerPool> pools() {
        return pools.values();
    }

    /** Terminates the idle pooled server connections (shutdown, once the sessions are gone). */
    void closePools() {
        pools.values().forEach(ServerPool::close);
    }

    void close() {
        authLookups.shutdownNow();
    }

    /** Why the proxy should not be sent new work now, for {@code /ready}; null when it is ready. */
    public String notReadyBecause() {
        if (draining) {
            return "shutting down";
        }
        if (paused.get()) {
            return "paused by the admin console's PAUSE (RESUME lifts it)";
        }
        Backend primary = cluster.primary();
        return primary.isAvailable() ? null : "the primary " + primary.name() + " is down: " + primary.reason();
    }

    public void authFailed() {
        authFailures.increment();
    }

    public void routed(RouteDecision decision) {
        cluster.metrics().routed(decision.backend(), decision.reason());
    }

    public void pinned(String reason) {
        cluster.metrics().pinned(reason);
    }
}
