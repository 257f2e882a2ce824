package io.replicant;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;

/** Shared helpers for the driver's integration tests. */
final class ClusterFixture {
    private ClusterFixture() {
    }

    /** {@code jdbc:replicant:postgresql://primary,replica1,replica2/app?user=app&password=…} plus extra parameters. */
    static String url(LocalPostgresCluster cluster, String extra) {
        return "jdbc:replicant:postgresql://" + cluster.hostList() + "/" + LocalPostgresCluster.APP_DATABASE
                + "?user=" + LocalPostgresCluster.APP_USER + "&password=" + LocalPostgresCluster.APP_PASSWORD
                + (extra.isEmpty() ? "" : "&" + extra);
    }

    static ReplicantDataSource dataSource(LocalPostgresCluster cluster, String extra) {
        return new ReplicantDataSource(url(cluster, extra));
    }

    /** A direct pgjdbc connection to the primary's app database as the app user. */
    static Connection direct(LocalPostgresCluster cluster) throws SQLException {
        return direct(cluster.primary());
    }

    /** A direct pgjdbc connection to one server's app database as the app user. */
    static Connection direct(PgNode node) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", LocalPostgresCluster.APP_USER);
        p.setProperty("password", LocalPostgresCluster.APP_PASSWORD);
        return DriverManager.getConnection(node.jdbcUrl(LocalPostgresCluster.APP_DATABASE), p);
    }

    /** Runs setup SQL directly on the primary, then waits until the replicas have it. */
    static void setUp(LocalPostgresCluster cluster, String... statements) throws SQLException {
        try (Connection c = direct(cluster); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        }
        cluster.awaitReplay();
    }
}
