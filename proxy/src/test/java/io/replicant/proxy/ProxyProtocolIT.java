package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/**
 * The proxy against PostgreSQL itself: the same random conversations — named and unnamed statements and portals,
 * Describe, Close, partial Execute, errors at Parse, Bind and Execute, transactions, simple and multi-statement
 * queries — sent to the primary directly and through the proxy (which spreads the reads over the replicas) get the
 * same answers, message for message (errors compared by SQLSTATE).
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ProxyProtocolIT {
    private static final int CONVERSATIONS = 6;
    private static final int CLIENTS = 3;
    private static final int EXCHANGES = 300;

    /** A statement the generator may parse, and how many parameters it takes. */
    private record Sql(String text, int parameters) {
    }

    private static final List<Sql> PARSED = List.of(
            new Sql("SELECT $1::int + 1 AS next", 1),
            new Sql("SELECT generate_series(1, 3) AS n", 0),
            new Sql("SELECT $1::text || '-x' AS t", 1),
            new Sql("SELECT count(*) FROM pp_static", 0),
            new Sql("SELECT 1/0", 0), // index 4: a batch fails with it on purpose
            new Sql("SELEC 1", 0),
            new Sql("INSERT INTO pp_log (v) VALUES ($1::int) RETURNING v", 1),
            new Sql("UPDATE pp_log SET v = v WHERE v < 0", 0), // takes no row lock the other conversation could wait on
            new Sql("BEGIN", 0),
            new Sql("COMMIT", 0),
            new Sql("ROLLBACK", 0),
            new Sql("", 0)); // the empty query
    private static final List<String> QUERIES = List.of(
            "SELECT 1", "SELECT 1; SELECT 2 AS two", "SELECT 1/0", "BEGIN", "COMMIT", "ROLLBACK",
            "INSERT INTO pp_log (v) VALUES (7)", "BEGIN; INSERT INTO pp_log (v) VALUES (8); COMMIT",
            "SELECT count(*) FROM pp_static", "SET search_path = public", "DEALLOCATE ALL",
            "BEGIN READ ONLY", "SELECT n FROM generate_series(1, 2) n", "",
            "COPY (SELECT 1 UNION ALL SELECT 2) TO STDOUT", "COMMIT; INSERT INTO pp_log (v) VALUES (10)",
            "SELECT 1; ROLLBACK; SELECT 2; INSERT INTO pp_log (v) VALUES (11)",
            "SELECT current_setting('TimeZone') || ' ' || current_setting('application_name')",
            "SET TimeZone = 'Asia/Tokyo'", "SET application_name = 'pp-renamed'", "RESET TimeZone", "RESET ALL");
    /** Startup settings the clients log in with, one each: transaction pooling shares connections across them. */
    private static final String[] TIME_ZONES = {"Europe/Berlin", "America/New_York", "Asia/Kolkata"};
    /** Simple queries sent right after a Flush, with no Sync between: reads, a write and an error. */
    private static final List<String> AFTER_FLUSH = List.of("SELECT count(*) FROM pp_static",
            "INSERT INTO pp_log (v) VALUES (9)", "SELECT 1/0");
    private static final String[] STATEMENT_NAMES = {"", "s1", "s2"};
    private static final String[] PORTAL_NAMES = {"", "p1"};

    private LocalPostgresCluster cluster;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        ProxyFixture.setUp(cluster, "CREATE TABLE IF NOT EXISTS pp_log (v int)",
                "CREATE TABLE IF NOT EXISTS pp_static AS SELECT generate_series(1, 5) AS x");
    }

    @Test
    void randomConversationsGetThePrimarysAnswersInBothPoolingModes() throws Exception {
        for (String pooling : new String[] {"session", "transaction"}) {
            // in transaction pooling the clients take turns on shared server connections (one each at most, so a
            // client in a transaction never waits for one held by a client that waits for it)
            try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  auth: trust\n  pool_mode: " + pooling
                    + "\n  pool_size: " + CLIENTS + "\n")) {
                for (int i = 0; i < CONVERSATIONS; i++) {
                    long seed = Long.getLong("protocol.seed", System.nanoTime()); // -Dprotocol.seed= replays one
                    converse(proxy, new Random(seed), pooling + " pooling, seed " + seed);
                }
            }
        }
    }

    /** One client of the proxy and its twin on the primary, with what the generator knows of them. */
    private static final class Twin implements AutoCloseable {
        final WireClient direct;
        final WireClient proxied;
        final Map<String, Sql> statements = new HashMap<>(); // what the client believes each name holds
        final Deque<String> transcript = new ArrayDeque<>();
        boolean failedTransaction;

        Twin(LocalPostgresCluster cluster, ReplicantProxy proxy, int index) throws IOException {
            Map<String, String> settings = Map.of("TimeZone", TIME_ZONES[index % TIME_ZONES.length],
                    "application_name", "pp-" + index);
            direct = new WireClient(cluster.primary().port(), LocalPostgresCluster.SUPERUSER, settings);
            proxied = new WireClient(proxy.address().getPort(), LocalPostgresCluster.APP_USER, settings);
        }

        @Override
        public void close() throws IOException {
            direct.close();
            proxied.close();
        }
    }

    private void converse(ReplicantProxy proxy, Random random, String what) throws IOException {
        List<Twin> twins = new ArrayList<>();
        try {
            for (int i = 0; i < CLIENTS; i++) {
                twins.add(new Twin(cluster, proxy, i));
            }
            for (int exchange = 0; exchange < EXCHANGES; exchange++) {
                int client = random.nextInt(CLIENTS);
                exchange(twins.get(client), random, what + ", client " + client + ", exchange " + exchange);
            }
        } finally {
            for (Twin twin : twins) {
                twin.close();
            }
        }
    }

    private static void exchange(Twin twin, Random random, String what) throws IOException {
        List<Step> steps = random.nextInt(5) == 0 ? List.of(query(random, twin.statements))
                : batch(random, twin.statements, !twin.failedTransaction);
        for (WireClient client : List.of(twin.direct, twin.proxied)) {
            for (Step step : steps) {
                step.sendTo(client); // Sync and Query send the messages on
            }
        }
        List<String> expected = answer(twin.direct.readUntil('Z'));
        twin.transcript.addLast(steps + "\n    -> " + expected);
        if (twin.transcript.size() > 12) {
            twin.transcript.removeFirst();
        }
        String context = what + "; this client's last ones:\n" + String.join("\n", twin.transcript);
        List<String> got;
        try {
            got = answer(twin.proxied.readUntil('Z'));
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no ReadyForQuery from the proxy within 10 s: " + context, e);
        }
        boolean failed = expected.get(expected.size() - 1).equals("Z E");
        if (twin.failedTransaction) {
            // The failed transaction stays on its server, where a statement prepared on another one must be parsed
            // again, which fails there (25P02) before a Describe or Bind could be answered. What must hold:
            // whatever fails on PostgreSQL fails, and ROLLBACK (or COMMIT) ends the transaction as it does there.
            // The one difference that leaves: a re-parse that failed first skips the rest of the batch, a ROLLBACK
            // in it too, which PostgreSQL ran (it answers such a Describe); the client rolls back and sends it again.
            if (!failed && !hasError(expected) && got.contains("E 25P02") && got.get(got.size() - 1).equals("Z E")) {
                twin.proxied.query("ROLLBACK");
                assertEquals(List.of("C ROLLBACK", "Z I"), answer(twin.proxied.readUntil('Z')), context);
                for (Step step : steps) {
                    step.sendTo(twin.proxied);
                }
                got = answer(twin.proxied.readUntil('Z'));
            }
            assertEquals(expected.get(expected.size() - 1), got.get(got.size() - 1), context + "\n    proxy: " + got);
            if (hasError(expected)) {
                assertTrue(hasError(got), context + "\n    proxy: " + got);
            }
            if (!got.equals(expected)) {
                // the proxy's server skipped more of the batch than PostgreSQL did (after the failed re-parse), so
                // the statements each side holds may differ now: both sides start over
                startOver(twin);
                return;
            }
        } else {
            assertEquals(expected, got, context);
        }
        twin.failedTransaction = failed;
    }

    private static void startOver(Twin twin) throws IOException {
        for (WireClient client : List.of(twin.direct, twin.proxied)) {
            client.query("ROLLBACK").readUntil('Z');
            client.query("DEALLOCATE ALL").readUntil('Z');
            client.describeOrClose('C', 'P', "p1").sync().readUntil('Z');
        }
        twin.statements.clear();
        twin.failedTransaction = false;
    }

    /** One message the generator sends, printable for the transcript. */
    private interface Step {
        void sendTo(WireClient client) throws IOException;
    }

    private static Step step(String description, Step send) {
        return new Step() {
            @Override
            public void sendTo(WireClient client) throws IOException {
                send.sendTo(client);
            }

            @Override
            public String toString() {
                return description;
            }
        };
    }

    private static Step query(Random random, Map<String, Sql> statements) {
        String sql = QUERIES.get(random.nextInt(QUERIES.size()));
        if (sql.startsWith("DEALLOCATE")) {
            statements.clear();
        }
        return step("Q(" + sql + ")", c -> c.query(sql));
    }

    /**
     * A few extended-protocol messages and Sync; mostly what a driver sends, sometimes what it would not. Outside
     * a failed transaction, a batch may end with Flush and a simple query instead.
     */
    private static List<Step> batch(Random random, Map<String, Sql> statements, boolean queryMayEndIt) {
        List<Step> steps = new ArrayList<>();
        int n = 1 + random.nextInt(6);
        messages:
        for (int i = 0; i < n; i++) {
            String name = STATEMENT_NAMES[random.nextInt(STATEMENT_NAMES.length)];
            String portal = PORTAL_NAMES[random.nextInt(PORTAL_NAMES.length)];
            switch (random.nextInt(10)) {
                case 0, 1, 2 -> {
                    Sql sql = PARSED.get(random.nextInt(PARSED.size()));
                    if (!name.isEmpty() && statements.containsKey(name)) {
                        // a named statement that exists is closed first, as drivers do (re-parsing it is 42P05)
                        steps.add(step("C(S " + name + ")", c -> c.describeOrClose('C', 'S', name)));
                    }
                    statements.put(name, sql);
                    steps.add(step("P(" + name + ": " + sql.text() + ")", c -> c.parse(name, sql.text())));
                }
                case 3, 4, 5 -> {
                    Sql sql = statements.get(name);
                    int count = sql == null ? 0 : random.nextInt(8) == 0 ? 1 - sql.parameters() : sql.parameters();
                    List<String> values = new ArrayList<>();
                    for (int v = 0; v < count; v++) {
                        values.add(Integer.toString(random.nextInt(1000)));
                    }
                    steps.add(step("B(" + portal + " <- " + name + " " + values + ")",
                            c -> c.bind(portal, name, values)));
                    int maxRows = random.nextInt(3) == 0 ? 1 : 0;
                    steps.add(step("E(" + portal + ", " + maxRows + ")", c -> c.execute(portal, maxRows)));
                }
                case 6 -> {
                    char kind = random.nextBoolean() ? 'S' : 'P';
                    String target = kind == 'S' ? name : portal;
                    steps.add(step("D(" + kind + " " + target + ")", c -> c.describeOrClose('D', kind, target)));
                }
                case 7 -> {
                    int maxRows = random.nextInt(3);
                    steps.add(step("E(" + portal + ", " + maxRows + ")", c -> c.execute(portal, maxRows)));
                }
                case 8 -> {
                    char kind = random.nextBoolean() ? 'S' : 'P';
                    String target = kind == 'S' ? name : portal;
                    if (kind == 'S') {
                        statements.remove(name);
                    }
                    steps.add(step("C(" + kind + " " + target + ")", c -> c.describeOrClose('C', kind, target)));
                }
                default -> {
                    Sql sql = PARSED.get(random.nextInt(4)); // a read, parsed, bound, described and run at once
                    statements.put("", sql);
                    List<String> values = sql.parameters() == 1 ? List.of("41") : List.of();
                    steps.add(step("P/B/D/E(" + sql.text() + ")", c -> c.parse("", sql.text()).bind("", "", values)
                            .describeOrClose('D', 'P', "").execute("", 0)));
                    if (random.nextInt(3) == 0 && readsOnly(steps)) {
                        // the answers so far come before Sync; the rest of the batch (one more read: a write
                        // after a Flush on a replica is refused by design) follows to the same server
                        steps.add(step("H", WireClient::flush));
                        if (queryMayEndIt && random.nextBoolean()) {
                            // or a simple query, which ends the batch as Sync would (asyncpg sends its COPY so)
                            String query = AFTER_FLUSH.get(random.nextInt(AFTER_FLUSH.size()));
                            if (random.nextInt(3) == 0) {
                                // unless the batch failed: then PostgreSQL skips the query, and all else up to Sync
                                Sql failing = PARSED.get(4);
                                steps.add(step("P/B/E(" + failing.text() + ")", c -> c.parse("", failing.text())
                                        .bind("", "", List.of()).execute("", 0)));
                                statements.put("", failing);
                                steps.add(step("Q(" + query + ")", c -> c.query(query)));
                                steps.add(step("S", WireClient::sync));
                                return steps;
                            }
                            steps.add(step("Q(" + query + ")", c -> c.query(query)));
                            return steps;
                        }
                        Sql more = PARSED.get(random.nextInt(4));
                        List<String> moreValues = more.parameters() == 1 ? List.of("43") : List.of();
                        steps.add(step("P/B/E(" + more.text() + ")", c -> c.parse("", more.text())
                                .bind("", "", moreValues).execute("", 0)));
                        statements.put("", more);
                        break messages;
                    }
                }
            }
        }
        steps.add(step("S", WireClient::sync));
        return steps;
    }

    /**
     * Whether a batch so far only reads (its rest may then follow a Flush to a replica, where a write would be
     * refused with 0A000 by design).
     */
    private static boolean readsOnly(List<Step> steps) {
        return steps.stream().allMatch(step -> step.toString().startsWith("P/B/D/E(SELECT")
                || step.toString().equals("H"));
    }

    private static boolean hasError(List<String> answer) {
        return answer.stream().anyMatch(m -> m.startsWith("E "));
    }

    /** The messages of an answer as comparable text: types, SQLSTATEs, column names, values and tags. */
    private static List<String> answer(List<WireClient.Message> messages) {
        List<String> out = new ArrayList<>();
        for (WireClient.Message m : messages) {
            switch (m.type()) {
                case 'S' -> {
                    // what the client is told of its own startup settings must be what PostgreSQL tells it
                    String name = cString(m.body(), 0);
                    if (name.equals("TimeZone") || name.equals("application_name")) {
                        out.add("S " + name + "=" + cString(m.body(), name.length() + 1));
                    }
                }
                case 'N' -> {
                    // notices may differ (a proxy's own settings catch-up); not compared
                }
                case 'E' -> out.add("E " + m.sqlState());
                case 'C' -> out.add("C " + cString(m.body(), 0));
                case 'Z' -> out.add("Z " + (char) m.body()[0]);
                case 'T' -> out.add("T " + columnNames(m.body()));
                case 'D' -> out.add("D " + values(m.body()));
                default -> out.add(String.valueOf(m.type()));
            }
        }
        return out;
    }

    private static String cString(byte[] body, int from) {
        int end = from;
        while (body[end] != 0) {
            end++;
        }
        return new String(body, from, end - from, StandardCharsets.UTF_8);
    }

    private static List<String> columnNames(byte[] body) {
        List<String> names = new ArrayList<>();
        int count = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
        int at = 2;
        for (int i = 0; i < count; i++) {
            String name = cString(body, at);
            names.add(name);
            at += name.getBytes(StandardCharsets.UTF_8).length + 1 + 18; // table oid, column, type, size, mod, format
        }
        return names;
    }

    private static List<String> values(byte[] body) {
        List<String> values = new ArrayList<>();
        int count = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
        int at = 2;
        for (int i = 0; i < count; i++) {
            int length = ((body[at] & 0xff) << 24) | ((body[at + 1] & 0xff) << 16) | ((body[at + 2] & 0xff) << 8)
                    | (body[at + 3] & 0xff);
            at += 4;
            values.add(length < 0 ? null : new String(body, at, length, StandardCharsets.UTF_8));
            at += Math.max(length, 0);
        }
        return values;
    }
}
