package io.replicant.jdbc;

import java.io.InputStream;
import java.io.Reader;
import java.math.BigDecimal;
import java.net.URL;
import java.sql.Array;
import java.sql.Blob;
import java.sql.Clob;
import java.sql.Date;
import java.sql.NClob;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.Ref;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.RowId;
import java.sql.SQLException;
import java.sql.SQLType;
import java.sql.SQLXML;
import java.sql.Statement;
import java.sql.Time;
import java.sql.Timestamp;
import java.util.Arrays;
import java.util.Calendar;

import io.replicant.config.SqlState;
import io.replicant.router.Classification;

/**
 * A logical PreparedStatement. The SQL is classified once; each execution is routed on its own (the session
 * or transaction may have changed), and runs on a physical PreparedStatement prepared once per physical
 * connection, so server-side prepare (pgjdbc's prepareThreshold) works as it does without Replicant.
 * Parameters are recorded and bound to the chosen physical statement at execution.
 */
final class RoutingPreparedStatement extends RoutingStatement implements PreparedStatement {
    private final String sql;
    private final Classification classification;
    private Binder[] binders = new Binder[8];

    /** One recorded parameter, bound to whichever physical statement runs. */
    @FunctionalInterface
    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    RoutingPreparedStatement(RoutingConnection connection, String sql, StatementOptions options) {
        super(connection, options);
        this.sql = sql;
        this.classification = connection.classify(sql);
    }

    @Override
    Statement create(PhysicalConnection pc) throws SQLException {
        StatementOptions o = options;
        if (o.keyIndexes() != null) {
            return pc.connection.prepareStatement(sql, o.keyIndexes());
        }
        if (o.keyNames() != null) {
            return pc.connection.prepareStatement(sql, o.keyNames());
        }
        if (o.wantsGeneratedKeys()) {
            return pc.connection.prepareStatement(sql, Statement.RETURN_GENERATED_KEYS);
        }
        return pc.connection.prepareStatement(sql, o.type(), o.concurrency(), connection.holdabilityFor(o.holdability()));
    }

