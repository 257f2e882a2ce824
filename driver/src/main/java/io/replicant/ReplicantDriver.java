package io.replicant;

import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.DriverPropertyInfo;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.logging.Logger;

import io.micrometer.core.instrument.Metrics;
import io.replicant.config.ConfigException;
import io.replicant.config.Option;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.ReplicantUrl;
import io.replicant.config.Version;
import io.replicant.jdbc.Cluster;
import io.replicant.jdbc.Errors;

/**
 * The {@code jdbc:replicant:} JDBC driver. Connections made with the same URL and properties share one
 * {@link Cluster} (its pools, router and catalog), opened on first use and kept until {@link #closeAll()}
 * or JVM exit. Metrics go to Micrometer's global registry; use {@link ReplicantDataSource} to choose another.
 */
public final class ReplicantDriver implements Driver {
    private static final ConcurrentMap<String, Cluster> CLUSTERS = new ConcurrentHashMap<>();

    static {
        try {
            DriverManager.registerDriver(new ReplicantDriver());
        } catch (SQLException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Returns null for URLs that are not ours, as {@link DriverManager} expects. */
    @Override
    public Connection connect(String url, Properties info) throws SQLException {
        if (!acceptsURL(url)) {
            return null;
        }
        return cluster(url, info).connect();
    }

    private static Cluster cluster(String url, Properties info) throws SQLException {
        String key = key(url, info);
        Cluster cluster = CLUSTERS.get(key);
        if (cluster != null) {
            return cluster;
        }
        synchronized (CLUSTERS) {
            cluster = CLUSTERS.get(key);
            if (cluster == null) {
                cluster = Cluster.open(parse(url, info), Metrics.globalRegistry);
                CLUSTERS.put(key, cluster);
            }
            return cluster;
        }
    }

    /** Parses a URL and properties into a configuration; errors become SQLExceptions with the right SQLSTATE. */
    static ReplicantConfig parse(String url, Properties info) throws SQLException {
        try {
            return ReplicantUrl.parse(url, info);
        } catch (ConfigException e) {
            throw Errors.config(e);
        }
    }

    private static String key(String url, Properties info) {
        Map<String, String> sorted = new TreeMap<>();
        if (info != null) {
            for (String name : info.stringPropertyNames()) {
                sorted.put(name, info.getProperty(name));
            }
        }
        return url + '\n' + sorted;
    }

    @Override
    public boolean acceptsURL(String url) {
        return ReplicantUrl.accepts(url);
    }

    /** One entry per Replicant option, from the option registry; secrets are never echoed back. */
    @Override
    public DriverPropertyInfo[] getPropertyInfo(String url, Properties info) {
        List<DriverPropertyInfo> out = new ArrayList<>();
        for (Option<?> option : ReplicantOptions.all()) {
            String given = info == null ? null : info.getProperty(option.name());
            DriverPropertyInfo p = new DriverPropertyInfo(option.name(),
                    option.secret() ? null : given != null ? given : option.defaultValue() == null ? null : option.defaultText());
            p.description = option.description();
            p.required = false;
            String description = option.type().description();
            if (description.startsWith("one of ")) {
                p.choices = description.substring("one of ".length()).split(" \\| ");
            }
            out.add(p);
        }
        return out.toArray(new DriverPropertyInfo[0]);
    }

    @Override
    public int getMajorVersion() {
        return Version.MAJOR;
    }

    @Override
    public int getMinorVersion() {
        return Version.MINOR;
    }

    @Override
    public boolean jdbcCompliant() {
        return false;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException("Replicant logs through SLF4J, not java.util.logging");
    }

    /** Closes every cluster opened through the driver (pools, background threads). */
    public static void closeAll() {
        synchronized (CLUSTERS) {
            CLUSTERS.values().forEach(Cluster::close);
            CLUSTERS.clear();
        }
    }
}
