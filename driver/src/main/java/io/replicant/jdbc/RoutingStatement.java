package io.replicant.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import io.replicant.config.SqlState;
import io.replicant.router.Classification;

/**
 * A logical Statement: every execute is classified and routed on its own; the physical statements (one per
 * backend used) are created on first use and get the same settings. Results, update counts and warnings come
 * from the physical statement that ran last.
 */
class RoutingStatement implements Statement {
    /** One JDBC call on a physical statement. */
    @FunctionalInterface
    interface Call<S, T> {
        T apply(S statement) throws SQLException;
    }

    final RoutingConnection connection;
    final StatementOptions options;
    private final List<PhysicalConnection> physicalOwners = new ArrayList<>(2);
    private final List<Statement> physicals = new ArrayList<>(2);
    volatile Statement current;
    private boolean failedInTransaction;
    private Statement batch;
    private PhysicalConnection batchConnection;
    private final List<Classification> batchClassifications = new ArrayList<>();
    private boolean closed;

    private int maxFieldSize;
    private long maxRows;
    private boolean escapeProcessing = true;
    private int queryTimeout;
    private int fetchDirection = ResultSet.FETCH_FORWARD;
    private int fetchSize;
    private String cursorName;
    private boolean poolable;
    private boolean closeOnCompletion;

    RoutingStatement(RoutingConnection connection, StatementOptions options) {
        this.connection = connection;
        this.options = options;
    }

    /** Routes {@code sql}, runs {@code call} on the physical statement for the chosen backend, and records the outcome. */
    final <T> T run(Classification c, Call<Statement, T> call) throws SQLException {
        checkOpen();
        PhysicalConnection pc = connection.route(c);
        try {
            return runOn(c, pc, call);
        } catch (SQLException e) {
            if (failedInTransaction || !connection.retriable(c, e)) {
                throw e;
            }
            // a read lost its connection (the backend is now marked down): once more, wherever it goes now
            connection.retrying(pc.backend);
            return runOn(c, connection.route(c), call);
        }
    }

    final <T> T runOn(Classification c, PhysicalConnection pc, Call<Statement, T> call) throws SQLException {
        Statement s = physical(pc);
        current = s;
        pc.backend.beginStatement();
        T result;
        boolean inTransaction = connection.inTransaction(pc);
        try {
            result = call.apply(s);
        } catch (SQLException e) {
            failedInTransaction = inTransaction;
            connection.failed(c, pc, e);
            throw connection.describeFailure(c, pc, inTransaction, e);
        } finally {
            pc.backend.endStatement();
        }
        connection.completed(c, pc);
        connection.settle(pc);
        return result;
    }

    /** The physical statement on {@code pc}, created with this statement's options and settings on first use. */
    final Statement physical(PhysicalConnection pc) throws SQLException {
        for (int i = 0; i < physicalOwners.size(); i++) {
            if (physicalOwners.get(i) == pc) {
                return physicals.get(i);
            }
        }
        Statement s = create(pc);
        applySettings(s);
        physicalOwners.add(pc);
        physicals.add(s);
        return s;
    }

    Statement create(PhysicalConnection pc) throws SQLException {
        return pc.connection.createStatement(options.type(), options.concurrency(),
                connection.holdabilityFor(options.holdability()));
    }

    private void applySettings(Statement s) throws SQLException {
        if (maxFieldSize != 0) {
            s.setMaxFieldSize(maxFieldSize);
        }
        if (maxRows != 0) {
            s.setLargeMaxRows(maxRows);
        }
        if (!escapeProcessing) {
            s.setEscapeProcessing(false);
        }
        if (queryTimeout != 0) {
            s.setQueryTimeout(queryTimeout);
        }
        if (fetchDirection != ResultSet.FETCH_FORWARD) {
            s.setFetchDirection(fetchDirection);
        }
        if (fetchSize != 0) {
            s.setFetchSize(fetchSize);
        }
        if (cursorName != null) {
            s.setCursorName(cursorName);
        }
        if (poolable) {
            s.setPoolable(true);
        }
        if (closeOnCompletion) {
            s.closeOnCompletion();
        }
    }

    /** Applies a setting change to every physical statement made so far. */
    private void forEachPhysical(Call<Statement, Void> change) throws SQLException {
        checkOpen();
        for (Statement s : physicals) {
            change.apply(s);
        }
    }

    private Statement currentOrFail() throws SQLException {
        checkOpen();
        Statement s = current;
        if (s == null) {
            throw Errors.of(SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE, "no statement has been executed yet");
        }
        return s;
    }

    final void checkOpen() throws SQLException {
        if (closed) {
            throw Errors.closed("statement");
        }
        connection.checkOpen();
    }

    // ---------------------------------------------------------------- execute

    @Override
    public ResultSet executeQuery(String sql) throws SQLException {
        return run(connection.classify(sql), s -> s.executeQuery(sql));
    }

