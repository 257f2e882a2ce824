package io.replicant;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;

import javax.sql.DataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.replicant.config.SqlState;
import io.replicant.jdbc.Cluster;
import io.replicant.jdbc.Errors;

/**
 * A DataSource for frameworks: set a {@code jdbc:replicant:} URL (and optionally user, password, other
 * options), then hand it to Spring, Hibernate, Flyway or an application pool such as HikariCP. The cluster
 * is opened on the first {@link #getConnection()} and closed by {@link #close()}.
 */
public class ReplicantDataSource implements DataSource, AutoCloseable {
    private String url;
    private final Properties properties = new Properties();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private volatile Cluster cluster;
    private int loginTimeout;
    private PrintWriter logWriter;

    public ReplicantDataSource() {
    }

    public ReplicantDataSource(String url) {
        this.url = url;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public String getUrl() {
        return url;
    }

    public void setUser(String user) {
        properties.setProperty("user", user);
    }

    public void setPassword(String password) {
        properties.setProperty("password", password);
    }

    /** Any Replicant option or pgjdbc connection property, as in the URL's query. */
    public void setProperty(String name, String value) {
        properties.setProperty(name, value);
    }

    /** Where routing metrics go; default Micrometer's global registry. Set before the first connection. */
    public void setMeterRegistry(MeterRegistry registry) {
        this.meterRegistry = registry;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return cluster().connect();
    }

    /** Credentials other than the configured ones would need their own pools; that is not supported. */
    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        if (username != null && username.equals(properties.getProperty("user"))
                && java.util.Objects.equals(password, properties.getProperty("password"))) {
            return getConnection();
        }
        throw new SQLFeatureNotSupportedException("ReplicantDataSource serves the user it was configured with; "
                + "getConnection(user, password) with other credentials is not supported",
                SqlState.FEATURE_NOT_SUPPORTED.code());
    }

    /** The opened cluster (opening it if needed): its backends and configuration. */
    public Cluster cluster() throws SQLException {
        Cluster c = cluster;
        if (c == null) {
            synchronized (this) {
                c = cluster;
                if (c == null) {
                    if (url == null) {
                        throw Errors.of(SqlState.CONNECTION_UNABLE_TO_CONNECT, "ReplicantDataSource has no URL; call setUrl");
                    }
                    c = Cluster.open(ReplicantDriver.parse(url, properties), meterRegistry);
                    cluster = c;
                }
            }
        }
        return c;
    }

    @Override
    public synchronized void close() {
        if (cluster != null) {
            cluster.close();
            cluster = null;
        }
    }

    @Override
    public PrintWriter getLogWriter() {
        return logWriter;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
        this.logWriter = out;
    }

    @Override
    public void setLoginTimeout(int seconds) {
        this.loginTimeout = seconds;
    }

    @Override
    public int getLoginTimeout() {
        return loginTimeout;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException("Replicant logs through SLF4J, not java.util.logging");
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "cannot unwrap to " + iface.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this);
    }
}
