package io.replicant.proxy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.replicant.config.ReplicantConfig;
import io.replicant.jdbc.Cluster;
import io.replicant.proxy.session.ClientSession;
import io.replicant.router.RouteDecision;

/** What every client session of one proxy shares: the configuration, the cluster (router, monitor) and meters. */
public final class ProxyContext {
    private final ReplicantConfig config;
    private final Cluster cluster;
    private final AtomicInteger clients = new AtomicInteger();
    private final Counter authFailures;
    /** Live sessions by the BackendKeyData the proxy gave their clients, for CancelRequests. */
    private final ConcurrentMap<Long, ClientSession> sessionsByKey = new ConcurrentHashMap<>();

    ProxyContext(ReplicantConfig config, Cluster cluster, MeterRegistry registry) {
        this.config = config;
        this.cluster = cluster;
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

    public void clientOpened() {
        clients.incrementAndGet();
    }

    public void clientClosed() {
        clients.decrementAndGet();
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
