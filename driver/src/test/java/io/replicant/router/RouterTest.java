package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.replicant.config.ConfigBuilder;
import io.replicant.config.HostSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;

/** The router's decisions without any server: session state, precedence, read pool and balancing. */
class RouterTest {
    private final Backend primary = new Backend(HostSpec.of("p", 5432), Backend.Role.PRIMARY);
    private final Backend r1 = new Backend(new HostSpec("r1", 5432, 1, List.of("reporting")), Backend.Role.REPLICA);
    private final Backend r2 = new Backend(new HostSpec("r2", 5432, 3, List.of()), Backend.Role.REPLICA);
    private final Map<String, FunctionCatalog.Volatility> functions = new HashMap<>(Map.of(
            "my_volatile", FunctionCatalog.Volatility.VOLATILE, "my_stable", FunctionCatalog.Volatility.SAFE));
    private final Set<String> missed = new HashSet<>();
    private final FunctionCatalog catalog = new FunctionCatalog() {
        @Override
        public Volatility lookup(String name) {
            return functions.getOrDefault(name, name.startsWith("my_") ? Volatility.UNKNOWN : Volatility.BUILTIN);
        }

        @Override
        public void missed(String name) {
            missed.add(name);
        }
    };

    /** A session whose state the test sets field by field. */
    static final class Session implements SessionView {
        Backend tx;
        boolean failed;
        boolean begins;
        boolean readOnly;
        Set<String> temps = Set.of();
        Set<String> prepared = Set.of();
        String pinned;
        String forced;
        String user = "app";
        String app = "shop";
        String consistency = "eventual";
        long minLsn = Lsn.UNKNOWN;
        Backend sticky;

        @Override
        public String consistency() {
            return consistency;
        }

        @Override
        public long minLsn() {
            return minLsn;
        }

        @Override
        public Backend stickyReplica() {
            return sticky;
        }

        @Override
        public Backend transactionBackend() {
            return tx;
        }

        @Override
        public boolean transactionFailed() {
            return failed;
        }

        @Override
        public boolean beginsTransaction() {
            return begins;
        }

        @Override
        public boolean readOnly() {
            return readOnly;
        }

        @Override
        public Set<String> tempTables() {
            return temps;
        }

        @Override
        public Set<String> preparedStatements() {
            return prepared;
        }

        @Override
        public String pinned() {
            return pinned;
        }

        @Override
        public String forcedRoute() {
            return forced;
        }

        @Override
        public String user() {
            return user;
        }

        @Override
        public String applicationName() {
            return app;
        }
    }

    private Router router(String yaml) {
        ConfigBuilder builder = YamlConfigLoader.parse("t.yaml", "hosts: [p, r1, r2]\n" + yaml, Map.of());
        ReplicantConfig config = builder.build();
        return new Router(config, new ClassificationCache(new StatementClassifier(), 100,
                ClassificationCache.CacheListener.NONE), catalog);
    }

    private RouteDecision route(Router router, String sql, Session session) {
        return router.route(router.classify(sql), session, primary, List.of(r1, r2));
    }

    private String where(Router router, String sql, Session session) {
        RouteDecision d = route(router, sql, session);
        return d.refused() ? "refused " + d.refusal() : (d.backend() == primary ? "primary" : "replica") + " " + d.reason().tag();
    }

    @Test
    void catalogDecidesUserFunctions() {
        Router router = router("read_only_functions: [my_listed]\n");
        Session s = new Session();
        assertEquals("primary volatile_function", where(router, "SELECT my_volatile()", s));
        assertEquals("replica read", where(router, "SELECT my_stable()", s));
        assertEquals("primary unknown_function", where(router, "SELECT my_new_fn(1)", s));
        assertTrue(missed.contains("my_new_fn"), "an unknown name asks for a catalog refresh");
        functions.put("my_listed", FunctionCatalog.Volatility.VOLATILE);
        assertEquals("replica read", where(router, "SELECT my_listed()", s));
    }

