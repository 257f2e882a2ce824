package io.replicant.config;

import java.net.InetSocketAddress;
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

    /** {@code host:port}, the name used in logs, metrics and explanations. */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
