package io.replicant.proxy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The proxy's HTTP endpoint for operations ({@code proxy.http.listen}, loopback by default): {@code /metrics}
 * in Prometheus' text format, {@code /health} (the process serves) and {@code /ready} (it can take writes:
 * the primary is up and the proxy is not shutting down), for load balancers and orchestrators.
 */
final class OpsEndpoint implements AutoCloseable {
    private final HttpServer server;

    private OpsEndpoint(HttpServer server) {
        this.server = server;
    }

    static OpsEndpoint start(InetSocketAddress address, PrometheusMeterRegistry prometheus, ProxyContext context)
            throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        server.createContext("/metrics", exchange -> answer(exchange, 200,
                "text/plain; version=0.0.4; charset=utf-8", prometheus.scrape()));
        server.createContext("/health", exchange -> answer(exchange, 200, "text/plain", "ok\n"));
        server.createContext("/ready", exchange -> {
            String problem = context.notReadyBecause();
            answer(exchange, problem == null ? 200 : 503, "text/plain", problem == null ? "ready\n" : problem + "\n");
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "replicant-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return new OpsEndpoint(server);
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    private static void answer(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        boolean head = "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            if (!head) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
