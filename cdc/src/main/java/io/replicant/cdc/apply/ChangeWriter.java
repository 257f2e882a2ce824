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
 * truncates. Consecutive uses of one statement go to the server as one JDBC batch, and consecutive upserts of
 * distinct rows as multi-row statements where the dialect has them; order across statements is kept. Prepared
 * statements are kept per connection (one per table, operation, column set and row count).
 */
final class ChangeWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeWriter.class);
    private static final int MAX_STATEMENTS = 256;
    /** Rows per multi-row upsert, largest first: few statement shapes, and a long run takes few round trips. */
    private static final int[] ROWS_PER_STATEMENT = {128, 16, 1};
    /** The protocol's limit on parameters in one statement (a signed 16-bit count in pgjdbc). */
    private static final int MAX_PARAMETERS = Short.MAX_VALUE;

    /** How a change may be sent. */
    enum Batching {
        /** At once, its row count checked (each change under a savepoint). */
        NONE,
        /** In a JDBC batch of its statement, sent at the next other statement or {@link #flush}. */
        BATCHED,
        /** As {@link #BATCHED}, and an upsert may share one statement with the run of upserts before it: the
         * caller guarantees that a run of upserts touches each row once. */
        MULTI_ROW
    }

    private final Connection connection;
    private final Dialect dialect;
    private final String follower;
    private final Map<String, PreparedStatement> statements = new HashMap<>();
    /** A statement with a JDBC batch waiting, or null. */
    private PreparedStatement pending;
    /** Upserts waiting to go as multi-row statements, or null; never both this and {@link #pending}. */
    private UpsertRun pendingRows;

    ChangeWriter(Connection connection, Dialect dialect, String follower) {
        this.connection = connection;
        this.dialect = dialect;
        this.follower = follower;
    }

    void write(Change change, TargetTable table, Batching batching) throws SQLException, ApplyException {
        switch (change.op()) {
            case INSERT, UPDATE -> {
                List<TargetTable.TargetColumn> columns = new ArrayList<>();
                List<Object> values = new ArrayList<>();
                change.after().forEach((name, value) -> {
                    columns.add(table.column(name));
                    values.add(value);
                });
                if (change.oldKey() == null && !change.partial()) {
                    if (batching == Batching.MULTI_ROW) {
                        queueRow(table, columns, values);
                    } else {
                        queue(dialect.upsert(table, columns), columns, values, batching);
                    }
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
                queue(dialect.delete(table), table.key(), values, batching);
            }
            case TRUNCATE -> queue(dialect.truncate(table), List.of(), List.of(), batching);
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
        if (pendingRows != null) {
            UpsertRun run = pendingRows;
            pendingRows = null;
            send(run);
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

    private void queue(String sql, List<TargetTable.TargetColumn> columns, List<Object> values, Batching batching)
            throws SQLException {
        if (batching == Batching.NONE) {
            runNow(sql, columns, values);
            return;
        }
        PreparedStatement statement = prepared(sql);
        if (pending != statement) {
            flush();
            pending = statement;
        }
        bind(statement, columns, values, 0);
        statement.addBatch();
    }

    /** Consecutive upserts of one table and column set, each row once. */
    private record UpsertRun(TargetTable table, List<TargetTable.TargetColumn> columns, List<List<Object>> rows) {
    }

    private void queueRow(TargetTable table, List<TargetTable.TargetColumn> columns, List<Object> values)
            throws SQLException {
        // the same table is the same instance within one follower transaction
        if (pendingRows == null || pendingRows.table() != table || !pendingRows.columns().equals(columns)) {
            flush();
            pendingRows = new UpsertRun(table, columns, new ArrayList<>());
        }
        pendingRows.rows().add(values);
    }

    /** The run as multi-row statements, each size in one JDBC batch; single-row ones for what is left. */
    private void send(UpsertRun run) throws SQLException {
        int columns = run.columns().size();
        int sent = 0;
        for (int size : ROWS_PER_STATEMENT) {
            int statements = (run.rows().size() - sent) / size;
            if (statements == 0) {
                continue;
            }
            String sql = size == 1 ? dialect.upsert(run.table(), run.columns())
                    : size * columns <= MAX_PARAMETERS ? dialect.upsertRows(run.table(), run.columns(), size) : null;
            if (sql == null) {
                continue;
            }
            PreparedStatement statement = prepared(sql);
            for (int i = 0; i < statements; i++) {
                for (int row = 0; row < size; row++) {
                    bind(statement, run.columns(), run.rows().get(sent++), row * columns);
                }
                statement.addBatch();
            }
            statement.executeBatch();
        }
    }

    private int runNow(String sql, List<TargetTable.TargetColumn> columns, List<Object> values) throws SQLException {
        PreparedStatement statement = prepared(sql);
        bind(statement, columns, values, 0);
        return statement.executeUpdate();
    }

    /** Binds one row's values to the parameters after the first {@code offset}. */
    private void bind(PreparedStatement statement, List<TargetTable.TargetColumn> columns, List<Object> values,
            int offset) throws SQLException {
        for (int i = 0; i < columns.size(); i++) {
            dialect.bind(connection, statement, offset + i + 1, columns.get(i), values.get(i));
        }
    }

    @Override
    public void close() {
        pending = null;
        pendingRows = null;
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
