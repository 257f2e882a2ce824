package io.replicant.bench;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.replicant.cdc.CdcPipeline;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;

/**
 * The CDC pipeline against PostgreSQL's own logical replication ({@code CREATE PUBLICATION} /
 * {@code CREATE SUBSCRIPTION}) on the same machine, data and load, one consumer at a time:
 * <ul>
 *   <li>throughput: a backlog of pgbench TPC-B transactions (4 row changes each) written while the consumer is
 *   stopped, then the time from its first applied change to its last;</li>
 *   <li>latency at 1,000 transactions/s: single-row inserts stamped with {@code clock_timestamp()} on the
 *   source and by a follower-only column default when applied;</li>
 *   <li>idle CPU of the pipeline's process while nothing changes.</li>
 * </ul>
 * Run it with {@code bench/cdc} ({@code --quick} for a short check of the harness).
 */
public final class CdcBenchmark {
    private static final int DRAIN_ROUNDS = 5;
    private static final String TABLES = "pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, lat";

    private final LocalPostgresCluster source;
    private final LocalPostgresCluster target;
    private final Path dir;
    private final boolean quick;
    private final List<String> report = new ArrayList<>();

    private CdcBenchmark(LocalPostgresCluster source, LocalPostgresCluster target, Path dir, boolean quick) {
        this.source = source;
        this.target = target;
        this.dir = dir;
        this.quick = quick;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path dir = Files.createTempDirectory("replicant-cdc-bench");
        try (LocalPostgresCluster source = LocalPostgresCluster.builder().replicas(0).start();
                LocalPostgresCluster target = LocalPostgresCluster.builder().replicas(0).start()) {
            new CdcBenchmark(source, target, dir, quick).run();
        }
    }

