package io.replicant.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.QuorumTimeoutException;
import io.replicant.ReplicantConnection;
import io.replicant.ReplicantDataSource;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;
import io.replicant.proxy.ReplicantProxy;
import io.replicant.router.Backend;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.StaleReads;
import io.replicant.testkit.StatementLog;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A CDC follower as a read backend of the driver ({@code replication: cdc}): one YAML file configures the
 * pipeline and the driver; reads routed to the follower's tag see their own writes in {@code session} and
 * {@code token} mode, and a follower that falls behind leaves the read pool.
 */
class CdcFollowerRoutingIT {
    private static final String TAG = "reporting";
    /** In every routed read, so the follower's statement log shows which reads it served. */
    private static final String MARKER = "/* counter-read */";
    private static LocalPostgresCluster source;
    private static LocalPostgresCluster target;

    @TempDir
    static Path dir;
    private static Path yaml;

    @BeforeAll
    static void start() throws Exception {
        source = LocalPostgresCluster.builder().replicas(0).start();
        target = LocalPostgresCluster.builder().replicas(0).logStatements(true).start();
        try (Connection c = source.primary().connect("app"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE counter (id int PRIMARY KEY, v int NOT NULL)");
            s.execute("INSERT INTO counter VALUES (1, 0), (2, 0)");
            s.execute("CREATE TABLE filler (id serial PRIMARY KEY, pad text)");
            s.execute("INSERT INTO filler (pad) VALUES ('so the snapshot creates it on the follower')");
            s.execute("INSERT INTO filler (pad) VALUES ('so the snapshot creates it on the follower')");
        }
        yaml = dir.resolve("replicant.yaml");
        Files.writeString(yaml, String.join("\n",
                "hosts:",
                "  - " + source.primary().address(),
                "  - host: " + PgNode.HOST,
                "    port: " + target.primary().port(),
                "    replication: cdc",
                "    tags: [" + TAG + "]",
                "database: app",
                "user: postgres",
                "monitor:",
                "  interval: 50ms",
                "lag:",
                "  max_bytes: 64kB",
                "rules:",
                "  - name: counters-from-the-follower",
                "    match: {kind: [select], tables: '^counter$'}",
                "    route: replica",
                "    tag: " + TAG,
                "cdc:",
                "  slot: routing_slot",
                "  publication: routing_slot",
                "  tables: ['public\\.counter', 'public\\.filler']",
                "  poll_interval: 5ms",
                "  confirm_interval: 100ms",
                "  http:",
                "    listen: 127.0.0.1:0",
                "  followers:",
                "    - name: " + TAG,
                "      url: " + target.primary().jdbcUrl("app"),
                "      user: postgres",
                "      create_tables: true",
                ""));
    }

    @AfterAll
    static void stop() {
        if (source != null) {
            source.close();
        }
        if (target != null) {
            target.close();
        }
    }

    @Test
    void readsRoutedToTheFollowerSeeTheirOwnWritesAndALaggingFollowerLeavesThePool() throws Exception {
        ReplicantConfig config = YamlConfigLoader.load(yaml).build();
        try (CdcPipeline pipeline = CdcPipeline.start(config, null);
                ReplicantDataSource ds = new ReplicantDataSource("jdbc:replicant:file:" + yaml)) {
            Backend follower = ds.cluster().replicas().get(0);
            await("the follower has the snapshot and is eligible", follower::isEligible);
            String followerName = follower.name();

            try (Connection c = ds.getConnection()) {
                StatementLog.Mark mark = target.markLogs();
                int stale = staleReads(c, c, 100, 1, false);
                assertTrue(stale > 0, "eventual reads right after a write must be able to miss it on the follower, "
                        + "else this test could not catch a stale read; saw " + stale);
                assertEquals(followerName, c.unwrap(ReplicantConnection.class).lastRoute().backend());
                assertEquals(100, mark.count(MARKER), "the reads ran on the follower's server");
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                    rs.next();
                }
                assertEquals("primary", c.unwrap(ReplicantConnection.class).lastRoute().target(),
                        "a read not routed to the follower's tag never goes there");
            }

            try (Connection c = ds.getConnection()) {
                c.unwrap(ReplicantConnection.class).setConsistency("session");
                StatementLog.Mark mark = target.markLogs();
                assertEquals(0, staleReads(c, c, 1000, 1, false), "stale reads in session mode");
                int onFollower = mark.count(MARKER);
                assertTrue(onFollower > 500, "most session reads waited for the follower instead of going to the "
                        + "primary: " + onFollower + " of 1000");
            }

            try (Connection writer = ds.getConnection(); Connection reader = ds.getConnection()) {
                reader.unwrap(ReplicantConnection.class).setConsistency("token");
                assertEquals(0, staleReads(writer, reader, 300, 2, true), "stale reads with a passed token");
            }

            pipeline.pause(TAG);
            try (Connection c = ds.getConnection()) {
                fill(256);
                await("the paused follower leaves the read pool", follower::isLagging);
                assertTrue(follower.reason().contains("lag.max_bytes"), follower.reason());
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT v FROM counter")) {
                    rs.next();
                }
                ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
                assertEquals("primary", rc.lastRoute().target());
                assertEquals("replica_lag", rc.lastRoute().reason());
            }
            pipeline.resume(TAG);
            await("the follower is back after catching up", () -> follower.isEligible() && follower.lagBytes() == 0);
            try (Connection c = ds.getConnection(); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT v FROM counter")) {
                rs.next();
                assertEquals(followerName, c.unwrap(ReplicantConnection.class).lastRoute().backend());
            }
        }
    }

    @Test
    void theProxyRoutesToTheFollowerByTheSameRules() throws Exception {
        ReplicantConfig config = YamlConfigLoader.load(yaml).build();
        String proxied = Files.readString(yaml) + "proxy:\n  listen: 127.0.0.1:0\n  auth: trust\n  http:\n    listen: 'off'\n";
        try (CdcPipeline pipeline = CdcPipeline.start(config, null);
                ReplicantProxy eventual = ReplicantProxy.start(YamlConfigLoader.parse("eventual.yaml", proxied,
                        Map.of()).build(), new SimpleMeterRegistry());
                ReplicantProxy session = ReplicantProxy.start(YamlConfigLoader.parse("session.yaml",
                        proxied + "consistency: session\n", Map.of()).build(), new SimpleMeterRegistry())) {
            for (ReplicantProxy proxy : List.of(eventual, session)) {
                await("the follower is eligible", proxy.context().cluster().replicas().get(0)::isEligible);
            }
            StatementLog.Mark mark = target.markLogs();
            try (Connection c = throughProxy(eventual)) {
                assertTrue(staleReads(c, c, 100, 1, false) > 0, "eventual reads right after a write miss it on the "
                        + "follower, else this test could not catch a stale read");
            }
            assertEquals(100, mark.count(MARKER), "the proxy sent every read of the rule to the follower");
            try (Connection c = throughProxy(session)) {
                assertEquals(0, staleReads(c, c, 500, 1, false), "stale reads through the proxy in session mode");
            }
        }
    }

    private static Connection throughProxy(ReplicantProxy proxy) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/app",
                "postgres", "");
    }

    @Test
    void aQuorumCommitCanCountTheFollower() throws Exception {
        ReplicantConfig config = YamlConfigLoader.load(yaml).build();
        String url = "jdbc:replicant:file:" + yaml
                + "?replication.mode=sync&quorum.w=1&quorum.cdc_followers=true&quorum.timeout=2s";
        try (CdcPipeline pipeline = CdcPipeline.start(config, null);
                ReplicantDataSource ds = new ReplicantDataSource(url);
                Connection c = ds.getConnection();
                Connection direct = target.primary().connect("app");
                PreparedStatement onFollower = direct.prepareStatement("SELECT count(*) FROM filler WHERE id = ?")) {
            await("the follower has the snapshot", ds.cluster().replicas().get(0)::isEligible);
            ReplicantConnection rc = c.unwrap(ReplicantConnection.class);
            rc.setQuorum(0);
            int missedWithoutQuorum = 0;
            for (int i = 0; i < 50; i++) {
                rc.setQuorum(0);
                missedWithoutQuorum += onFollower(onFollower, insertFiller(c)) ? 0 : 1;
            }
            assertTrue(missedWithoutQuorum > 0, "without the quorum a commit returns before the follower has it, "
                    + "else this test could not tell; missed " + missedWithoutQuorum);
            int missed = 0;
            for (int i = 0; i < 200; i++) {
                missed += onFollower(onFollower, insertFiller(c)) ? 0 : 1;
            }
            assertEquals(0, missed, "commits that returned before the follower had them");

            pipeline.pause(TAG);
            QuorumTimeoutException e = assertThrows(QuorumTimeoutException.class, () -> insertFiller(c));
            assertEquals(0, e.acknowledged());
            try (Connection primary = source.primary().connect("app"); Statement s = primary.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM filler WHERE pad = 'quorum'")) {
                rs.next();
                assertEquals(251, rs.getLong(1), "the commit that timed out is on the primary");
            }
            pipeline.resume(TAG);
        }
    }

    @Test
    void aQuorumCommitThroughTheProxyCanCountTheFollower() throws Exception {
        ReplicantConfig config = YamlConfigLoader.load(yaml).build();
        String proxied = Files.readString(yaml) + "proxy:\n  listen: 127.0.0.1:0\n  auth: trust\n  http:\n"
                + "    listen: 'off'\nreplication:\n  mode: sync\nquorum:\n  w: 1\n  cdc_followers: true\n"
                + "  timeout: 2s\n";
        try (CdcPipeline pipeline = CdcPipeline.start(config, null);
                ReplicantProxy proxy = ReplicantProxy.start(YamlConfigLoader.parse("quorum.yaml", proxied, Map.of())
                        .build(), new SimpleMeterRegistry());
                Connection c = throughProxy(proxy);
                Connection direct = target.primary().connect("app");
                PreparedStatement onFollower = direct.prepareStatement("SELECT count(*) FROM filler WHERE id = ?")) {
            await("the follower has the snapshot", proxy.context().cluster().replicas().get(0)::isEligible);
            int missed = 0;
            for (int i = 0; i < 40; i++) {
                missed += onFollower(onFollower, insertFiller(c, "proxy quorum")) ? 0 : 1;
            }
            assertEquals(0, missed, "commits the proxy returned before the follower had them");
            assertEquals(1, c.createStatement().executeUpdate("/* replicant:quorum=0 */ INSERT INTO filler (pad) "
                    + "VALUES ('no wait')"));

            pipeline.pause(TAG);
            SQLException e = assertThrows(SQLException.class, () -> insertFiller(c, "proxy quorum"));
            assertEquals("RQ001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("only 0 of 1 replicas confirmed"), e.getMessage());
            pipeline.resume(TAG);
        }
    }

    private static long insertFiller(Connection c) throws SQLException {
        return insertFiller(c, "quorum");
    }

    private static long insertFiller(Connection c, String pad) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                "INSERT INTO filler (pad) VALUES ('" + pad + "') RETURNING id")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static boolean onFollower(PreparedStatement select, long id) throws SQLException {
        select.setLong(1, id);
        try (ResultSet rs = select.executeQuery()) {
            rs.next();
            return rs.getLong(1) == 1;
        }
    }

    @Test
    void aFollowerIsNeverThePrimary() throws Exception {
        Path file = dir.resolve("first.yaml");
        Files.writeString(file, String.join("\n", "hosts:",
                "  - {host: 127.0.0.1, port: " + target.primary().port() + ", replication: cdc, tags: [x]}",
                "database: app", "user: postgres", ""));
        SQLException e = assertThrows(SQLException.class,
                () -> new ReplicantDataSource("jdbc:replicant:file:" + file).cluster());
        assertEquals("22023", e.getSQLState());
        assertTrue(e.getMessage().contains("replication: cdc"), e.getMessage());
    }

    /** Writes then reads one counter {@code n} times; returns how many reads did not see their own write. */
    private static int staleReads(Connection writer, Connection reader, int n, int id, boolean passToken)
            throws SQLException {
        return StaleReads.count(writer, reader, "counter", id, n, MARKER, passToken ? (w, r) -> {
            String token = w.unwrap(ReplicantConnection.class).getConsistencyToken();
            assertNotNull(token);
            r.unwrap(ReplicantConnection.class).setConsistencyToken(token);
        } : StaleReads.Handoff.NONE);
    }

    private static void fill(int kb) throws SQLException {
        try (Connection c = source.primary().connect("app"); Statement s = c.createStatement()) {
            s.execute("INSERT INTO filler (pad) SELECT repeat('x', 1000) FROM generate_series(1, " + kb + ")");
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
            PgNode.sleep(20);
        }
    }
}
