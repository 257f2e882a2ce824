package io.replicant.proxy;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.jdbc.Cluster;
import io.replicant.proxy.session.ClientSession;
import io.replicant.router.RouteDecision;

/** What every client session of one proxy shares: the configuration, the cluster (router, monitor) and meters. */
public final class ProxyContext {
    private final ReplicantConfig config;
    private final Cluster cluster;
    private final AtomicInteger clients = new AtomicInteger();
    private final Counter authFailures;
    private final int maxClients;
    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean draining;
    /** The primary's ParameterStatus values at the latest login, by user and database. */
    private final ConcurrentMap<String, Map<String, String>> serverParameters = new ConcurrentHashMap<>();
    /** Live sessions by the BackendKeyData the proxy gave their clients, for CancelRequests. */
    private final ConcurrentMap<Long, ClientSession> sessionsByKey = new ConcurrentHashMap<>();

    ProxyContext(ReplicantConfig config, Cluster cluster, MeterRegistry registry) {
        this.config = config;
        this.cluster = cluster;
        this.maxClients = config.get(ReplicantOptions.PROXY_MAX_CLIENTS);
        Gauge.builder("replicant.proxy.clients", clients, AtomicInteger::get).tag("cluster", cluster.name())
                .description("Client connections open on the proxy").register(registry);
        this.authFailures = Counter.builder("replicant.proxy.auth.failures").tag("cluster", cluster.name())
                .description("Client logins refused").register(registry);
    }

    public ReplicantConfig config() {
        return config;
    }

    public Cluster cluster() {
        return cluster;
    }

    /** Counts a new client connection; false when it is one more than {@code proxy.max_clients}. */
    public boolean clientOpened(ClientSession session) {
        sessions.add(session);
        return clients.incrementAndGet() <= maxClients;
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
