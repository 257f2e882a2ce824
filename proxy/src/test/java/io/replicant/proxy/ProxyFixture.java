package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresBinaries;

/** What the proxy's integration tests share: a config for the test cluster, pgjdbc connections, client programs. */
final class ProxyFixture {
    private ProxyFixture() {
    }

    /** The test cluster's proxy config on a free loopback port; {@code extra} is more YAML under {@code proxy:}. */
    static ReplicantConfig config(LocalPostgresCluster cluster, String extra) {
        return YamlConfigLoader.parse("proxy-test.yaml", yaml(cluster, extra), Map.of()).build();
    }

    /** The YAML text of {@link #config}. */
    static String yaml(LocalPostgresCluster cluster, String extra) {
        return "hosts: [" + String.join(", ", cluster.hostList().split(",")) + "]\n"
                + "database: " + LocalPostgresCluster.APP_DATABASE + "\n"
                + "user: " + LocalPostgresCluster.APP_USER + "\n"
                + "password: " + LocalPostgresCluster.APP_PASSWORD + "\n"
                + "load_balance: round_robin\n"
                + "proxy:\n  listen: 127.0.0.1:0\n  http:\n    listen: 127.0.0.1:0\n" + extra;
    }

    static ReplicantProxy start(LocalPostgresCluster cluster, String extra) throws SQLException {
        return ReplicantProxy.start(config(cluster, extra), new SimpleMeterRegistry());
    }

    static Properties credentials() {
        Properties p = new Properties();
        p.setProperty("user", LocalPostgresCluster.APP_USER);
        p.setProperty("password", LocalPostgresCluster.APP_PASSWORD);
        return p;
    }

    static String url(ReplicantProxy proxy) {
        return "jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/" + LocalPostgresCluster.APP_DATABASE;
    }

    /** A pgjdbc connection through the proxy in {@code preferQueryMode} {@code mode}. */
    static Connection connect(ReplicantProxy proxy, String mode) throws SQLException {
        return connect(proxy, mode, "PostgreSQL JDBC Driver"); // pgjdbc's own default
    }

    /** The same, with an application_name by which the servers' pg_stat_activity tells its sessions apart. */
    static Connection connect(ReplicantProxy proxy, String mode, String application) throws SQLException {
        Properties p = credentials();
        p.setProperty("preferQueryMode", mode);
        p.setProperty("ApplicationName", application);
        return DriverManager.getConnection(url(proxy), p);
    }

    /** A pgjdbc connection to the proxy's admin console (database replicant; simple queries only). */
    static Connection admin(ReplicantProxy proxy) throws SQLException {
        Properties p = credentials();
        p.setProperty("preferQueryMode", "simple");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/replicant",
                p);
    }

    /** A pgjdbc connection straight to the primary. */
    static Connection direct(LocalPostgresCluster cluster) throws SQLException {
        return DriverManager.getConnection(cluster.primary().jdbcUrl(LocalPostgresCluster.APP_DATABASE), credentials());
    }

    /** Runs setup SQL directly on the primary, then waits until the replicas have it. */
    static void setUp(LocalPostgresCluster cluster, String... statements) throws SQLException {
        try (Connection c = direct(cluster); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
        cluster.awaitReplay();
    }

    /** Runs a PostgreSQL client program against the proxy; returns its output (stdout and stderr). */
    static String run(ReplicantProxy proxy, Path dir, String program, String... args)
            throws IOException, InterruptedException {
        return runOn(proxy, LocalPostgresCluster.APP_DATABASE, dir, program, args);
    }

    /** Like {@link #run}, connecting to {@code database} (the last argument of the command line). */
    static String runOn(ReplicantProxy proxy, String database, Path dir, String program, String... args)
            throws IOException, InterruptedException {
        return runAt(proxy.address().getPort(), database, dir, program, args);
    }

    /** Like {@link #run}, against whatever listens on {@code port} (a server, for a direct baseline). */
    static String runAt(int port, String database, Path dir, String program, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PostgresBinaries.locate().path(program), "-h",
                "127.0.0.1", "-p", Integer.toString(port), "-U", LocalPostgresCluster.APP_USER));
        command.addAll(List.of(args));
        command.add(database);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("PGPASSWORD", LocalPostgresCluster.APP_PASSWORD);
        pb.redirectErrorStream(true);
        Path output = dir.resolve(program + ".out");
        pb.redirectOutput(output.toFile());
        Process p = pb.start();
        boolean exited = p.waitFor(90, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String out = Files.readString(output);
        assertTrue(exited, program + " did not finish within 90 s; its output so far:\n" + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Runs a Python client script from the test resources against the proxy; returns what it printed. */
    static String runPython(ReplicantProxy proxy, String resource, Path dir) throws Exception {
        Path script = Path.of(ProxyFixture.class.getResource(resource).toURI());
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), "127.0.0.1",
                Integer.toString(proxy.address().getPort()), LocalPostgresCluster.APP_USER,
                LocalPostgresCluster.APP_PASSWORD, LocalPostgresCluster.APP_DATABASE)
                .redirectErrorStream(true).redirectOutput(dir.resolve("py.out").toFile()).start();
        boolean finished = p.waitFor(90, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly();
        }
        String out = Files.readString(dir.resolve("py.out"));
        assertTrue(finished, "the Python client did not finish; it printed: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** asyncpg_client.py through the proxy: everything it tried worked. */
    static void assertAsyncpgClientWorks(ReplicantProxy proxy, Path dir) throws Exception {
        String out = runPython(proxy, "/asyncpg_client.py", dir);
        for (String expected : List.of("\"prepared_read_on_replica\": true",
                "\"transaction_read\": [\"updated\", \"1.25\", [\"t1\"], false]", "\"cursor_rows\": 100",
                "\"error_sqlstate\": \"23505\"", "\"copied_in\": 20000", "\"copied_out_lines\": 20000",
                "\"notified\": true", "\"pool_sum\": 39800", "\"application_name\": \"asyncpg-test\"",
                "\"pool_settings\": [\"Pacific/Auckland asyncpg-pool\"]")) {
            assertTrue(out.contains(expected), expected + " not in " + out);
        }
    }

    /** psycopg3_client.py through the proxy: everything it tried worked. */
    static void assertPsycopg3ClientWorks(ReplicantProxy proxy, Path dir) throws Exception {
        String out = runPython(proxy, "/psycopg3_client.py", dir);
        for (String expected : List.of("\"pipelined_inserts\": 200", "\"prepared_read\": \"item 7\"",
                "\"binary\": [[1, 2, 3], \"00ff\"]", "\"transaction_read\": [\"updated\", false]",
                "\"server_cursor_rows\": 50", "\"error_sqlstate\": \"23505\"", "\"copied_in\": 5000",
                "\"pipelined_reads\": [1, 2]", "\"application_name\": \"psycopg3-test\"")) {
            assertTrue(out.contains(expected), expected + " not in " + out);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