    @Override
    public int executeUpdate(String sql) throws SQLException {
        return run(connection.classify(sql), s -> s.executeUpdate(sql));
    }

    @Override
    public int executeUpdate(String sql, int autoGeneratedKeys) throws SQLException {
        return run(connection.classify(sql), s -> s.executeUpdate(sql, autoGeneratedKeys));
    }

    @Override
    public int executeUpdate(String sql, int[] columnIndexes) throws SQLException {
        return run(connection.classify(sql), s -> s.executeUpdate(sql, columnIndexes));
    }

    @Override
    public int executeUpdate(String sql, String[] columnNames) throws SQLException {
        return run(connection.classify(sql), s -> s.executeUpdate(sql, columnNames));
    }

    @Override
    public long executeLargeUpdate(String sql) throws SQLException {
        return run(connection.classify(sql), s -> s.executeLargeUpdate(sql));
    }

    @Override
    public long executeLargeUpdate(String sql, int autoGeneratedKeys) throws SQLException {
        return run(connection.classify(sql), s -> s.executeLargeUpdate(sql, autoGeneratedKeys));
    }

    @Override
    public long executeLargeUpdate(String sql, int[] columnIndexes) throws SQLException {
        return run(connection.classify(sql), s -> s.executeLargeUpdate(sql, columnIndexes));
    }

    @Override
    public long executeLargeUpdate(String sql, String[] columnNames) throws SQLException {
        return run(connection.classify(sql), s -> s.executeLargeUpdate(sql, columnNames));
    }

    @Override
    public boolean execute(String sql) throws SQLException {
        return run(connection.classify(sql), s -> s.execute(sql));
    }

    @Override
    public boolean execute(String sql, int autoGeneratedKeys) throws SQLException {
        return run(connection.classify(sql), s -> s.execute(sql, autoGeneratedKeys));
    }

    @Override
    public boolean execute(String sql, int[] columnIndexes) throws SQLException {
        return run(connection.classify(sql), s -> s.execute(sql, columnIndexes));
    }

    @Override
    public boolean execute(String sql, String[] columnNames) throws SQLException {
        return run(connection.classify(sql), s -> s.execute(sql, columnNames));
    }

    // ---------------------------------------------------------------- batches: on the primary, or in the open transaction

    @Override
    public void addBatch(String sql) throws SQLException {
        checkOpen();
        Classification c = connection.classify(sql);
        PhysicalConnection pc = connection.routeBatch(c);
        Statement s = physical(pc);
        s.addBatch(sql);
        batch = s;
        batchConnection = pc;
        batchClassifications.add(c);
    }

    /** Remembers where the batch goes; used by {@link RoutingPreparedStatement#addBatch()}. */
    final void batchedOn(PhysicalConnection pc, Statement s, Classification c) {
        batch = s;
        batchConnection = pc;
        batchClassifications.add(c);
    }

    @Override
    public void clearBatch() throws SQLException {
        checkOpen();
        if (batch != null) {
            batch.clearBatch();
        }
        resetBatch();
    }

    private void resetBatch() {
        batch = null;
        batchConnection = null;
        batchClassifications.clear();
    }

    @Override
    public int[] executeBatch() throws SQLException {
        return runBatch(Statement::executeBatch, new int[0]);
    }

    @Override
    public long[] executeLargeBatch() throws SQLException {
        return runBatch(Statement::executeLargeBatch, new long[0]);
    }

    private <T> T runBatch(Call<Statement, T> call, T empty) throws SQLException {
        checkOpen();
        if (batch == null) {
            return empty;
        }
        PhysicalConnection pc = batchConnection;
        List<Classification> cs = new ArrayList<>(batchClassifications);
        Statement s = batch;
        resetBatch();
        current = s;
        pc.backend.beginStatement();
        T result;
        try {
            result = call.apply(s);
        } catch (SQLException e) {
            connection.failed(cs.get(0), pc, e);
            throw connection.describeFailure(cs.get(0), pc, true, e);
        } finally {
            pc.backend.endStatement();
        }
        for (Classification c : cs) {
            connection.completed(c, pc);
        }
        connection.settle(pc);
        return result;
    }

    // ---------------------------------------------------------------- results of the last execution

    @Override
    public ResultSet getResultSet() throws SQLException {
        checkOpen();
        Statement s = current;
        return s == null ? null : s.getResultSet();
    }

    @Override
    public int getUpdateCount() throws SQLException {
        checkOpen();
        Statement s = current;
        return s == null ? -1 : s.getUpdateCount();
    }

    @Override
    public long getLargeUpdateCount() throws SQLException {
        checkOpen();
        Statement s = current;
        return s == null ? -1 : s.getLargeUpdateCount();
    }

    @Override
    public boolean getMoreResults() throws SQLException {
        checkOpen();
        Statement s = current;
        return s != null && s.getMoreResults();
    }

    @Override
    public boolean getMoreResults(int mode) throws SQLException {
        checkOpen();
        Statement s = current;
        return s != null && s.getMoreResults(mode);
    }

