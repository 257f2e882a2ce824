package io.replicant.proxy.session;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.replicant.config.StatementKind;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.router.Classification;
import io.replicant.router.SessionEffect;
import io.replicant.router.Verdict;

/**
 * What a client session changed on its server sessions: SET/RESET statements run outside a transaction, in
 * order, which are replayed onto every other server the session uses; and, for state that cannot follow it
 * (temp tables, LISTEN, SQL PREPARE, cursors, settings inside a transaction), a pin to the primary.
 */
final class SessionSettings {
    /** Beyond this many replayed settings (a SET in a loop) the session simply stays on the primary. */
    private static final int MAX_SETTINGS = 256;

    private final List<String> log = new ArrayList<>();
    private String pin;

    /** Why the session is pinned to the primary, or null. */
    String pin() {
        return pin;
    }

    /**
     * After a statement succeeded on {@code server}.
     *
     * @param idle the transaction status after it is 'I'
     * @return a new pin reason, or null
     */
    String succeeded(Classification c, BackendConnection server, boolean idle) {
        String before = pin;
        for (SessionEffect effect : c.effects()) {
            switch (effect.type()) {
                case SET:
                case RESET_ALL:
                case DISCARD_ALL:
                    if (effect.serializableByDefault()) {
                        pin("serializable");
                    }
                    if (!idle || c.kind() == StatementKind.BEGIN || log.size() >= MAX_SETTINGS) {
                        pin("session_state");
                    } else {
                        boolean current = server.settingsOwner() == this && server.appliedSettings() == log.size();
                        log.add(effect.type() == SessionEffect.Type.SET ? effect.sql() : "RESET ALL");
                        if (current) {
                            server.appliedSettings(log.size()); // it ran there
                        }
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
        if (c.effects().isEmpty() && c.verdict() == Verdict.SESSION && leavesStateBehind(c)) {
            pin("session_state"); // cursors WITH HOLD and other state that cannot follow the session
        }
        return before == null ? pin : null;
    }

    /**
     * Cursors without WITH HOLD end with their transaction, and CLOSE, FETCH or MOVE only use one (a WITH HOLD
     * cursor pinned the session when it was declared); UNLISTEN only takes away (LISTEN comes with an effect).
     * So the reset that poolers and drivers send (asyncpg: CLOSE ALL, UNLISTEN *) keeps a session unpinned.
     */
    private static boolean leavesStateBehind(Classification c) {
        return switch (c.kind()) {
            case CURSOR -> c.sessionBound();
            case LISTEN -> false;
            default -> true;
        };
    }

    void pin(String reason) {
        if (pin == null) {
            pin = reason;
        }
    }

    /**
     * The settings {@code server} has not applied yet, as one SQL text (marking them applied), or null. A shared
     * server connection that carries another session's settings is reset first, and takes this session's
     * {@code applicationName} (the one it logged in with), which is not among what pooled connections are shared by.
     */
    String catchUp(BackendConnection server, String applicationName) {
        String first = null;
        if (server.settingsOwner() != this) {
            boolean reset = server.appliedSettings() > 0;
            String name = reset ? server.startupApplicationName()
                    : server.parameters().getOrDefault("application_name", "");
            first = reset ? "RESET ALL" : null;
            if (!name.equals(applicationName)) {
                String set = "SET application_name = E'"
                        + applicationName.replace("\\", "\\\\").replace("'", "\\'") + "'";
                first = first == null ? set : first + "; " + set;
            }
            server.settingsOwner(this);
        }
        if (server.appliedSettings() >= log.size()) {
            return first;
        }
        String sql = String.join("; ", log.subList(server.appliedSettings(), log.size()));
        server.appliedSettings(log.size());
        return first == null ? sql : first + "; " + sql;
    }
}
