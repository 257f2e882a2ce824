package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** Texts that differ only in literal values share one classification; anything else does not. */
class ClassificationCacheTest {
    private int hits;
    private int misses;
    private final ClassificationCache cache = new ClassificationCache(new StatementClassifier(), 100,
            new ClassificationCache.CacheListener() {
                @Override
                public void hit() {
                    hits++;
                }

                @Override
                public void miss() {
                    misses++;
                }
            });

    @Test
    void textsOfOneLiteralShapeShareAClassificationButKeepTheirOwnText() {
        Classification first = cache.get("SELECT abalance FROM pgbench_accounts WHERE aid = 17");
        Classification second = cache.get("SELECT abalance FROM pgbench_accounts WHERE aid = 4242");
        Classification third = cache.get("SELECT name FROM t WHERE name = 'it''s; DELETE FROM t' LIMIT 3");
        Classification fourth = cache.get("SELECT name FROM t WHERE name = E'x' LIMIT 10");
        assertEquals(2, hits, "the second and fourth text are hits");
        assertEquals(2, misses);
        assertEquals(Verdict.READ, second.verdict());
        assertEquals("SELECT abalance FROM pgbench_accounts WHERE aid = 4242", second.sql());
        assertEquals(first.tables(), second.tables());
        assertEquals(Verdict.READ, third.verdict());
        assertEquals("SELECT name FROM t WHERE name = E'x' LIMIT 10", fourth.sql());
    }

    @Test
    void hintsAndStructureAreNotLiterals() {
        Classification plain = cache.get("SELECT * FROM t WHERE id = 1");
        Classification hinted = cache.get("/* replicant: route=primary */ SELECT * FROM t WHERE id = 2");
        Classification write = cache.get("SELECT * FROM t WHERE id = 3; DELETE FROM t WHERE id = 3");
        assertEquals(0, hits);
        assertEquals(Verdict.READ, plain.verdict());
        assertEquals("primary", hinted.hints().route());
        assertEquals(Verdict.WRITE, write.verdict());
    }

    @Test
    void sessionEffectsKeepTheirExactText() {
        cache.get("SET statement_timeout = 1000");
        Classification other = cache.get("SET statement_timeout = 2000");
        assertEquals(0, hits);
        assertEquals("SET statement_timeout = 2000", other.effects().get(0).sql());
    }

    @Test
    void shapesReplaceEveryLiteralAndNothingElse() {
        assertEquals("SELECT \0, \0 FROM t WHERE a = \0 /* 5 */", SqlLexer.literalShape(
                "SELECT 'a', $q$b$q$ FROM t WHERE a = 1.5e3 /* 5 */"));
        assertNull(SqlLexer.literalShape("SELECT a FROM t"));
        assertNull(SqlLexer.literalShape("SELECT 'unterminated"));
    }
}
