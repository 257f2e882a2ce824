package io.replicant.proxy.session;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.replicant.proxy.backend.BackendConnection;
import io.replicant.router.Classification;
import io.replicant.router.SessionEffect;
import io.replicant.router.SettingStatements;
import io.replicant.router.TransactionSettings;
import io.replicant.router.Verdict;

/**
 * What a client session changed on its server sessions: SET/RESET statements that are the session's (run outside a
 * transaction block, or in one that committed, wherever it ran), in order, which are replayed onto every other server
 * the session uses; and, for state that cannot follow it (temp tables, LISTEN, SQL PREPARE, cursors WITH HOLD), a
 * pin to the primary.
 */
final class SessionSettings {
    /**
     * Beyond this many replayed settings (a SET per request in a long session) the log is compacted; a session with
     * more distinct settings than this simply stays on the primary.
     */
    private static final int MAX_SETTINGS = 256;

    private final List<String> log = new ArrayList<>();
    /**
     * What owns the settings of the connections that replayed this log: a new one after a compaction, so that each
     * connection is reset and replays the shorter log from the start.
     */
    private Object generation = new Object();
    private final TransactionSettings transaction = new TransactionSettings();
    private String pin;
    /**
     * The client's tracked startup parameters (see {@link TrackedParameters}) that its server connections do not
     * log in with, so that the proxy sets them: in transaction pooling, those the client sent; else none.
     */
    private Map<String, String> own = Map.of();
    /** How many statements of the last catch-up set the connection up for this client (RESET ALL, own values). */
    private int loginStatements;

    void loggedIn(Map<String, String> ownParameters) {
        this.own = Map.copyOf(ownParameters);
    }

    /** Whether {@code name} is one of the client's own parameters, whose reports the session corrects. */
    boolean owns(String name) {
        return own.containsKey(name);
    }

    /**
     * After {@code exchange} succeeded: what puts back the client's own parameters that it reset (RESET ALL, RESET
     * TimeZone, …), which returned the connection to the server's defaults, pooled connections logging in without
     * them; null if it reset none. Inside a transaction block too, where the restore is undone with the RESET if
     * the transaction rolls back.
     */
    String restoreAfter(List<Classification> exchange) {
        if (own.isEmpty()) {
            return null;
        }
        Set<String> reset = Set.of(); // runs at every ReadyForQuery, and most statements have no effects
        for (Classification c : exchange) {
            reset = ownReset(c.effects(), reset);
        }
        return restore(reset);
    }

    /** {@code reset} with the client's own parameters that {@code effects} reset and did not set again after. */
    private Set<String> ownReset(List<SessionEffect> effects, Set<String> reset) {
        for (SessionEffect effect : effects) {
            for (String name : TrackedParameters.resetBy(effect)) {
                if (own.containsKey(name)) {
                    reset = reset.isEmpty() ? new LinkedHashSet<>() : reset;
                    reset.add(name);
                }
            }
            if (!reset.isEmpty()) {
                TrackedParameters.setBy(effect).ifPresent(reset::remove); // the client's own SET after it stands
            }
        }
        return reset;
    }

    private String restore(Set<String> reset) {
        return reset.isEmpty() ? null : String.join("; ", reset.stream()
                .map(name -> TrackedParameters.set(name, own.get(name))).toList());
    }

    /** Why the session is pinned to the primary, or null. */
    String pin() {
        return pin;
    }

    /**
     * After a statement succeeded on {@code server}.
     *
     * @return a new pin reason, or null
     */
    String succeeded(Classification c, BackendConnection server) {
        String before = pin;
        for (SessionEffect effect : c.effects()) {
            switch (effect.type()) {
                case SET:
                case RESET_ALL:
                case DISCARD_ALL:
                    if (effect.serializableByDefault()) {
                        pin("serializable");
                    }
                    break;
                case DROP:
                case DEALLOCATE:
                case DISCARD_TEMP:
                case CATALOG_CHANGED:
                    break;
                default:
                    pin(effect.type().name().toLowerCase(Locale.ROOT));
                    break;
            }
        }
        for (SessionEffect setting : transaction.succeeded(c)) {
            logSetting(setting, server);
        }
        if (c.effects().isEmpty() && c.verdict() == Verdict.SESSION && leavesStateBehind(c)) {
            pin("session_state"); // cursors WITH HOLD and other state that cannot follow the session
        }
        return before == null ? pin : null;
    }

