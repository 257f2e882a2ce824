package io.replicant.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.cdc.apply.Follower;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline against a real PostgreSQL primary, a real PostgreSQL follower and an H2 follower. */
class CdcIT {
    private static final String H2_URL = "jdbc:h2:mem:cdc_follower;DB_CLOSE_DELAY=-1";
    private static LocalPostgresCluster source;
    private static LocalPostgresCluster target;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServers() throws SQLException {
        source = LocalPostgresCluster.builder().replicas(0).start();
        target = LocalPostgresCluster.builder().replicas(0).start();
        target.primary().query("CREATE DATABASE reports");
    }

    @AfterAll
    static void stopServers() {
        if (source != null) {
            source.close();
        }
        if (target != null) {
            target.close();
        }
    }

    /** @param cdcOptions further lines of the cdc section, indented */
    private ReplicantConfig config(String slot, String tables, String followers, String... cdcOptions) {
        String yaml = String.join("\n",
                "hosts: [" + source.primary().address() + "]",
                "database: app",
                "user: postgres",
                "cdc:",
                "  slot: " + slot,
                "  publication: " + slot,
                "  tables: [" + tables + "]",
                "  poll_interval: 10ms",
                "  confirm_interval: 100ms",
                "  http:",
                "    listen: 127.0.0.1:0",
                "  status_interval: 200ms",
                String.join("\n", cdcOptions),
                "  followers:",
                followers,
                "");
        return YamlConfigLoader.parse("test.yaml", yaml, Map.of()).build();
    }

    private static String pgFollower(String name) {
        return String.join("\n",
                "    - name: " + name,
                "      url: " + target.primary().jdbcUrl("reports"),
                "      user: postgres",
                "      create_tables: true");
    }

    private static String h2Follower(String name) {
        return String.join("\n",
                "    - name: " + name,
                "      url: \"" + H2_URL + "\"",
                "      user: sa",
                "      create_tables: true");
    }

    private static void onSource(String... sql) throws SQLException {
        try (Connection c = source.primary().connect("app"); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            for (String statement : sql) {
                s.execute(statement);
            }
            c.commit();
        }
    }

    @Test
    void snapshotThenTransactionsReachBothFollowersWithEveryTypeExact() throws Exception {
        onSource("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
                "CREATE TABLE types (id int PRIMARY KEY, s smallint, i integer, b bigint, n numeric(12,4),"
                        + " nany numeric, r real, d double precision, flag boolean, t text, vc varchar(20), ch char(5),"
                        + " day date, tm time, ts timestamp, tstz timestamptz, iv interval, u uuid, j json, jb jsonb,"
                        + " bin bytea, ia int[], ta text[], m mood, big text)",
                "INSERT INTO types VALUES (1, -32768, 2147483647, -9223372036854775808, 12345678.1234,"
                        + " 1234567890.123456789012345, 1.5, 2.25e-300, true, 'héllo ''quoted''', 'vc', 'ab',"
                        + " '2024-02-29', '23:59:59.999999', '1999-12-31 23:59:59.123456', '2024-06-01 12:00:00.5+05:30',"
                        + " '1 year 2 months 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}',"
                        + " '{\"k\": \"v\"}', '\\x00ff10', '{1,NULL,3}', '{\"x\",\"y z\"}', 'happy',"
                        + " (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 4000) g))",
                "INSERT INTO types (id) VALUES (2)");

        ReplicantConfig config = config("types_slot", "public\\.types", pgFollower("pg") + "\n" + h2Follower("h2"));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (CdcPipeline pipeline = CdcPipeline.start(config, registry)) {
            awaitEqual("types", 2);
            onSource("INSERT INTO types (id, n, t, ia) VALUES (3, 0.0001, 'three', '{}')",
                    "UPDATE types SET n = -1.5, tstz = '2030-01-01 00:00:00+00', m = 'sad' WHERE id = 1",
                    "DELETE FROM types WHERE id = 2");
            // Only the key changes: the TOASTed column is not resent and must survive on the followers.
            onSource("UPDATE types SET id = 10 WHERE id = 1");
            onSource("UPDATE types SET flag = false WHERE id = 10");
            awaitEqual("types", 2);
            // 20 rows of every type in one transaction: they reach the followers as multi-row upserts
            onSource("INSERT INTO types SELECT g, s, i, b, n, nany, r, d, flag, t, vc, ch, day, tm, ts, tstz, iv, u, j,"
                    + " jb, bin, ia, ta, m, big FROM types, generate_series(100, 119) g WHERE id = 10");
            awaitEqual("types", 22);
            // Both followers get each batch at once but commit on their own: H2 may be a moment behind.
            awaitH2Matches();
            assertEquals(Follower.State.ACTIVE, pipeline.followers().get(0).state());
            assertEquals(Follower.State.ACTIVE, pipeline.followers().get(1).state());
            for (String follower : List.of("pg", "h2")) {
                assertEquals(0, registry.get("replicant.cdc.errors").tag("follower", follower).counter().count(),
                        follower + ": no follower transaction failed (and was applied again change by change)");
            }
        }
    }

