package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class TransactionSettingsTest {
    private final StatementClassifier classifier = new StatementClassifier();
    private final TransactionSettings settings = new TransactionSettings();

    /**
     * Runs the texts as one successful exchange (a simple query each, or extended-protocol messages up to one Sync)
     * that leaves the server in {@code status} ('I', 'T', 'E'), and returns the settings texts that became the
     * session's (RESET ALL for RESET ALL and DISCARD ALL).
     */
    private List<String> run(char status, String... texts) {
        List<SessionEffect> settled = new ArrayList<>();
        for (String text : texts) {
            settled.addAll(settings.succeeded(classifier.classify(text)));
        }
        settled.addAll(settings.exchangeEnded(status, false));
        return texts(settled);
    }

    private static List<String> texts(List<SessionEffect> effects) {
        return effects.stream().map(e -> e.type() == SessionEffect.Type.SET ? e.sql() : "RESET ALL").toList();
    }

    @Test
    void outsideABlockASettingIsTheSessionsAtOnce() {
        assertEquals(List.of("SET a.x = 1"), run('I', "SET a.x = 1"));
        assertEquals(List.of("RESET ALL"), run('I', "DISCARD ALL"));
        assertEquals(List.of(), run('I', "DISCARD PLANS", "SELECT 1", "SET LOCAL a.x = 2"));
    }

    @Test
    void insideABlockItWaitsForTheCommit() {
        assertEquals(List.of(), run('T', "BEGIN", "SET a.x = 1"));
        assertEquals(List.of(), run('T', "RESET ALL", "SET a.y = 2"));
        assertEquals(List.of("SET a.x = 1", "RESET ALL", "SET a.y = 2"), run('I', "COMMIT"));
    }

    @Test
    void aRollbackUndoesThem() {
        assertEquals(List.of(), run('T', "BEGIN", "SET a.x = 1"));
        assertEquals(List.of(), run('I', "ROLLBACK"));
        assertEquals(List.of(), run('I', "COMMIT"), "nothing left to commit");
    }

    @Test
    void theCommitOfAFailedBlockRollsBack() {
        assertEquals(List.of(), run('T', "BEGIN", "SET a.x = 1"));
        assertEquals(List.of(), settings.exchangeEnded('E', true)); // a statement failed
        assertEquals(List.of(), run('I', "COMMIT"));
    }

    @Test
    void aBlockThatEndsWithoutACommitSeenDropsThem() {
        assertEquals(List.of(), run('T', "BEGIN", "SET a.x = 1"));
        assertEquals(List.of(), settings.exchangeEnded('I', true)); // a deferred constraint failed the COMMIT
        assertEquals(List.of(), run('I', "COMMIT"));
    }

    @Test
    void rollbackToSavepointUndoesWhatFollowedIt() {
        assertEquals(List.of(), run('T', "BEGIN", "SET a.x = 1", "SAVEPOINT s1", "SET a.y = 2", "SAVEPOINT \"S2\"",
                "SET a.z = 3"));
        assertEquals(List.of(), run('T', "ROLLBACK TO SAVEPOINT s1", "SET a.w = 4"));
        assertEquals(List.of("SET a.x = 1", "SET a.w = 4"), run('I', "COMMIT"));
    }

    @Test
    void releaseKeepsTheChangesButForgetsTheSavepoint() {
        run('T', "BEGIN", "SAVEPOINT s1", "SET a.x = 1", "SAVEPOINT s2", "SET a.y = 2", "RELEASE SAVEPOINT s2");
        assertEquals(List.of("SET a.x = 1", "SET a.y = 2"), run('I', "END"));
        run('T', "BEGIN", "SET a.x = 1", "SAVEPOINT s1", "SAVEPOINT s2", "SET a.y = 2", "RELEASE s2");
        assertEquals(List.of("SET a.x = 1"), run('I', "ROLLBACK TO s1", "COMMIT"));
    }

    @Test
    void theNewestSavepointOfANameCounts() {
        run('T', "BEGIN", "SAVEPOINT s", "SET a.x = 1", "SAVEPOINT s", "SET a.y = 2", "ROLLBACK WORK TO s");
        assertEquals(List.of("SET a.x = 1"), run('I', "COMMIT"));
    }

    @Test
    void aMultiStatementTextIsTakenStatementByStatement() {
        assertEquals(List.of("SET a.z = 3"),
                run('I', "SET a.x = 1; BEGIN; SET a.y = 2; ROLLBACK; BEGIN; SET a.z = 3; COMMIT; SELECT 1"));
        assertEquals(List.of(), run('T', "BEGIN; SET a.x = 1; SAVEPOINT s; SET a.y = 2"));
        assertEquals(List.of("SET a.x = 1"), run('I', "ROLLBACK TO s; SELECT 1; COMMIT"));
        run('T', "BEGIN; SAVEPOINT t; SELECT 1"); // nothing pending, nothing changed, but a savepoint to follow
        run('T', "SET a.y = 2");
        assertEquals(List.of(), run('I', "ROLLBACK TO t", "COMMIT"));
    }

    /** PostgreSQL's implicit transaction of an exchange: a BEGIN in it draws in what ran before it. */
    @Test
    void whatRanBeforeABeginInTheSameExchangeJoinsItsBlock() {
        assertEquals(List.of(), run('T', "SET a.x = 1; BEGIN"));
        assertEquals(List.of(), run('I', "ROLLBACK"));
        assertEquals(List.of(), run('T', "SET a.x = 1", "BEGIN", "SET a.y = 2"));
        assertEquals(List.of("SET a.x = 1", "SET a.y = 2"), run('I', "COMMIT"));
    }

    @Test
    void anImplicitTransactionEndsWithItsExchangeOrACommitOrRollbackInIt() {
        assertEquals(List.of("SET a.x = 1"), run('I', "SET a.x = 1; COMMIT; SET a.y = 2; ROLLBACK"));
        assertEquals(List.of("SET a.x = 1", "SET a.y = 2"), run('I', "SET a.x = 1", "SET a.y = 2"));
        settings.succeeded(classifier.classify("SET a.x = 1"));
        assertEquals(List.of(), settings.exchangeEnded('I', true), "an error rolled it back");
    }

    @Test
    void aBlockPgjdbcOpenedWithoutABeginHoldsThemToo() {
        settings.blockOpen(true);
        assertEquals(List.of(), run('T', "SET a.x = 1"));
        assertEquals(List.of("SET a.x = 1"), texts(settings.committed()));
        assertEquals(List.of(), settings.committed(), "once");
    }

    @Test
    void preparedTransactionKeepsThem() {
        run('T', "BEGIN", "SET a.x = 1");
        assertEquals(List.of("SET a.x = 1"), run('I', "PREPARE TRANSACTION 'g1'"));
    }

    @Test
    void aTextThatFailsPartWayKeepsWhatItsCommitsCommitted() {
        Classification text = classifier.classify("SET a.x = 1; COMMIT; SET a.y = 2; SELECT 1/0");
        assertEquals(List.of("SET a.x = 1"), texts(settings.failedAfter(text, 3)));
        assertEquals(List.of(), settings.exchangeEnded('I', true), "a.y rolled back with the failed statement");
        assertEquals(List.of(), settings.failedAfter(text, 1), "failed before its COMMIT");
        assertEquals(List.of(), settings.exchangeEnded('I', true));

        Classification block = classifier.classify("BEGIN; SET a.z = 3; SAVEPOINT s; SET a.w = 4; SELECT 1/0");
        assertEquals(List.of(), settings.failedAfter(block, 4));
        assertEquals(List.of(), settings.exchangeEnded('E', true));
        assertEquals(List.of(), run('T', "ROLLBACK TO SAVEPOINT s"));
        assertEquals(List.of("SET a.z = 3"), run('I', "COMMIT"), "what preceded the savepoint, seen in the failed text");
    }
}
