package io.replicant;

import java.sql.SQLException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.JdbcTwins;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/**
 * Replicant's driver against pgjdbc itself ({@link JdbcTwins}): random JDBC calls on a Replicant connection, which
 * spreads the reads over the replicas, and on a pgjdbc connection to the primary give the same answers.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class JdbcTwinIT {
    private static final int CONVERSATIONS = 6;
    private static final int CALLS = 300;

    private LocalPostgresCluster cluster;
    private ReplicantDataSource dataSource;

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ClusterFixture.setUp(cluster, JdbcTwins.SETUP);
        dataSource = ClusterFixture.dataSource(cluster, "");
    }

    @AfterAll
    void tearDown() {
        dataSource.close();
    }

    @Test
    void randomCallsGetPgjdbcsAnswers() throws SQLException {
        for (int i = 0; i < CONVERSATIONS; i++) {
            JdbcTwins.converse(ClusterFixture.direct(cluster), dataSource.getConnection(), seed(), CALLS);
        }
    }

    /** A new seed per conversation, or the one a failure printed: {@code -Dtwin.seed=N} replays it. */
    private static long seed() {
        return Long.getLong("twin.seed", System.nanoTime());
    }
}
