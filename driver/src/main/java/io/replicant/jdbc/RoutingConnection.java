package io.replicant.jdbc;

import java.sql.Array;
import java.sql.Blob;
import java.sql.CallableStatement;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.NClob;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLClientInfoException;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.SQLXML;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Struct;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executor;

import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;

import io.replicant.Route;
import io.replicant.RouteExplanation;
import io.replicant.ReplicantConnection;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.Hints;
import io.replicant.router.RouteDecision;

/**
 * The logical connection the application holds: the JDBC surface over a {@link LogicalSession}, which routes
 * each statement through the {@link io.replicant.router.Router} and keeps session state in step on every
 * physical connection the session uses.
 */
public final class RoutingConnection implements ReplicantConnection {
    private final LogicalSession session;
    private int holdability = ResultSet.CLOSE_CURSORS_AT_COMMIT;
    private volatile boolean closed;

    RoutingConnection(Cluster cluster) {
        this.session = new LogicalSession(cluster);
    }

    // ---------------------------------------------------------------- routing, used by the statements

    Classification classify(String sql) {
        return session.classify(sql);
    }

    PhysicalConnection route(Classification c) throws SQLException {
        checkOpen();
        return session.route(c);
    }

    PhysicalConnection routeBatch(Classification c) throws SQLException {
        checkOpen();
        return session.routeBatch(c);
    }

    void completed(Classification c, PhysicalConnection pc) {
        session.completed(c, pc);
    }

    void failed(Classification c, PhysicalConnection pc, SQLException e) throws SQLException {
        session.failed(c, pc, e);
    }

    SQLException describeFailure(Classification c, PhysicalConnection pc, boolean inTransaction, SQLException e) {
        return session.describeFailure(c, pc, inTransaction, e);
    }

    /** Whether a statement about to run on {@code pc} runs inside a transaction (autocommit off, or SQL BEGIN). */
    boolean inTransaction(PhysicalConnection pc) {
        return !session.autoCommit || pc.inTransaction();
    }

    boolean retriable(Classification c, SQLException e) {
        return session.retriable(c, e);
    }

    void retrying(Backend lost) {
        session.cluster().metrics().retried(lost);
    }

    /** After a statement's outcome is recorded: if it committed writes, waits for the quorum. */
    void settle(PhysicalConnection pc) throws SQLException {
        session.settle(pc);
    }

    private PhysicalConnection primary() throws SQLException {
        checkOpen();
        return session.primary();
    }

    private PhysicalConnection any() throws SQLException {
        checkOpen();
        return session.any();
    }

    // ---------------------------------------------------------------- ReplicantConnection

    @Override
    public void routeNextStatement(Route route) {
        session.forcedNext = route;
    }

    @Override
    public void routeSession(Route route) {
        session.forcedSession = route;
    }

    @Override
    public RouteExplanation explain(String sql) {
        Classification c = classify(sql);
        return explanation(c, session.explain(c));
    }

    @Override
    public RouteExplanation lastRoute() {
        RouteDecision d = session.lastDecision();
        return d == null ? null : explanation(null, d);
    }

    @Override
    public void setQuorum(int w) throws SQLException {
        checkOpen();
        session.quorumForNextCommit(w);
    }

