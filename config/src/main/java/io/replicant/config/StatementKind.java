package io.replicant.config;

import java.util.Locale;

/**
 * What kind of statement a SQL text is, as the router classifies it. Routing rules match on the
 * lower-case {@link #ruleName()}.
 */
public enum StatementKind {
    SELECT, VALUES, TABLE, SHOW, EXPLAIN,
    INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY,
    DDL, CALL, DO, LOCK, GRANT, MAINTENANCE,
    LISTEN, NOTIFY, SET, RESET, DISCARD,
    BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
    PREPARE, EXECUTE, DEALLOCATE, CURSOR,
    OTHER;

    public String ruleName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind with this rule name, or {@code null}. */
    public static StatementKind byRuleName(String name) {
        for (StatementKind kind : values()) {
            if (kind.ruleName().equals(name)) {
                return kind;
            }
        }
        return null;
    }
}
