package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StaleReads;

/** Read-your-writes through the proxy ({@code consistency: session}) with a replica whose replay is paused. */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProxyConsistencyIT {
    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ProxyFixture.setUp(cluster, "CREATE TABLE IF NOT EXISTS pc_counter (id int PRIMARY KEY, v int)",
                "INSERT INTO pc_counter VALUES (1, 0) ON CONFLICT DO NOTHING");
    }

    @Test
    void sessionConsistencyNeverReadsStaleDataWhileEventualDoes() throws Exception {
        PgNode paused = cluster.replica(0);
        try (ReplicantProxy eventual = ProxyFixture.start(cluster, "");
                ReplicantProxy session = ProxyFixture.start(cluster, "consistency: session\n")) { // top level
            paused.pauseReplay();
            try {
                try (Connection c = ProxyFixture.connect(eventual, "extended")) {
                    assertTrue(staleReads(c, 200) > 0, "eventual reads must be able to hit the paused replica, else "
                            + "this test could not catch a stale read");
                }
                for (String mode : new String[] {"simple", "extended"}) {
                    try (Connection c = ProxyFixture.connect(session, mode)) {
                        assertEquals(0, staleReads(c, 2_000), "stale reads in session mode (" + mode + ")");
                    }
                }
            } finally {
                paused.resumeReplay();
            }
            cluster.awaitReplay();
            try (Connection c = ProxyFixture.connect(session, "simple"); Statement s = c.createStatement()) {
                boolean onReplica = false;
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!onReplica && System.nanoTime() < deadline) {
                    try (ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                        rs.next();
                        onReplica = rs.getBoolean(1);
                    }
                    ProxyFixture.sleep(50);
                }
                assertTrue(onReplica, "once the replicas caught up, session reads go to them again");
            }
        }
    }

    /**
     * With both replicas' replay paused, a reader that never wrote reads stale data in {@code session}
     * consistency; handed the writer's token ({@code SHOW}/{@code SET replicant.consistency_token}), or in
     * {@code token} consistency (every commit through the proxy), it never does. Once the replicas caught up, the
     * token lets reads go to them again.
     */
    @Test
    void aConsistencyTokenCarriesReadYourWritesToAnotherConnection() throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "monitor:\n  interval: 50ms\n")) {
            String token = null;
            for (String mode : new String[] {"simple", "extended"}) {
                try (Connection writer = ProxyFixture.connect(proxy, mode);
                        Connection reader = ProxyFixture.connect(proxy, mode)) {
                    execute(reader, "SET replicant.consistency = 'session'");
                    show(reader, TOKEN); // covers what pgjdbc ran at connect, so the replicas are up to date for it
                    cluster.awaitReplay();
                    ProxyFixture.sleep(200); // and the proxy's monitor has seen them replay it
                    cluster.replicas().forEach(PgNode::pauseReplay);
                    try {
                        assertEquals(50, StaleReads.count(writer, reader, "pc_counter", 1, 50, "",
                                StaleReads.Handoff.NONE), "without the token every read misses the write (" + mode + ")");
                        assertEquals(0, StaleReads.count(writer, reader, "pc_counter", 1, 500, "", (w, r) ->
                                execute(r, "SET replicant.consistency_token = '" + show(w, TOKEN) + "'")),
                                "stale reads with the token handed over (" + mode + ")");
                        token = show(writer, TOKEN);

                        execute(reader, "SET replicant.consistency = token");
                        assertEquals(0, StaleReads.count(writer, reader, "pc_counter", 1, 500, "",
                                StaleReads.Handoff.NONE), "stale reads in token consistency (" + mode + ")");
                    } finally {
                        cluster.replicas().forEach(PgNode::resumeReplay);
                    }
                }
            }
            cluster.awaitReplay();
            try (Connection reader = ProxyFixture.connect(proxy, "extended")) {
                execute(reader, "SET replicant.consistency = 'session'");
                execute(reader, "SET replicant.consistency_token = '" + token + "'");
                assertTrue(eventuallyOnReplica(reader), "replicas that replayed the token serve its reads");
            }
        }
    }

    @Test
    void theProxyAnswersItsOwnSettingsLikePostgreSql() throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  auth: trust\nconsistency: session\n")) {
            for (String mode : new String[] {"simple", "extended"}) {
                try (Connection c = ProxyFixture.connect(proxy, mode)) {
                    assertEquals("session", show(c, "replicant.consistency"), "the configured mode (" + mode + ")");
                    execute(c, "set replicant.consistency to strong");
                    assertEquals("strong", show(c, "replicant.consistency"));
                    for (int i = 0; i < 20; i++) {
                        assertEquals("false", show(c, "pg_is_in_recovery()"), "strong reads run on the primary");
                    }
                    execute(c, "RESET replicant.consistency");
                    assertEquals("session", show(c, "replicant.consistency"));
                    execute(c, "SET replicant.consistency_token = '10/10'");
                    execute(c, "SET replicant.consistency_token = '0/1'"); // a token never moves back
                    assertEquals("10/10", show(c, TOKEN));

                    assertSqlState(c, "SET replicant.consistency = 'sometimes'", "22023");
                    assertSqlState(c, "SET replicant.consistency_token = 'not-a-position'", "22023");
                    assertSqlState(c, "SHOW replicant.nothing", "42704");
                    assertSqlState(c, "SET LOCAL replicant.consistency = 'strong'", "0A000");
                    if (mode.equals("extended")) { // pgjdbc sends the two as one batch (in simple mode, one by one)
                        assertSqlState(c, "SET replicant.consistency = 'strong'; SELECT 1", "0A000");
                    }
                    assertEquals("session", show(c, "replicant.consistency"), "refused statements change nothing");

                    c.setAutoCommit(false);
                    assertSqlState(c, "SELECT 1/0", "22012");
                    assertSqlState(c, "SHOW replicant.consistency", "25P02");
                    c.rollback();
                    execute(c, "SET replicant.consistency = eventual"); // in a transaction
                    c.commit();
                    assertEquals("eventual", show(c, "replicant.consistency"));
                }
            }
            try (WireClient wire = new WireClient(proxy)) {
                List<WireClient.Message> answer = wire.query("SET replicant.consistency = 'strong'; SELECT 1")
                        .readUntil('Z');
                assertEquals("E Z", WireClient.describe(answer).replaceAll("\\(.*\\)", ""));
                assertEquals("0A000", answer.get(0).sqlState());
                // a named statement, parsed once and bound twice, the second time without Parse
                assertEquals("1 Z", WireClient.describe(wire.parse("s1", "SHOW replicant.consistency").sync()
                        .readUntil('Z')));
                for (int i = 0; i < 2; i++) {
                    List<WireClient.Message> run = wire.bind("s1").execute().sync().readUntil('Z');
                    assertEquals("2 D C Z", WireClient.describe(run));
                    assertEquals("session", run.get(1).firstColumn());
                }
                List<WireClient.Message> unknown = wire.parse("s2", "SHOW replicant.consistency").bind("nope").execute()
                        .sync().readUntil('Z');
                assertEquals("1 E Z", WireClient.describe(unknown).replaceAll("\\(.*\\)", ""));
                assertEquals("26000", unknown.get(1).sqlState());
                assertEquals("C D C Z", WireClient.describe(wire.query("SHOW replicant.consistency_token")
                        .readUntil('Z')).replace('T', 'C'), "RowDescription, DataRow, CommandComplete");
            }
            // psql sends each -c as a query of its own on one connection
            Path dir = Files.createTempDirectory("proxy-settings");
            String out = ProxyFixture.run(proxy, dir, "psql", "-X", "-At", "-c", "SHOW replicant.consistency_token",
                    "-c", "UPDATE pc_counter SET v = v WHERE id = 1", "-c", "SHOW replicant.consistency_token",
                    "-c", "SET replicant.consistency = strong", "-c", "SHOW replicant.consistency");
            // a session that did nothing yet has no token; after a write it has one
            assertTrue(out.matches("\\nUPDATE 1\\n[0-9A-F]+/[0-9A-F]+\\nSET\\nstrong\\n"), out);
        }
    }

    private static final String TOKEN = "replicant.consistency_token";

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The one value of {@code SHOW name} (or of a SELECT when {@code name} is an expression). */
    private static String show(Connection c, String name) throws SQLException {
        String sql = name.endsWith(")") ? "SELECT " + name + "::text" : "SHOW " + name;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    private static void assertSqlState(Connection c, String sql, String sqlState) {
        SQLException e = assertThrows(SQLException.class, () -> execute(c, sql), sql);
        assertEquals(sqlState, e.getSQLState(), e.getMessage());
    }

    private static boolean eventuallyOnReplica(Connection c) throws SQLException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (show(c, "pg_is_in_recovery()").equals("true")) {
                return true;
            }
            ProxyFixture.sleep(50);
        }
        return false;
    }

    private static int staleReads(Connection c, int n) throws SQLException {
        return StaleReads.count(c, c, "pc_counter", 1, n, "", StaleReads.Handoff.NONE);
    }
}
