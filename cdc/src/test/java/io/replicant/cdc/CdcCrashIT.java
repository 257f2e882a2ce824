package io.replicant.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipeline as its own process, killed with SIGKILL at random moments while pgbench writes to the primary:
 * after each restart it must neither lose nor repeat a change on any follower, and the slot must not pile up WAL.
 */
class CdcCrashIT {
    private static final int KILLS = 20;
    private static final String[] TABLES = {"pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"};

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dir;

    @Test
    void killedTwentyTimesUnderLoadLosesAndRepeatsNothing() throws Exception {
        long seed = Long.getLong("cdc.crash.seed", System.nanoTime());
        System.out.println("CdcCrashIT seed " + seed + " (rerun with -Dcdc.crash.seed=" + seed + ")");
        Random random = new Random(seed);
        try (LocalPostgresCluster source = LocalPostgresCluster.builder().replicas(0).start();
                LocalPostgresCluster target = LocalPostgresCluster.builder().replicas(0).start()) {
            PgNode primary = source.primary();
            pgbench(primary, "app", "-i", "-s", "1", "-q");
            // pgbench_history has no key; give it one (pgbench names its columns, so it keeps working).
            execute(primary, "app", "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY");
            prepareFollower(target.primary());
            // One pipeline process at a time opens the H2 file; a killed one leaves a lock file that would delay the
            // next for seconds, so no file lock (the test reads H2 only after the last pipeline has stopped).
            String h2Url = "jdbc:h2:file:" + dir.resolve("follower") + ";FILE_LOCK=NO";
            Path config = writeConfig(primary, target.primary(), h2Url);

            // Several clients interleave their transactions; a single one starts each transaction right where its
            // last commit ended, which once tripped Debezium's own resume logic.
            Process load = startPgbench(primary, 4, 150, "concurrent");
            Process serial = startPgbench(primary, 1, 100, "serial");
            // Transactions of 300 changes, past the pipeline's part size of 100: kills also land between parts.
            Path bulkScript = dir.resolve("bulk.sql");
            Files.writeString(bulkScript, "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
                    + "SELECT 1, 1, g, 1, now() FROM generate_series(1, 300) g;\n");
            Process bulk = startPgbench(primary, 1, 2, "bulk", "-f", bulkScript.toString());
            long maxRetained = 0;
            try {
                // The first run copies the tables and is left to finish the copy; later ones are killed at random
                // moments while streaming.
                Process first = startPipeline(config, 1);
                awaitLog(1, "Snapshot completed", first);
                // Killed before the copy is applied and acknowledged, a run copies again from the start, and on a
                // slow machine every later run may then die copying, so that none streams.
                awaitAcknowledgedPast(primary, confirmedFlush(primary), first);
                kill(first);
                for (int run = 2; run <= KILLS; run++) {
                    Process pipeline = startPipeline(config, run);
                    awaitLog(run, "to 'POLLING_TASKS'", pipeline);
                    if (run == KILLS / 2) {
                        // Once, the PostgreSQL follower goes away for a while under load: H2 goes on without it,
                        // and it catches up when it is back.
                        target.primary().stop();
                        Thread.sleep(3000);
                        target.primary().start();
                        awaitLog(run, "follower pg is back", pipeline);
                    }
                    Thread.sleep(500 + random.nextInt(3000));
                    kill(pipeline);
                    maxRetained = Math.max(maxRetained, retainedWal(primary));
                }
            } finally {
                for (Process p : List.of(load, serial, bulk)) {
                    p.destroy();
                    p.waitFor(30, TimeUnit.SECONDS);
                }
            }

            Process last = startPipeline(config, KILLS + 1);
            try {
                awaitPostgresFollowerEqual(primary, target.primary(), last);
                Thread.sleep(3000); // both followers get each batch together; give H2 its last commit
            } finally {
                last.destroy(); // SIGTERM: a clean stop, so this test can open the H2 file
                assertTrue(last.waitFor(60, TimeUnit.SECONDS));
            }
            String h2Difference = h2Difference(primary, h2Url);
            assertEquals(null, h2Difference);

            String status = runStatus(config);
            assertTrue(status.contains("slot crash: inactive"), status);
            assertTrue(status.matches("(?s).*\\npg +[0-9A-F]+/[0-9A-F]+ .*") && status.matches("(?s).*\\nh2 +[0-9A-F]+/.*"),
                    status);
            long skipped = redeliveredAndSkipped();
            assertTrue(skipped > 0, "no kill caused a redelivery, so nothing here tested skipping");
            long historyRows = count(primary, "app", "pgbench_history");
            assertTrue(historyRows > 100, "pgbench wrote too little to test anything: " + historyRows);
            // Every history row was inserted once on the source; a repeated transaction would have fired the
            // follower's trigger a second time for its rows.
            assertEquals(String.valueOf(historyRows), query(target.primary(), "reports", "SELECT firings FROM apply_audit"));
            System.out.println("CdcCrashIT: " + KILLS + " kills, " + historyRows + " history rows, " + skipped
                    + " redelivered transactions skipped, plus " + logLines("skipped redelivered large transaction")
                    + " large transactions (in parts, rolled back at their end), most WAL the slot kept after a kill: "
                    + maxRetained / 1024 + " kB");
            assertTrue(maxRetained < 256L << 20, "the slot kept " + maxRetained + " bytes of WAL");
        }
    }

