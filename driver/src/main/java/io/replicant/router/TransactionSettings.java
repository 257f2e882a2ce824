package io.replicant.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.replicant.config.StatementKind;

/**
 * When a session's settings changes (SET, RESET, RESET ALL, DISCARD ALL) become its own, as PostgreSQL decides: when
 * the transaction they ran in commits. Outside a transaction block that is the implicit one of their exchange (a
 * simple query, or extended-protocol messages up to Sync), which a later BEGIN in the same exchange draws into its
 * block and an error rolls back; inside a block, its COMMIT. A rollback undoes them, and ROLLBACK TO SAVEPOINT those
 * made after the savepoint. Whoever replays settings onto the session's other server connections must replay only
 * what committed, on whichever server the transaction ran.
 */
public final class TransactionSettings {
    private static final StatementClassifier CLASSIFIER = new StatementClassifier();
    /** First words of the statements of a multi-statement text that can change settings or a block. */
    private static final Set<String> SETTLING_WORDS = Set.of("begin", "start", "commit", "end", "rollback", "abort",
            "savepoint", "release", "prepare", "set", "reset", "discard");

    /** The changes of the current transaction: an explicit block's, or the exchange's implicit one's. */
    private final List<SessionEffect> pending = new ArrayList<>();
    private final List<Savepoint> savepoints = new ArrayList<>();
    private boolean inBlock;
    private boolean failed;

    /** A savepoint and how many changes were pending when it was set. */
    private record Savepoint(String name, int pendingBefore) {
    }

    /**
     * Whether a block is open before the next statement, as the caller knows it (pgjdbc begins one without a BEGIN
     * when autocommit is off; the proxy answers some BEGINs itself). A block that closed unseen committed nothing.
     */
    public void blockOpen(boolean open) {
        if (open) {
            inBlock = true;
        } else if (inBlock) {
            rolledBack();
        }
    }

    /**
     * After {@code c} succeeded: the changes a COMMIT in it made the session's, in the order they ran; empty if none
     * (most statements).
     */
    public List<SessionEffect> succeeded(Classification c) {
        boolean changes = changesSettings(c.effects());
        if (c.statementCount() > 1) {
            // Lexed again only when it matters: with nothing pending and no change in it, a block it opens or ends
            // is known from the exchange's status, and only a savepoint it sets would be missed later.
            return changes || !pending.isEmpty() || c.names().contains("savepoint")
                    ? succeededEach(c.sql(), Integer.MAX_VALUE) : List.of();
        }
        if (!changes && !isTransactionControl(c.kind())) {
            return List.of();
        }
        List<SessionEffect> settled = new ArrayList<>();
        step(c, settled);
        return settled;
    }

    /**
     * A multi-statement text failed after its first {@code completed} statements ran: the changes a COMMIT among
     * them made the session's (PostgreSQL keeps {@code a} of {@code SET a = 1; COMMIT; SELECT 1/0}). Call
     * {@link #exchangeEnded} next, as for any exchange.
     */
    public List<SessionEffect> failedAfter(Classification c, int completed) {
        return c.statementCount() > 1 && completed > 0 ? succeededEach(c.sql(), completed) : List.of();
    }

    /**
     * The exchange ended, leaving the server in {@code status} ('I' idle, 'T' in a block, 'E' in a failed one): the
     * changes its implicit transaction committed, if it succeeded, or none.
     */
    public List<SessionEffect> exchangeEnded(char status, boolean exchangeFailed) {
        if (status != 'I') {
            inBlock = true; // opened by the exchange, drawing in what ran before it
            failed = status == 'E';
            return List.of();
        }
        List<SessionEffect> settled = inBlock || exchangeFailed || pending.isEmpty() ? List.of() : List.copyOf(pending);
        rolledBack(); // a block that ended without a COMMIT seen (a deferred constraint failed it) committed nothing
        return settled;
    }

