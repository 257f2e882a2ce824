package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.Version;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresBinaries;
import io.replicant.testkit.PostgresClusterExtension;

/** The admin console, RELOAD, and the HTTP endpoint, through real clients. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyOpsIT {
    private LocalPostgresCluster cluster;
    private Path configFile;
    private ReplicantProxy proxy;

    @BeforeAll
    void start(LocalPostgresCluster cluster, @TempDir Path dir) throws Exception {
        this.cluster = cluster;
        this.configFile = dir.resolve("replicant.yaml");
        Files.writeString(configFile, yaml("load_balance: round_robin\n"));
        proxy = ReplicantProxy.start(() -> YamlConfigLoader.load(configFile).build(), new SimpleMeterRegistry());
    }

    @AfterAll
    void stop() {
        proxy.close();
    }

    private String yaml(String extra) {
        return ProxyFixture.yaml(cluster, "").replace("load_balance: round_robin\n", "") + extra;
    }

    private Connection admin() throws SQLException {
        return admin(proxy);
    }

    private static Connection admin(ReplicantProxy proxy) throws SQLException {
        return ProxyFixture.admin(proxy);
    }

    /** Every row of an admin command, as column name → value. */
    private List<Map<String, String>> rows(Statement s, String command) throws SQLException {
        List<Map<String, String>> rows = new ArrayList<>();
        try (ResultSet rs = s.executeQuery(command)) {
            while (rs.next()) {
                Map<String, String> row = new HashMap<>();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    row.put(rs.getMetaData().getColumnName(i), rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    @Test
    void showCommandsDescribeClientsServersPoolsBackendsAndConfig() throws SQLException {
        try (Connection app = ProxyFixture.connect(proxy, "simple"); Statement a = app.createStatement();
                Connection admin = admin(); Statement s = admin.createStatement()) {
            a.execute("BEGIN");
            a.execute("SELECT 1");
            List<Map<String, String>> clients = rows(s, "SHOW CLIENTS");
            Map<String, String> inTransaction = clients.stream().filter(r -> "T".equals(r.get("tx_status")))
                    .findFirst().orElseThrow(() -> new AssertionError("no client in a transaction: " + clients));
            assertEquals(LocalPostgresCluster.APP_DATABASE, inTransaction.get("database"));
            assertEquals("127.0.0.1", inTransaction.get("addr"));
            assertEquals(cluster.primary().port() + "", hostPort(inTransaction.get("servers")),
                    "the transaction runs on the primary");
            assertTrue(clients.stream().anyMatch(r -> "replicant".equals(r.get("database"))), "the console itself");

            List<Map<String, String>> servers = rows(s, "SHOW SERVERS");
            assertTrue(servers.stream().anyMatch(r -> "primary".equals(r.get("role"))
                    && Integer.parseInt(r.get("remote_pid")) > 0), servers.toString());

            List<Map<String, String>> pools = rows(s, "SHOW POOLS");
            assertEquals(3, pools.size(), "one row per backend: " + pools);
            assertEquals("session", pools.get(0).get("pool_mode"));

            List<Map<String, String>> backends = rows(s, "SHOW BACKENDS");
            assertEquals(List.of("primary", "replica", "replica"), backends.stream().map(r -> r.get("role")).toList());
            assertTrue(backends.stream().allMatch(r -> "up".equals(r.get("health"))), backends.toString());

            Map<String, String> config = new HashMap<>();
            rows(s, "SHOW CONFIG").forEach(r -> config.put(r.get("key"), r.get("value")));
            assertEquals("********", config.get("password"), "secrets are never shown");
            assertEquals("round_robin", config.get("load_balance"));
            a.execute("COMMIT");

            SQLException unknown = assertThrows(SQLException.class, () -> s.executeQuery("SHOW NOTHING"));
            assertEquals("42601", unknown.getSQLState());
        }
    }

    @Test
    void showStatsDatabasesListsAndVersionAnswerLikePgbouncer() throws SQLException {
        try (Connection app = ProxyFixture.connect(proxy, "simple"); Statement a = app.createStatement();
                Connection admin = admin(); Statement s = admin.createStatement()) {
            Map<String, String> before = appStats(s);
            a.execute("SELECT 1");
            a.execute("SELECT 2");
            a.execute("BEGIN");
            a.execute("SELECT pg_sleep(0.05)");
            a.execute("COMMIT");
            Map<String, String> after = appStats(s);
            assertEquals(5, delta(before, after, "total_query_count"), "one per statement: " + after);
            assertEquals(3, delta(before, after, "total_xact_count"), "two autocommit reads and a transaction");
            assertTrue(delta(before, after, "total_xact_time") >= 50_000, "the transaction slept 50 ms: " + after);
            assertTrue(delta(before, after, "total_query_time") >= 50_000, after.toString());
            assertTrue(delta(before, after, "total_received") > "SELECT pg_sleep(0.05)".length(), after.toString());
            assertTrue(delta(before, after, "total_sent") > 0, after.toString());

            proxy.context().endStatsPeriod(); // what the proxy does every 60 s
            Map<String, String> period = appStats(s);
            assertTrue(Long.parseLong(period.get("avg_xact_time")) > 0, period.toString());
            assertTrue(Long.parseLong(period.get("avg_query_time")) > 0, period.toString());

            List<Map<String, String>> databases = rows(s, "SHOW DATABASES");
            assertEquals(List.of(cluster.primary().port(), cluster.replica(0).port(), cluster.replica(1).port()),
                    databases.stream().map(r -> Integer.parseInt(r.get("port"))).toList(), databases.toString());
            assertTrue(Integer.parseInt(databases.get(0).get("current_connections")) >= 1,
                    "the app's session holds a primary connection: " + databases);
            assertEquals("session", databases.get(0).get("pool_mode"));

            Map<String, String> lists = new HashMap<>();
            rows(s, "SHOW LISTS").forEach(r -> lists.put(r.get("list"), r.get("items")));
            assertTrue(Integer.parseInt(lists.get("used_clients")) >= 2, "the app and the console: " + lists);
            assertTrue(Integer.parseInt(lists.get("used_servers")) >= 1, lists.toString());

            assertEquals("Replicant " + Version.NUMBER, rows(s, "SHOW VERSION").get(0).get("version"));
        }
    }

    @Test
    void pauseWaitsForOpenTransactionsHoldsNewRequestsAndResumeLetsThemRun() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (ReplicantProxy paused = ProxyFixture.start(cluster, "");
                Connection inTransaction = ProxyFixture.connect(paused, "simple");
                Statement t = inTransaction.createStatement();
                Connection later = ProxyFixture.connect(paused, "extended");
                Connection console = admin(paused); Statement c = console.createStatement();
                Connection otherConsole = admin(paused); Statement o = otherConsole.createStatement()) {
            t.execute("CREATE TABLE IF NOT EXISTS ops_pause (id int)");
            t.execute("BEGIN");
            t.execute("INSERT INTO ops_pause VALUES (1)");
            Future<Boolean> pause = threads.submit(() -> c.execute("PAUSE"));
            assertThrows(TimeoutException.class, () -> pause.get(300, TimeUnit.MILLISECONDS),
                    "PAUSE waits for the open transaction");
            Future<Integer> held = threads.submit(() -> {
                try (Statement s = later.createStatement(); ResultSet rs = s.executeQuery("SELECT 42")) {
                    rs.next();
                    return rs.getInt(1);
                }
            });
            t.execute("COMMIT"); // a transaction open before the pause finishes
            pause.get(10, TimeUnit.SECONDS);
            assertThrows(TimeoutException.class, () -> held.get(300, TimeUnit.MILLISECONDS),
                    "a new request waits for RESUME");
            assertTrue(rows(o, "SHOW DATABASES").stream().allMatch(r -> "1".equals(r.get("paused"))));
            HttpResponse<String> ready = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + paused.httpAddress().getPort() + "/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, ready.statusCode());
            assertTrue(ready.body().contains("PAUSE"), ready.body());
            assertEquals("55000", assertThrows(SQLException.class, () -> o.execute("PAUSE")).getSQLState());

            o.execute("RESUME");
            assertEquals(42, held.get(10, TimeUnit.SECONDS));
            assertEquals("55000", assertThrows(SQLException.class, () -> o.execute("RESUME")).getSQLState());
            assertEquals(1, intOf(t, "SELECT count(*) FROM ops_pause WHERE id = 1"));
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aShutdownDuringAPauseEndsTheSessionsHoldingARequest() throws Exception {
        ExecutorService threads = Executors.newSingleThreadExecutor();
        try (ReplicantProxy paused = ProxyFixture.start(cluster, "");
                Connection waiting = ProxyFixture.connect(paused, "simple");
                Connection console = admin(paused); Statement c = console.createStatement()) {
            c.execute("PAUSE");
            Future<?> held = threads.submit(() -> {
                try (Statement s = waiting.createStatement()) {
                    s.execute("SELECT 1");
                }
                return null;
            });
            assertThrows(TimeoutException.class, () -> held.get(300, TimeUnit.MILLISECONDS));
            paused.close();
            ExecutionException ended = assertThrows(ExecutionException.class, () -> held.get(10, TimeUnit.SECONDS));
            assertEquals("57P01", ((SQLException) ended.getCause()).getSQLState(), ended.getCause().getMessage());
        } finally {
            threads.shutdownNow();
        }
    }

    private static int intOf(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery("/* replicant:route=primary */ " + sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private Map<String, String> appStats(Statement s) throws SQLException {
        return rows(s, "SHOW STATS").stream().filter(r -> LocalPostgresCluster.APP_DATABASE.equals(r.get("database")))
                .findFirst().orElseThrow(() -> new AssertionError("no SHOW STATS row for the app's database"));
    }

    private static long delta(Map<String, String> before, Map<String, String> after, String column) {
        return Long.parseLong(after.get(column)) - Long.parseLong(before.get(column));
    }

    private static String hostPort(String servers) {
        assertTrue(servers.contains(":"), servers);
        return servers.substring(servers.lastIndexOf(':') + 1);
    }

    @Test
    void libpqClientsConnectOnTheUnixSocketAndShowAsUnixClients(@TempDir Path dir) throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        Path socket = UnixSocketListener.socketPath(dir, port);
        ReplicantConfig config = YamlConfigLoader.parse("unix.yaml", ProxyFixture.yaml(cluster,
                "  unix_socket_dir: " + dir + "\n").replaceFirst("listen: 127.0.0.1:0", "listen: 127.0.0.1:" + port),
                Map.of()).build();
        try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            other.bind(UnixDomainSocketAddress.of(socket));
            SQLException e = assertThrows(SQLException.class,
                    () -> ReplicantProxy.start(config, new SimpleMeterRegistry()));
            assertTrue(e.getMessage().contains("another process listens on " + socket), e.getMessage());
        }
        assertTrue(Files.exists(socket), "a listener that went away left its file behind");
        Path tooLong = Files.createDirectories(dir.resolve("d".repeat(110)));
        SQLException e = assertThrows(SQLException.class, () -> ReplicantProxy.start(YamlConfigLoader.parse("long.yaml",
                ProxyFixture.yaml(cluster, "  unix_socket_dir: " + tooLong + "\n"), Map.of()).build(),
                new SimpleMeterRegistry()));
        assertTrue(e.getMessage().startsWith("proxy.unix_socket_dir: cannot listen on " + tooLong), e.getMessage());
        try (ReplicantProxy unix = ReplicantProxy.start(config, new SimpleMeterRegistry());
                Connection admin = admin(unix); Statement s = admin.createStatement()) {
            ProcessBuilder psql = new ProcessBuilder(PostgresBinaries.locate().path("psql"), "-X", "-A", "-t",
                    "-v", "ON_ERROR_STOP=1", "-h", dir.toString(), "-p", Integer.toString(port), "-U",
                    LocalPostgresCluster.APP_USER, "-c", "SELECT 'recovery=' || pg_is_in_recovery()",
                    "-c", "SELECT pg_sleep(1)", LocalPostgresCluster.APP_DATABASE)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("psql.out").toFile());
            psql.environment().put("PGPASSWORD", LocalPostgresCluster.APP_PASSWORD);
            Process p = psql.start();
            boolean listed = false;
            while (!listed && p.isAlive()) {
                listed = rows(s, "SHOW CLIENTS").stream().anyMatch(r -> "unix".equals(r.get("addr"))
                        && Integer.toString(port).equals(r.get("port")) && "app".equals(r.get("database")));
                ProxyFixture.sleep(20);
            }
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "psql finished");
            String out = Files.readString(dir.resolve("psql.out"));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("recovery=true"), "the read went to a replica: " + out);
            assertTrue(listed, "SHOW CLIENTS listed the socket's client as unix, port " + port);
        }
        assertFalse(Files.exists(socket), "the socket file goes with the proxy");
    }

    @Test
    void psqlTalksToTheAdminConsole(@TempDir Path dir) throws Exception {
        String out = ProxyFixture.runOn(proxy, "replicant", dir, "psql", "-X", "-v", "ON_ERROR_STOP=1",
                "-c", "SHOW BACKENDS", "-c", "EXPLAIN ROUTE INSERT INTO t VALUES (1)");
        assertTrue(out.contains("lag_bytes") && out.contains("replica"), out);
        assertTrue(out.contains("primary | 127.0.0.1:" + cluster.primary().port()), out);
    }

    @Test
    void explainRouteShowsWhereAStatementWouldGoAndWhy() throws SQLException {
        try (Connection admin = admin(); Statement s = admin.createStatement()) {
            Map<String, String> read = rows(s, "EXPLAIN ROUTE SELECT * FROM pg_class").get(0);
            assertEquals("replica", read.get("target"));
            assertEquals("read", read.get("reason"));
            Map<String, String> locking = rows(s, "EXPLAIN ROUTE SELECT * FROM t FOR UPDATE").get(0);
            assertEquals("primary", locking.get("target"));
            assertEquals("locking_read", locking.get("reason"));
            Map<String, String> refused = rows(s, "explain route /* replicant:route=nowhere */ SELECT 1").get(0);
            assertEquals("refused", refused.get("target"));
        }
    }

    @Test
    void reloadAppliesRoutingRulesAndRejectsABadFileKeepingTheRunningConfig() throws Exception {
        String rule = "rules:\n  - name: pin-px-reload\n    match:\n      tables: '^px_reload'\n    route: primary\n";
        try (Connection admin = admin(); Statement s = admin.createStatement()) {
            assertEquals("replica", rows(s, "EXPLAIN ROUTE SELECT * FROM px_reload").get(0).get("target"));

            Files.writeString(configFile, yaml(rule));
            s.execute("RELOAD");
            Map<String, String> routed = rows(s, "EXPLAIN ROUTE SELECT * FROM px_reload").get(0);
            assertEquals("primary", routed.get("target"), "the reloaded rule applies");

            Files.writeString(configFile, yaml(rule + "load_balanse: random\n"));
            SQLException bad = assertThrows(SQLException.class, () -> s.execute("RELOAD"));
            assertEquals("22023", bad.getSQLState());
            assertTrue(bad.getMessage().contains("load_balanse") && bad.getMessage().contains("replicant.yaml:"),
                    bad.getMessage());

            Files.writeString(configFile, yaml(rule).replace("127.0.0.1:0", "127.0.0.1:1"));
            SQLException restart = assertThrows(SQLException.class, () -> s.execute("RELOAD"));
            assertTrue(restart.getMessage().contains("proxy.listen"), restart.getMessage());
            assertEquals("primary", rows(s, "EXPLAIN ROUTE SELECT * FROM px_reload").get(0).get("target"),
                    "the running configuration stays");
            try (Connection app = ProxyFixture.connect(proxy, "simple"); Statement a = app.createStatement();
                    ResultSet rs = a.executeQuery("SELECT 1")) {
                assertTrue(rs.next(), "clients are served throughout");
            }
        } finally {
            Files.writeString(configFile, yaml("load_balance: round_robin\n"));
            proxy.context().reload();
        }
    }

    @Test
    void httpEndpointServesPrometheusMetricsHealthAndReadiness() throws Exception {
        try (Connection app = ProxyFixture.connect(proxy, "simple"); Statement a = app.createStatement()) {
            a.executeQuery("SELECT 1").close();
        }
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + proxy.httpAddress().getPort();
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        for (String name : List.of("replicant_proxy_clients", "replicant_proxy_servers",
                "replicant_statements_total{", "replicant_proxy_exchange_seconds_bucket{",
                "replicant_proxy_bytes_total{", "replicant_backend_lag_bytes{", "jvm_memory_used_bytes")) {
            assertTrue(metrics.body().contains(name), name + " missing from /metrics");
        }
        assertTrue(metrics.body().contains("target=\"replica\""), "routed statements are tagged by target");
        assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(base + "/ready")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode(), ready.body());
    }
}
