package io.replicant.cdc.event;

import java.util.Objects;

/** A table by schema and name, as the source names it. */
public record TableId(String schema, String table) {

    public TableId {
        Objects.requireNonNull(table, "table");
    }

    /** {@code schema.table}, or {@code table} in the default schema ({@code public} on PostgreSQL). */
    public static TableId parse(String qualified, String defaultSchema) {
        int dot = qualified.indexOf('.');
        return dot < 0 ? new TableId(defaultSchema, qualified)
                : new TableId(qualified.substring(0, dot), qualified.substring(dot + 1));
    }

    @Override
    public String toString() {
        return schema == null ? table : schema + "." + table;
    }
}