    /** A multi-statement text: its first {@code ran} statements are taken one by one, transaction control in between. */
    private List<SessionEffect> succeededEach(String sql, int ran) {
        List<SessionEffect> settled = new ArrayList<>();
        List<SqlLexer.Statement> statements = SqlLexer.lex(sql).statements();
        for (SqlLexer.Statement statement : statements.subList(0, Math.min(ran, statements.size()))) {
            if (SETTLING_WORDS.contains(statement.first().text())) {
                step(CLASSIFIER.classify(statement.text(sql)), settled);
            }
        }
        return settled;
    }

    private void step(Classification c, List<SessionEffect> settled) {
        switch (c.kind()) {
            case BEGIN -> inBlock = true;
            case COMMIT -> { // also an implicit transaction's, and PREPARE TRANSACTION, which keeps them too
                if (!failed) {
                    settled.addAll(pending);
                }
                rolledBack();
            }
            case ROLLBACK -> rolledBack();
            case SAVEPOINT -> savepointStatement(c.sql());
            default -> {
                for (SessionEffect effect : c.effects()) {
                    if (changesSettings(effect)) {
                        pending.add(effect);
                    }
                }
            }
        }
    }

    private static boolean isTransactionControl(StatementKind kind) {
        return kind == StatementKind.BEGIN || kind == StatementKind.COMMIT || kind == StatementKind.ROLLBACK
                || kind == StatementKind.SAVEPOINT;
    }

    private static boolean changesSettings(List<SessionEffect> effects) {
        for (SessionEffect effect : effects) { // on every statement: no stream
            if (changesSettings(effect)) {
                return true;
            }
        }
        return false;
    }

    private static boolean changesSettings(SessionEffect effect) {
        return effect.type() == SessionEffect.Type.SET || effect.type() == SessionEffect.Type.RESET_ALL
                || effect.type() == SessionEffect.Type.DISCARD_ALL;
    }

    /** SAVEPOINT name, RELEASE [SAVEPOINT] name, ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name. */
    private void savepointStatement(String sql) {
        SqlLexer.Result lexed = SqlLexer.lex(sql);
        if (lexed.failed() || lexed.statements().size() != 1) {
            return;
        }
        List<Token> tokens = lexed.statements().get(0).tokens();
        Token name = tokens.get(tokens.size() - 1);
        if (!name.isName()) {
            return;
        }
        switch (tokens.get(0).text()) {
            case "savepoint" -> savepoint(name.text());
            case "release" -> released(name.text());
            default -> rolledBackTo(name.text());
        }
    }

    /** A savepoint was set ({@code name} as the server knows it: unquoted names are lower-case). */
    public void savepoint(String name) {
        savepoints.add(new Savepoint(name, pending.size()));
    }

    /** ROLLBACK TO {@code name}: the changes since are undone; the savepoint stays. */
    public void rolledBackTo(String name) {
        int at = find(name);
        if (at >= 0) {
            pending.subList(savepoints.get(at).pendingBefore(), pending.size()).clear();
            savepoints.subList(at + 1, savepoints.size()).clear();
        }
        failed = false;
    }

    /** RELEASE {@code name}: it and the savepoints set after it are gone; the changes stay pending. */
    public void released(String name) {
        int at = find(name);
        if (at >= 0) {
            savepoints.subList(at, savepoints.size()).clear();
        }
    }

    /**
     * The newest savepoint of that name, or -1: one set in an exchange that failed was not seen, and the
     * changes after it were not either.
     */
    private int find(String name) {
        for (int i = savepoints.size() - 1; i >= 0; i--) {
            if (savepoints.get(i).name().equals(name)) {
                return i;
            }
        }
        return -1;
    }

    /** The block committed (the driver's Connection.commit()): what was pending, which is the session's now. */
    public List<SessionEffect> committed() {
        List<SessionEffect> settled = inBlock && !failed ? List.copyOf(pending) : List.of();
        rolledBack();
        return settled;
    }

    /** The block failed: its COMMIT rolls back, unless a ROLLBACK TO SAVEPOINT recovers it first. */
    public void failed() {
        inBlock = true;
        failed = true;
    }

    /** The transaction ended without committing its changes. */
    public void rolledBack() {
        pending.clear();
        savepoints.clear();
        inBlock = false;
        failed = false;
    }
}
