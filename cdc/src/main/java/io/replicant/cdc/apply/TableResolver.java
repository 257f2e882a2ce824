package io.replicant.cdc.apply;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;

import io.replicant.cdc.event.TableId;
import io.replicant.config.FollowerSpec;

/**
 * Finds the follower table for a source table (after renames, matching names without regard to case), creating it
 * or adding new source columns when the follower's settings allow, and refusing otherwise with a message that says
 * what to do. DDL runs outside the follower's data transaction (H2 commits on DDL).
 */
final class TableResolver {
    private final FollowerSpec spec;
    private final Dialect dialect;
    private final SourceCatalog catalog;
    private final Map<TableId, TargetTable> cache = new HashMap<>();

    TableResolver(FollowerSpec spec, Dialect dialect, SourceCatalog catalog) {
        this.spec = spec;
        this.dialect = dialect;
        this.catalog = catalog;
    }

    void clear() {
        cache.clear();
    }

    /** The follower table for {@code source}, having every one of {@code columns}. */
    TargetTable resolve(Connection connection, TableId source, Set<String> columns) throws SQLException, ApplyException {
        TargetTable table = cache.get(source);
        if (table == null || !hasAll(table, columns)) {
            table = describe(connection, source, columns);
            cache.put(source, table);
        }
        return table;
    }

    private TargetTable describe(Connection connection, TableId source, Set<String> columns)
            throws SQLException, ApplyException {
        TableId target = targetName(source);
        Map<String, String> renames = columnRenames(source);
        TargetTable existing = read(connection, target, renames);
        if (existing == null) {
            if (!spec.createTables()) {
                throw new ApplyException("table " + target + " does not exist on follower " + spec.name()
                        + "; create it or set create_tables: true");
            }
            create(connection, source, target, renames);
        }
        TargetTable table = existing != null ? existing : read(connection, target, renames);
        if (!hasAll(table, columns)) {
            List<String> missing = columns.stream().filter(c -> table.column(c) == null).sorted().toList();
            if (spec.schemaEvolution() != FollowerSpec.SchemaEvolution.BASIC) {
                throw new ApplyException("follower " + spec.name() + " table " + target + " lacks source column(s) "
                        + missing + "; add them or set schema_evolution: basic");
            }
            addColumns(connection, source, table, missing, renames);
            return read(connection, target, renames);
        }
        return table;
    }

    /** Source column (lower case) to follower column, from {@code rename} entries {@code schema.table.column: name}. */
    private Map<String, String> columnRenames(TableId source) {
        Map<String, String> renames = new HashMap<>();
        String prefix = source + ".";
        spec.rename().forEach((from, to) -> {
            if (from.startsWith(prefix) && from.indexOf('.', prefix.length()) < 0) {
                renames.put(from.substring(prefix.length()).toLowerCase(Locale.ROOT), to);
            }
        });
        return renames;
    }

    private TableId targetName(TableId source) {
        String renamed = spec.rename().get(source.toString());
        return renamed == null ? source : TableId.parse(renamed, source.schema());
    }

    private static boolean hasAll(TargetTable table, Set<String> columns) {
        for (String column : columns) {
            if (table.column(column) == null) {
                return false;
            }
        }
        return true;
    }

    /** The table as the follower's catalog describes it, or null when there is none. */
    private TargetTable read(Connection connection, TableId target, Map<String, String> renames)
            throws SQLException, ApplyException {
        DatabaseMetaData meta = connection.getMetaData();
        String schema = null;
        String name = null;
        for (String candidate : new LinkedHashSet<>(List.of(target.table(), dialect.foldCase(target.table())))) {
            try (ResultSet rs = meta.getTables(null, null, candidate, new String[] {"TABLE", "BASE TABLE"})) {
                while (rs.next()) {
                    if (rs.getString("TABLE_NAME").equalsIgnoreCase(target.table())
                            && (target.schema() == null || target.schema().equalsIgnoreCase(rs.getString("TABLE_SCHEM")))) {
                        schema = rs.getString("TABLE_SCHEM");
                        name = rs.getString("TABLE_NAME");
                    }
                }
            }
        }
        if (name == null) {
            return null;
        }
        Map<String, String> sourceByTarget = new HashMap<>();
        renames.forEach((from, to) -> sourceByTarget.put(to.toLowerCase(Locale.ROOT), from));
        Map<String, TargetTable.TargetColumn> columns = new LinkedHashMap<>();
        Map<String, TargetTable.TargetColumn> byTargetName = new HashMap<>();
        try (ResultSet rs = meta.getColumns(null, schema, name, null)) {
            while (rs.next()) {
                String column = rs.getString("COLUMN_NAME");
                String lower = column.toLowerCase(Locale.ROOT);
                String sourceName = sourceByTarget.getOrDefault(lower, lower);
                TargetTable.TargetColumn targetColumn = new TargetTable.TargetColumn(column, dialect.quote(column),
                        rs.getString("TYPE_NAME"), sourceName);
                columns.put(sourceName, targetColumn);
                byTargetName.put(lower, targetColumn);
            }
        }
        List<TargetTable.TargetColumn> key = new ArrayList<>();
        Map<Short, String> keyByPosition = new TreeMap<>();
        try (ResultSet rs = meta.getPrimaryKeys(null, schema, name)) {
            while (rs.next()) {
                keyByPosition.put(rs.getShort("KEY_SEQ"), rs.getString("COLUMN_NAME"));
            }
        }
        keyByPosition.values().forEach(c -> key.add(byTargetName.get(c.toLowerCase(Locale.ROOT))));
        String sqlName = dialect.quote(schema) + "." + dialect.quote(name);
        if (key.isEmpty()) {
            throw new ApplyException("follower " + spec.name() + " table " + sqlName
                    + " has no primary key; changes are applied by key, so it needs the source table's");
        }
        boolean related;
        try (ResultSet imported = meta.getImportedKeys(null, schema, name);
                ResultSet exported = meta.getExportedKeys(null, schema, name)) {
            related = imported.next() || exported.next();
        }
        return new TargetTable(sqlName, columns, key, related, hasOtherUniqueIndex(meta, schema, name, key));
    }

