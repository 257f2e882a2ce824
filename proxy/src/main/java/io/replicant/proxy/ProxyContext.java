package io.replicant.proxy;

import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.replicant.config.ReplicantConfig;
import io.replicant.jdbc.Cluster;
import io.replicant.router.RouteDecision;

/** What every client session of one proxy shares: the configuration, the cluster (router, monitor) and meters. */
public final class ProxyContext {
    private final ReplicantConfig config;
    private final Cluster cluster;
    private final AtomicInteger clients = new AtomicInteger();
    private final Counter authFailures;

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
