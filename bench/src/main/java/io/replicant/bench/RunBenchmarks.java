package io.replicant.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import io.replicant.testkit.LocalPostgresCluster;

/**
 * One run of every benchmark, with the baseline measured in the same run: starts a local primary and two
 * streaming replicas, loads {@code bench_accounts}, runs {@link PointSelectBenchmark} at 1 and 8 threads and
 * {@link ClassificationBenchmark}, then {@link ConsistencyBenchmark}, and prints the results as ratios against
 * baselines from the same run. {@code --quick} shortens every iteration (for checking the harness, not for
 * numbers); {@code --only driver} or {@code --only consistency} runs one part.
 */
public final class RunBenchmarks {
    private static final int ROWS = 100_000;

    private RunBenchmarks() {
    }

    public static void main(String[] args) throws RunnerException, SQLException {
        List<String> arguments = List.of(args);
        boolean quick = arguments.contains("--quick");
        int only = arguments.indexOf("--only");
        String part = only >= 0 && only + 1 < arguments.size() ? arguments.get(only + 1) : "all";
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(2).start()) {
            load(cluster);
            if (!part.equals("consistency")) {
                runDriver(cluster, quick);
            }
            if (!part.equals("driver")) {
                new ConsistencyBenchmark(cluster, ROWS, quick).run();
            }
        }
    }

    private static void runDriver(LocalPostgresCluster cluster, boolean quick) throws RunnerException {
        String[] jvmArgs = {
            "-Dbench.primary=" + cluster.primary().address(),
            "-Dbench.hosts=" + cluster.hostList(),
            "-Dbench.database=" + LocalPostgresCluster.APP_DATABASE,
            "-Dbench.user=" + LocalPostgresCluster.APP_USER,
            "-Dbench.password=" + LocalPostgresCluster.APP_PASSWORD,
            "-Dbench.rows=" + ROWS,
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        };
        Map<Integer, Map<String, RunResult>> selects = new LinkedHashMap<>();
        for (int threads : new int[] {1, 8}) {
            ChainedOptionsBuilder options = common(quick).include(PointSelectBenchmark.class.getName())
                    .threads(threads).jvmArgsAppend(jvmArgs);
            selects.put(threads, byParam(new Runner(options.build()).run(), "target"));
        }
        // microseconds per operation: shorter iterations give as many samples
        Collection<RunResult> classification = new Runner(common(quick)
                .warmupTime(TimeValue.seconds(quick ? 1 : 2)).measurementTime(TimeValue.seconds(quick ? 1 : 2))
                .include(ClassificationBenchmark.class.getName()).build()).run();
        print(selects, classification);
    }

    private static ChainedOptionsBuilder common(boolean quick) {
        return new OptionsBuilder().forks(1).shouldFailOnError(true)
                .warmupIterations(quick ? 1 : 3).warmupTime(TimeValue.seconds(quick ? 1 : 5))
                .measurementIterations(quick ? 1 : 5).measurementTime(TimeValue.seconds(quick ? 1 : 10));
    }

    private static void load(LocalPostgresCluster cluster) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", LocalPostgresCluster.APP_USER);
        p.setProperty("password", LocalPostgresCluster.APP_PASSWORD);
        try (Connection c = DriverManager.getConnection(cluster.primary().jdbcUrl(LocalPostgresCluster.APP_DATABASE), p);
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE bench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))");
            s.execute("INSERT INTO bench_accounts SELECT g, 1, g % 1000, '' FROM generate_series(1, " + ROWS + ") g");
            s.execute("VACUUM ANALYZE bench_accounts");
        }
        cluster.awaitReplay();
    }

    private static Map<String, RunResult> byParam(Collection<RunResult> results, String param) {
        Map<String, RunResult> out = new LinkedHashMap<>();
        for (RunResult r : results) {
            out.put(r.getParams().getParam(param), r);
        }
        return out;
    }

    private static void print(Map<Integer, Map<String, RunResult>> selects, Collection<RunResult> classification) {
        System.out.println();
        System.out.println("Point SELECT by primary key, PreparedStatement, one connection per thread (ops/s, higher is better)");
        System.out.println();
        System.out.println("| threads | direct pgjdbc | Replicant, primary only | ratio | Replicant, primary + 2 replicas | ratio |");
        System.out.println("|---:|---:|---:|---:|---:|---:|");
        for (Map.Entry<Integer, Map<String, RunResult>> e : selects.entrySet()) {
            double direct = score(e.getValue().get("direct"));
            double primary = score(e.getValue().get("replicant-primary"));
            double replicas = score(e.getValue().get("replicant-replicas"));
            System.out.printf("| %d | %s | %s | %.3f× | %s | %.3f× |%n", e.getKey(), opsWithError(e.getValue().get("direct")),
                    opsWithError(e.getValue().get("replicant-primary")), primary / direct,
                    opsWithError(e.getValue().get("replicant-replicas")), replicas / direct);
        }
        System.out.println();
        System.out.println("Classification cost per statement (ns/op, lower is better)");
        System.out.println();
        System.out.println("| statement | cached | same shape, new literal | uncached |");
        System.out.println("|---|---:|---:|---:|");
        Map<String, Map<String, RunResult>> bySql = new LinkedHashMap<>();
        for (RunResult r : classification) {
            String method = r.getParams().getBenchmark().substring(r.getParams().getBenchmark().lastIndexOf('.') + 1);
            bySql.computeIfAbsent(r.getParams().getParam("sql"), k -> new LinkedHashMap<>()).put(method, r);
        }
        for (Map.Entry<String, Map<String, RunResult>> e : bySql.entrySet()) {
            String sql = e.getKey().length() > 60 ? e.getKey().substring(0, 57) + "..." : e.getKey();
            System.out.printf("| `%s` | %.0f ± %.0f | %.0f ± %.0f | %.0f ± %.0f |%n", sql,
                    score(e.getValue().get("cached")), error(e.getValue().get("cached")),
                    score(e.getValue().get("newLiteral")), error(e.getValue().get("newLiteral")),
                    score(e.getValue().get("uncached")), error(e.getValue().get("uncached")));
        }
    }

    private static double score(RunResult r) {
        return r.getPrimaryResult().getScore();
    }

    private static double error(RunResult r) {
        double e = r.getPrimaryResult().getScoreError();
        return Double.isNaN(e) ? 0 : e;
    }

    private static String opsWithError(RunResult r) {
        return String.format("%.0f ± %.0f", score(r), error(r));
    }
}
