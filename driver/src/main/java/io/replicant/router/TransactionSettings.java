package io.replicant.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.replicant.config.StatementKind;

/**
 * When a session's settings changes (SET, RESET, RESET ALL, DISCARD ALL) become its own, as PostgreSQL decides:
 * outside a transaction block at once; inside one only when the block commits. A rollback undoes them, and
 * ROLLBACK TO SAVEPOINT undoes those made after the savepoint. Whoever replays settings onto the session's other
 * server connections must replay only what committed, on whichever server the transaction ran.
 */
public final class TransactionSettings {
    private static final StatementClassifier CLASSIFIER = new StatementClassifier();
    /** First words of the statements of a multi-statement text that can change settings or a block. */
    private static final Set<String> SETTLING_WORDS = Set.of("begin", "start", "commit", "end", "rollback", "abort",
            "savepoint", "release", "prepare", "set", "reset", "discard");

    private final List<SessionEffect> pending = new ArrayList<>();
    private final List<Savepoint> savepoints = new ArrayList<>();
    private boolean inBlock;
    private boolean failed;

    /** A savepoint and how many changes were pending when it was set. */
    private record Savepoint(String name, int pendingBefore) {
    }

    /**
     * The server's transaction status after a statement or exchange ('I' idle, 'T' in a block, 'E' in a failed one).
     * Idle drops what was pending: the block ended without a COMMIT this class saw succeed.
     */
    public void status(char status) {
        inBlock = status != 'I';
        failed = status == 'E';
        if (!inBlock) {
            pending.clear();
            savepoints.clear();
        }
    }

    /** A block is open before the next statement though no BEGIN was seen (pgjdbc begins one without autocommit). */
    public void inBlock() {
        inBlock = true;
    }

    /**
     * After {@code c} succeeded: its settings changes and the block's it committed that are the session's from now
     * on, in the order they ran; empty if none.
     */
    public List<SessionEffect> succeeded(Classification c) {
        if (c.statementCount() > 1) {
            return succeededEach(c.sql());
        }
        if (c.effects().isEmpty() && !isTransactionControl(c.kind())) {
            return List.of(); // most statements
        }
        List<SessionEffect> settled = new ArrayList<>();
        step(c, settled);
        return settled;
    }

    /** A multi-statement text: its statements are taken one by one, transaction control in between. */
    private List<SessionEffect> succeededEach(String sql) {
        List<SessionEffect> settled = new ArrayList<>();
        SqlLexer.Result lexed = SqlLexer.lex(sql);
        for (SqlLexer.Statement statement : lexed.statements()) {
            if (SETTLING_WORDS.contains(statement.first().text())) {
                step(CLASSIFIER.classify(statement.text(sql)), settled);
            }
        }
        return settled;
    }

    private void step(Classification c, List<SessionEffect> settled) {
        switch (c.kind()) {
            case BEGIN -> inBlock = true;
            case COMMIT -> {
                if (inBlock && !failed) {
                    settled.addAll(pending);
                }
                status('I');
            }
            case ROLLBACK -> status('I');
            case SAVEPOINT -> savepointStatement(c.sql());
            default -> {
                for (SessionEffect effect : c.effects()) {
                    if (!changesSettings(effect)) {
                        continue;
                    }
                    (inBlock ? pending : settled).add(effect);
                }
            }
        }
    }

    private static boolean isTransactionControl(StatementKind kind) {
        return kind == StatementKind.BEGIN || kind == StatementKind.COMMIT || kind == StatementKind.ROLLBACK
                || kind == StatementKind.SAVEPOINT;
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
        if (tokens.size() < 2 || !name.isName()) {
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
        status('I');
        return settled;
    }
}