    @Test
    void aFollowerThatIsDownCatchesUpWhileTheOtherGoesOn() throws Exception {
        onSource("CREATE TABLE orders (id int PRIMARY KEY, item text, qty int)");
        ReplicantConfig config = config("orders_slot", "public\\.orders",
                pgFollower("pg") + "\n      tables: ['public\\.orders']\n" + h2Follower("h2")
                        + "\n  retry:\n    backoff: 100ms\n    max_backoff: 500ms");
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            onSource("INSERT INTO orders VALUES (1, 'apple', 1)");
            awaitEqual("orders", 1);
            // The pipeline's replication connection is cut: a new engine streams again from the slot.
            source.primary().query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                    + "WHERE slot_name = 'orders_slot'");
            target.primary().stop();
            try {
                for (int i = 2; i <= 50; i++) {
                    onSource("INSERT INTO orders VALUES (" + i + ", 'pear', " + i + ")",
                            "UPDATE orders SET qty = qty + 1 WHERE id = " + (i - 1));
                }
                awaitH2Count("orders", 50);
                assertEquals(Follower.State.DOWN, pipeline.followers().get(0).state());
                assertEquals(Follower.State.ACTIVE, pipeline.followers().get(1).state());
            } finally {
                target.primary().start();
            }
            awaitEqual("orders", 50);
            assertEquals(Follower.State.ACTIVE, pipeline.followers().get(0).state());
        }
    }

    @Test
    void aChangeTheFollowerRejectsStopsItOrIsSkippedAsConfigured() throws Exception {
        onSource("CREATE TABLE payments (id int PRIMARY KEY, amount int)", "INSERT INTO payments VALUES (1, 10)");
        try (Connection c = target.primary().connect("reports"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE payments (id int PRIMARY KEY, amount int CHECK (amount < 1000))");
        }
        ReplicantConfig stopping = config("payments_slot", "public\\.payments", pgFollower("pg"));
        try (CdcPipeline pipeline = CdcPipeline.start(stopping, null)) {
            awaitRows(target.primary(), "reports", "SELECT string_agg(id::text, ',' ORDER BY id) FROM payments", "1");
            onSource("INSERT INTO payments VALUES (2, 5000)", "INSERT INTO payments VALUES (3, 30)");
            onSource("INSERT INTO payments VALUES (4, 40)");
            Follower follower = pipeline.followers().get(0);
            awaitState(follower, Follower.State.STOPPED);
            assertTrue(follower.lastError().contains("payments_amount_check"), follower.lastError());
            assertTrue(follower.lastError().contains("INSERT public.payments {id=2}"), follower.lastError());
            // The rejected transaction left nothing behind, and nothing after it was applied.
            assertEquals("1", scalar(target.primary(), "reports", "SELECT string_agg(id::text, ',') FROM payments"));
        }
        ReplicantConfig skipping = config("payments_slot", "public\\.payments",
                pgFollower("pg") + "\n      on_error: skip_and_log");
        try (CdcPipeline pipeline = CdcPipeline.start(skipping, null)) {
            awaitRows(target.primary(), "reports", "SELECT string_agg(id::text, ',' ORDER BY id) FROM payments",
                    "1,3,4");
            assertEquals(Follower.State.ACTIVE, pipeline.followers().get(0).state());
        }
    }

    @Test
    void renamesAndNewSourceColumns() throws Exception {
        onSource("CREATE TABLE customers (id int PRIMARY KEY, name text, city text)",
                "INSERT INTO customers VALUES (1, 'Ada', 'London')");
        ReplicantConfig config = config("customers_slot", "public\\.customers", String.join("\n",
                pgFollower("pg"),
                "      schema_evolution: basic",
                "      rename: {public.customers: clients, public.customers.name: full_name}",
                h2Follower("h2")));
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            String clients = "SELECT string_agg(concat_ws(':', id, full_name, city), ',' ORDER BY id) FROM clients";
            awaitRows(target.primary(), "reports", clients, "1:Ada:London");
            onSource("ALTER TABLE customers ADD COLUMN tier int", "INSERT INTO customers VALUES (2, 'Grace', 'NYC', 3)");
            awaitRows(target.primary(), "reports", clients.replace("city)", "city, tier)"), "1:Ada:London,2:Grace:NYC:3");
            Follower h2 = pipeline.followers().get(1);
            awaitState(h2, Follower.State.STOPPED);
            assertTrue(h2.lastError().contains("lacks source column(s) [tier]")
                    && h2.lastError().contains("schema_evolution: basic"), h2.lastError());
        }
    }

    @Test
    void aReaderOfAFollowerNeverSeesHalfATransaction() throws Exception {
        onSource("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)",
                "INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 10) g");
        ReplicantConfig config = config("accounts_slot", "public\\.accounts", pgFollower("pg") + "\n" + h2Follower("h2"));
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            awaitEqual("accounts", 10);
            java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
            List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
            Thread pgReader = reader(() -> target.primary().connect("reports"), writing, violations, reads);
            Thread h2Reader = reader(() -> DriverManager.getConnection(H2_URL, "sa", ""), writing, violations, reads);
            java.util.Random random = new java.util.Random(7);
            for (int i = 0; i < 300; i++) {
                int from = 1 + random.nextInt(10);
                int to = 1 + (from % 10);
                onSource("UPDATE accounts SET balance = balance - 7 WHERE id = " + from,
                        "UPDATE accounts SET balance = balance + 7 WHERE id = " + to);
            }
            awaitEqual("accounts", 10);
            writing.set(false);
            pgReader.join();
            h2Reader.join();
            assertEquals(List.of(), violations);
            assertTrue(reads.get() > 100, "readers made only " + reads.get() + " reads");
        }
    }

    private interface ConnectionSource {
        Connection open() throws SQLException;
    }

    /** Sums the balances over and over while the writer runs: every sum must be the invariant 1000. */
    private static Thread reader(ConnectionSource source, java.util.concurrent.atomic.AtomicBoolean writing,
            List<String> violations, java.util.concurrent.atomic.AtomicLong reads) {
        Thread thread = new Thread(() -> {
            try (Connection c = source.open(); Statement s = c.createStatement()) {
                while (writing.get()) {
                    try (ResultSet rs = s.executeQuery("SELECT sum(balance), count(*) FROM accounts")) {
                        rs.next();
                        if (rs.getLong(1) != 1000 || rs.getLong(2) != 10) {
                            violations.add("sum " + rs.getLong(1) + " over " + rs.getLong(2) + " rows");
                        }
                        reads.incrementAndGet();
                    }
                }
            } catch (SQLException e) {
                violations.add(e.toString());
            }
        });
        thread.start();
        return thread;
    }

    @Test
    void operatorsPauseAndResumeAFollowerOverHttp() throws Exception {
        onSource("CREATE TABLE events (id int PRIMARY KEY, what text)", "INSERT INTO events VALUES (1, 'first')");
        ReplicantConfig config = config("events_slot", "public\\.events", pgFollower("pg") + "\n" + h2Follower("h2"));
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            awaitEqual("events", 1);
            String base = "http://127.0.0.1:" + pipeline.httpAddress().getPort();
            assertEquals(200, http("GET", base + "/ready").statusCode());
            assertEquals(200, http("POST", base + "/followers/pg/pause").statusCode());
            assertEquals(Follower.State.PAUSED, pipeline.followers().get(0).state());
            assertEquals(404, http("POST", base + "/followers/nobody/pause").statusCode());
            onSource("INSERT INTO events VALUES (2, 'second')");
            awaitH2Count("events", 2);
            assertEquals("1", scalar(target.primary(), "reports", "SELECT count(*) FROM events"), "paused");
            java.net.http.HttpResponse<String> ready = http("GET", base + "/ready");
            assertEquals(503, ready.statusCode());
            assertTrue(ready.body().contains("follower pg is paused"), ready.body());
            String metrics = http("GET", base + "/metrics").body();
            assertTrue(metrics.contains("replicant_cdc_lag_bytes{follower=\"pg\"}"), metrics);
            assertTrue(metrics.contains("replicant_cdc_slot_retained_bytes"), metrics);
            assertTrue(metrics.contains("replicant_cdc_apply_latency_seconds_bucket{follower=\"h2\""), metrics);

            assertEquals(200, http("POST", base + "/followers/pg/resume").statusCode());
            awaitEqual("events", 2);
            assertEquals(Follower.State.ACTIVE, pipeline.followers().get(0).state());
            assertTrue(http("GET", base + "/status").body().contains("pg active"));

            // A follower table damaged behind the pipeline's back is put right by copying the table again: rows
            // changed, missing or not on the source.
            try (Connection c = target.primary().connect("reports"); Statement s = c.createStatement()) {
                s.execute("UPDATE events SET what = 'damaged' WHERE id = 1");
                s.execute("DELETE FROM events WHERE id = 2");
                s.execute("INSERT INTO events VALUES (99, 'not on the source')");
            }
            try (Connection c = DriverManager.getConnection(H2_URL, "sa", ""); Statement s = c.createStatement()) {
                s.execute("INSERT INTO events (id, what) VALUES (99, 'not on the source')");
            }
            assertEquals(3L, h2Count("events"));
            assertEquals(202, http("POST", base + "/tables/public.events/resnapshot").statusCode());
            assertEquals(400, http("POST", base + "/tables/events;drop/resnapshot").statusCode());
            awaitEqual("events", 2);
            onSource("INSERT INTO events VALUES (3, 'after the copy')");
            awaitEqual("events", 3);

            onSource("TRUNCATE events");
            awaitEqual("events", 0);
        }
    }

    @Test
    void aTransactionLargerThanOnePartStaysWholeOnTheFollowers() throws Exception {
        onSource("CREATE TABLE bulk (id int PRIMARY KEY, v text)", "INSERT INTO bulk VALUES (0, 'before')");
        ReplicantConfig config = config("bulk_slot", "public\\.bulk",
                pgFollower("pg") + "\n" + h2Follower("h2") + "\n  transaction_part_size: 1000");
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            awaitEqual("bulk", 1);
            AtomicBoolean loading = new AtomicBoolean(true);
            Set<String> seen = ConcurrentHashMap.newKeySet();
            Thread reader = countReader("bulk", loading, seen);
            onSource("INSERT INTO bulk SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
            awaitEqual("bulk", 20001);
            loading.set(false);
            reader.join();
            assertTrue(Set.of("1", "20001").containsAll(seen) && seen.contains("1"), "a reader sees none of the "
                    + "20,000-row transaction or all of it, though it arrived in 20 parts; saw " + seen);
            onSource("UPDATE bulk SET v = 'x' WHERE id = 1");
            awaitEqual("bulk", 20001);
            assertEquals(Follower.State.ACTIVE, pipeline.followers().get(0).state());
        }
    }

    @Test
    void aFollowerCatchingUpWritesAHotRowOnceAndKeepsOrderWhereAUniqueIndexNeedsIt() throws Exception {
        onSource("CREATE TABLE counters (id int PRIMARY KEY, n int)", "INSERT INTO counters VALUES (1, 0)",
                "CREATE TABLE handles (id int PRIMARY KEY, handle text UNIQUE)", "INSERT INTO handles VALUES (3, 'w')");
        try (Connection c = target.primary().connect("reports"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE counters (id int PRIMARY KEY, n int)");
            s.execute("CREATE TABLE handles (id int PRIMARY KEY, handle text UNIQUE)");
            // counts the row writes the follower makes to counters
            s.execute("CREATE TABLE counter_writes (n int)");
            s.execute("INSERT INTO counter_writes VALUES (0)");
            s.execute("CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS "
                    + "$$ BEGIN UPDATE counter_writes SET n = n + 1; RETURN NULL; END $$");
            s.execute("CREATE TRIGGER counted AFTER INSERT OR UPDATE ON counters FOR EACH ROW "
                    + "EXECUTE FUNCTION count_write()");
        }
        ReplicantConfig config = config("hot_slot", "public\\.(counters|handles)", pgFollower("pg"));
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (CdcPipeline pipeline = CdcPipeline.start(config, registry)) {
            awaitRows(target.primary(), "reports", "SELECT handle FROM handles WHERE id = 3", "w");
            awaitRows(target.primary(), "reports", "SELECT n FROM counter_writes", "1");
            pipeline.pause("pg");
            for (int i = 0; i < 300; i++) {
                onSource("UPDATE counters SET n = n + 1 WHERE id = 1");
            }
            // Written by their last changes alone, row 4 would take 'w' while row 3 still had it.
            onSource("UPDATE handles SET handle = 'v' WHERE id = 3");
            onSource("INSERT INTO handles VALUES (4, 'w')");
            onSource("UPDATE handles SET handle = 'u' WHERE id = 3");
            pipeline.resume("pg");
            awaitRows(target.primary(), "reports", "SELECT string_agg(id || handle, ',' ORDER BY id) FROM handles",
                    "3u,4w");
            awaitRows(target.primary(), "reports", "SELECT n FROM counters WHERE id = 1", "300");
            int writes = Integer.parseInt(scalar(target.primary(), "reports", "SELECT n FROM counter_writes")) - 1;
            assertTrue(writes < 150, "300 updates of one row, caught up in batches of many transactions, took "
                    + writes + " row writes");
            assertEquals(300 - writes, registry.get("replicant.cdc.changes.merged").tag("follower", "pg").counter()
                    .count(), "the changes not written are counted");
            assertEquals(0, registry.get("replicant.cdc.errors").tag("follower", "pg").counter().count(),
                    "no follower transaction failed (and was applied again change by change)");
        }
    }

    /** Counts a PostgreSQL follower table's rows over and over until told to stop; collects what it saw. */
    private static Thread countReader(String table, AtomicBoolean running, Set<String> seen) {
        Thread reader = new Thread(() -> {
            try (Connection c = target.primary().connect("reports"); Statement s = c.createStatement()) {
                while (running.get()) {
                    try (ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
                        rs.next();
                        seen.add(rs.getString(1));
                    }
                }
            } catch (SQLException e) {
                seen.add(e.toString());
            }
        });
        reader.start();
        return reader;
    }

    @Test
    void aReCopyReplacesTheRowsInOneFollowerTransactionAcrossManyBatches() throws Exception {
        onSource("CREATE TABLE big (id int PRIMARY KEY, v int)",
                "INSERT INTO big SELECT g, g FROM generate_series(1, 1000) g");
        ReplicantConfig config = config("big_slot", "public\\.big", pgFollower("pg") + "\n  max_batch_size: 100");
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            awaitRows(target.primary(), "reports", "SELECT count(*) FROM big", "1000");
            try (Connection c = target.primary().connect("reports"); Statement s = c.createStatement()) {
                s.execute("INSERT INTO big VALUES (5000, 0)");
            }
            onSource("DELETE FROM big WHERE id <= 10");
            awaitRows(target.primary(), "reports", "SELECT count(*) FROM big", "991");

            AtomicBoolean copying = new AtomicBoolean(true);
            Set<String> seen = ConcurrentHashMap.newKeySet();
            Thread reader = countReader("big", copying, seen);
            pipeline.resnapshot("public.big");
            awaitRows(target.primary(), "reports", "SELECT count(*) FROM big", "990");
            copying.set(false);
            reader.join();
            assertTrue(Set.of("991", "990").containsAll(seen) && seen.contains("991"), "a reader sees the "
                    + "old rows or the new ones, nothing between: the re-copy of 10 batches is one follower transaction; "
                    + "saw " + seen);
            assertEquals("0", scalar(target.primary(), "reports", "SELECT count(*) FROM big WHERE id = 5000 OR id <= 10"));

            // a table empty on the source sends no rows, yet its re-copy empties it on the follower too
            onSource("DELETE FROM big");
            awaitRows(target.primary(), "reports", "SELECT count(*) FROM big", "0");
            try (Connection c = target.primary().connect("reports"); Statement s = c.createStatement()) {
                s.execute("INSERT INTO big VALUES (1, 1), (2, 2)");
            }
            pipeline.resnapshot("public.big");
            awaitRows(target.primary(), "reports", "SELECT count(*) FROM big", "0");
            onSource("INSERT INTO big VALUES (7, 7)");
            awaitRows(target.primary(), "reports", "SELECT string_agg(id::text, ',') FROM big", "7");

            IllegalArgumentException notCaptured = assertThrows(IllegalArgumentException.class,
                    () -> pipeline.resnapshot("public.events"));
            assertTrue(notCaptured.getMessage().contains("not among the tables this pipeline captures"),
                    notCaptured.getMessage());
        }
    }

    private static java.net.http.HttpResponse<String> http(String method, String url) throws Exception {
        java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
                .method(method, java.net.http.HttpRequest.BodyPublishers.noBody()).build();
        return java.net.http.HttpClient.newHttpClient().send(request,
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    /**
     * Debezium refuses to stop an engine whose task is still starting; left running, that task goes on to take the
     * slot, and the next pipeline on it waits for good (seen as a quorum timeout in CdcFollowerRoutingIT). Closes
     * come at several moments of the start, so that one falls inside the task's start.
     */
    @Test
    void closingWhileTheSourceStartsLeavesTheSlotFree() throws Exception {
        onSource("CREATE TABLE stop_race (id int PRIMARY KEY)", "INSERT INTO stop_race VALUES (1)");
        ReplicantConfig config = config("stop_race_slot", "public\\.stop_race", h2Follower("h2"));
        String active = "SELECT coalesce(bool_or(active), false) FROM pg_replication_slots "
                + "WHERE slot_name = 'stop_race_slot'";
        for (int delay = 0; delay <= 800; delay += 100) {
            CdcPipeline pipeline = CdcPipeline.start(config, null);
            Thread.sleep(delay);
            pipeline.close();
            Thread.sleep(1500); // a task left running takes the slot once it has started
            assertEquals("f", source.primary().query(active), "the slot is in use after a close " + delay
                    + " ms after the start");
        }
    }

    /**
     * Debezium confirms a position only with a change it streams, so a primary that writes only tables outside
     * the pipeline would keep its WAL for the slot for good. The heartbeat writes to a published table of the
     * pipeline's own, and the slot moves past the other tables' WAL.
     */
    @Test
    void theSlotMovesOnWhileThePrimaryWritesOnlyTablesOutsideThePipeline() throws Exception {
        onSource("CREATE TABLE beat_kept (id int PRIMARY KEY)", "CREATE TABLE beat_other (id int, pad text)",
                "INSERT INTO beat_kept VALUES (1)");
        ReplicantConfig config = config("beat_slot", "public\\.beat_kept", pgFollower("pg"),
                "  heartbeat_interval: 200ms");
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            awaitRows(target.primary(), "reports", "SELECT count(*) FROM beat_kept", "1");
            onSource("INSERT INTO beat_other SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
            String end = source.primary().query("SELECT pg_current_wal_lsn()");
            String moved = "SELECT confirmed_flush_lsn >= '" + end + "'::pg_lsn FROM pg_replication_slots "
                    + "WHERE slot_name = 'beat_slot'";
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline && !"t".equals(source.primary().query(moved))) {
                PgNode.sleep(100);
            }
            assertEquals("t", source.primary().query(moved), "the slot still holds the WAL before " + end + ": "
                    + source.primary().query("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                            + "WHERE slot_name = 'beat_slot'"));
        }
    }

    @Test
    void aFollowerDatabaseWithItsOwnDialect() throws Exception {
        onSource("CREATE TABLE notes (id int PRIMARY KEY, body text)", "INSERT INTO notes VALUES (1, 'one')");
        String url = "jdbc:h2:mem:custom;DB_CLOSE_DELAY=-1";
        try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE notes (id int PRIMARY KEY, body varchar(100))");
        }
        ReplicantConfig config = config("notes_slot", "public\\.notes", String.join("\n",
                "    - name: custom",
                "      url: '" + url + "'",
                "      user: sa",
                "      dialect: " + TestMergeDialect.class.getName()));
        try (CdcPipeline pipeline = CdcPipeline.start(config, null)) {
            onSource("INSERT INTO notes VALUES (2, 'two')", "UPDATE notes SET body = 'uno' WHERE id = 1");
            long deadline = System.nanoTime() + 30_000_000_000L;
            String rows = null;
            while (!"1:uno,2:two".equals(rows) && System.nanoTime() < deadline) {
                PgNode.sleep(100);
                try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT listagg(id || ':' || body, ',') WITHIN GROUP "
                                + "(ORDER BY id) FROM notes")) {
                    rs.next();
                    rows = rs.getString(1);
                }
            }
            assertEquals("1:uno,2:two", rows);
            assertTrue(TestMergeDialect.UPSERTS_BUILT.get() > 0);
        }
        ReplicantConfig unknown = config("notes_slot", "public\\.notes",
                "    - {name: lite, url: 'jdbc:sqlite:/tmp/x.db'}");
        io.replicant.config.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
                io.replicant.config.ConfigException.class, () -> CdcPipeline.start(unknown, null));
        assertTrue(e.getMessage().startsWith("cdc.followers[lite].url: no built-in dialect for jdbc:sqlite: URLs"),
                e.getMessage());
    }

    private static void awaitRows(PgNode node, String database, String query, String expected)
            throws SQLException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String actual = null;
        while (System.nanoTime() < deadline && !expected.equals(actual)) {
            PgNode.sleep(100);
            try {
                actual = scalar(node, database, query);
            } catch (SQLException e) {
                actual = e.getMessage(); // e.g. the pipeline has not created the table yet
            }
        }
        assertEquals(expected, actual, query);
    }

    private static void awaitState(Follower follower, Follower.State state) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (follower.state() != state && System.nanoTime() < deadline) {
            PgNode.sleep(50);
        }
        assertEquals(state, follower.state(), String.valueOf(follower.lastError()));
    }

    private static void awaitH2Count(String table, long rows) throws SQLException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (h2Count(table) != rows && System.nanoTime() < deadline) {
            PgNode.sleep(100);
        }
        assertEquals(rows, h2Count(table));
    }

    /** Every source column as the PostgreSQL follower has it (same types: text form must be identical). */
    private static void awaitEqual(String table, int rows) throws SQLException {
        String query = "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY id)), '') FROM " + table
                + " t";
        String expected = scalar(source.primary(), "app", query);
        assertTrue(expected.startsWith(rows + ":"), expected);
        long deadline = System.nanoTime() + 30_000_000_000L;
        String actual = null;
        while (System.nanoTime() < deadline) {
            actual = tableExists(table) ? scalar(target.primary(), "reports", query) : null;
            if (expected.equals(actual) && h2Count(table) == rows) {
                return;
            }
            PgNode.sleep(100);
        }
        assertEquals(expected, actual, "PostgreSQL follower differs from the source");
    }

    private static boolean tableExists(String table) throws SQLException {
        return "1".equals(scalar(target.primary(), "reports",
                "SELECT count(*) FROM pg_tables WHERE tablename = '" + table + "'"));
    }

    private static long h2Count(String table) throws SQLException {
        try (Connection c = DriverManager.getConnection(H2_URL, "sa", ""); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM information_schema.tables WHERE table_name = '"
                        + table.toUpperCase() + "'")) {
            rs.next();
            if (rs.getLong(1) == 0) {
                return -1;
            }
            try (ResultSet count = s.executeQuery("SELECT count(*) FROM " + table)) {
                count.next();
                return count.getLong(1);
            }
        }
    }

    private static String scalar(PgNode node, String database, String sql) throws SQLException {
        try (Connection c = node.connect(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The H2 follower's values, read as Java values and compared with the source's, column by column. */
    private static void awaitH2Matches() throws SQLException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            try {
                assertH2Matches();
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                PgNode.sleep(100);
            }
        }
    }

    private static void assertH2Matches() throws SQLException {
        String columns = "id, s, i, b, n, nany, r, d, flag, t, vc, ch, day, tm, ts, tstz, u, bin, ia, ta, m, big, j, jb";
        List<List<Object>> expected = read(source.primary().connect("app"), columns);
        // DAY is a keyword in H2: the follower table was created with quoted names, so read them quoted.
        String h2Columns = String.join(", ", java.util.Arrays.stream(columns.split(", "))
                .map(c -> '"' + c.toUpperCase() + '"').toList());
        List<List<Object>> actual = read(DriverManager.getConnection(H2_URL, "sa", ""), h2Columns);
        assertEquals(expected.size(), actual.size());
        String[] names = columns.split(", ");
        for (int row = 0; row < expected.size(); row++) {
            for (int column = 0; column < names.length; column++) {
                assertEquals(expected.get(row).get(column), actual.get(row).get(column),
                        "row " + row + ", column " + names[column]);
            }
        }
        try (Connection c = DriverManager.getConnection(H2_URL, "sa", ""); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT iv FROM types WHERE id = 10")) {
            rs.next();
            String interval = rs.getString(1);
            assertNotNull(interval);
            // H2 keeps the interval as ISO-8601 text; PostgreSQL reads it back as the same interval.
            assertEquals("t", scalar(source.primary(), "app",
                    "SELECT '" + interval + "'::interval = iv FROM types WHERE id = 10"));
        }
    }

    private static List<List<Object>> read(Connection connection, String columns) throws SQLException {
        List<List<Object>> rows = new ArrayList<>();
        try (connection; Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery("SELECT " + columns + " FROM types ORDER BY id")) {
            int count = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= count; i++) {
                    row.add(normalize(rs, i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    /** One comparable form for both drivers' values. */
    private static Object normalize(ResultSet rs, int column) throws SQLException {
        String name = rs.getMetaData().getColumnLabel(column).toLowerCase();
        Object value = switch (name) {
            case "day" -> rs.getObject(column, java.time.LocalDate.class);
            case "tm" -> rs.getObject(column, java.time.LocalTime.class);
            case "ts" -> rs.getObject(column, java.time.LocalDateTime.class);
            case "tstz" -> {
                java.time.OffsetDateTime t = rs.getObject(column, java.time.OffsetDateTime.class);
                yield t == null ? null : t.toInstant();
            }
            case "n", "nany" -> {
                java.math.BigDecimal d = rs.getBigDecimal(column);
                yield d == null ? null : d.stripTrailingZeros();
            }
            case "bin" -> {
                byte[] b = rs.getBytes(column);
                yield b == null ? null : java.util.HexFormat.of().formatHex(b);
            }
            case "ia", "ta" -> {
                java.sql.Array a = rs.getArray(column);
                yield a == null ? null : java.util.Arrays.asList((Object[]) a.getArray());
            }
            case "j", "jb" -> {
                String text = rs.getString(column);
                yield text == null ? null : text.replace(" ", "");
            }
            case "u", "m", "t", "vc", "ch" -> rs.getString(column);
            case "big" -> {
                String text = rs.getString(column);
                yield text == null ? null : text.length() + ":" + text.hashCode();
            }
            default -> rs.getObject(column);
        };
        return value instanceof Number n && !(value instanceof java.math.BigDecimal) ? n.toString() : value;
    }
}