    @Override
    public ResultSet getGeneratedKeys() throws SQLException {
        return currentOrFail().getGeneratedKeys();
    }

    @Override
    public SQLWarning getWarnings() throws SQLException {
        checkOpen();
        Statement s = current;
        return s == null ? null : s.getWarnings();
    }

    @Override
    public void clearWarnings() throws SQLException {
        forEachPhysical(s -> {
            s.clearWarnings();
            return null;
        });
    }

    /** Cancels the statement running now, on whichever server runs it; callable from another thread. */
    @Override
    public void cancel() throws SQLException {
        Statement s = current;
        if (s != null) {
            s.cancel();
        }
    }

    // ---------------------------------------------------------------- settings, mirrored onto the physical statements

    @Override
    public int getMaxFieldSize() throws SQLException {
        checkOpen();
        return maxFieldSize;
    }

    @Override
    public void setMaxFieldSize(int max) throws SQLException {
        forEachPhysical(s -> {
            s.setMaxFieldSize(max);
            return null;
        });
        maxFieldSize = max;
    }

    @Override
    public int getMaxRows() throws SQLException {
        checkOpen();
        return (int) Math.min(Integer.MAX_VALUE, maxRows);
    }

    @Override
    public void setMaxRows(int max) throws SQLException {
        setLargeMaxRows(max);
    }

    @Override
    public long getLargeMaxRows() throws SQLException {
        checkOpen();
        return maxRows;
    }

    @Override
    public void setLargeMaxRows(long max) throws SQLException {
        if (max < 0) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Maximum number of rows must be a value greater than or equal to 0.");
        }
        forEachPhysical(s -> {
            s.setLargeMaxRows(max);
            return null;
        });
        maxRows = max;
    }

    @Override
    public void setEscapeProcessing(boolean enable) throws SQLException {
        forEachPhysical(s -> {
            s.setEscapeProcessing(enable);
            return null;
        });
        escapeProcessing = enable;
    }

    @Override
    public int getQueryTimeout() throws SQLException {
        checkOpen();
        return queryTimeout;
    }

    @Override
    public void setQueryTimeout(int seconds) throws SQLException {
        if (seconds < 0) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Query timeout must be a value greater than or equals to 0.");
        }
        forEachPhysical(s -> {
            s.setQueryTimeout(seconds);
            return null;
        });
        queryTimeout = seconds;
    }

    @Override
    public void setCursorName(String name) throws SQLException {
        forEachPhysical(s -> {
            s.setCursorName(name);
            return null;
        });
        cursorName = name;
    }

    @Override
    public void setFetchDirection(int direction) throws SQLException {
        forEachPhysical(s -> {
            s.setFetchDirection(direction);
            return null;
        });
        fetchDirection = direction;
    }

    @Override
    public int getFetchDirection() throws SQLException {
        checkOpen();
        return fetchDirection;
    }

    @Override
    public void setFetchSize(int rows) throws SQLException {
        if (rows < 0) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Fetch size must be a value greater than or equal to 0.");
        }
        forEachPhysical(s -> {
            s.setFetchSize(rows);
            return null;
        });
        fetchSize = rows;
    }

    @Override
    public int getFetchSize() throws SQLException {
        checkOpen();
        return fetchSize;
    }

    @Override
    public int getResultSetConcurrency() throws SQLException {
        checkOpen();
        return options.concurrency();
    }

    @Override
    public int getResultSetType() throws SQLException {
        checkOpen();
        return options.type();
    }

    @Override
    public int getResultSetHoldability() throws SQLException {
        checkOpen();
        return connection.holdabilityFor(options.holdability());
    }

    @Override
    public void setPoolable(boolean value) throws SQLException {
        forEachPhysical(s -> {
            s.setPoolable(value);
            return null;
        });
        poolable = value;
    }

    @Override
    public boolean isPoolable() throws SQLException {
        checkOpen();
        return poolable;
    }

    @Override
    public void closeOnCompletion() throws SQLException {
        forEachPhysical(s -> {
            s.closeOnCompletion();
            return null;
        });
        closeOnCompletion = true;
    }

    @Override
    public boolean isCloseOnCompletion() throws SQLException {
        checkOpen();
        return closeOnCompletion;
    }

    @Override
    public Connection getConnection() throws SQLException {
        checkOpen();
        return connection;
    }

    @Override
    public boolean isClosed() {
        return closed || connection.isClosed();
    }

    @Override
    public void close() throws SQLException {
        if (closed) {
            return;
        }
        closed = true;
        SQLException first = null;
        for (Statement s : physicals) {
            try {
                s.close();
            } catch (SQLException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        physicals.clear();
        physicalOwners.clear();
        current = null;
        if (first != null && !connection.isClosed()) {
            throw first;
        }
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        Statement s = currentOrFail();
        return s.unwrap(iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return true;
        }
        Statement s = current;
        return s != null && s.isWrapperFor(iface);
    }
}