    private void prepareFollower(PgNode follower) {
        follower.query("CREATE DATABASE reports");
        pgbench(follower, "reports", "-i", "-I", "dtp", "-s", "1");
        execute(follower, "reports", "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY");
        execute(follower, "reports", "CREATE TABLE apply_audit (firings bigint NOT NULL)");
        execute(follower, "reports", "INSERT INTO apply_audit VALUES (0)");
        execute(follower, "reports", "CREATE FUNCTION count_firing() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$ BEGIN UPDATE apply_audit SET firings = firings + 1; RETURN NULL; END $$");
        execute(follower, "reports", "CREATE TRIGGER audit AFTER INSERT OR UPDATE ON pgbench_history "
                + "FOR EACH ROW EXECUTE FUNCTION count_firing()");
    }

    private Path writeConfig(PgNode primary, PgNode follower, String h2Url) throws IOException {
        Path config = dir.resolve("replicant.yaml");
        Files.writeString(config, String.join("\n",
                "hosts: [" + primary.address() + "]",
                "database: app",
                "user: postgres",
                "cdc:",
                "  slot: crash",
                "  tables: ['public\\.pgbench_.*']",
                "  poll_interval: 10ms",
                "  confirm_interval: 200ms",
                "  transaction_part_size: 100",
                "  http: {listen: 127.0.0.1:0}",
                "  retry: {backoff: 200ms, max_backoff: 1s}",
                "  followers:",
                "    - name: pg",
                "      url: " + follower.jdbcUrl("reports"),
                "      user: postgres",
                "    - name: h2",
                "      url: '" + h2Url + "'",
                "      user: sa",
                "      create_tables: true",
                ""));
        return config;
    }

