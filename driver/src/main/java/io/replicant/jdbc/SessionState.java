package io.replicant.jdbc;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.replicant.router.Classification;
import io.replicant.router.SessionEffect;
import io.replicant.router.SettingStatements;
import io.replicant.router.TransactionSettings;

/**
 * The logical session's state that must follow it across physical connections: the replayable settings
 * log (SET/RESET texts, in order), temp tables, SQL-level prepared statements, and a pin to the primary.
 *
 * <p>Settings made inside a transaction are pending until it commits (a rollback undoes them on the server
 * too). RESET ALL / DISCARD ALL start a new epoch: a connection that applied an older epoch is reset first.
 */
final class SessionState {
    /** Above this many entries the log is compacted into a new epoch (it only grows with SET in a loop). */
    private static final int MAX_LOG = 256;

    private final List<String> settings = new ArrayList<>();
    private int epoch;
    private final TransactionSettings transaction = new TransactionSettings();
    private final Set<String> tempTables = new LinkedHashSet<>();
    private final Set<String> preparedNames = new LinkedHashSet<>();
    private String pin;

    /**
     * Applies the effects of a statement that succeeded on {@code executedOn}.
     *
     * @param blockOpen whether a transaction block was open before it (pgjdbc begins one itself)
     * @return a pin reason if the statement pins the session to the primary (LISTEN), else null
     */
    String apply(Classification c, boolean blockOpen, PhysicalConnection executedOn) {
        transaction.blockOpen(blockOpen);
        settle(transaction.succeeded(c), executedOn);
        char status = switch (executedOn.transactionState()) {
            case IDLE -> 'I';
            case OPEN -> 'T';
            case FAILED -> 'E';
        };
        settle(transaction.exchangeEnded(status, false), executedOn);
        List<SessionEffect> effects = c.effects();
        String newPin = null;
        for (SessionEffect effect : effects) {
            switch (effect.type()) {
                case SET:
                    if (effect.serializableByDefault() && pin == null) {
                        pin = "serializable";
                        newPin = pin;
                    }
                    break;
                case DISCARD_ALL:
                    tempTables.clear();
                    preparedNames.clear();
                    break;
                case CREATE_TEMP:
                    tempTables.addAll(effect.names());
                    break;
                case DROP:
                    tempTables.removeAll(effect.names());
                    break;
                case DISCARD_TEMP:
                    tempTables.clear();
                    break;
                case PREPARE:
                    preparedNames.addAll(effect.names());
                    break;
                case DEALLOCATE:
                    if (effect.names().isEmpty()) {
                        preparedNames.clear();
                    } else {
                        preparedNames.removeAll(effect.names());
                    }
                    break;
                case LISTEN:
                    if (pin == null) {
                        pin = "listen";
                        newPin = pin;
                    }
                    break;
                default:
                    break;
            }
        }
        for (SessionEffect effect : effects) {
            switch (effect.type()) {
                case SET:
                case RESET_ALL:
                case CREATE_TEMP:
                case LISTEN:
                case PREPARE:
                    executedOn.dirty = true; // the connection must be reset before it goes back to its pool
                    break;
                default:
                    break;
            }
        }
        return newPin;
    }

    /** Settings changes that are the session's now, made on {@code executedOn}: replayed onto its other connections. */
    private void settle(List<SessionEffect> settled, PhysicalConnection executedOn) {
        for (SessionEffect effect : settled) {
            if (effect.type() == SessionEffect.Type.SET) {
                record(effect.sql(), executedOn);
            } else {
                resetAll(executedOn);
            }
        }
    }

    /** The transaction on {@code txConnection} committed: its settings become part of the session. */
    void commitPending(PhysicalConnection txConnection) {
        settle(transaction.committed(), txConnection);
    }

    /** The transaction rolled back, or failed: its settings are undone. */
    void dropPending() {
        transaction.rolledBack();
    }

    /** The transaction failed: a COMMIT ends it as a ROLLBACK. */
    void transactionFailed() {
        transaction.failed();
    }

    /** Where the transaction's savepoints set with the JDBC API are reported. */
    TransactionSettings transactionSettings() {
        return transaction;
    }

    private void record(String sql, PhysicalConnection executedOn) {
        boolean inSync = isSynced(executedOn);
        settings.add(sql);
        if (settings.size() > MAX_LOG) {
            compact();
        }
        if (inSync) {
            markSynced(executedOn);
        }
    }

    /** Keeps the last SET/RESET per parameter; connections replay the shorter log from scratch (new epoch). */
    private void compact() {
        List<String> kept = SettingStatements.compact(settings);
        settings.clear();
        settings.addAll(kept);
        epoch++;
    }

    private void resetAll(PhysicalConnection executedOn) {
        settings.clear();
        epoch++;
        markSynced(executedOn);
    }

    boolean isSynced(PhysicalConnection pc) {
        return pc.appliedEpoch == epoch && pc.appliedCount == settings.size();
    }

    /**
     * The SQL that brings {@code pc} up to date, or null if it is. Call {@link #markSynced} after it ran.
     */
    String catchUpSql(PhysicalConnection pc) {
        if (isSynced(pc)) {
            return null;
        }
        StringBuilder sql = new StringBuilder();
        int from = pc.appliedCount;
        if (pc.appliedEpoch != epoch) {
            sql.append("RESET ALL");
            from = 0;
        }
        for (int i = from; i < settings.size(); i++) {
            if (sql.length() > 0) {
                sql.append(";\n");
            }
            sql.append(settings.get(i));
        }
        return sql.length() == 0 ? null : sql.toString();
    }

    void markSynced(PhysicalConnection pc) {
        pc.appliedEpoch = epoch;
        pc.appliedCount = settings.size();
        if (!settings.isEmpty() || epoch > 0) {
            pc.dirty = true;
        }
    }

    Set<String> tempTables() {
        return tempTables;
    }

    /** A statement with {@code effect} (PREPARE or DEALLOCATE) failed: the statements it names may exist. */
    void mayHavePrepared(SessionEffect effect) {
        preparedNames.addAll(effect.names());
    }

    Set<String> preparedNames() {
        return preparedNames;
    }

    String pin() {
        return pin;
    }

    /** Pins the session to the primary; returns true if it was not pinned before. */
    boolean pin(String reason) {
        if (pin != null) {
            return false;
        }
        pin = reason;
        return true;
    }
}
