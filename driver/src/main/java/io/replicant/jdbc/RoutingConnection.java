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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executor;

import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.replicant.Route;
import io.replicant.RouteExplanation;
import io.replicant.ReplicantConnection;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.config.StatementKind;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.Reason;
import io.replicant.router.RouteDecision;
import io.replicant.router.SessionEffect;
import io.replicant.router.SessionView;
import io.replicant.router.Verdict;

/**
 * The logical connection the application holds. It keeps at most one physical connection per backend,
 * taken lazily from the backend's pool and held until close, so server-side prepared statements survive;
 * routing decisions come from the {@link io.replicant.router.Router}, and session state follows the session
 * onto every physical connection it uses ({@link SessionState}).
 */
public final class RoutingConnection implements ReplicantConnection, SessionView {
    private static final Logger LOG = LoggerFactory.getLogger(RoutingConnection.class);

    private final Cluster cluster;
    private final SessionState session = new SessionState();
    private final List<PhysicalConnection> physicals = new ArrayList<>(3);
    private volatile PhysicalConnection lastUsed;
    private RouteDecision lastDecision;
    private Backend txBackend;
    private boolean autoCommit = true;
    private boolean readOnly;
    private int isolation = -1;
    private int holdability = ResultSet.CLOSE_CURSORS_AT_COMMIT;
    private Route forcedNext;
    private Route forcedSession;
    private Executor networkTimeoutExecutor;
    private int networkTimeout;
    private final Properties clientInfo = new Properties();
    private volatile boolean closed;

    RoutingConnection(Cluster cluster) {
        this.cluster = cluster;
        String app = cluster.config().jdbcProperties().get("ApplicationName");
        if (app != null) {
            clientInfo.setProperty("ApplicationName", app);
        }
    }

    // ---------------------------------------------------------------- routing, used by the statements

    Classification classify(String sql) {
        return cluster.router().classify(sql);
    }

    /** Routes a statement and returns the physical connection, up to date with the session, to run it on. */
    PhysicalConnection route(Classification c) throws SQLException {
        checkOpen();
        RouteDecision decision = decide(c);
        forcedNext = null;
        PhysicalConnection pc;
        try {
            pc = prepare(decision.backend());
        } catch (ReplicaUnusableException e) {
            decision = decide(c); // the replica is now unavailable or the session pinned: decide again
            pc = prepare(decision.backend());
        }
        cluster.metrics().routed(decision.backend(), decision.reason());
        lastDecision = decision;
        lastUsed = pc;
        if (LOG.isDebugEnabled()) {
            LOG.debug("[{}] {} -> {}", cluster.name(), abbreviate(c.sql()), decision.describe());
        }
        return pc;
    }

    /** For batches: the open transaction's backend (or the one a new transaction goes to), else the primary. */
    PhysicalConnection routeBatch(Classification c) throws SQLException {
        if (txBackend != null || !autoCommit) {
            return route(c);
        }
        checkOpen();
        PhysicalConnection pc = prepare(cluster.primary());
        lastDecision = RouteDecision.to(cluster.primary(), Reason.WRITE, "batch");
        cluster.metrics().routed(cluster.primary(), Reason.WRITE);
        lastUsed = pc;
        return pc;
    }

    private RouteDecision decide(Classification c) throws SQLException {
        RouteDecision decision = cluster.router().route(c, this, cluster.primary(), cluster.replicas());
        if (decision.refused()) {
            cluster.metrics().failed(decision.refusal());
            throw new SQLException(decision.detail(), decision.refusal());
        }
        return decision;
    }

    private PhysicalConnection prepare(Backend backend) throws SQLException {
        PhysicalConnection pc = physicalFor(backend);
        if (txBackend != backend) {
            String catchUp = session.catchUpSql(pc);
            if (catchUp != null) {
                try {
                    pc.setAutoCommit(true);
                    pc.execute(catchUp);
                    session.markSynced(pc);
                } catch (SQLException e) {
                    if (Errors.isFatal(e) || backend.isPrimary()) {
                        discard(pc, e);
                        throw e;
                    }
                    LOG.warn("[{}] replaying session settings on {} failed ({}); session pinned to the primary",
                            cluster.name(), backend, e.getMessage());
                    pin("replay_failed");
                    throw new ReplicaUnusableException();
                }
            }
            pc.setReadOnly(readOnly);
            if (isolation != -1) {
                pc.setIsolation(isolation);
            }
            pc.setAutoCommit(autoCommit);
            if (!autoCommit) {
                txBackend = backend;
            }
        }
        return pc;
    }

