package io.replicant.proxy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.JdbcTwins;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/**
 * pgjdbc through the proxy against pgjdbc on the primary ({@link JdbcTwins}): the same random JDBC calls give the
 * same answers, in both pooling modes and with pgjdbc's extended and simple query modes.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ProxyJdbcTwinIT {
    private static final int CONVERSATIONS = 2;
    private static final int CALLS = 300;

    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ProxyFixture.setUp(cluster, JdbcTwins.SETUP);
    }

    @Test
    void randomCallsThroughTheProxyGetPgjdbcsAnswers() throws SQLException {
        for (String pooling : new String[] {"session", "transaction"}) {
            try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  pool_mode: " + pooling + "\n")) {
                for (String mode : new String[] {"extended", "simple"}) {
                    for (int i = 0; i < CONVERSATIONS; i++) {
                        JdbcTwins.converse(ProxyFixture.direct(cluster), connect(proxy, mode), seed(), CALLS);
                    }
                }
            }
        }
    }

    /** A new seed per conversation, or the one a failure printed: {@code -Dtwin.seed=N} replays it. */
    private static long seed() {
        return Long.getLong("twin.seed", System.nanoTime());
    }

    private static Connection connect(ReplicantProxy proxy, String mode) throws SQLException {
        Properties p = ProxyFixture.credentials();
        p.setProperty("preferQueryMode", mode);
        return DriverManager.getConnection(ProxyFixture.url(proxy), p);
    }
}
