package io.replicant.router;

import java.util.List;

/**
 * What a statement does to session state, applied by the connection once the statement succeeded.
 *
 * @param type what happens
 * @param sql  the statement text to replay on other connections ({@link Type#SET}); otherwise null
 * @param names the objects concerned (temp tables, prepared statement names); empty for "all"
 */
public record SessionEffect(Type type, String sql, List<String> names) {
    public enum Type {
        /** SET / RESET of a session parameter: replayed, in order, onto every other connection the session uses. */
        SET,
        /** RESET ALL / DISCARD ALL: clears replayed settings. */
        RESET_ALL,
        CREATE_TEMP,
        DROP,
        DISCARD_TEMP,
        DISCARD_ALL,
        LISTEN,
        PREPARE,
        DEALLOCATE,
        /** A function or procedure may have been created or changed: re-read the function catalog. */
        CATALOG_CHANGED
    }

    public SessionEffect {
        names = List.copyOf(names);
    }

    static SessionEffect of(Type type) {
        return new SessionEffect(type, null, List.of());
    }

    static SessionEffect of(Type type, List<String> names) {
        return new SessionEffect(type, null, names);
    }
}
