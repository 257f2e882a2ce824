package io.replicant.config;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * One PostgreSQL server as configured: address, read weight, replica-group tags, and whether it is a
 * streaming replica (or the primary) or a follower fed by Replicant's CDC pipeline.
 *
 * @param replication how the host gets the primary's data
 */
public record HostSpec(String host, int port, int weight, List<String> tags, Replication replication) {
    public static final int DEFAULT_PORT = 5432;

    public enum Replication {
        /** The primary, or a physical standby streaming its WAL. */
        STREAMING,
        /**
         * A database the CDC pipeline writes to. Its position is the one the pipeline stores in it; it is never a
         * failover candidate, and it serves only reads routed to one of its tags, since it may hold a subset of
         * the tables, or renamed ones.
         */
        CDC
    }

    public HostSpec {
        tags = List.copyOf(tags);
    }

    /** A streaming replica or the primary. */
    public HostSpec(String host, int port, int weight, List<String> tags) {
        this(host, port, weight, tags, Replication.STREAMING);
    }

    public static HostSpec of(String host, int port) {
        return new HostSpec(host, port, 1, List.of());
    }

    /**
     * An address to listen on, {@code host:port} or {@code [v6addr]:port}; port 0 picks a free port.
     *
     * @throws IllegalArgumentException when the text is not of that form
     */
    public static InetSocketAddress listenAddress(String text) {
        int colon = text.lastIndexOf(':');
        try {
            if (colon <= 0) {
                throw new NumberFormatException();
            }
            String host = text.substring(0, colon).replace("[", "").replace("]", "");
            int port = Integer.parseInt(text.substring(colon + 1));
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return new InetSocketAddress(host, port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected host:port like 127.0.0.1:6432, got '" + text + "'");
        }
    }

    public boolean cdcFollower() {
        return replication == Replication.CDC;
    }

    /** {@code host:port}, the name used in logs, metrics and explanations. */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
