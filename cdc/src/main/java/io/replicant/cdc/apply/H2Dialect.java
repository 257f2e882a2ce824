package io.replicant.cdc.apply;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** H2 followers: {@code MERGE … KEY}, PostgreSQL types mapped to H2's. */
final class H2Dialect implements Dialect {
    private static final Pattern SIZED = Pattern.compile("(character varying|character|numeric|time|timestamp)"
            + "(\\((\\d+)(,(\\d+))?\\))?( with(out)? time zone)?");

    @Override
    public void prepare(Connection connection, String url) throws SQLException {
        if (!url.startsWith("jdbc:h2:mem:")) {
            // H2 writes commits to disk up to 500 ms late by default; a commit the source is told about must be
            // durable, or a crash of this process could lose what the slot no longer keeps.
            try (Statement statement = connection.createStatement()) {
                statement.execute("SET WRITE_DELAY 0");
            }
        }
    }

    @Override
    public String upsert(TargetTable table, List<TargetTable.TargetColumn> columns) {
        return upsertRows(table, columns, 1);
    }

    @Override
    public String upsertRows(TargetTable table, List<TargetTable.TargetColumn> columns, int rows) {
        return "MERGE INTO " + table.sqlName() + " (" + Dialect.columnList(columns) + ") KEY ("
                + Dialect.columnList(table.key()) + ") VALUES " + placeholderRows(columns, rows);
    }

    @Override
    public String truncate(TargetTable table) {
        return "DELETE FROM " + table.sqlName(); // H2's TRUNCATE commits; this stays inside the transaction
    }

    @Override
    public String foldCase(String identifier) {
        return identifier.toUpperCase(Locale.ROOT);
    }

    @Override
    public String placeholder(TargetTable.TargetColumn column) {
        // A string bound to a JSON column would become a JSON string literal; FORMAT JSON parses it instead.
        return column.typeName().equalsIgnoreCase("JSON") ? "? FORMAT JSON" : "?";
    }

    @Override
    public String arrayElementType(TargetTable.TargetColumn column) {
        String type = column.typeName().toUpperCase(Locale.ROOT);
        return type.endsWith(" ARRAY") ? type.substring(0, type.length() - " ARRAY".length()) : type;
    }

    @Override
    public String columnType(SourceColumn column) {
        if (column.isEnum()) {
            return "CHARACTER VARYING";
        }
        if (column.isEnumArray()) {
            return "CHARACTER VARYING ARRAY";
        }
        String type = column.type();
        if (column.key() && type.equals("text")) {
            return "CHARACTER VARYING"; // a key cannot be a large object in H2
        }
        if (type.endsWith("[]")) {
            String element = type.substring(0, type.length() - 2);
            // Array elements cannot be large objects in H2.
            return (element.equals("text") ? "CHARACTER VARYING" : scalarType(element, column)) + " ARRAY";
        }
        return scalarType(type, column);
    }

    private static String scalarType(String type, SourceColumn column) {
        switch (type) {
            case "smallint": return "SMALLINT";
            case "integer": return "INTEGER";
            case "bigint": return "BIGINT";
            case "real": return "REAL";
            case "double precision": return "DOUBLE PRECISION";
            case "boolean": return "BOOLEAN";
            case "text": return "CHARACTER LARGE OBJECT";
            case "bytea": return "BINARY LARGE OBJECT";
            case "uuid": return "UUID";
            case "json":
            case "jsonb": return "JSON";
            case "date": return "DATE";
            // H2 has no interval that holds months and days together: keep PostgreSQL's ISO-8601 text.
            case "interval": return "CHARACTER VARYING(64)";
            // Unconstrained numeric keeps any scale in PostgreSQL; H2's decimal floating point does too.
            case "numeric": return "DECFLOAT";
            default: break;
        }
        Matcher m = SIZED.matcher(type);
        if (m.matches()) {
            String base = m.group(1);
            String size = m.group(2) == null ? "" : m.group(2);
            String zone = " with time zone".equals(m.group(6)) ? " WITH TIME ZONE" : "";
            switch (base) {
                case "character varying": return "CHARACTER VARYING" + size;
                case "character": return "CHARACTER" + (size.isEmpty() ? "(1)" : size);
                case "numeric": return "NUMERIC" + size;
                case "time": return "TIME" + (size.isEmpty() ? "(6)" : size) + zone;
                default: return "TIMESTAMP" + (size.isEmpty() ? "(6)" : size) + zone;
            }
        }
        throw new IllegalArgumentException("column " + column.name() + " has type " + type
                + ", which has no H2 equivalent here; create the follower table yourself or exclude the table");
    }
}