    private PhysicalConnection physicalFor(Backend backend) throws SQLException {
        for (PhysicalConnection pc : physicals) {
            if (pc.backend == backend) {
                return pc;
            }
        }
        PhysicalConnection pc;
        try {
            pc = cluster.acquire(backend);
        } catch (SQLException e) {
            if (backend.isPrimary()) {
                throw e;
            }
            throw new ReplicaUnusableException();
        }
        if (networkTimeoutExecutor != null) {
            pc.connection.setNetworkTimeout(networkTimeoutExecutor, networkTimeout);
        }
        if (!clientInfo.isEmpty()) {
            pc.connection.setClientInfo(clientInfo);
        }
        physicals.add(pc);
        return pc;
    }

    /** A replica cannot be used after all (no connection, or session replay failed): decide again. */
    private static final class ReplicaUnusableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ReplicaUnusableException() {
            super(null, null, false, false);
        }
    }

    /** After a statement succeeded on {@code pc}. */
    void completed(Classification c, PhysicalConnection pc) {
        if (!c.effects().isEmpty()) {
            String pin = session.apply(c.effects(), pc.inTransaction(), pc);
            if (pin != null) {
                cluster.metrics().pinned(pin);
            }
            for (SessionEffect effect : c.effects()) {
                if (effect.type() == SessionEffect.Type.CATALOG_CHANGED) {
                    cluster.catalog().refreshSoon();
                }
            }
        }
        if (c.sessionBound() || c.reason() == Reason.WRITER_FUNCTION || c.kind() == StatementKind.CURSOR
                || c.kind() == StatementKind.DO || c.kind() == StatementKind.CALL) {
            pc.dirty = true;
        }
        followTransaction(c, pc);
    }

    /** After a statement failed on {@code pc}. */
    void failed(Classification c, PhysicalConnection pc, SQLException e) {
        cluster.metrics().failed(e.getSQLState());
        if (Errors.isFatal(e)) {
            discard(pc, e);
        } else {
            followTransaction(c, pc);
        }
    }

    /** Tracks transactions opened and closed by SQL (BEGIN/COMMIT) from the server's own transaction status. */
    private void followTransaction(Classification c, PhysicalConnection pc) {
        if (pc.inTransaction()) {
            if (txBackend == null) {
                txBackend = pc.backend;
            }
        } else if (txBackend == pc.backend) {
            txBackend = null;
            if (c.kind() == StatementKind.ROLLBACK) {
                session.dropPending();
            } else {
                session.commitPending(pc);
            }
        }
    }

    private void discard(PhysicalConnection pc, SQLException cause) {
        physicals.remove(pc);
        if (txBackend == pc.backend) {
            txBackend = null;
            session.dropPending();
        }
        LOG.warn("[{}] connection to {} failed ({}: {}); it is discarded", cluster.name(), pc.backend,
                cause.getSQLState(), cause.getMessage());
        cluster.evict(pc);
        closeQuietly(pc);
    }

    private void pin(String reason) {
        if (session.pin(reason)) {
            cluster.metrics().pinned(reason);
        }
    }

    private PhysicalConnection primary() throws SQLException {
        checkOpen();
        return prepare(cluster.primary());
    }

    /** A connection for connection-level calls (createArrayOf, nativeSQL, …): one already held, else the primary. */
    private PhysicalConnection any() throws SQLException {
        checkOpen();
        return physicals.isEmpty() ? primary() : physicals.get(0);
    }

    // ---------------------------------------------------------------- SessionView

    @Override
    public Backend transactionBackend() {
        return txBackend;
    }

    @Override
    public boolean beginsTransaction() {
        return !autoCommit && txBackend == null;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public Set<String> tempTables() {
        return session.tempTables();
    }

    @Override
    public String pinned() {
        if (session.pin() != null) {
            return session.pin();
        }
        // A hot standby refuses SERIALIZABLE transactions (0A000), so such a session reads on the primary.
        return isolation == Connection.TRANSACTION_SERIALIZABLE ? "serializable" : null;
    }

    @Override
    public String forcedRoute() {
        Route r = forcedNext != null ? forcedNext : forcedSession;
        return r == null ? null : r.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public String user() {
        return cluster.config().get(ReplicantOptions.USER);
    }

    @Override
    public String applicationName() {
        return clientInfo.getProperty("ApplicationName");
    }

    // ---------------------------------------------------------------- ReplicantConnection

    @Override
    public void routeNextStatement(Route route) {
        forcedNext = route;
    }

    @Override
    public void routeSession(Route route) {
        forcedSession = route;
    }

    @Override
    public RouteExplanation explain(String sql) {
        Classification c = classify(sql);
        RouteDecision d = cluster.router().route(c, this, cluster.primary(), cluster.replicas());
        return explanation(c, d);
    }

    @Override
    public RouteExplanation lastRoute() {
        RouteDecision d = lastDecision;
        return d == null ? null : explanation(null, d);
    }

    private static RouteExplanation explanation(Classification c, RouteDecision d) {
        String kind = c == null ? "" : c.kind().ruleName();
        if (d.refused()) {
            return new RouteExplanation("refused", "", d.reason().tag(), "SQLSTATE " + d.refusal() + ": " + d.detail(), kind);
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
        if (value == autoCommit) {
            return;
        }
        if (value && txBackend != null) {
            commit(); // JDBC: switching autocommit on commits the open transaction
        }
        autoCommit = value;
    }

    @Override
    public boolean getAutoCommit() throws SQLException {
        checkOpen();
        return autoCommit;
    }

    @Override
    public void commit() throws SQLException {
        checkOpen();
        if (autoCommit) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, "Cannot commit when autoCommit is enabled.");
        }
        endTransaction(true);
    }

    @Override
    public void rollback() throws SQLException {
        checkOpen();
        if (autoCommit) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, "Cannot rollback when autoCommit is enabled.");
        }
        endTransaction(false);
    }

    private void endTransaction(boolean commit) throws SQLException {
        PhysicalConnection pc = txConnection();
        if (pc == null) {
            return;
        }
        try {
            if (commit) {
                pc.connection.commit();
                session.commitPending(pc);
            } else {
                pc.connection.rollback();
                session.dropPending();
            }
            txBackend = null;
        } catch (SQLException e) {
            if (commit && Errors.isFatal(e)) {
                discard(pc, e);
                throw Errors.of(SqlState.CONNECTION_FAILURE, "connection to " + pc.backend
                        + " failed during COMMIT; the outcome of the transaction is unknown", e);
            }
            failed(classify(commit ? "COMMIT" : "ROLLBACK"), pc, e);
            throw e;
        }
    }

    private PhysicalConnection txConnection() {
        for (PhysicalConnection pc : physicals) {
            if (pc.backend == txBackend) {
                return pc;
            }
        }
        return null;
    }

    /** Savepoints need a transaction; one is opened where this session's transactions go. */
    private PhysicalConnection savepointConnection() throws SQLException {
        checkOpen();
        if (autoCommit) {
            throw Errors.of(SqlState.NO_ACTIVE_SQL_TRANSACTION, "Cannot establish a savepoint in auto-commit mode.");
        }
        PhysicalConnection pc = txConnection();
        return pc != null ? pc : route(classify("SAVEPOINT replicant"));
    }

    @Override
    public Savepoint setSavepoint() throws SQLException {
        return savepointConnection().connection.setSavepoint();
    }

    @Override
    public Savepoint setSavepoint(String name) throws SQLException {
        return savepointConnection().connection.setSavepoint(name);
    }

    @Override
    public void rollback(Savepoint savepoint) throws SQLException {
        savepointConnection().connection.rollback(savepoint);
    }

    @Override
    public void releaseSavepoint(Savepoint savepoint) throws SQLException {
        savepointConnection().connection.releaseSavepoint(savepoint);
    }

    @Override
    public void setReadOnly(boolean value) throws SQLException {
        checkOpen();
        if (txBackend != null && value != readOnly) {
            throw Errors.of(SqlState.ACTIVE_SQL_TRANSACTION,
                    "Cannot change transaction read-only property in the middle of a transaction.");
        }
        readOnly = value;
    }

    @Override
    public boolean isReadOnly() throws SQLException {
        checkOpen();
        return readOnly;
    }

    @Override
    public void setTransactionIsolation(int level) throws SQLException {
        checkOpen();
        if (level != TRANSACTION_READ_UNCOMMITTED && level != TRANSACTION_READ_COMMITTED
                && level != TRANSACTION_REPEATABLE_READ && level != TRANSACTION_SERIALIZABLE) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Transaction isolation level " + level
                    + " not supported.");
        }
        if (txBackend != null) {
            txConnection().setIsolation(level); // pgjdbc refuses this inside a transaction, with its own error
        }
        isolation = level;
    }

    @Override
    public int getTransactionIsolation() throws SQLException {
        checkOpen();
        return isolation != -1 ? isolation : primary().connection.getTransactionIsolation();
    }

    // ---------------------------------------------------------------- session settings

    @Override
    public void setSchema(String schema) throws SQLException {
        checkOpen();
        String sql = "SET SESSION search_path TO " + quoteIdentifier(schema);
        try (Statement s = createStatement()) {
            s.execute(sql);
        }
    }

    private static String quoteIdentifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
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
        return cluster.config().get(ReplicantOptions.DATABASE);
    }

    @Override
    public void setNetworkTimeout(Executor executor, int milliseconds) throws SQLException {
        checkOpen();
        for (PhysicalConnection pc : physicals) {
            pc.connection.setNetworkTimeout(executor, milliseconds);
        }
        networkTimeoutExecutor = executor;
        networkTimeout = milliseconds;
    }

    @Override
    public int getNetworkTimeout() throws SQLException {
        checkOpen();
        return networkTimeout;
    }

    @Override
    public void setHoldability(int holdability) throws SQLException {
        checkOpen();
        if (holdability != ResultSet.CLOSE_CURSORS_AT_COMMIT && holdability != ResultSet.HOLD_CURSORS_OVER_COMMIT) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "Unknown ResultSet holdability setting: " + holdability);
        }
        for (PhysicalConnection pc : physicals) {
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
            clientInfo.remove(name);
        } else {
            clientInfo.setProperty(name, value);
        }
        for (PhysicalConnection pc : physicals) {
            pc.connection.setClientInfo(name, value);
        }
    }

    @Override
    public void setClientInfo(Properties properties) throws SQLClientInfoException {
        clientInfo.clear();
        clientInfo.putAll(properties);
        for (PhysicalConnection pc : physicals) {
            pc.connection.setClientInfo(properties);
        }
    }

    @Override
    public String getClientInfo(String name) throws SQLException {
        checkOpen();
        return clientInfo.getProperty(name);
    }

    @Override
    public Properties getClientInfo() throws SQLException {
        checkOpen();
        Properties copy = new Properties();
        copy.putAll(clientInfo);
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
        PhysicalConnection pc = lastUsed;
        return pc == null ? null : pc.connection.getWarnings();
    }

    @Override
    public void clearWarnings() throws SQLException {
        checkOpen();
        for (PhysicalConnection pc : physicals) {
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
        if (physicals.isEmpty()) {
            return primary().connection.isValid(timeout);
        }
        for (PhysicalConnection pc : new ArrayList<>(physicals)) {
            if (!pc.connection.isValid(timeout)) {
                discard(pc, Errors.of(SqlState.CONNECTION_FAILURE, "isValid failed"));
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
            pin("pgconnection");
            return primary().connection.unwrap(iface);
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
        for (PhysicalConnection pc : physicals) {
            release(pc);
        }
        physicals.clear();
    }

    private void release(PhysicalConnection pc) {
        try {
            if (pc.inTransaction()) {
                if (pc.connection.getAutoCommit()) {
                    pc.execute("ROLLBACK"); // a transaction opened by SQL BEGIN in autocommit mode
                } else {
                    pc.connection.rollback();
                }
            }
            if (pc.dirty) {
                pc.execute(cleanupSql(pc));
            }
        } catch (SQLException e) {
            LOG.warn("[{}] could not reset a connection to {} ({}); it is evicted", cluster.name(), pc.backend,
                    e.getMessage());
            cluster.evict(pc);
        } finally {
            closeQuietly(pc);
        }
    }

    /** Undoes everything a session can leave behind (the parts of DISCARD ALL that keep pgjdbc's statements). */
    private String cleanupSql(PhysicalConnection pc) {
        StringBuilder sql = new StringBuilder("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL");
        if (pc.backend.isPrimary()) {
            sql.append("; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES");
            for (String name : session.preparedNames()) {
                sql.append("; DEALLOCATE ").append(quoteIdentifier(name));
            }
        }
        return sql.toString();
    }

    private static void closeQuietly(PhysicalConnection pc) {
        try {
            pc.connection.close();
        } catch (SQLException e) {
            LOG.debug("closing a physical connection failed", e);
        }
    }

    @Override
    public void abort(Executor executor) throws SQLException {
        if (closed) {
            return;
        }
        closed = true;
        for (PhysicalConnection pc : physicals) {
            cluster.evict(pc);
            pc.connection.abort(executor);
        }
        physicals.clear();
    }

    private static String abbreviate(String sql) {
        return sql.length() <= 200 ? sql : sql.substring(0, 200) + "…";
    }
}
