package io.replicant.cdc.event;

import java.util.Map;

/**
 * One row change of a source transaction. Values are plain Java values: numbers, strings (also numeric, json,
 * uuid, interval and enum values, in PostgreSQL's text form), booleans, {@code byte[]}, {@code java.time} values
 * and lists for arrays.
 *
 * @param key    the primary-key columns and their values (of the old row for a delete)
 * @param oldKey for an update that changed the primary key, the old key; otherwise null
 * @param after  the new row for inserts and updates; a column whose value the source did not send (an unchanged
 *               TOASTed value) is absent, never a placeholder; null for deletes and truncates
 * @param partial true when {@code after} lacks such unsent columns: the change can only update an existing row
 * @param lsn    the change's own WAL position
 */
public record Change(TableId table, Operation op, Map<String, Object> key, Map<String, Object> oldKey,
        Map<String, Object> after, boolean partial, long lsn) {

    /** What happened to the row. Snapshot rows are inserts. */
    public enum Operation {
        INSERT, UPDATE, DELETE, TRUNCATE
    }

    @Override
    public String toString() {
        return op + " " + table + (key == null || key.isEmpty() ? "" : " " + key) + " at " + Lsn.format(lsn);
    }
}