    private void bind(int index, Binder binder) throws SQLException {
        checkOpen();
        if (index < 1) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "The column index is out of range: " + index);
        }
        if (index >= binders.length) {
            binders = Arrays.copyOf(binders, Math.max(index + 1, binders.length * 2));
        }
        binders[index] = binder;
    }

    private void bindAll(PreparedStatement ps) throws SQLException {
        for (Binder binder : binders) {
            if (binder != null) {
                binder.bind(ps);
            }
        }
    }

    private <T> T execute(Call<PreparedStatement, T> call) throws SQLException {
        return run(classification, s -> {
            PreparedStatement ps = (PreparedStatement) s;
            bindAll(ps);
            return call.apply(ps);
        });
    }

    @Override
    public ResultSet executeQuery() throws SQLException {
        return execute(PreparedStatement::executeQuery);
    }

    @Override
    public int executeUpdate() throws SQLException {
        return execute(PreparedStatement::executeUpdate);
    }

    @Override
    public long executeLargeUpdate() throws SQLException {
        return execute(PreparedStatement::executeLargeUpdate);
    }

    @Override
    public boolean execute() throws SQLException {
        return execute(PreparedStatement::execute);
    }

    @Override
    public void addBatch() throws SQLException {
        checkOpen();
        PhysicalConnection pc = connection.routeBatch(classification);
        PreparedStatement ps = (PreparedStatement) physical(pc);
        bindAll(ps);
        ps.addBatch();
        batchedOn(pc, ps, classification);
    }

    @Override
    public void clearParameters() throws SQLException {
        checkOpen();
        Arrays.fill(binders, null);
    }

    /** Described by the server the statement would run on now. */
    @Override
    public ResultSetMetaData getMetaData() throws SQLException {
        checkOpen();
        return ((PreparedStatement) physical(connection.route(classification))).getMetaData();
    }

    @Override
    public ParameterMetaData getParameterMetaData() throws SQLException {
        checkOpen();
        return ((PreparedStatement) physical(connection.route(classification))).getParameterMetaData();
    }

    // JDBC forbids the query-string methods on a PreparedStatement; pgjdbc answers with 42809.

    private static SQLException queryStringMethod() {
        return Errors.of(SqlState.WRONG_OBJECT_TYPE,
                "Can't use query methods that take a query string on a PreparedStatement.");
    }

    @Override
    public ResultSet executeQuery(String sql) throws SQLException {
        throw queryStringMethod();
    }

    @Override
    public int executeUpdate(String sql) throws SQLException {
        throw queryStringMethod();
    }

    @Override
    public boolean execute(String sql) throws SQLException {
        throw queryStringMethod();
    }

    @Override
    public void addBatch(String sql) throws SQLException {
        throw queryStringMethod();
    }

    // ---------------------------------------------------------------- parameters

    @Override
    public void setNull(int index, int sqlType) throws SQLException {
        bind(index, ps -> ps.setNull(index, sqlType));
    }

    @Override
    public void setNull(int index, int sqlType, String typeName) throws SQLException {
        bind(index, ps -> ps.setNull(index, sqlType, typeName));
    }

    @Override
    public void setBoolean(int index, boolean x) throws SQLException {
        bind(index, ps -> ps.setBoolean(index, x));
    }

    @Override
    public void setByte(int index, byte x) throws SQLException {
        bind(index, ps -> ps.setByte(index, x));
    }

    @Override
    public void setShort(int index, short x) throws SQLException {
        bind(index, ps -> ps.setShort(index, x));
    }

    @Override
    public void setInt(int index, int x) throws SQLException {
        bind(index, ps -> ps.setInt(index, x));
    }

    @Override
    public void setLong(int index, long x) throws SQLException {
        bind(index, ps -> ps.setLong(index, x));
    }

    @Override
    public void setFloat(int index, float x) throws SQLException {
        bind(index, ps -> ps.setFloat(index, x));
    }

    @Override
    public void setDouble(int index, double x) throws SQLException {
        bind(index, ps -> ps.setDouble(index, x));
    }

    @Override
    public void setBigDecimal(int index, BigDecimal x) throws SQLException {
        bind(index, ps -> ps.setBigDecimal(index, x));
    }

    @Override
    public void setString(int index, String x) throws SQLException {
        bind(index, ps -> ps.setString(index, x));
    }

    @Override
    public void setBytes(int index, byte[] x) throws SQLException {
        bind(index, ps -> ps.setBytes(index, x));
    }

    @Override
    public void setDate(int index, Date x) throws SQLException {
        bind(index, ps -> ps.setDate(index, x));
    }

    @Override
    public void setDate(int index, Date x, Calendar cal) throws SQLException {
        bind(index, ps -> ps.setDate(index, x, cal));
    }

    @Override
    public void setTime(int index, Time x) throws SQLException {
        bind(index, ps -> ps.setTime(index, x));
    }

    @Override
    public void setTime(int index, Time x, Calendar cal) throws SQLException {
        bind(index, ps -> ps.setTime(index, x, cal));
    }

    @Override
    public void setTimestamp(int index, Timestamp x) throws SQLException {
        bind(index, ps -> ps.setTimestamp(index, x));
    }

    @Override
    public void setTimestamp(int index, Timestamp x, Calendar cal) throws SQLException {
        bind(index, ps -> ps.setTimestamp(index, x, cal));
    }

    @Override
    public void setAsciiStream(int index, InputStream x, int length) throws SQLException {
        bind(index, ps -> ps.setAsciiStream(index, x, length));
    }

    @Override
    public void setAsciiStream(int index, InputStream x, long length) throws SQLException {
        bind(index, ps -> ps.setAsciiStream(index, x, length));
    }

    @Override
    public void setAsciiStream(int index, InputStream x) throws SQLException {
        bind(index, ps -> ps.setAsciiStream(index, x));
    }

    @Override
    public void setBinaryStream(int index, InputStream x, int length) throws SQLException {
        bind(index, ps -> ps.setBinaryStream(index, x, length));
    }

    @Override
    public void setBinaryStream(int index, InputStream x, long length) throws SQLException {
        bind(index, ps -> ps.setBinaryStream(index, x, length));
    }

    @Override
    public void setBinaryStream(int index, InputStream x) throws SQLException {
        bind(index, ps -> ps.setBinaryStream(index, x));
    }

    @Override
    public void setCharacterStream(int index, Reader x, int length) throws SQLException {
        bind(index, ps -> ps.setCharacterStream(index, x, length));
    }

    @Override
    public void setCharacterStream(int index, Reader x, long length) throws SQLException {
        bind(index, ps -> ps.setCharacterStream(index, x, length));
    }

    @Override
    public void setCharacterStream(int index, Reader x) throws SQLException {
        bind(index, ps -> ps.setCharacterStream(index, x));
    }

    @Override
    public void setNCharacterStream(int index, Reader x, long length) throws SQLException {
        bind(index, ps -> ps.setNCharacterStream(index, x, length));
    }

    @Override
    public void setNCharacterStream(int index, Reader x) throws SQLException {
        bind(index, ps -> ps.setNCharacterStream(index, x));
    }

    @Override
    public void setObject(int index, Object x, int targetSqlType) throws SQLException {
        bind(index, ps -> ps.setObject(index, x, targetSqlType));
    }

    @Override
    public void setObject(int index, Object x) throws SQLException {
        bind(index, ps -> ps.setObject(index, x));
    }

    @Override
    public void setObject(int index, Object x, int targetSqlType, int scaleOrLength) throws SQLException {
        bind(index, ps -> ps.setObject(index, x, targetSqlType, scaleOrLength));
    }

    @Override
    public void setObject(int index, Object x, SQLType targetSqlType, int scaleOrLength) throws SQLException {
        bind(index, ps -> ps.setObject(index, x, targetSqlType, scaleOrLength));
    }

    @Override
    public void setObject(int index, Object x, SQLType targetSqlType) throws SQLException {
        bind(index, ps -> ps.setObject(index, x, targetSqlType));
    }

    @Override
    public void setRef(int index, Ref x) throws SQLException {
        bind(index, ps -> ps.setRef(index, x));
    }

    @Override
    public void setBlob(int index, Blob x) throws SQLException {
        bind(index, ps -> ps.setBlob(index, x));
    }

    @Override
    public void setBlob(int index, InputStream x, long length) throws SQLException {
        bind(index, ps -> ps.setBlob(index, x, length));
    }

    @Override
    public void setBlob(int index, InputStream x) throws SQLException {
        bind(index, ps -> ps.setBlob(index, x));
    }

    @Override
    public void setClob(int index, Clob x) throws SQLException {
        bind(index, ps -> ps.setClob(index, x));
    }

    @Override
    public void setClob(int index, Reader x, long length) throws SQLException {
        bind(index, ps -> ps.setClob(index, x, length));
    }

    @Override
    public void setClob(int index, Reader x) throws SQLException {
        bind(index, ps -> ps.setClob(index, x));
    }

    @Override
    public void setNClob(int index, NClob x) throws SQLException {
        bind(index, ps -> ps.setNClob(index, x));
    }

    @Override
    public void setNClob(int index, Reader x, long length) throws SQLException {
        bind(index, ps -> ps.setNClob(index, x, length));
    }

    @Override
    public void setNClob(int index, Reader x) throws SQLException {
        bind(index, ps -> ps.setNClob(index, x));
    }

    @Override
    public void setArray(int index, Array x) throws SQLException {
        bind(index, ps -> ps.setArray(index, x));
    }

    @Override
    public void setURL(int index, URL x) throws SQLException {
        bind(index, ps -> ps.setURL(index, x));
    }

    @Override
    public void setRowId(int index, RowId x) throws SQLException {
        bind(index, ps -> ps.setRowId(index, x));
    }

    @Override
    public void setNString(int index, String x) throws SQLException {
        bind(index, ps -> ps.setNString(index, x));
    }

    @Override
    public void setSQLXML(int index, SQLXML x) throws SQLException {
        bind(index, ps -> ps.setSQLXML(index, x));
    }

    @Override
    @Deprecated
    public void setUnicodeStream(int index, InputStream x, int length) throws SQLException {
        throw Errors.unsupported("PreparedStatement.setUnicodeStream");
    }
}