    private Process startPipeline(Path config, int run) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "io.replicant.cdc.CdcCommand", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("pipeline-" + run + ".log").toFile())
                .start();
    }

    /** {@code replicant cdc status} as a user would run it. */
    private String runStatus(Path config) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process status = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "io.replicant.cdc.CdcCommand", "status", "--config", config.toString()).redirectErrorStream(true).start();
        String out = new String(status.getInputStream().readAllBytes());
        assertTrue(status.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, status.exitValue(), out);
        return out;
    }

    private Process startPgbench(PgNode primary, int clients, int rate, String name, String... script)
            throws IOException {
        List<String> command = new java.util.ArrayList<>(List.of("pgbench", "-h", PgNode.HOST, "-p",
                String.valueOf(primary.port()), "-U", "postgres", "-c", String.valueOf(clients), "-j", "1", "-T", "600",
                "-R", String.valueOf(rate)));
        command.addAll(List.of(script));
        command.add("app");
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("pgbench-" + name + ".log").toFile())
                .start();
    }

    /**
     * Waits while the follower makes progress: the backlog left by the load depends on the host's speed, so the
     * test fails when the follower's rows stop changing for a minute (or after ten minutes in all), not at a fixed
     * time.
     */
    private void awaitPostgresFollowerEqual(PgNode primary, PgNode follower, Process pipeline) throws Exception {
        long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        long stalled = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        String difference = null;
        while (System.nanoTime() - stalled < 0 && System.nanoTime() - giveUp < 0) {
            assertTrue(pipeline.isAlive(), "pipeline exited; see its log in " + dir);
            String now = postgresDifference(primary, follower);
            if (now == null) {
                return;
            }
            if (!now.equals(difference)) {
                difference = now;
                stalled = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the PostgreSQL follower did not catch up: " + difference);
    }

    /** Null when the PostgreSQL follower holds exactly the source's rows, else what differs. */
    private static String postgresDifference(PgNode primary, PgNode follower) throws SQLException {
        for (String table : TABLES) {
            String digest = "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                    + "FROM " + table + " t";
            String expected = query(primary, "app", digest);
            String actual = query(follower, "reports", digest);
            if (!expected.equals(actual)) {
                return table + ": " + actual + " != " + expected;
            }
        }
        return null;
    }

    /** Null when the H2 follower has the source's row count and column sums in every table, else what differs. */
    private static String h2Difference(PgNode primary, String h2Url) throws SQLException {
        try (Connection c = DriverManager.getConnection(h2Url, "sa", ""); Statement s = c.createStatement()) {
            for (String table : TABLES) {
                String sums = "SELECT count(*), sum(" + (table.equals("pgbench_accounts") ? "abalance"
                        : table.equals("pgbench_history") ? "delta" : "bid") + ") FROM " + table;
                String expected = query(primary, "app", sums.replace("count(*), ", "count(*) || ':' || "));
                try (ResultSet rs = s.executeQuery(sums)) {
                    rs.next();
                    String actual = rs.getLong(1) + ":" + rs.getObject(2);
                    if (!expected.equals(actual)) {
                        return "H2 follower " + table + ": " + actual + " != " + expected;
                    }
                }
            }
        }
        return null;
    }

    private void awaitLog(int run, String text, Process pipeline) throws Exception {
        Path log = dir.resolve("pipeline-" + run + ".log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            assertTrue(pipeline.isAlive(), "pipeline exited early; see " + log);
            if (Files.readString(log).contains(text)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("pipeline run " + run + " never logged '" + text + "'; see " + log);
    }

    private static void kill(Process pipeline) throws InterruptedException {
        pipeline.destroyForcibly(); // SIGKILL
        assertTrue(pipeline.waitFor(30, TimeUnit.SECONDS));
    }

    /** Transactions the followers were sent again after a kill and skipped, from the pipelines' logs. */
    private long logLines(String text) throws IOException {
        long lines = 0;
        for (int run = 1; run <= KILLS + 1; run++) {
            lines += Files.readAllLines(dir.resolve("pipeline-" + run + ".log")).stream().filter(l -> l.contains(text))
                    .count();
        }
        return lines;
    }

    private long redeliveredAndSkipped() throws IOException {
        Pattern skipped = Pattern.compile("skipped (\\d+) redelivered transaction");
        long total = 0;
        for (int run = 1; run <= KILLS + 1; run++) {
            for (String line : Files.readAllLines(dir.resolve("pipeline-" + run + ".log"))) {
                Matcher m = skipped.matcher(line);
                if (m.find()) {
                    total += Long.parseLong(m.group(1));
                }
            }
        }
        return total;
    }

    private static String confirmedFlush(PgNode primary) {
        return primary.query("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'crash'");
    }

    /** Until the pipeline acknowledges a streamed position past {@code lsn}: its copy is then recorded as done. */
    private static void awaitAcknowledgedPast(PgNode primary, String lsn, Process pipeline)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!"t".equals(primary.query("SELECT confirmed_flush_lsn > '" + lsn + "'::pg_lsn "
                + "FROM pg_replication_slots WHERE slot_name = 'crash'"))) {
            assertTrue(pipeline.isAlive(), "the first pipeline exited");
            assertTrue(System.nanoTime() - deadline < 0, "the slot was not acknowledged past " + lsn + " in 120 s");
            Thread.sleep(100);
        }
    }

    private static long retainedWal(PgNode primary) {
        String bytes = primary.query("SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots "
                + "WHERE slot_name = 'crash'");
        return bytes == null ? 0 : Long.parseLong(bytes);
    }

    private static long count(PgNode node, String database, String table) throws SQLException {
        return Long.parseLong(query(node, database, "SELECT count(*) FROM " + table));
    }

    private static String query(PgNode node, String database, String sql) throws SQLException {
        try (Connection c = node.connect(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void execute(PgNode node, String database, String sql) {
        try (Connection c = node.connect(database); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    private void pgbench(PgNode node, String database, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("pgbench", "-h", PgNode.HOST, "-p",
                String.valueOf(node.port()), "-U", "postgres"));
        command.addAll(List.of(args));
        command.add(database);
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).directory(new File("/tmp")).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("pgbench failed: " + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
