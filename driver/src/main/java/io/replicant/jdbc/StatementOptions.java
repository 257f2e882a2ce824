package io.replicant.jdbc;

import java.sql.ResultSet;
import java.sql.Statement;

/**
 * How the application asked for a statement: result set type, concurrency, holdability (-1 = the
 * connection's), and generated-keys request. Every physical statement made for it gets the same.
 */
record StatementOptions(int type, int concurrency, int holdability, int generatedKeys, int[] keyIndexes,
        String[] keyNames) {
    static final StatementOptions DEFAULT = new StatementOptions(ResultSet.TYPE_FORWARD_ONLY,
            ResultSet.CONCUR_READ_ONLY, -1);

    StatementOptions(int type, int concurrency, int holdability) {
        this(type, concurrency, holdability, Statement.NO_GENERATED_KEYS, null, null);
    }

    StatementOptions withGeneratedKeys(int generatedKeys, int[] keyIndexes, String[] keyNames) {
        return new StatementOptions(type, concurrency, holdability, generatedKeys, keyIndexes, keyNames);
    }

    boolean wantsGeneratedKeys() {
        return generatedKeys == Statement.RETURN_GENERATED_KEYS;
    }
}