    private void run() throws Exception {
        PgNode primary = source.primary();
        pgbench(primary, "app", "-i", "-s", "1", "-q");
        execute(primary, "app", "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY",
                "CREATE TABLE lat (id bigserial PRIMARY KEY, payload int, src_ts timestamptz NOT NULL "
                        + "DEFAULT clock_timestamp())",
                "CREATE PUBLICATION bench_pub FOR TABLE " + TABLES);
        Files.writeString(dir.resolve("lat.sql"), "INSERT INTO lat (payload) VALUES (1);\n");
        for (String database : List.of("native", "replicant")) {
            target.primary().query("CREATE DATABASE " + database);
            pgbench(target.primary(), database, "-i", "-I", "dtp", "-s", "1");
            execute(target.primary(), database, "ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY",
                    "CREATE TABLE lat (id bigint PRIMARY KEY, payload int, src_ts timestamptz NOT NULL, "
                            + "dst_ts timestamptz NOT NULL DEFAULT clock_timestamp())");
        }
        int backlog = quick ? 1_000 : 5_000;
        int latencySeconds = quick ? 5 : 20;

        // PostgreSQL's logical replication. Each consumer drains DRAIN_ROUNDS backlogs and only the last counts: the
        // JIT is still compiling Debezium's code paths during the first few hundred thousand changes.
        execute(target.primary(), "native", "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=" + PgNode.HOST
                + " port=" + primary.port() + " dbname=app user=postgres' PUBLICATION bench_pub");
        awaitCopied("native");
        double[] nativeDrain = null;
        long events = 0;
        for (int round = 0; round < DRAIN_ROUNDS; round++) {
            execute(target.primary(), "native", "ALTER SUBSCRIPTION bench_sub DISABLE");
            events = backlog(backlog);
            execute(target.primary(), "native", "ALTER SUBSCRIPTION bench_sub ENABLE");
            nativeDrain = drain("native", events);
        }
        double[] nativeLatency = latency("native", latencySeconds);
        execute(target.primary(), "native", "ALTER SUBSCRIPTION bench_sub DISABLE");

        // Replicant, with its default poll interval and a shorter one
        CdcPipeline pipeline = CdcPipeline.start(config("25ms"), null);
        awaitCopied("replicant");
        awaitPosition(pipeline); // the copy is complete only once the follower has a position
        double[] replicantDrain = null;
        for (int round = 0; round < DRAIN_ROUNDS; round++) {
            pipeline.close();
            long replicantEvents = backlog(backlog);
            pipeline = CdcPipeline.start(config("25ms"), null);
            replicantDrain = drain("replicant", replicantEvents);
        }
        double[] replicantLatency = latency("replicant", latencySeconds);
        double idleCpu = idleCpu(quick ? 5 : 20);
        pipeline.close();
        pipeline = CdcPipeline.start(config("5ms"), null);
        double[] fastLatency = latency("replicant", latencySeconds);
        double fastIdleCpu = idleCpu(quick ? 5 : 20);
        pipeline.close();

        report.add("| consumer | drain events/s | ratio | CPU per 1,000 events | latency p50 | p99 (at 1,000 tx/s) "
                + "| idle CPU |");
        report.add("|---|---:|---:|---:|---:|---:|---:|");
        report.add(String.format("| PostgreSQL logical replication | %,.0f | 1.00× | %.1f ms | %.1f ms | %.1f ms | – |",
                nativeDrain[0], nativeDrain[1], nativeLatency[0], nativeLatency[1]));
        report.add(String.format("| Replicant (poll_interval 25ms, default) | %,.0f | %.2f× | %.1f ms | %.1f ms | %.1f ms "
                + "| %.1f%% |", replicantDrain[0], replicantDrain[0] / nativeDrain[0], replicantDrain[1],
                replicantLatency[0], replicantLatency[1], idleCpu));
        report.add(String.format("| Replicant (poll_interval 5ms) | – | – | – | %.1f ms | %.1f ms | %.1f%% |",
                fastLatency[0], fastLatency[1], fastIdleCpu));
        System.out.println();
        System.out.println("CDC benchmark (" + (quick ? "--quick, not for numbers" : "full") + "): backlog of "
                + backlog * 8 + " pgbench TPC-B transactions (" + events + " row changes, after " + (DRAIN_ROUNDS - 1)
                + " warm-up backlogs as big; CPU: both PostgreSQL servers and the pipeline's JVM), latency over "
                + latencySeconds + " s of inserts at 1,000/s (pgbench -R 1000 -c 4)");
        report.forEach(System.out::println);
    }

    private ReplicantConfig config(String pollInterval) {
        String yaml = String.join("\n",
                "hosts: [" + source.primary().address() + "]",
                "database: app",
                "user: postgres",
                "cdc:",
                "  slot: bench_replicant",
                "  publication: bench_replicant",
                "  tables: ['public\\.pgbench_.*', 'public\\.lat']",
                "  poll_interval: " + pollInterval,
                "  http: {listen: 'off'}",
                "  followers:",
                "    - name: reports",
                "      url: " + target.primary().jdbcUrl("replicant"),
                "      user: postgres",
                "");
        return YamlConfigLoader.parse("bench.yaml", yaml, Map.of()).build();
    }

    /** Writes pgbench TPC-B transactions as fast as it can; returns the row changes they made. */
    private long backlog(int transactionsPerClient) throws Exception {
        long before = count(source.primary(), "app", "pgbench_history");
        pgbench(source.primary(), "app", "-n", "-c", "8", "-j", "2", "-t", String.valueOf(transactionsPerClient));
        return (count(source.primary(), "app", "pgbench_history") - before) * 4;
    }

