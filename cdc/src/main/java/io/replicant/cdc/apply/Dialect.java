package io.replicant.cdc.apply;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.StringJoiner;

import io.replicant.config.ConfigException;
import io.replicant.config.FollowerSpec;

/**
 * What differs between follower databases: the upsert statement, type names for created tables, identifier
 * case, and how a few values are bound. PostgreSQL and H2 are built in and chosen by the follower's URL; any
 * other JDBC database takes a class implementing this interface (public, with a no-argument constructor), named
 * by the follower's {@code dialect} key.
 */
public interface Dialect {

    /**
     * The follower's dialect: its {@code dialect} class, or the built-in one for its URL.
     *
     * @throws ConfigException naming the follower when there is none or the class cannot be used
     */
    static Dialect of(FollowerSpec spec) {
        if (spec.dialect() != null) {
            String path = "cdc.followers[" + spec.name() + "].dialect";
            try {
                Class<?> type = Class.forName(spec.dialect(), true, Thread.currentThread().getContextClassLoader());
                if (!Dialect.class.isAssignableFrom(type)) {
                    throw new ConfigException(path, spec.dialect() + " does not implement " + Dialect.class.getName(),
                            spec.origin());
                }
                return (Dialect) type.getConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new ConfigException(path, "cannot create " + spec.dialect() + ": " + e, spec.origin());
            }
        }
        String url = spec.url();
        if (url.startsWith("jdbc:postgresql:")) {
            return new PostgresDialect();
        }
        if (url.startsWith("jdbc:h2:")) {
            return new H2Dialect();
        }
        throw new ConfigException("cdc.followers[" + spec.name() + "].url", "no built-in dialect for "
                + url.substring(0, Math.max(5, url.indexOf(':', 5) + 1)) + " URLs (built in: jdbc:postgresql:, "
                + "jdbc:h2:); name a class implementing " + Dialect.class.getName() + " with dialect:", spec.origin());
    }

    /** Connection properties the dialect needs beyond user and password. */
    default Properties connectionProperties() {
        return new Properties();
    }

    /** Session setup after connecting, before anything is applied. */
    default void prepare(Connection connection, String url) throws SQLException {
    }

    /** Insert, or update the row with the same key: idempotent, so a redelivered change is harmless. */
    String upsert(TargetTable table, List<TargetTable.TargetColumn> columns);

    /**
     * The upsert of {@code rows} rows with distinct keys in one statement, parameters row after row; null when
     * the database has none, and then each row is a statement of its own. Fewer, larger statements cost the
     * follower less per row.
     */
    default String upsertRows(TargetTable table, List<TargetTable.TargetColumn> columns, int rows) {
        return null;
    }

    /** {@code (?, ?), (?, ?), …}: the placeholders of {@code rows} rows. */
    default String placeholderRows(List<TargetTable.TargetColumn> columns, int rows) {
        StringJoiner row = new StringJoiner(", ", "(", ")");
        columns.forEach(c -> row.add(placeholder(c)));
        return String.join(", ", Collections.nCopies(rows, row.toString()));
    }

    /** How names are stored when written unquoted: PostgreSQL folds to lower case, H2 to upper case. */
    String foldCase(String identifier);

    /** The follower column type for a source column, when creating or extending a follower table. */
    String columnType(SourceColumn column);

    /** The parameter marker for a value of this column ({@code ? FORMAT JSON} for H2's JSON). */
    default String placeholder(TargetTable.TargetColumn column) {
        return "?";
    }

    default void bind(Connection connection, PreparedStatement statement, int index, TargetTable.TargetColumn column,
            Object value) throws SQLException {
        if (value instanceof List<?> list) {
            statement.setArray(index, connection.createArrayOf(arrayElementType(column), list.toArray()));
        } else if (value instanceof byte[] bytes) {
            statement.setBytes(index, bytes);
        } else {
            statement.setObject(index, value);
        }
    }

    /** The element type name {@link Connection#createArrayOf} needs for this array column. */
    String arrayElementType(TargetTable.TargetColumn column);

    default String quote(String identifier) {
        return '"' + identifier.replace("\"", "\"\"") + '"';
    }

    default String update(TargetTable table, List<TargetTable.TargetColumn> set, List<TargetTable.TargetColumn> key) {
        StringJoiner assignments = new StringJoiner(", ");
        set.forEach(c -> assignments.add(c.sqlName() + " = " + placeholder(c)));
        return "UPDATE " + table.sqlName() + " SET " + assignments + " WHERE " + keyCondition(key);
    }

    default String delete(TargetTable table) {
        return "DELETE FROM " + table.sqlName() + " WHERE " + keyCondition(table.key());
    }

    default String truncate(TargetTable table) {
        return "TRUNCATE TABLE " + table.sqlName();
    }

    private String keyCondition(List<TargetTable.TargetColumn> key) {
        StringJoiner condition = new StringJoiner(" AND ");
        key.forEach(c -> condition.add(c.sqlName() + " = " + placeholder(c)));
        return condition.toString();
    }

    static String columnList(List<TargetTable.TargetColumn> columns) {
        StringJoiner names = new StringJoiner(", ");
        columns.forEach(c -> names.add(c.sqlName()));
        return names.toString();
    }
}