    @Test
    void transactionsFollowTheirBackend() {
        Router router = router("");
        Session s = new Session();
        s.tx = r2;
        assertEquals("replica read_only_transaction", where(router, "SELECT 1", s));
        assertEquals("replica read_only_transaction", where(router, "INSERT INTO t VALUES (1)", s),
                "the replica itself answers 25006");
        assertEquals("refused 25006", where(router, "SELECT pg_advisory_lock(1)", s));
        s.failed = true;
        assertEquals("replica read_only_transaction", where(router, "SELECT pg_advisory_lock(1)", s),
                "in a failed transaction its server answers 25P02, as PostgreSQL would");
        s.failed = false;
        s.tx = primary;
        assertEquals("primary transaction", where(router, "SELECT 1", s));

        Session begin = new Session();
        begin.begins = true;
        assertEquals("primary transaction", where(router, "SELECT 1", begin));
        begin.readOnly = true;
        assertEquals("replica read_only_transaction", where(router, "SELECT 1", begin));
        begin.temps = Set.of("scratch");
        assertEquals("primary transaction", where(router, "SELECT 1", begin),
                "a later statement of the transaction may read the session's temp table");
        begin.temps = Set.of();
        begin.prepared = Set.of("by_id");
        assertEquals("primary transaction", where(router, "SELECT 1", begin),
                "a later statement of the transaction may EXECUTE the session's prepared statement");
        begin.prepared = Set.of();
        Session readWrite = new Session();
        readWrite.begins = true;
        assertEquals("primary transaction", where(router, "BEGIN READ ONLY", readWrite),
                "inside the transaction the driver began, a BEGIN only warns");
        assertEquals("replica read_only_transaction", where(router, "SET TRANSACTION READ ONLY", readWrite));
        begin.pinned = "listen";
        assertEquals("primary session_pin", where(router, "SELECT 1", begin));

        Session autocommit = new Session();
        assertEquals("replica read_only_transaction", where(router, "BEGIN READ ONLY", autocommit));
        assertEquals("primary transaction", where(router, "BEGIN", autocommit));
    }

    @Test
    void precedenceApiPinHintRuleClassification() {
        Router router = router("rules:\n  - match: {kind: select, tables: '^orders$'}\n    route: primary\n");
        Session s = new Session();
        assertEquals("primary rule", where(router, "SELECT * FROM orders", s));
        assertEquals("replica hint", where(router, "/* replicant:route=replica */ SELECT * FROM orders", s));
        s.pinned = "listen";
        assertEquals("primary session_pin", where(router, "/* replicant:route=replica */ SELECT 1", s));
        s.forced = "replica";
        assertEquals("replica api", where(router, "SELECT 1", s));
        assertEquals("primary write_overrides_hint", where(router, "DELETE FROM orders", s));
        s.forced = null;
        s.pinned = null;
        s.temps = Set.of("scratch");
        assertEquals("primary temp_table", where(router, "SELECT * FROM scratch", s));
        assertEquals("primary write_overrides_hint", where(router, "/* replicant:route=replica */ SELECT * FROM scratch", s));
    }

    @Test
    void rulesMatchUserApplicationHintAndSql() {
        Router router = router(String.join("\n",
                "rules:",
                "  - match: {user: '^analyst$'}",
                "    route: replica",
                "    tag: reporting",
                "  - match: {application_name: '^admin'}",
                "    route: primary",
                "  - match: {hint: '^urgent$'}",
                "    route: primary",
                "  - match: {sql: 'my_volatile'}",
                "    route: any",
                ""));
        Session s = new Session();
        assertEquals("replica read", where(router, "SELECT 1", s));
        assertEquals("primary rule", where(router, "/* replicant:label=urgent */ SELECT 1", s));
        assertTrue(List.of(primary, r1, r2).contains(route(router, "SELECT my_volatile()", s).backend()));
        s.app = "admin-console";
        assertEquals("primary rule", where(router, "SELECT 1", s));
        s.app = "shop";
        s.user = "analyst";
        for (int i = 0; i < 5; i++) {
            assertEquals(r1, route(router, "SELECT 1", s).backend(), "tag reporting is only on r1");
        }
    }

