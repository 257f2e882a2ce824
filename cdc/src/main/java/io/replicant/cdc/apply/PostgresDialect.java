package io.replicant.cdc.apply;

import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.StringJoiner;

/** PostgreSQL followers: {@code INSERT … ON CONFLICT}, the source's own type names. */
final class PostgresDialect implements Dialect {

    @Override
    public Properties connectionProperties() {
        Properties properties = new Properties();
        // Text values (numeric, json, uuid, interval, enum labels) are sent untyped, so the server reads them as
        // the column's own type, exactly as it would read a literal.
        properties.setProperty("stringtype", "unspecified");
        properties.setProperty("ApplicationName", "replicant-cdc");
        // A follower that stops answering is then treated as down (08xxx) instead of stalling every follower.
        properties.setProperty("connectTimeout", "10");
        properties.setProperty("socketTimeout", "300");
        return properties;
    }

    @Override
    public String upsert(TargetTable table, List<TargetTable.TargetColumn> columns) {
        return upsertRows(table, columns, 1);
    }

    @Override
    public String upsertRows(TargetTable table, List<TargetTable.TargetColumn> columns, int rows) {
        StringJoiner updates = new StringJoiner(", ");
        for (TargetTable.TargetColumn column : columns) {
            if (!table.key().contains(column)) {
                updates.add(column.sqlName() + " = EXCLUDED." + column.sqlName());
            }
        }
        String conflict = " ON CONFLICT (" + Dialect.columnList(table.key()) + ") DO "
                + (updates.length() == 0 ? "NOTHING" : "UPDATE SET " + updates);
        return "INSERT INTO " + table.sqlName() + " (" + Dialect.columnList(columns) + ") VALUES "
                + placeholderRows(columns, rows) + conflict;
    }

    @Override
    public String foldCase(String identifier) {
        return identifier.toLowerCase(Locale.ROOT);
    }

    @Override
    public String columnType(SourceColumn column) {
        if (column.isEnum()) {
            return "text";
        }
        if (column.isEnumArray()) {
            return "text[]";
        }
        return column.type();
    }

    @Override
    public String arrayElementType(TargetTable.TargetColumn column) {
        // pgjdbc reports array columns as _int4, _text, …
        String type = column.typeName();
        return type.startsWith("_") ? type.substring(1) : type;
    }
}
