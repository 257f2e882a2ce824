package io.replicant.router;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.replicant.config.HostSpec;

/**
 * One server as the router sees it: role, read weight, tags, statements in flight and whether it can be
 * used right now. No connections here; the JDBC layer and the proxy map a backend to their own pools.
 */
public final class Backend {
    public enum Role {
        PRIMARY, REPLICA
    }

    private final HostSpec host;
    private final Role role;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean available = true;

    public Backend(HostSpec host, Role role) {
        this.host = host;
        this.role = role;
    }

    public HostSpec host() {
        return host;
    }

    /** {@code host:port}. */
    public String name() {
        return host.address();
    }

    public Role role() {
        return role;
    }

    public boolean isPrimary() {
        return role == Role.PRIMARY;
    }

    public int weight() {
        return host.weight();
    }

    public List<String> tags() {
        return host.tags();
    }

    public boolean isAvailable() {
        return available;
    }

    public void setAvailable(boolean available) {
        this.available = available;
    }

    public int inFlight() {
        return inFlight.get();
    }

    public void beginStatement() {
        inFlight.incrementAndGet();
    }

    public void endStatement() {
        inFlight.decrementAndGet();
    }

    @Override
    public String toString() {
        return (isPrimary() ? "primary " : "replica ") + name();
    }
}
