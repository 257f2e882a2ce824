package io.replicant.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

import io.replicant.ReplicantConnection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.ReplicantDataSource;
import io.replicant.config.YamlConfigLoader;
import io.replicant.proxy.ReplicantProxy;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;

/**
 * What consistency costs, on the running primary + 2 replicas: a write-then-read loop (UPDATE one random
 * account, then SELECT it) per consistency mode, and single-thread commit latency of Replicant's quorum
 * commit (W=2, ack=replay) against PostgreSQL's own {@code synchronous_standby_names = 'ANY 2 (…)'} with
 * {@code synchronous_commit = remote_apply}, through the JDBC driver and through the proxy (there against the
 * proxy in async mode with PostgreSQL's own wait, so the proxy's hop is in both). Rounds alternate the variants
 * so drift hits them alike; each cell is the median over rounds.
 */
final class ConsistencyBenchmark {
    private final LocalPostgresCluster cluster;
    private final int rows;
    private final long phaseNanos;
    private final int rounds;

    ConsistencyBenchmark(LocalPostgresCluster cluster, int rows, boolean quick) {
        this.cluster = cluster;
        this.rows = rows;
        this.phaseNanos = (quick ? 1 : 10) * 1_000_000_000L;
        this.rounds = quick ? 1 : 3;
    }

    private String url(String options) {
        return "jdbc:replicant:postgresql://" + cluster.hostList() + "/" + LocalPostgresCluster.APP_DATABASE + "?user="
                + LocalPostgresCluster.APP_USER + "&password=" + LocalPostgresCluster.APP_PASSWORD + "&" + options;
    }

    void run() throws SQLException {
        cluster.primary().query("GRANT pg_read_all_stats TO " + LocalPostgresCluster.APP_USER); // for quorum waits
        String[] modes = {"eventual", "session", "strong"};
        double[][] loops = new double[modes.length][rounds];
        long[][] stale = new long[modes.length][rounds];
        double[][][] commits = new double[4][rounds][];
        try (ReplicantDataSource ds = new ReplicantDataSource(url("load_balance=round_robin"));
                ReplicantDataSource quorum = new ReplicantDataSource(url("replication.mode=sync&quorum.w=2"));
                ReplicantProxy asyncProxy = proxy("");
                ReplicantProxy quorumProxy = proxy("replication:\n  mode: sync\nquorum:\n  w: 2\n")) {
            for (int round = 0; round < rounds; round++) {
                for (int m = 0; m < modes.length; m++) {
                    long[] result = writeThenRead(ds, modes[m]);
                    loops[m][round] = result[0] * 1e9 / phaseNanos;
                    stale[m][round] = result[1];
                }
                commits[0][round] = commitLatencies(() -> quorum.getConnection());
                commits[1][round] = nativeSyncLatencies(cluster.primary().jdbcUrl(LocalPostgresCluster.APP_DATABASE));
                commits[2][round] = commitLatencies(() -> connect(proxyUrl(quorumProxy), null));
                commits[3][round] = nativeSyncLatencies(proxyUrl(asyncProxy));
            }
        }
        System.out.println();
        System.out.println("Write-then-read loop, 1 thread: UPDATE a random account, then SELECT it (iterations/s, "
                + "higher is better; stale = reads that did not see the write just made)");
        System.out.println();
        System.out.println("| consistency | iterations/s | ratio to eventual | stale reads |");
        System.out.println("|---|---:|---:|---:|");
        double eventual = median(loops[0]);
        for (int m = 0; m < modes.length; m++) {
            System.out.printf("| `%s` | %.0f | %.3f× | %d of %d |%n", modes[m], median(loops[m]),
                    median(loops[m]) / eventual, Arrays.stream(stale[m]).sum(),
                    (long) (Arrays.stream(loops[m]).sum() * phaseNanos / 1e9));
        }
        double[] ours = percentiles(commits[0]);
        double[] native_ = percentiles(commits[1]);
        System.out.println();
        System.out.println("Commit latency, 1 thread, UPDATE of a random account in autocommit (ms, lower is better)");
        System.out.println();
        System.out.println("| commit waits for | p50 | p99 |");
        System.out.println("|---|---:|---:|");
        System.out.printf("| PostgreSQL `ANY 2 (…)`, `remote_apply` | %.3f | %.3f |%n", native_[0], native_[1]);
        System.out.printf("| Replicant quorum W=2, ack=replay | %.3f | %.3f |%n", ours[0], ours[1]);
        System.out.printf("| ratio (Replicant ÷ PostgreSQL) | %.3f× | %.3f× |%n", ours[0] / native_[0], ours[1] / native_[1]);
        double[] proxied = percentiles(commits[2]);
        double[] proxiedNative = percentiles(commits[3]);
        System.out.printf("| through the proxy: PostgreSQL `ANY 2 (…)`, `remote_apply` | %.3f | %.3f |%n",
                proxiedNative[0], proxiedNative[1]);
        System.out.printf("| through the proxy: its quorum W=2, ack=replay | %.3f | %.3f |%n", proxied[0], proxied[1]);
        System.out.printf("| ratio through the proxy | %.3f× | %.3f× |%n", proxied[0] / proxiedNative[0],
                proxied[1] / proxiedNative[1]);
        System.out.println(ratiosPerRound("ratio in each round", commits[0], commits[1]));
        System.out.println(ratiosPerRound("ratio through the proxy in each round", commits[2], commits[3]));
    }