    @Test
    void readPoolPolicies() {
        Session s = new Session();
        r1.setAvailable(false, "test");
        r2.setAvailable(false, "test");
        try {
            assertEquals("primary no_replica", where(router(""), "SELECT 1", s));
            assertEquals("refused 08001", where(router("primary_reads: never\n"), "SELECT 1", s));
            r2.setAvailable(true, "");
            Router always = router("primary_reads: always\n");
            Set<Backend> seen = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                seen.add(route(always, "SELECT 1", s).backend());
            }
            assertEquals(Set.of(primary, r2), seen);
            assertEquals("primary no_replica", where(router(""), "/* replicant:tag=reporting */ SELECT 1", s),
                    "the only reporting replica is down");
        } finally {
            r1.setAvailable(true, "");
            r2.setAvailable(true, "");
        }
    }

    @Test
    void loadBalancers() {
        List<Backend> both = List.of(r1, r2);
        LoadBalancer roundRobin = LoadBalancer.forName("round_robin");
        assertEquals(Set.of(r1, r2), Set.of(roundRobin.pick(both), roundRobin.pick(both)));

        LoadBalancer weighted = LoadBalancer.forName("weighted");
        int r2Picks = 0;
        for (int i = 0; i < 4000; i++) {
            if (weighted.pick(both) == r2) {
                r2Picks++;
            }
        }
        assertTrue(r2Picks > 2700 && r2Picks < 3300, "weight 3 of 4 gave " + r2Picks + " of 4000");

        LoadBalancer least = LoadBalancer.forName("least_in_flight");
        r1.beginStatement();
        try {
            for (int i = 0; i < 5; i++) {
                assertEquals(r2, least.pick(both));
            }
        } finally {
            r1.endStatement();
        }
        Set<Backend> randomPicks = new HashSet<>();
        LoadBalancer random = LoadBalancer.forName("random");
        for (int i = 0; i < 100; i++) {
            randomPicks.add(random.pick(both));
        }
        assertEquals(Set.of(r1, r2), randomPicks);
    }

    @Test
    void weightZeroNeverReads() {
        Backend zero = new Backend(new HostSpec("z", 5432, 0, List.of()), Backend.Role.REPLICA);
        Router router = router("");
        for (int i = 0; i < 5; i++) {
            RouteDecision d = router.route(router.classify("SELECT 1"), new Session(), primary, List.of(zero));
            assertEquals(primary, d.backend());
        }
        assertNull(router.classify("SELECT 1").hints().error());
    }

    @Test
    void laggingReplicasAndFallbacks() {
        Session s = new Session();
        r1.updateLag(100, 5000, 20, true, "lag");
        r2.updateLag(100, 5000, 20, true, "lag");
        try {
            assertEquals("primary replica_lag", where(router(""), "SELECT 1", s));
            assertEquals("refused 08001", where(router("lag: {fallback: error}\n"), "SELECT 1", s));
            Router waiting = router("lag: {fallback: wait}\n");
            assertTrue(route(waiting, "SELECT 1", s).awaitCatchUp());
            RouteDecision waited = waiting.route(waiting.classify("SELECT 1"), s, primary, List.of(r1, r2), false);
            assertEquals("primary replica_lag", (waited.backend() == primary ? "primary " : "replica ") + waited.reason().tag());
            assertEquals("primary hint", where(router("lag: {fallback: error}\n"), "/* replicant:route=primary */ SELECT 1", s));
            r2.updateLag(200, 10, 1, false, "");
            assertEquals(r2, route(router("lag: {fallback: error}\n"), "SELECT 1", s).backend(), "r2 caught up");
            r1.setAvailable(false, "down");
            r2.setAvailable(false, "down");
            assertEquals("primary no_replica", where(router("lag: {fallback: error}\n"), "SELECT 1", s),
                    "down is not lagging: primary_reads decides");
        } finally {
            r1.setAvailable(true, "");
            r2.setAvailable(true, "");
            r1.updateLag(100, 0, 0, false, "");
            r2.updateLag(100, 0, 0, false, "");
        }
    }

    @Test
    void preferLeastLagged() {
        Router router = router("lag: {prefer_least_lagged: true}\n");
        r1.updateLag(100, 900, 3, false, "");
        r2.updateLag(100, 40, 1, false, "");
        for (int i = 0; i < 5; i++) {
            assertEquals(r2, route(router, "SELECT 1", new Session()).backend());
        }
        r2.updateLag(100, 0, 0, false, "");
        r1.updateLag(100, 0, 0, false, "");
    }

    @Test
    void consistencyModes() {
        Router router = router("");
        Session s = new Session();
        s.consistency = "strong";
        assertEquals("primary strong_consistency", where(router, "SELECT 1", s));
        assertEquals("primary strong_consistency", where(router, "/* replicant:route=replica */ SELECT 1", s));
        assertEquals("replica read", where(router, "/* replicant:consistency=eventual */ SELECT 1", s));

        s.consistency = "session";
        s.minLsn = 0x5000;
        r1.observeReplay(0x4000);
        r2.observeReplay(0x6000);
        for (int i = 0; i < 5; i++) {
            RouteDecision d = route(router, "SELECT 1", s);
            assertEquals(r2, d.backend(), "only r2 is known to have replayed the session's position");
            assertEquals(Lsn.UNKNOWN, d.requiredLsn());
        }
        s.minLsn = 0x7000;
        RouteDecision check = route(router, "SELECT 1", s);
        assertEquals(0x7000, check.requiredLsn(), "no replica known to be there: check on one");
        RouteDecision fallback = router.route(router.classify("SELECT 1"), s, primary, List.of(r1, r2), false);
        assertEquals(primary, fallback.backend());
        assertEquals(Reason.READ_YOUR_WRITES, fallback.reason());
        assertEquals("replica read", where(router, "/* replicant:consistency=eventual */ SELECT 1", s),
                "eventual ignores the session's position");

        s.consistency = "eventual";
        s.minLsn = Lsn.UNKNOWN;
        assertEquals(0x6500, route(router, "/* replicant:min_lsn=0/6500 */ SELECT 1", s).requiredLsn() == Lsn.UNKNOWN
                ? -2 : 0x6500, "r2 (0x6000) is not known to be at 0/6500: the hint asks for a check");
        assertEquals(r2, route(router, "/* replicant:min_lsn=0/5FFF */ SELECT 1", s).backend());
        assertEquals("refused 22023", where(router, "/* replicant:min_lsn=zz */ SELECT 1", s));
        assertEquals("refused 22023", where(router, "/* replicant:consistency=linearizable */ SELECT 1", s));
    }

    @Test
    void sessionPrefersItsLastReplica() {
        Router router = router("load_balance: round_robin\n");
        Session s = new Session();
        s.consistency = "session";
        s.sticky = r1;
        for (int i = 0; i < 5; i++) {
            assertEquals(r1, route(router, "SELECT 1", s).backend());
        }
        s.consistency = "eventual";
        Set<Backend> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(route(router, "SELECT 1", s).backend());
        }
        assertEquals(Set.of(r1, r2), seen, "eventual reads are balanced per statement");
    }

    @Test
    void connectionScopeKeepsAnEligibleReplica() {
        Router router = router("load_balance_scope: connection\n");
        Session s = new Session();
        assertTrue(route(router, "SELECT 1", s).backend() != primary, "the first read picks a replica");
        s.sticky = r2;
        for (int i = 0; i < 5; i++) {
            assertEquals(r2, route(router, "SELECT 1", s).backend());
        }
        r2.setAvailable(false, "test: down");
        try {
            assertEquals(r1, route(router, "SELECT 1", s).backend(), "an ineligible replica is left");
        } finally {
            r2.setAvailable(true, "test: up");
        }
    }
}
