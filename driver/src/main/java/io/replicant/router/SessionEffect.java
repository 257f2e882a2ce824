package io.replicant.router;

import java.util.List;
import java.util.regex.Pattern;

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

    /** Makes later transactions serializable, which a hot standby refuses (0A000): the session stays on the primary. */
    private static final Pattern SERIALIZABLE_BY_DEFAULT = Pattern.compile("(?is).*(\\bisolation\\s+level\\s+"
            + "serializable|\\bdefault_transaction_isolation\\b.*\\bserializable).*");

    public SessionEffect {
        names = List.copyOf(names);
    }

    /** A SET that makes the session's transactions serializable, which no replica can run. */
    public boolean serializableByDefault() {
        return type == Type.SET && sql != null && SERIALIZABLE_BY_DEFAULT.matcher(sql).matches();
    }

    static SessionEffect of(Type type) {
        return new SessionEffect(type, null, List.of());
    }

    static SessionEffect of(Type type, List<String> names) {
        return new SessionEffect(type, null, names);
    }
}