    /** A proxy in front of the cluster on a free loopback port; {@code extra} is top-level YAML. */
    private ReplicantProxy proxy(String extra) throws SQLException {
        String yaml = "hosts: [" + String.join(", ", cluster.hostList().split(",")) + "]\n"
                + "database: " + LocalPostgresCluster.APP_DATABASE + "\n"
                + "user: " + LocalPostgresCluster.APP_USER + "\n"
                + "password: " + LocalPostgresCluster.APP_PASSWORD + "\n"
                + "proxy:\n  listen: 127.0.0.1:0\n  http:\n    listen: 'off'\n" + extra;
        return ReplicantProxy.start(YamlConfigLoader.parse("bench-proxy.yaml", yaml, Map.of()).build(),
                new SimpleMeterRegistry());
    }

    private static String proxyUrl(ReplicantProxy proxy) {
        return "jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/" + LocalPostgresCluster.APP_DATABASE;
    }

    /** A pgjdbc connection as the app user, with {@code options} (server settings) unless null. */
    private static Connection connect(String url, String options) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", LocalPostgresCluster.APP_USER);
        p.setProperty("password", LocalPostgresCluster.APP_PASSWORD);
        if (options != null) {
            p.setProperty("options", options);
        }
        return DriverManager.getConnection(url, p);
    }

    /** Returns {iterations, stale reads} for one phase. */
    private long[] writeThenRead(ReplicantDataSource ds, String mode) throws SQLException {
        try (Connection c = ds.getConnection();
                PreparedStatement update = c.prepareStatement(
                        "UPDATE bench_accounts SET abalance = abalance + 1 WHERE aid = ? RETURNING abalance");
                PreparedStatement select = c.prepareStatement("SELECT abalance FROM bench_accounts WHERE aid = ?")) {
            c.unwrap(ReplicantConnection.class).setConsistency(mode);
            long iterations = 0;
            long stale = 0;
            long end = System.nanoTime() + phaseNanos;
            while (System.nanoTime() < end) {
                int aid = ThreadLocalRandom.current().nextInt(1, rows + 1);
                update.setInt(1, aid);
                int written;
                try (ResultSet rs = update.executeQuery()) {
                    rs.next();
                    written = rs.getInt(1);
                }
                select.setInt(1, aid);
                try (ResultSet rs = select.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) != written) {
                        stale++;
                    }
                }
                iterations++;
            }
            return new long[] {iterations, stale};
        }
    }

    @FunctionalInterface
    private interface ConnectionSource {
        Connection get() throws SQLException;
    }

    /** Milliseconds per commit over one phase. */
    private double[] commitLatencies(ConnectionSource source) throws SQLException {
        List<Double> millis = new ArrayList<>();
        try (Connection c = source.get();
                PreparedStatement update = c.prepareStatement(
                        "UPDATE bench_accounts SET abalance = abalance + 1 WHERE aid = ?")) {
            long end = System.nanoTime() + phaseNanos;
            while (System.nanoTime() < end) {
                update.setInt(1, ThreadLocalRandom.current().nextInt(1, rows + 1));
                long start = System.nanoTime();
                update.executeUpdate();
                millis.add((System.nanoTime() - start) / 1e6);
            }
        }
        return millis.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The same loop on {@code url} (the primary, or a proxy), with PostgreSQL's own quorum synchronous replication on. */
    private double[] nativeSyncLatencies(String url) throws SQLException {
        List<String> names = cluster.replicas().stream().map(PgNode::name).toList();
        setSyncStandbys("ANY 2 (" + String.join(", ", names) + ")");
        try {
            return commitLatencies(() -> connect(url, "-c synchronous_commit=remote_apply"));
        } finally {
            setSyncStandbys("");
        }
    }

    private void setSyncStandbys(String value) throws SQLException {
        try (Connection c = cluster.primary().connect("postgres"); Statement s = c.createStatement()) {
            s.execute("ALTER SYSTEM SET synchronous_standby_names = '" + value + "'");
            s.execute("SELECT pg_reload_conf()");
            PgNode.sleep(200); // the reload is asynchronous
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** Median over rounds of each round's p50 and p99. */
    private static double[] percentiles(double[][] rounds) {
        double[][] each = roundPercentiles(rounds);
        return new double[] {median(each[0]), median(each[1])};
    }

    /** Each round's {p50s, p99s}. */
    private static double[][] roundPercentiles(double[][] rounds) {
        double[] p50 = new double[rounds.length];
        double[] p99 = new double[rounds.length];
        for (int i = 0; i < rounds.length; i++) {
            double[] sorted = rounds[i].clone();
            Arrays.sort(sorted);
            p50[i] = sorted[sorted.length / 2];
            p99[i] = sorted[(int) Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
        }
        return new double[][] {p50, p99};
    }

    /**
     * The ratio of each round's p50 and p99, ours to PostgreSQL's, as a table row: on a 2-core VM the p99 of one
     * round can differ from the next by more than the target's margin, so the spread is shown with the median.
     */
    private static String ratiosPerRound(String label, double[][] ours, double[][] theirs) {
        double[][] a = roundPercentiles(ours);
        double[][] b = roundPercentiles(theirs);
        StringBuilder p50 = new StringBuilder();
        StringBuilder p99 = new StringBuilder();
        for (int i = 0; i < ours.length; i++) {
            p50.append(i == 0 ? "" : ", ").append(String.format("%.2f×", a[0][i] / b[0][i]));
            p99.append(i == 0 ? "" : ", ").append(String.format("%.2f×", a[1][i] / b[1][i]));
        }
        return "| " + label + " | " + p50 + " | " + p99 + " |";
    }
}