    private static boolean hasOtherUniqueIndex(DatabaseMetaData meta, String schema, String table,
            List<TargetTable.TargetColumn> key) throws SQLException {
        Set<String> keyColumns = new HashSet<>();
        key.forEach(c -> keyColumns.add(c.name().toLowerCase(Locale.ROOT)));
        Map<String, Set<String>> columnsByIndex = new HashMap<>();
        try (ResultSet rs = meta.getIndexInfo(null, schema, table, true, true)) {
            while (rs.next()) {
                String index = rs.getString("INDEX_NAME");
                String column = rs.getString("COLUMN_NAME");
                if (index != null) {
                    // an expression index has no column name: it never equals the key's columns
                    columnsByIndex.computeIfAbsent(index, i -> new HashSet<>())
                            .add(column == null ? "(expression)" : column.toLowerCase(Locale.ROOT));
                }
            }
        }
        return columnsByIndex.values().stream().anyMatch(columns -> !columns.equals(keyColumns));
    }

    private void create(Connection connection, TableId source, TableId target, Map<String, String> renames)
            throws SQLException, ApplyException {
        List<SourceColumn> columns = sourceColumns(source);
        StringJoiner definition = new StringJoiner(", ");
        StringJoiner key = new StringJoiner(", ");
        for (SourceColumn column : columns) {
            String name = targetColumnName(column, renames);
            definition.add(name + " " + columnType(column) + (column.notNull() ? " NOT NULL" : ""));
            if (column.key()) {
                key.add(name);
            }
        }
        if (key.length() == 0) {
            throw new ApplyException("source table " + source + " has no primary key; CDC needs one");
        }
        String schema = dialect.quote(dialect.foldCase(target.schema()));
        ddl(connection, "CREATE SCHEMA IF NOT EXISTS " + schema,
                "CREATE TABLE " + schema + "." + dialect.quote(dialect.foldCase(target.table())) + " (" + definition
                        + ", PRIMARY KEY (" + key + "))");
    }

    private void addColumns(Connection connection, TableId source, TargetTable table, List<String> missing,
            Map<String, String> renames) throws SQLException, ApplyException {
        Map<String, SourceColumn> byName = new HashMap<>();
        sourceColumns(source).forEach(c -> byName.put(c.name().toLowerCase(Locale.ROOT), c));
        List<String> statements = new ArrayList<>();
        for (String name : missing) {
            SourceColumn column = byName.get(name.toLowerCase(Locale.ROOT));
            if (column == null) {
                throw new ApplyException("column " + name + " of " + source + " is gone from the source catalog");
            }
            statements.add("ALTER TABLE " + table.sqlName() + " ADD COLUMN " + targetColumnName(column, renames) + " "
                    + columnType(column));
        }
        ddl(connection, statements.toArray(String[]::new));
    }

    private String targetColumnName(SourceColumn column, Map<String, String> renames) {
        String renamed = renames.get(column.name().toLowerCase(Locale.ROOT));
        return dialect.quote(dialect.foldCase(renamed != null ? renamed : column.name()));
    }

    private List<SourceColumn> sourceColumns(TableId source) throws SQLException, ApplyException {
        List<SourceColumn> columns = catalog.columns(source);
        if (columns.isEmpty()) {
            throw new ApplyException("source table " + source + " is not in the primary's catalog");
        }
        return columns;
    }

    private String columnType(SourceColumn column) throws ApplyException {
        try {
            return dialect.columnType(column);
        } catch (IllegalArgumentException e) {
            throw new ApplyException(e.getMessage());
        }
    }

    private static void ddl(Connection connection, String... statements) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
        connection.commit();
    }
}
