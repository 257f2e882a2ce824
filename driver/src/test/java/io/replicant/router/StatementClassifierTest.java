package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.replicant.config.StatementKind;

/** Text-only classification, table-driven. The real-cluster suite checks the same rules end to end. */
class StatementClassifierTest {
    private final StatementClassifier classifier = new StatementClassifier();

    @ParameterizedTest(name = "{0} -> {1} {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "SELECT 1                                                  | READ        | read",
            "select * from t where id = ?                              | READ        | read",
            "SELECT a, count(*) FROM t GROUP BY a ORDER BY 2 DESC      | READ        | read",
            "WITH x AS (SELECT 1) SELECT * FROM x                      | READ        | read",
            "VALUES (1), (2)                                           | READ        | read",
            "(SELECT 1) UNION (SELECT 2)                               | READ        | read",
            "SHOW search_path                                          | READ        | read",
            "EXPLAIN SELECT * FROM t                                   | READ        | read",
            "EXPLAIN (ANALYZE false) SELECT 1                          | READ        | read",
            "EXPLAIN ANALYZE SELECT 1                                  | WRITE       | explain_analyze",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT 1                       | WRITE       | explain_analyze",
            "EXPLAIN ANALYSE SELECT 1                                  | WRITE       | explain_analyze",
            "SELECT random(), now(), pg_is_in_recovery()               | READ        | read",
            "SELECT 'insert into t values (1)'                         | READ        | read",
            "SELECT $$ delete from t $$                                | READ        | read",
            "SELECT E'it\\'s; DELETE FROM t'                           | READ        | read",
            "SELECT 1 -- ; DELETE FROM t                               | READ        | read",
            "SELECT /* nested /* ; delete */ still comment */ 1        | READ        | read",
            "SELECT \"update\" FROM t                                  | READ        | read",
            "INSERT INTO t VALUES (1)                                  | WRITE       | write",
            "update t set a = 1                                        | WRITE       | write",
            "DELETE FROM t WHERE id = 1                                | WRITE       | write",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE | WRITE    | write",
            "TRUNCATE t                                                | WRITE       | write",
            "COPY t FROM STDIN                                         | WRITE       | write",
            "CREATE TABLE t2 (id int)                                  | WRITE       | write",
            "ALTER TABLE t ADD COLUMN b int                            | WRITE       | write",
            "DROP TABLE t2                                             | WRITE       | write",
            "CALL p()                                                  | WRITE       | write",
            "DO $$ BEGIN PERFORM 1; END $$                             | WRITE       | write",
            "LOCK TABLE t IN ACCESS EXCLUSIVE MODE                     | WRITE       | write",
            "GRANT SELECT ON t TO PUBLIC                               | WRITE       | write",
            "VACUUM t                                                  | WRITE       | write",
            "ANALYZE t                                                 | WRITE       | write",
            "NOTIFY chan                                               | WRITE       | write",
            "SELECT * FROM t FOR UPDATE                                | WRITE       | locking_read",
            "SELECT * FROM t FOR SHARE                                 | WRITE       | locking_read",
            "SELECT * FROM t FOR NO KEY UPDATE                         | WRITE       | locking_read",
            "SELECT * FROM t FOR KEY SHARE SKIP LOCKED                 | WRITE       | locking_read",
            "SELECT * INTO t3 FROM t                                   | WRITE       | select_into",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d     | WRITE       | writable_cte",
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x         | WRITE       | writable_cte",
            "SELECT nextval('s')                                       | WRITE       | writer_function",
            "SELECT currval('s'), lastval()                            | WRITE       | writer_function",
            "SELECT pg_advisory_lock(1)                                | WRITE       | writer_function",
            "SELECT pg_try_advisory_xact_lock(1)                       | WRITE       | writer_function",
            "SELECT set_config('a.b', 'c', false)                      | WRITE       | writer_function",
            "SELECT pg_notify('c', 'p')                                | WRITE       | writer_function",
            "SELECT lo_create(0)                                       | WRITE       | writer_function",
            "SELECT txid_current()                                     | WRITE       | writer_function",
            "SELECT pg_catalog.nextval('s')                            | WRITE       | writer_function",
            "SELECT 1; DELETE FROM t                                   | WRITE       | multi_statement_write",
            "SELECT 1; SELECT 2                                        | READ        | read",
            "SELECT a @? '$.x' FROM t                                  | UNSURE      | unparseable",
            "SELECT 'unterminated                                      | UNSURE      | unparseable",
            "SET search_path TO app                                    | SESSION     | session_state",
            "RESET ALL                                                 | SESSION     | session_state",
            "DISCARD ALL                                               | SESSION     | session_state",
            "LISTEN chan                                               | SESSION     | session_state",
            "PREPARE q AS SELECT 1                                     | SESSION     | session_state",
            "EXECUTE q                                                 | SESSION     | session_state",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1                   | SESSION     | session_state",
            "BEGIN                                                     | TRANSACTION | transaction",
            "BEGIN READ ONLY                                           | TRANSACTION | transaction",
            "COMMIT                                                    | TRANSACTION | transaction",
            "SET TRANSACTION READ ONLY                                 | TRANSACTION | transaction",
            "SET LOCAL statement_timeout = 5                           | TRANSACTION | transaction",
            "frobnicate the database                                   | WRITE       | unparseable",
            "/* only a comment */                                     | WRITE       | empty",
    })
    void classifies(String sql, Verdict verdict, String reason) {
        Classification c = classifier.classify(sql);
        assertEquals(verdict, c.verdict(), () -> "verdict of " + sql + ": " + c);
        assertEquals(reason, c.reason().tag(), () -> "reason of " + sql + ": " + c);
    }

    @Test
    void functionCallsAreFoundButNotKeywordsAliasesOrCtes() {
        Classification c = classifier.classify("WITH q(a) AS (SELECT my_fn(1)) SELECT coalesce(a, 0), s.other_fn(a)::numeric(10,2) "
                + "FROM q, generate_series(1, 3) g(i) JOIN t AS x(b) ON true WHERE a IN (1, 2) AND EXISTS (SELECT 1)");
        assertEquals(Set.of("my_fn", "other_fn", "generate_series"), c.functions());
    }

    @Test
    void tablesAreCollectedQualifiedAndBare() {
        Classification c = classifier.classify("SELECT * FROM sales.orders o, customers JOIN \"Items\" i ON true");
        assertTrue(c.tables().containsAll(Set.of("sales.orders", "orders", "customers", "Items")), c.tables()::toString);
    }

    @Test
    void hintsComeFromLeadingCommentsOnly() {
        assertEquals("replica", classifier.classify("/* replicant:route=replica */ SELECT nextval('s')").hints().route());
        assertEquals("primary", classifier.classify("-- replicant:route=primary\nSELECT 1").hints().route());
        Hints tagged = classifier.classify("/* app */ /* replicant:tag=reporting, label=dash */ SELECT 1").hints();
        assertEquals("reporting", tagged.tag());
        assertEquals("dash", tagged.label());
        assertFalse(classifier.classify("SELECT '/* replicant:route=replica */' FROM t").hints().present());
        assertFalse(classifier.classify("SELECT 1 /* replicant:route=replica */").hints().present());
        assertNotNull(classifier.classify("/* replicant:rout=replica */ SELECT 1").hints().error());
        assertNull(classifier.classify("/* just a comment */ SELECT 1").hints().error());
    }

    @Test
    void sessionEffects() {
        Classification set = classifier.classify("SET search_path TO app, public");
        assertEquals(List.of(new SessionEffect(SessionEffect.Type.SET, "SET search_path TO app, public", List.of())),
                set.effects());
        assertEquals(List.of(SessionEffect.of(SessionEffect.Type.CREATE_TEMP, List.of("scratch"))),
                classifier.classify("CREATE TEMP TABLE IF NOT EXISTS scratch (id int)").effects());
        assertEquals(List.of(SessionEffect.of(SessionEffect.Type.CREATE_TEMP, List.of("t9"))),
                classifier.classify("SELECT * INTO TEMPORARY TABLE t9 FROM t").effects());
        assertTrue(classifier.classify("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").readOnlyBegin());
        assertTrue(classifier.classify("SET TRANSACTION READ ONLY").readOnlyBegin());
        assertFalse(classifier.classify("BEGIN").readOnlyBegin());
        assertTrue(classifier.classify("SELECT pg_advisory_lock(1)").sessionBound());
        assertFalse(classifier.classify("SELECT pg_advisory_unlock_all()").sessionBound());
        assertFalse(classifier.classify("SELECT pg_advisory_unlock_shared(1)").sessionBound());
        assertEquals(Verdict.WRITE, classifier.classify("SELECT pg_advisory_unlock(1)").verdict(), "on the primary");
        assertEquals(StatementKind.SAVEPOINT, classifier.classify("ROLLBACK TO SAVEPOINT s1").kind());
        assertEquals(List.of(SessionEffect.of(SessionEffect.Type.DISCARD_ALL)),
                classifier.classify("DISCARD ALL").effects());
        assertEquals(List.of(), classifier.classify("DISCARD PLANS").effects(), "settings stay as they are");
        assertEquals(List.of(), classifier.classify("DISCARD SEQUENCES").effects());
    }

    /** Where a text's transaction block ends: {@code |} marks the expected offset in each case. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '#', value = {
            "SELECT 1; COMMIT|; INSERT INTO t VALUES (1)",
            "end|",
            "ROLLBACK WORK|; SELECT 1",
            "abort| /* ; */; SELECT 1",
            "SELECT 'COMMIT'; COMMIT AND NO CHAIN|; SELECT 2",
            "COMMIT AND CHAIN; SELECT 1; ROLLBACK|; SELECT 2",
            "ROLLBACK TO SAVEPOINT s; SAVEPOINT t; PREPARE TRANSACTION 'x'|; SELECT 1",
            "SELECT 1; /* COMMIT; */ SELECT 2",
            "SELECT 'unterminated; COMMIT"})
    void transactionBlockEnd(String marked) { // no mark: -1
        String sql = marked.replace("|", "");
        assertEquals(marked.indexOf('|'), StatementClassifier.transactionBlockEnd(sql), sql);
    }
}
