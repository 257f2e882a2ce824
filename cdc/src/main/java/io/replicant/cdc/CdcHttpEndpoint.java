package io.replicant.cdc;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.replicant.cdc.apply.Follower;
import io.replicant.cdc.event.Lsn;

/**
 * The pipeline's HTTP endpoint ({@code cdc.http.listen}, loopback by default): {@code /metrics} for Prometheus,
 * {@code /health}, {@code /ready} (the source runs and every follower takes changes), {@code /status} (each
 * follower's state and position), {@code POST /followers/<name>/pause} or {@code /resume}, and
 * {@code POST /tables/<schema.table>/resnapshot}.
 */
final class CdcHttpEndpoint implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor;

    CdcHttpEndpoint(InetSocketAddress address, PrometheusMeterRegistry prometheus, CdcPipeline pipeline)
            throws IOException {
        server = HttpServer.create(address, 16);
        server.createContext("/metrics", exchange -> answer(exchange, 200,
                "text/plain; version=0.0.4; charset=utf-8", prometheus.scrape()));
        server.createContext("/health", exchange -> answer(exchange, 200, "text/plain", "ok\n"));
        server.createContext("/ready", exchange -> {
            String problem = notReadyBecause(pipeline);
            answer(exchange, problem == null ? 200 : 503, "text/plain", problem == null ? "ready\n" : problem + "\n");
        });
        server.createContext("/status", exchange -> answer(exchange, 200, "text/plain", status(pipeline)));
        server.createContext("/followers/", exchange -> control(exchange, pipeline));
        server.createContext("/tables/", exchange -> resnapshot(exchange, pipeline));
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "replicant-cdc-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.start();
    }

    InetSocketAddress address() {
        return server.getAddress();
    }

    private static String notReadyBecause(CdcPipeline pipeline) {
        if (pipeline.failure() != null) {
            return "the change source stopped (restarting): " + pipeline.failure().getMessage();
        }
        for (Follower follower : pipeline.followers()) {
            if (follower.state() != Follower.State.ACTIVE) {
                return "follower " + follower.name() + " is " + follower.state().name().toLowerCase();
            }
        }
        return null;
    }

    private static String status(CdcPipeline pipeline) {
        StringBuilder out = new StringBuilder();
        for (Follower follower : pipeline.followers()) {
            out.append(String.format("%s %s %s %s%s%n", follower.name(), follower.state().name().toLowerCase(),
                    Lsn.format(follower.position()), follower.positionTime(),
                    follower.lastError() == null ? "" : " " + follower.lastError()));
        }
        return out.toString();
    }

    /** {@code POST /followers/<name>/pause} or {@code /resume}. */
    private static void control(HttpExchange exchange, CdcPipeline pipeline) throws IOException {
        String[] parts = exchange.getRequestURI().getPath().split("/");
        if (!"POST".equals(exchange.getRequestMethod()) || parts.length != 4) {
            answer(exchange, 405, "text/plain", "use POST /followers/<name>/pause or /resume\n");
            return;
        }
        try {
            switch (parts[3]) {
                case "pause" -> pipeline.pause(parts[2]);
                case "resume" -> pipeline.resume(parts[2]);
                default -> {
                    answer(exchange, 404, "text/plain", "unknown action " + parts[3] + " (pause | resume)\n");
                    return;
                }
            }
            answer(exchange, 200, "text/plain", parts[3] + "d " + parts[2] + "\n");
        } catch (IllegalArgumentException e) {
            answer(exchange, 404, "text/plain", e.getMessage() + "\n");
        } catch (java.sql.SQLException e) {
            answer(exchange, 503, "text/plain", "cannot reach follower " + parts[2] + ": " + e.getMessage() + "\n");
        }
    }

    /** {@code POST /tables/<schema.table>/resnapshot}. */
    private static void resnapshot(HttpExchange exchange, CdcPipeline pipeline) throws IOException {
        String[] parts = exchange.getRequestURI().getPath().split("/");
        if (!"POST".equals(exchange.getRequestMethod()) || parts.length != 4 || !parts[3].equals("resnapshot")) {
            answer(exchange, 405, "text/plain", "use POST /tables/<schema.table>/resnapshot\n");
            return;
        }
        try {
            pipeline.resnapshot(parts[2]);
            answer(exchange, 202, "text/plain", "copying " + parts[2] + " again\n");
        } catch (IllegalArgumentException e) {
            answer(exchange, 400, "text/plain", e.getMessage() + "\n");
        } catch (java.sql.SQLException e) {
            answer(exchange, 503, "text/plain", "cannot reach the primary: " + e.getMessage() + "\n");
        }
    }

    private static void answer(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