    @Override
    public void setConsistency(String mode) throws SQLException {
        checkOpen();
        if (mode == null || !Hints.CONSISTENCY_MODES.contains(mode)) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE,
                    "consistency must be one of " + Hints.CONSISTENCY_MODES + ", but was: " + mode);
        }
        session.consistency = mode;
    }

    @Override
    public String getConsistency() {
        return session.consistency;
    }

    @Override
    public String getConsistencyToken() throws SQLException {
        checkOpen();
        return session.consistencyToken();
    }

    @Override
    public void setConsistencyToken(String token) throws SQLException {
        checkOpen();
        session.consistencyToken(token);
    }

    private static RouteExplanation explanation(Classification c, RouteDecision d) {
        String kind = c == null ? "" : c.kind().ruleName();
        if (d.refused()) {
            return new RouteExplanation("refused", "", d.reason().tag(), "SQLSTATE " + d.refusal() + ": " + d.detail(), kind);
        }
        if (d.awaitCatchUp()) {
            return new RouteExplanation("wait", "", d.reason().tag(), d.describe(), kind);
        }
        return new RouteExplanation(d.backend().isPrimary() ? "primary" : "replica", d.backend().name(),
                d.reason().tag(), d.detail(), kind);
    }

    // ---------------------------------------------------------------- statements

    @Override
    public Statement createStatement() throws SQLException {
        return createStatement(ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY);
    }

    @Override
    public Statement createStatement(int type, int concurrency) throws SQLException {
        return createStatement(type, concurrency, -1);
    }

    @Override
    public Statement createStatement(int type, int concurrency, int holdability) throws SQLException {
        checkOpen();
        return new RoutingStatement(this, new StatementOptions(type, concurrency, holdability));
    }

    @Override
    public PreparedStatement prepareStatement(String sql) throws SQLException {
        return prepare(sql, StatementOptions.DEFAULT);
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int type, int concurrency) throws SQLException {
        return prepare(sql, new StatementOptions(type, concurrency, -1));
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int type, int concurrency, int holdability)
            throws SQLException {
        return prepare(sql, new StatementOptions(type, concurrency, holdability));
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int autoGeneratedKeys) throws SQLException {
        return prepare(sql, StatementOptions.DEFAULT.withGeneratedKeys(autoGeneratedKeys, null, null));
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int[] columnIndexes) throws SQLException {
        return prepare(sql, StatementOptions.DEFAULT.withGeneratedKeys(Statement.RETURN_GENERATED_KEYS, columnIndexes, null));
    }

    @Override
    public PreparedStatement prepareStatement(String sql, String[] columnNames) throws SQLException {
        return prepare(sql, StatementOptions.DEFAULT.withGeneratedKeys(Statement.RETURN_GENERATED_KEYS, null, columnNames));
    }

    private PreparedStatement prepare(String sql, StatementOptions options) throws SQLException {
        checkOpen();
        return new RoutingPreparedStatement(this, sql, options);
    }

    /** Procedures and {@code {call}} escapes always run on the primary (or in the open transaction). */
    @Override
    public CallableStatement prepareCall(String sql) throws SQLException {
        PhysicalConnection pc = route(classify(sql));
        return PrimaryBound.wrap(CallableStatement.class, pc.connection.prepareCall(sql), this);
    }

    @Override
    public CallableStatement prepareCall(String sql, int type, int concurrency) throws SQLException {
        PhysicalConnection pc = route(classify(sql));
        return PrimaryBound.wrap(CallableStatement.class, pc.connection.prepareCall(sql, type, concurrency), this);
    }

    @Override
    public CallableStatement prepareCall(String sql, int type, int concurrency, int holdability) throws SQLException {
        PhysicalConnection pc = route(classify(sql));
        return PrimaryBound.wrap(CallableStatement.class, pc.connection.prepareCall(sql, type, concurrency, holdability),
                this);
    }

    @Override
    public String nativeSQL(String sql) throws SQLException {
        return any().connection.nativeSQL(sql);
    }

    // ---------------------------------------------------------------- transactions

    @Override
    public void setAutoCommit(boolean value) throws SQLException {
        checkOpen();
        if (value == session.autoCommit) {
            return;
        }
        if (value) {
            session.endTransaction(true); // JDBC: switching autocommit on commits the open transaction
        }
        session.autoCommit = value;
        PhysicalConnection tx = session.transactionConnection();
        if (!value && tx != null) {
            tx.setAutoCommit(false); // a transaction begun with SQL: commit() and rollback() now end it, as in pgjdbc
        }
    }

    @Override
    public boolean getAutoCommit() throws SQLException {
        checkOpen();
        return session.autoCommit;
    }

    @Override
    public void commit() throws SQLException {
        checkOpen();
        if (session.autoCommit) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, "Cannot commit when autoCommit is enabled.");
        }
        session.endTransaction(true);
    }

    @Override
    public void rollback() throws SQLException {
        checkOpen();
        if (session.autoCommit) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, "Cannot rollback when autoCommit is enabled.");
        }
        session.endTransaction(false);
    }

    /** Savepoints need a transaction; one is opened where this session's transactions go. */
    private PhysicalConnection savepointConnection() throws SQLException {
        checkOpen();
        if (session.autoCommit) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, "Cannot establish a savepoint in auto-commit mode.");
        }
        PhysicalConnection pc = session.transactionConnection();
        return pc != null ? pc : route(classify("SAVEPOINT replicant"));
    }

    @Override
    public Savepoint setSavepoint() throws SQLException {
        Savepoint savepoint = savepointConnection().connection.setSavepoint();
        session.savepointSet(LogicalSession.savepointName(savepoint));
        return savepoint;
    }

    @Override
    public Savepoint setSavepoint(String name) throws SQLException {
        Savepoint savepoint = savepointConnection().connection.setSavepoint(name);
        session.savepointSet(name);
        return savepoint;
    }

    @Override
    public void rollback(Savepoint savepoint) throws SQLException {
        String name = LogicalSession.savepointName(savepoint);
        openTransaction("ROLLBACK TO SAVEPOINT").connection.rollback(savepoint);
        session.rolledBackTo(name);
    }

    @Override
    public void releaseSavepoint(Savepoint savepoint) throws SQLException {
        String name = LogicalSession.savepointName(savepoint); // pgjdbc forgets it once released
        openTransaction("RELEASE SAVEPOINT").connection.releaseSavepoint(savepoint);
        session.released(name);
    }

    /**
     * The connection of the open transaction, also one begun with SQL in autocommit mode; without one, the error
     * the server gives pgjdbc, which sends these without beginning a transaction.
     */
    private PhysicalConnection openTransaction(String command) throws SQLException {
        checkOpen();
        PhysicalConnection pc = session.transactionConnection();
        if (pc == null || !pc.inTransaction()) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, command + " can only be used in transaction blocks");
        }
        return pc;
    }

    @Override
    public void setReadOnly(boolean value) throws SQLException {
        checkOpen();
        PhysicalConnection tx = session.transactionConnection();
        if (tx != null && tx.inTransaction()) { // as pgjdbc: even to the value it has
            throw Errors.of(SqlState.ACTIVE_SQL_TRANSACTION,
                    "Cannot change transaction read-only property in the middle of a transaction.");
        }
        session.readOnly = value;
    }

    @Override
    public boolean isReadOnly() throws SQLException {
        checkOpen();
        return session.readOnly;
    }

    @Override
    public void setTransactionIsolation(int level) throws SQLException {
        checkOpen();
        if (level != TRANSACTION_READ_UNCOMMITTED && level != TRANSACTION_READ_COMMITTED
                && level != TRANSACTION_REPEATABLE_READ && level != TRANSACTION_SERIALIZABLE) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Transaction isolation level " + level
                    + " not supported.");
        }
        PhysicalConnection tx = session.transactionConnection();
        if (tx != null && tx.inTransaction()) { // as pgjdbc: even to the level it has
            throw Errors.of(SqlState.ACTIVE_SQL_TRANSACTION,
                    "Cannot change transaction isolation level in the middle of a transaction.");
        }
        session.isolation = level;
    }

    @Override
    public int getTransactionIsolation() throws SQLException {
        checkOpen();
        return session.isolation != -1 ? session.isolation : primary().connection.getTransactionIsolation();
    }

    // ---------------------------------------------------------------- session settings

    @Override
    public void setSchema(String schema) throws SQLException {
        checkOpen();
        String sql = "SET SESSION search_path TO " + LogicalSession.quoteIdentifier(schema);
        try (Statement s = createStatement()) {
            s.execute(sql);
        }
    }

    @Override
    public String getSchema() throws SQLException {
        try (Statement s = createStatement(); ResultSet rs = s.executeQuery("SELECT current_schema()")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    @Override
    public void setCatalog(String catalog) throws SQLException {
        checkOpen(); // PostgreSQL has one catalog per connection; pgjdbc ignores this too
    }

    @Override
    public String getCatalog() throws SQLException {
        checkOpen();
        return session.cluster().config().get(ReplicantOptions.DATABASE);
    }

    @Override
    public void setNetworkTimeout(Executor executor, int milliseconds) throws SQLException {
        checkOpen();
        for (PhysicalConnection pc : session.physicals()) {
            pc.connection.setNetworkTimeout(executor, milliseconds);
        }
        session.networkTimeoutExecutor = executor;
        session.networkTimeout = milliseconds;
    }

    @Override
    public int getNetworkTimeout() throws SQLException {
        checkOpen();
        return session.networkTimeout;
    }

    @Override
    public void setHoldability(int holdability) throws SQLException {
        checkOpen();
        if (holdability != ResultSet.CLOSE_CURSORS_AT_COMMIT && holdability != ResultSet.HOLD_CURSORS_OVER_COMMIT) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Unknown ResultSet holdability setting: " + holdability);
        }
        for (PhysicalConnection pc : session.physicals()) {
            pc.connection.setHoldability(holdability);
        }
        this.holdability = holdability;
    }

    @Override
    public int getHoldability() throws SQLException {
        checkOpen();
        return holdability;
    }

    int holdabilityFor(int requested) {
        return requested == -1 ? holdability : requested;
    }

    @Override
    public Map<String, Class<?>> getTypeMap() throws SQLException {
        checkOpen();
        return Collections.emptyMap();
    }

    @Override
    public void setTypeMap(Map<String, Class<?>> map) throws SQLException {
        checkOpen();
        if (map != null && !map.isEmpty()) {
            throw Errors.unsupported("Connection.setTypeMap with custom type mappings");
        }
    }

    @Override
    public void setClientInfo(String name, String value) throws SQLClientInfoException {
        if (value == null) {
            session.clientInfo.remove(name);
        } else {
            session.clientInfo.setProperty(name, value);
        }
        for (PhysicalConnection pc : session.physicals()) {
            pc.connection.setClientInfo(name, value);
        }
    }

    @Override
    public void setClientInfo(Properties properties) throws SQLClientInfoException {
        session.clientInfo.clear();
        session.clientInfo.putAll(properties);
        for (PhysicalConnection pc : session.physicals()) {
            pc.connection.setClientInfo(properties);
        }
    }

    @Override
    public String getClientInfo(String name) throws SQLException {
        checkOpen();
        return session.clientInfo.getProperty(name);
    }

    @Override
    public Properties getClientInfo() throws SQLException {
        checkOpen();
        Properties copy = new Properties();
        copy.putAll(session.clientInfo);
        return copy;
    }

    // ---------------------------------------------------------------- connection-level objects

    /** Metadata comes from the primary; its {@code getConnection()} returns this logical connection. */
    @Override
    public DatabaseMetaData getMetaData() throws SQLException {
        return PrimaryBound.wrap(DatabaseMetaData.class, primary().connection.getMetaData(), this);
    }

    @Override
    public Clob createClob() throws SQLException {
        return any().connection.createClob();
    }

    @Override
    public Blob createBlob() throws SQLException {
        return any().connection.createBlob();
    }

    @Override
    public NClob createNClob() throws SQLException {
        return any().connection.createNClob();
    }

    @Override
    public SQLXML createSQLXML() throws SQLException {
        return any().connection.createSQLXML();
    }

    @Override
    public Array createArrayOf(String typeName, Object[] elements) throws SQLException {
        return any().connection.createArrayOf(typeName, elements);
    }

    @Override
    public Struct createStruct(String typeName, Object[] attributes) throws SQLException {
        return any().connection.createStruct(typeName, attributes);
    }

    @Override
    public SQLWarning getWarnings() throws SQLException {
        checkOpen();
        PhysicalConnection pc = session.lastUsed();
        return session.warnings(pc == null ? null : pc.connection.getWarnings());
    }

    @Override
    public void clearWarnings() throws SQLException {
        checkOpen();
        session.clearWarnings();
        for (PhysicalConnection pc : session.physicals()) {
            pc.connection.clearWarnings();
        }
    }

    @Override
    public boolean isValid(int timeout) throws SQLException {
        if (timeout < 0) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "timeout must be >= 0 but was: " + timeout);
        }
        if (closed) {
            return false;
        }
        if (session.physicals().isEmpty()) {
            return primary().connection.isValid(timeout);
        }
        for (PhysicalConnection pc : new ArrayList<>(session.physicals())) {
            if (!pc.connection.isValid(timeout)) {
                session.discard(pc, Errors.of(SqlState.CONNECTION_FAILURE, "isValid failed"));
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- wrapping

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        if (iface == PGConnection.class || iface == BaseConnection.class || iface.isAssignableFrom(PGConnection.class)) {
            // The app gets the primary's own connection (COPY, notifications, large objects): keep it on the primary.
            checkOpen();
            return session.handOutPrimary().connection.unwrap(iface);
        }
        throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "cannot unwrap to " + iface.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this) || iface.isAssignableFrom(PGConnection.class) || iface == BaseConnection.class;
    }

    // ---------------------------------------------------------------- lifecycle

    void checkOpen() throws SQLException {
        if (closed) {
            throw Errors.closed("connection");
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Returns every physical connection to its pool, rolled back and with session state reset. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        session.releaseAll();
    }

    @Override
    public void abort(Executor executor) throws SQLException {
        if (closed) {
            return;
        }
        closed = true;
        for (PhysicalConnection pc : session.physicals()) {
            session.cluster().evict(pc);
            pc.connection.abort(executor);
        }
        session.physicals().clear();
    }
}
