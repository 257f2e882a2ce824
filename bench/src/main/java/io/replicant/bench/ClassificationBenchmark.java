package io.replicant.bench;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import io.replicant.router.Classification;
import io.replicant.router.ClassificationCache;
import io.replicant.router.StatementClassifier;

/**
 * Cost of classifying one statement: through the cache (a hit on the same text), through the cache with a new
 * literal each time (a hit on the literal shape, as for an app or pgbench that inlines its values), and from
 * scratch (lexer + JSqlParser).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ClassificationBenchmark {
    @Param({
        "SELECT abalance FROM bench_accounts WHERE aid = ?",
        "UPDATE bench_accounts SET abalance = abalance + ? WHERE aid = ?",
        "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = ? ORDER BY o.created_at DESC LIMIT 20"
    })
    public String sql;

    private final StatementClassifier classifier = new StatementClassifier();
    private ClassificationCache cache;
    /** The statement with its parameters written as literals, 1,024 different values. */
    private final String[] withLiterals = new String[1024];
    private int next;

    @Setup
    public void warmCache() {
        cache = new ClassificationCache(classifier, 10_000, ClassificationCache.CacheListener.NONE);
        cache.get(sql);
        for (int i = 0; i < withLiterals.length; i++) {
            withLiterals[i] = sql.replace("?", Integer.toString(100_000 + i * 7919));
        }
        cache.get(withLiterals[0]);
    }

    @Benchmark
    public Classification cached() {
        return cache.get(sql);
    }

    @Benchmark
    public Classification newLiteral() {
        return cache.get(withLiterals[next++ & (withLiterals.length - 1)]);
    }

    @Benchmark
    public Classification uncached() {
        return classifier.classify(sql);
    }
}
