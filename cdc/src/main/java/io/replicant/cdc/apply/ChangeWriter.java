package io.replicant.cdc.apply;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.replicant.cdc.event.Change;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns changes into statements on one follower connection: upserts, key-changing or partial updates, deletes,
 * truncates. Consecutive uses of one statement go to the server as one JDBC batch; order across statements is
 * kept. Prepared statements are kept per connection (one per table, operation and column set).
 */
final class ChangeWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeWriter.class);
    private static final int MAX_STATEMENTS = 256;

    private final Connection connection;
    private final Dialect dialect;
    private final String follower;
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    private PreparedStatement pending;

    ChangeWriter(Connection connection, Dialect dialect, String follower) {
        this.connection = connection;
        this.dialect = dialect;
        this.follower = follower;
    }

    /** Writes one change; {@code batched}: a statement whose row count does not matter may wait for {@link #flush}. */
    void write(Change change, TargetTable table, boolean batched) throws SQLException, ApplyException {
        switch (change.op()) {
            case INSERT, UPDATE -> {
                List<TargetTable.TargetColumn> columns = new ArrayList<>();
                List<Object> values = new ArrayList<>();
                change.after().forEach((name, value) -> {
                    columns.add(table.column(name));
                    values.add(value);
                });
                if (change.oldKey() == null && !change.partial()) {
                    queue(dialect.upsert(table, columns), columns, values, batched);
                    return;
                }
                // A key change, or an update without the unchanged TOASTed values: only an update of the
                // existing row keeps what the source did not resend.
                Map<String, Object> where = change.oldKey() != null ? change.oldKey() : change.key();
                List<TargetTable.TargetColumn> all = new ArrayList<>(columns);
                all.addAll(table.key());
                for (TargetTable.TargetColumn k : table.key()) {
                    values.add(k.valueIn(where));
                }
                flush();
                if (runNow(dialect.update(table, columns, table.key()), all, values) == 0) {
                    if (change.partial()) {
                        throw new ApplyException("follower " + follower + " has no row " + where
                                + " to update, and the change does not carry every column", change);
                    }
                    runNow(dialect.upsert(table, columns), columns, values.subList(0, columns.size()));
                }
            }
            case DELETE -> {
                List<Object> values = new ArrayList<>();
                for (TargetTable.TargetColumn k : table.key()) {
                    values.add(k.valueIn(change.key()));
                }
                queue(dialect.delete(table), table.key(), values, batched);
            }
            case TRUNCATE -> queue(dialect.truncate(table), List.of(), List.of(), batched);
        }
    }

    /**
     * Deletes every row of the table, inside the open transaction (never TRUNCATE: readers keep seeing the rows
     * until the commit, and no lock shuts them out meanwhile).
     */
    void deleteAll(TargetTable table) throws SQLException {
        flush();
        runNow("DELETE FROM " + table.sqlName(), List.of(), List.of());
    }

    /** Sends what is queued. */
    void flush() throws SQLException {
        if (pending != null) {
            PreparedStatement statement = pending;
            pending = null;
            statement.executeBatch();
        }
    }

    /** A cached prepared statement, e.g. for the position update. */
    PreparedStatement prepared(String sql) throws SQLException {
        PreparedStatement statement = statements.get(sql);
        if (statement == null) {
            statement = connection.prepareStatement(sql);
            statements.put(sql, statement);
        }
        return statement;
    }

    /** After a commit: drop the statement cache when it has grown past its bound. */
    void committed() {
        if (statements.size() > MAX_STATEMENTS) {
            close();
        }
    }

    private void queue(String sql, List<TargetTable.TargetColumn> columns, List<Object> values, boolean batched)
            throws SQLException {
        if (!batched) {
            runNow(sql, columns, values);
            return;
        }
        PreparedStatement statement = prepared(sql);
        if (pending != statement) {
            flush();
            pending = statement;
        }
        bind(statement, columns, values);
        statement.addBatch();
    }

    private int runNow(String sql, List<TargetTable.TargetColumn> columns, List<Object> values) throws SQLException {
        PreparedStatement statement = prepared(sql);
        bind(statement, columns, values);
        return statement.executeUpdate();
    }

    private void bind(PreparedStatement statement, List<TargetTable.TargetColumn> columns, List<Object> values)
            throws SQLException {
        for (int i = 0; i < columns.size(); i++) {
            dialect.bind(connection, statement, i + 1, columns.get(i), values.get(i));
        }
    }

    @Override
    public void close() {
        pending = null;
        for (PreparedStatement statement : statements.values()) {
            try {
                statement.close();
            } catch (SQLException e) {
                LOG.debug("closing a statement failed: {}", e.toString());
            }
        }
        statements.clear();
    }
}