    /**
     * Row changes per second from the consumer's first applied change of the backlog to its last, and the CPU
     * every process on the machine that takes part (both PostgreSQL servers, this JVM with the pipeline) spent per
     * 1,000 row changes meanwhile. Progress is read from the history table's key index, which costs the follower
     * next to nothing (counting its rows every few milliseconds would take a core).
     */
    private double[] drain(String database, long events) throws Exception {
        long goal = maxHistoryId(source.primary(), "app");
        long start = maxHistoryId(target.primary(), database);
        long first = 0;
        long cpuAtFirst = 0;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        while (System.nanoTime() < deadline) {
            long now = maxHistoryId(target.primary(), database);
            if (first == 0 && now > start) {
                first = System.nanoTime();
                cpuAtFirst = cpuNanos();
                if (now >= goal) {
                    throw new IllegalStateException(database + " applied the whole backlog between two looks");
                }
            }
            if (now >= goal) {
                double seconds = (System.nanoTime() - first) / 1e9;
                return new double[] {events / seconds, (cpuNanos() - cpuAtFirst) / 1e6 / (events / 1000.0)};
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException(database + " did not drain the backlog within 10 minutes");
    }

    /** CPU time of this JVM and of every PostgreSQL process on the machine (the benchmark starts all of them). */
    private static long cpuNanos() throws IOException {
        long nanos = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
        long ticks = 0;
        try (var processes = Files.list(Path.of("/proc"))) {
            for (Path dir : (Iterable<Path>) processes::iterator) {
                if (!dir.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (!Files.readString(dir.resolve("comm")).startsWith("postgres")) {
                        continue;
                    }
                    String stat = Files.readString(dir.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                } catch (IOException gone) {
                    // the process ended while we looked
                }
            }
        }
        return nanos + ticks * 10_000_000L; // USER_HZ is 100 on Linux
    }

    /** p50 and p99 in milliseconds of source insert to follower apply, at 1,000 single-row transactions/s. */
    private double[] latency(String database, int seconds) throws Exception {
        long from = maxId(source.primary());
        pgbench(source.primary(), "app", "-n", "-f", dir.resolve("lat.sql").toString(), "-R", "1000", "-c", "4", "-j",
                "2", "-T", String.valueOf(seconds));
        long to = maxId(source.primary());
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (count(target.primary(), database, "lat WHERE id > " + from) < to - from) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(database + " did not apply the latency rows");
            }
            Thread.sleep(50);
        }
        try (Connection c = target.primary().connect(database); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
                        + "percentile_cont(0.99) WITHIN GROUP (ORDER BY d) FROM (SELECT extract(epoch FROM dst_ts - "
                        + "src_ts) * 1000 AS d FROM lat WHERE id > " + from + ") x")) {
            rs.next();
            return new double[] {rs.getDouble(1), rs.getDouble(2)};
        }
    }

    /** CPU this process used while nothing changed on the source, in percent of one core. */
    private static double idleCpu(int seconds) throws InterruptedException {
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        Thread.sleep(2000);
        long cpu = os.getProcessCpuTime();
        long wall = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        return 100.0 * (os.getProcessCpuTime() - cpu) / (System.nanoTime() - wall);
    }

    private static void awaitPosition(CdcPipeline pipeline) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (pipeline.followers().get(0).position() == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the pipeline did not finish copying the tables");
            }
            Thread.sleep(100);
        }
    }

    private void awaitCopied(String database) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (count(target.primary(), database, "pgbench_accounts") < count(source.primary(), "app",
                "pgbench_accounts")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(database + " did not copy the tables");
            }
            Thread.sleep(100);
        }
    }

    private static long maxId(PgNode node) throws SQLException {
        try (Connection c = node.connect("app"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) FROM lat")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static long maxHistoryId(PgNode node, String database) throws SQLException {
        try (Connection c = node.connect(database); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) FROM pgbench_history")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static long count(PgNode node, String database, String table) throws SQLException {
        try (Connection c = node.connect(database); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void execute(PgNode node, String database, String... sql) throws SQLException {
        try (Connection c = node.connect(database); Statement s = c.createStatement()) {
            for (String statement : sql) {
                s.execute(statement);
            }
        }
    }

    private static void pgbench(PgNode node, String database, String... args) throws IOException,
            InterruptedException {
        List<String> command = new ArrayList<>(List.of("pgbench", "-h", PgNode.HOST, "-p",
                String.valueOf(node.port()), "-U", "postgres"));
        command.addAll(List.of(args));
        command.add(database);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).directory(new File("/tmp")).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException("pgbench failed: " + out);
        }
    }
}
