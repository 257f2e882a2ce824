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
    private volatile Role role;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean available = true;
    private volatile boolean lagging;
    private volatile long replayLsn = -1;
    private volatile long lagBytes;
    private volatile long lagMillis;
    private volatile String reason = "";

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

    /** Failover: the monitor found that this host took over writes, or lost them. */
    public void setRole(Role role) {
        this.role = role;
    }

    public int weight() {
        return host.weight();
    }

    public List<String> tags() {
        return host.tags();
    }

    /** Up, as far as health checks know. */
    public boolean isAvailable() {
        return available;
    }

    /** Marks the backend up or down; {@code why} says why it is down (shown by {@link #reason()}). */
    public void setAvailable(boolean available, String why) {
        this.available = available;
        if (!available) {
            this.reason = why;
        } else if (!lagging) {
            this.reason = "";
        }
    }

    /** Up and within the lag limits: may serve reads. */
    public boolean isEligible() {
        return available && !lagging;
    }

    /** True when excluded from reads for replication lag. */
    public boolean isLagging() {
        return lagging;
    }

    /** Why the backend is not eligible for reads; empty when it is. */
    public String reason() {
        return reason;
    }

    /** The last replay position the monitor saw (a replica only moves forward), or -1 if unknown. */
    public long replayLsn() {
        return replayLsn;
    }

    public long lagBytes() {
        return lagBytes;
    }

    public long lagMillis() {
        return lagMillis;
    }

    /** A session saw this replica at {@code lsn} or later (replay positions only move forward). */
    public void observeReplay(long lsn) {
        if (lsn > replayLsn) {
            replayLsn = lsn; // a racing lower write only makes the position look older: safe
        }
    }

    /** Records what the replica monitor measured. */
    public void updateLag(long replayLsn, long lagBytes, long lagMillis, boolean lagging, String reason) {
        observeReplay(replayLsn);
        this.lagBytes = lagBytes;
        this.lagMillis = lagMillis;
        this.lagging = lagging;
        if (available) {
            this.reason = reason;
        }
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
        return (isPrimary() ? "primary " : host.cdcFollower() ? "CDC follower " : "replica ") + name();
    }
}
