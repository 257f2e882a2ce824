package io.replicant.config;

import java.util.List;

/** One PostgreSQL server as configured: address, read weight and replica-group tags. */
public record HostSpec(String host, int port, int weight, List<String> tags) {
    public static final int DEFAULT_PORT = 5432;

    public HostSpec {
        tags = List.copyOf(tags);
    }

    public static HostSpec of(String host, int port) {
        return new HostSpec(host, port, 1, List.of());
    }

    /** {@code host:port}, the name used in logs, metrics and explanations. */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
