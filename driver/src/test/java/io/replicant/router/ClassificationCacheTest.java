package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Random;

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

    /** The shape scan (which builds no tokens) finds exactly the literals of the full token stream. */
    @Test
    void shapesAgreeWithTheTokenStreamOnRandomText() {
        String[] pieces = {"SELECT ", "x", " ", "'a''b'", "E'c\\'d'", "e'", "B'01'", "U&'q'", "U&\"i\"", "\"q\"\"i\"",
            "$$", "$t$", "$1", "42", "4.5e3", ".5", "1..2", "--c\n", "/*", "*/", ";", "(", ")", "[", "]", ",", ".",
            "?", "::int", "$", "_a$b", "é", "'", "\n"};
        Random random = new Random(20261123);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sql = new StringBuilder();
            for (int n = random.nextInt(12); n >= 0; n--) {
                sql.append(pieces[random.nextInt(pieces.length)]);
            }
            assertEquals(shapeFromTokens(sql.toString()), SqlLexer.literalShape(sql.toString()), sql.toString());
        }
    }

    private static String shapeFromTokens(String sql) {
        SqlLexer.Result lexed = SqlLexer.lex(sql);
        if (lexed.failed()) {
            return null;
        }
        StringBuilder shape = new StringBuilder();
        int copied = 0;
        for (SqlLexer.Statement statement : lexed.statements()) {
            for (Token t : statement.tokens()) {
                if (t.type() == Token.Type.STRING || t.type() == Token.Type.NUMBER) {
                    shape.append(sql, copied, t.start()).append('\0');
                    copied = t.end();
                }
            }
        }
        return copied == 0 ? null : shape.append(sql, copied, sql.length()).toString();
    }
}
