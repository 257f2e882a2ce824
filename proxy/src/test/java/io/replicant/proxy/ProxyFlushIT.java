package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StatementLog;

/**
 * A Flush in the middle of a batch (as cursor-style clients send) routes the batch's first part; the rest follows
 * to the same server and must be tracked like any other statement: statements parsed there, session state, and
 * statements that cannot run there. And the other split: a batch or query that ends a read-only transaction (on a
 * replica) and goes on.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyFlushIT {
    private LocalPostgresCluster cluster;
    /** Transaction pooling with one connection per server, so a connection handed on is the one just used. */
    private ReplicantProxy proxy;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        proxy = ProxyFixture.start(cluster, "  auth: trust\n  pool_mode: transaction\n  pool_size: 1\n  threads: 1\n"
                + "  pool_wait_timeout: 1s\n");
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS pf_items (id int PRIMARY KEY)");
            s.execute("TRUNCATE pf_items");
        }
        cluster.awaitReplay();
    }

    @AfterAll
    void stop() {
        proxy.close();
    }

    /** The first part of each batch: a read, so the batch goes to a replica, answered up to CommandComplete. */
    private static void readThenFlush(WireClient client) throws Exception {
        client.parse("", "SELECT 1").bind("").execute().flush();
        List<WireClient.Message> answer = client.readUntil('C');
        assertTrue(answer.stream().noneMatch(m -> m.type() == 'E'), WireClient.describe(answer));
    }

    /** The session's settings are replayed on the replica first; the client's Sync used to wait behind them forever. */
    @Test
    void aFlushedBatchAfterASettingIsAnsweredThroughSync() throws Exception {
        try (WireClient client = new WireClient(proxy)) {
            assertEquals("C Z", WireClient.describe(client.query("SET search_path = public").readUntil('Z')));
            for (int i = 0; i < 4; i++) { // on both replicas, each catching up first
                readThenFlush(client);
                assertEquals("Z", WireClient.describe(client.sync().readUntil('Z')));
            }
        }
    }

    @Test
    void aStatementParsedAfterAFlushIsParsedAgainOnTheNextServer() throws Exception {
        String marker = "pf-parse-" + UUID.randomUUID();
        StatementLog.Mark mark = cluster.markLogs();
        try (WireClient client = new WireClient(proxy)) {
            readThenFlush(client);
            client.parse("s_after_flush", "SELECT 'flushed' /* " + marker + " */").bind("s_after_flush").execute().sync();
            assertEquals("flushed", client.singleValue());
            for (int i = 0; i < 4; i++) { // round robin: the other replica has not seen the Parse
                client.bind("s_after_flush").execute().sync();
                assertEquals("flushed", client.singleValue(), "execution " + i);
            }
        }
        assertEquals(Set.of("replica1", "replica2"), mark.nodesThatLogged(marker));
    }

    @Test
    void aWriteAfterAFlushOnAReplicaIsRefusedAndRunsNowhere() throws Exception {
        String marker = "pf-write-" + UUID.randomUUID();
        StatementLog.Mark mark = cluster.markLogs();
        String insert = "INSERT INTO pf_items VALUES (1) ON CONFLICT DO NOTHING /* " + marker + " */";
        try (WireClient client = new WireClient(proxy)) {
            readThenFlush(client);
            client.parse("", insert).bind("").execute().sync();
            List<WireClient.Message> answer = client.readUntil('Z');
            List<WireClient.Message> errors = answer.stream().filter(m -> m.type() == 'E').toList();
            assertEquals(1, errors.size(), WireClient.describe(answer));
            assertEquals("0A000", errors.get(0).sqlState(), WireClient.describe(answer));
            assertTrue(errors.get(0).field('M').contains(marker), errors.get(0).field('M'));
            assertEquals(Set.of(), mark.nodesThatLogged(marker), "the write was sent nowhere");
            assertEquals(0, countOnPrimary("SELECT count(*) FROM pf_items WHERE id = 1"));

            client.parse("", insert).bind("").execute().sync(); // in a batch of its own it goes to the primary
            answer = client.readUntil('Z');
            assertTrue(answer.stream().noneMatch(m -> m.type() == 'E'), WireClient.describe(answer));
        }
        assertEquals(1, countOnPrimary("SELECT count(*) FROM pf_items WHERE id = 1"));
    }

    @Test
    void aTempTableCreatedAfterAFlushKeepsItsServerSession() throws Exception {
        try (WireClient owner = new WireClient(proxy); WireClient other = new WireClient(proxy)) {
            owner.parse("", "/* replicant:route=primary */ SELECT 1").bind("").execute().flush();
            owner.readUntil('C');
            owner.parse("", "CREATE TEMP TABLE pf_temp (x int)").bind("").execute().sync();
            List<WireClient.Message> answer = owner.readUntil('Z');
            assertTrue(answer.stream().noneMatch(m -> m.type() == 'E'), WireClient.describe(answer));

            // the primary's only pooled connection now belongs to the owner: the other client waits and times out
            other.parse("", "/* replicant:route=primary */ SELECT count(*) FROM pg_class WHERE relname = 'pf_temp'"
                    + " AND relnamespace = pg_my_temp_schema()").bind("").execute().sync();
            answer = other.readUntil('Z');
            assertEquals("53300", answer.get(0).sqlState(), WireClient.describe(answer));

            owner.parse("", "/* replicant:route=primary */ SELECT count(*) FROM pf_temp").bind("").execute().sync();
            assertEquals("0", owner.singleValue());
        }
    }

    /**
     * asyncpg prepares with Parse, Describe, Flush and may then send a simple query (its COPY) without a Sync:
     * PostgreSQL runs that query in the same session, ending the batch. The prepare goes where its statement
     * belongs (a replica, for a read); a read query follows it there; a write goes to the primary once a Sync of
     * the proxy's own ended the batch on the replica, and the client sees one ReadyForQuery for its query.
     */
    @Test
    void aSimpleQueryAfterAFlushedPrepareEndsTheBatchAndGoesWhereItBelongs() throws Exception {
        String marker = "pf-prepare-" + UUID.randomUUID();
        StatementLog.Mark mark = cluster.markLogs();
        try (WireClient client = new WireClient(proxy)) {
            client.parse("s_prepared", "SELECT 'prepared' /* " + marker + "-read */").describeOrClose('D', 'S',
                    "s_prepared").flush();
            assertEquals("1 t T", WireClient.describe(client.readUntil('T')));
            client.query("SELECT 'read' /* " + marker + "-query */");
            assertEquals("T D C Z", WireClient.describe(client.readUntil('Z')));

            client.parse("s_prepared_again", "SELECT 'again' /* " + marker + "-read */").describeOrClose('D', 'S',
                    "s_prepared_again").flush();
            assertEquals("1 t T", WireClient.describe(client.readUntil('T')));
            client.query("INSERT INTO pf_items VALUES (3) ON CONFLICT DO NOTHING /* " + marker + "-write */");
            assertEquals("C Z", WireClient.describe(client.readUntil('Z')), "one ReadyForQuery, the query's");

            client.bind("s_prepared_again").execute().sync();
            assertEquals("again", client.singleValue(), "the session goes on");
        }
        // servers log statements when they execute, not when they parse: the query shows where the prepare went
        Set<String> read = mark.nodesThatLogged(marker + "-query");
        assertTrue(read.size() == 1 && read.iterator().next().startsWith("replica"), "the read ran on " + read
                + ", after a prepare on the same server");
        assertEquals(Set.of("primary"), mark.nodesThatLogged(marker + "-write"));
        assertEquals(1, countOnPrimary("SELECT count(*) FROM pf_items WHERE id = 3"));
    }

    /**
     * asyncpg's copy_records_to_table as it goes on the wire: the prepare, then the COPY and all its data at once,
     * without waiting for CopyInResponse. The data must reach the primary's COPY, not the replica the batch ran
     * on, nor a server still being handed over.
     */
    @Test
    void copyDataSentAheadOfCopyInResponseFollowsTheCopy() throws Exception {
        try (WireClient client = new WireClient(proxy)) {
            client.parse("s_copy_target", "SELECT id FROM pf_items LIMIT 1").describeOrClose('D', 'S', "s_copy_target")
                    .flush();
            assertEquals("1 t T", WireClient.describe(client.readUntil('T')));
            client.query("COPY pf_items (id) FROM STDIN");
            for (int id = 100; id < 110; id++) {
                client.copyData(id + "\n");
            }
            client.copyDone();
            assertEquals("G C Z", WireClient.describe(client.readUntil('Z')));
        }
        assertEquals(10, countOnPrimary("SELECT count(*) FROM pf_items WHERE id BETWEEN 100 AND 109"));
    }

    private int countOnPrimary(String sql) throws SQLException {
        try (Connection c = ProxyFixture.direct(cluster); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /**
     * A read-only transaction runs on a replica; what one query or batch sends after its COMMIT or ROLLBACK runs
     * outside it, as on PostgreSQL: a write there reaches the primary (it used to fail on the replica, 25006), and
     * after an error in the transaction's part nothing of the rest runs.
     */
    @Test
    void whatFollowsTheEndOfAReadOnlyTransactionIsRoutedAfresh() throws Exception {
        try (Connection direct = ProxyFixture.direct(cluster); Statement check = direct.createStatement();
                WireClient client = new WireClient(proxy)) {
            check.execute("CREATE TABLE IF NOT EXISTS pf_after (id int PRIMARY KEY)");
            check.execute("TRUNCATE pf_after");
            cluster.awaitReplay();

            assertEquals("C Z", WireClient.describe(client.query("BEGIN READ ONLY").readUntil('Z')));
            List<WireClient.Message> simple = client.query("SELECT pg_is_in_recovery(); COMMIT;"
                    + " INSERT INTO pf_after VALUES (1); SELECT pg_is_in_recovery()").readUntil('Z');
            assertEquals("T D C C C T D C Z", WireClient.describe(simple));
            assertEquals(List.of("t", "f"), simple.stream().filter(m -> m.type() == 'D').map(m -> m.firstColumn()).toList(),
                    "the transaction's part on a replica, the rest on the primary");
            assertEquals('I', (char) simple.get(simple.size() - 1).body()[0]);

            assertEquals("C Z", WireClient.describe(client.query("BEGIN READ ONLY").readUntil('Z')));
            client.parse("", "SELECT pg_is_in_recovery()").bind("").execute()
                    .parse("", "ROLLBACK").bind("").execute()
                    .parse("", "INSERT INTO pf_after VALUES (2)").bind("").execute()
                    .parse("", "SELECT pg_is_in_recovery()").bind("").execute().sync();
            List<WireClient.Message> batch = client.readUntil('Z');
            assertEquals("1 2 D C 1 2 C 1 2 C 1 2 D C Z", WireClient.describe(batch));
            assertEquals(List.of("t", "f"), batch.stream().filter(m -> m.type() == 'D').map(m -> m.firstColumn()).toList());

            assertEquals("C Z", WireClient.describe(client.query("BEGIN READ ONLY").readUntil('Z')));
            List<WireClient.Message> failed = client.query("SELECT 1/0; COMMIT; INSERT INTO pf_after VALUES (3)")
                    .readUntil('Z');
            assertEquals("E(22012: division by zero) Z", WireClient.describe(failed));
            assertEquals('E', (char) failed.get(failed.size() - 1).body()[0], "still in the failed transaction");
            assertEquals("C Z", WireClient.describe(client.query("ROLLBACK").readUntil('Z')));

            try (ResultSet rs = check.executeQuery("SELECT array_agg(id ORDER BY id)::text FROM pf_after")) {
                rs.next();
                assertEquals("{1,2}", rs.getString(1), "both writes on the primary, the one after the error nowhere");
            }
        }
    }

    /**
     * After an error, PostgreSQL skips all a client sends up to Sync, a simple query too. When that query needs the
     * primary and the failed batch ran on a replica, the proxy ends the batch there with a Sync of its own, so it
     * skips the rest itself: nothing of it runs, and the client's Sync gets its ReadyForQuery.
     */
    @Test
    void afterAFailedBatchOnAReplicaAQueryAndAllUpToSyncAreSkipped() throws Exception {
        try (WireClient client = new WireClient(proxy)) {
            client.parse("", "SELECT 1/0").bind("").execute().flush();
            assertEquals("1 E(22012: division by zero)", WireClient.describe(client.readUntil('E'))); // at Bind
            client.query("INSERT INTO pf_items VALUES (9001)");
            client.parse("", "INSERT INTO pf_items VALUES (9002)").bind("").execute().sync();
            List<WireClient.Message> answer = client.readUntil('Z');
            assertEquals("Z", WireClient.describe(answer), "nothing but the Sync's answer");
            assertEquals('I', (char) answer.get(0).body()[0]);
            assertEquals("C Z", WireClient.describe(client.query("INSERT INTO pf_items VALUES (9003)").readUntil('Z')));
        }
        assertEquals(1, countOnPrimary("SELECT count(*) FROM pf_items WHERE id BETWEEN 9001 AND 9003"),
                "only the last one ran");
    }

    /**
     * A batch that wrote outside a transaction block and failed, then a simple query before the client's Sync:
     * PostgreSQL skips the query, as all else up to Sync, and the Sync ends the batch's implicit transaction. The
     * same conversation runs on the primary directly and through the proxy (which used to wait for the query's answer).
     */
    @Test
    void afterAFailedBatchThatWroteAQueryIsSkippedAndTheSyncAnswered() throws Exception {
        try (WireClient direct = new WireClient(cluster.primary().port(), LocalPostgresCluster.SUPERUSER)) {
            failABatchThatWroteThenQuery(direct, 9101);
        }
        try (WireClient client = new WireClient(proxy)) {
            failABatchThatWroteThenQuery(client, 9201);
        }
    }

    private void failABatchThatWroteThenQuery(WireClient client, int id) throws Exception {
        client.parse("", "INSERT INTO pf_items VALUES (" + id + ")").bind("").execute()
                .parse("", "INSERT INTO pf_items VALUES (" + id + ")").bind("").execute().flush();
        String failed = WireClient.describe(client.readUntil('E'));
        assertTrue(failed.startsWith("1 2 C 1 2 E(23505"), failed);
        client.query("INSERT INTO pf_items VALUES (" + (id + 1) + ")");
        client.sync();
        List<WireClient.Message> answer = client.readUntil('Z');
        assertEquals("Z", WireClient.describe(answer), "nothing but the Sync's answer");
        assertEquals('I', (char) answer.get(0).body()[0]);
        assertEquals("C Z", WireClient.describe(client.query("INSERT INTO pf_items VALUES (" + (id + 2) + ")")
                .readUntil('Z')));
        assertEquals(1, countOnPrimary("SELECT count(*) FROM pf_items WHERE id BETWEEN " + id + " AND " + (id + 2)),
                "only the last one ran: the failed batch took its first insert with it, and the query was skipped");
    }
}