    /**
     * An exchange on {@code server} ended in {@code transactionStatus}: what its implicit transaction committed is
     * the session's.
     */
    void exchangeEnded(BackendConnection server, char transactionStatus, boolean failed) {
        for (SessionEffect setting : transaction.exchangeEnded(transactionStatus, failed)) {
            logSetting(setting, server);
        }
    }

    /**
     * {@code c} failed after its first {@code completed} statements ran on {@code server}: the settings a COMMIT among
     * them committed are the session's, and a statement it may have prepared pins it (an error does not undo PREPARE).
     *
     * @return a new pin reason, or null
     */
    String failedAfter(Classification c, int completed, BackendConnection server) {
        for (SessionEffect setting : transaction.failedAfter(c, completed)) {
            logSetting(setting, server);
        }
        String before = pin;
        for (SessionEffect effect : c.effects()) {
            if (effect.type() == SessionEffect.Type.PREPARE) {
                pin("prepare");
            }
        }
        return before == null ? pin : null;
    }

    /** The proxy answered a BEGIN (a block is open), or a COMMIT or ROLLBACK of a block that ran nothing. */
    void answeredLocally(char transactionStatus) {
        transaction.blockOpen(transactionStatus != 'I');
    }

    /**
     * A settings change that is the session's now, made on {@code server} (in the transaction that committed it):
     * replayed onto its other servers.
     */
    private void logSetting(SessionEffect setting, BackendConnection server) {
        boolean current = server.settingsOwner() == generation && server.appliedSettings() == log.size();
        String entry = setting.type() == SessionEffect.Type.SET ? setting.sql() : "RESET ALL";
        String restore = own.isEmpty() ? null : restore(ownReset(List.of(setting), Set.of()));
        log.add(restore == null ? entry : entry + "; " + restore); // here it ran already, with its restore
        if (log.size() > MAX_SETTINGS) {
            List<String> kept = SettingStatements.compact(log);
            log.clear();
            log.addAll(kept);
            generation = new Object();
            if (current) {
                server.settingsOwner(generation); // holds what the shorter log sets: it need not be reset
            }
        }
        if (log.size() > MAX_SETTINGS) {
            pin("session_state");
        } else if (current) {
            server.appliedSettings(log.size());
        }
    }

    /**
     * Cursors without WITH HOLD end with their transaction, and CLOSE, FETCH or MOVE only use one (a WITH HOLD
     * cursor pinned the session when it was declared); UNLISTEN only takes away (LISTEN comes with an effect).
     * So the reset that poolers and drivers send (asyncpg: CLOSE ALL, UNLISTEN *) keeps a session unpinned.
     */
    private static boolean leavesStateBehind(Classification c) {
        return switch (c.kind()) {
            case CURSOR -> c.sessionBound();
            case LISTEN, DISCARD -> false; // DISCARD PLANS or SEQUENCES (ALL and TEMP come with effects)
            default -> true;
        };
    }

    void pin(String reason) {
        if (pin == null) {
            pin = reason;
        }
    }

    /**
     * What {@code server} must run before this session's next statement, as one SQL text, or null: on a shared
     * connection another session used, RESET ALL if that one's settings were applied and the client's own
     * parameters; then the settings it has not applied yet (all marked applied).
     */
    String catchUp(BackendConnection server) {
        if (server.settingsOwner() == generation && server.appliedSettings() >= log.size()) {
            return null;
        }
        List<String> statements = new ArrayList<>();
        if (server.settingsOwner() != generation) {
            if (server.appliedSettings() > 0) {
                statements.add("RESET ALL");
                server.carriedParameters(Map.of()); // pooled connections log in without them
            }
            statements.addAll(TrackedParameters.changes(server.carriedParameters(), own));
            server.carriedParameters(own);
            server.settingsOwner(generation);
        }
        loginStatements = statements.size();
        statements.addAll(log.subList(server.appliedSettings(), log.size()));
        server.appliedSettings(log.size());
        return statements.isEmpty() ? null : String.join("; ", statements);
    }

    /**
     * How many statements of the last catch-up set the connection up for this client: if one of them fails, the
     * client's own startup parameters are wrong, which PostgreSQL refuses at login.
     */
    int loginStatements() {
        return loginStatements;
    }
}
