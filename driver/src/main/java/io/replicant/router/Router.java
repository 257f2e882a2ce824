package io.replicant.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.RuleSpec;
import io.replicant.config.SqlState;
import io.replicant.config.StatementKind;

/**
 * Decides where a statement runs: no I/O, shared by the JDBC driver and the proxy. Order of precedence:
 * an open transaction; a statement that opens one; then, in autocommit, API-forced route, session pin,
 * hint, first matching rule, and finally the statement's own classification. Nothing sends a statement
 * that certainly writes to a replica; hints and rules only override the cautious "probably a read" cases.
 */
public final class Router {
    private final ClassificationCache cache;
    private final FunctionCatalog catalog;
    private final LoadBalancer loadBalancer;
    private final List<RuleSpec> rules;
    private final Set<String> readOnlyFunctions;
    private final String primaryReads;
    private final String lagFallback;
    private final boolean preferLeastLagged;
    /** load_balance_scope: connection — a session keeps its replica while it is eligible. */
    private final boolean connectionScope;

    public Router(ReplicantConfig config, ClassificationCache cache, FunctionCatalog catalog) {
        this.cache = cache;
        this.catalog = catalog;
        this.loadBalancer = LoadBalancer.forName(config.get(ReplicantOptions.LOAD_BALANCE));
        this.rules = config.rules();
        this.readOnlyFunctions = Set.copyOf(config.get(ReplicantOptions.READ_ONLY_FUNCTIONS));
        this.primaryReads = config.get(ReplicantOptions.PRIMARY_READS);
        this.lagFallback = config.get(ReplicantOptions.LAG_FALLBACK);
        this.preferLeastLagged = config.get(ReplicantOptions.LAG_PREFER_LEAST_LAGGED);
        this.connectionScope = config.get(ReplicantOptions.LOAD_BALANCE_SCOPE).equals("connection");
    }

    public Classification classify(String sql) {
        return cache.get(sql);
    }

    /**
     * @param primary  the primary backend
     * @param replicas all replicas (ineligible ones are skipped here)
     */
    public RouteDecision route(Classification c, SessionView session, Backend primary, List<Backend> replicas) {
        return route(c, session, primary, replicas, true);
    }

    /**
     * @param mayWait false once the caller has waited for lagging replicas: a read then falls back to the primary
     */
    public RouteDecision route(Classification c, SessionView session, Backend primary, List<Backend> replicas,
            boolean mayWait) {
        if (c.hints().error() != null) {
            return RouteDecision.refuse(SqlState.INVALID_PARAMETER_VALUE.code(), Reason.HINT, c.hints().error());
        }
        Backend tx = session.transactionBackend();
        Read read = tx != null ? null : read(c, session, primary, replicas, mayWait);
        if (tx != null) {
            if (!tx.isPrimary() && c.sessionBound() && !session.transactionFailed()) {
                return RouteDecision.refuse(SqlState.READ_ONLY_SQL_TRANSACTION.code(), Reason.READ_ONLY_TRANSACTION,
                        "cannot execute " + describe(c) + " in a read-only transaction: it runs on replica "
                                + tx.name() + ", where it would act on the wrong server");
            }
            return RouteDecision.to(tx, tx.isPrimary() ? Reason.TRANSACTION : Reason.READ_ONLY_TRANSACTION, "");
        }
        if (session.beginsTransaction() || c.kind() == StatementKind.BEGIN) {
            if (session.pinned() != null) {
                return RouteDecision.to(primary, Reason.SESSION_PIN, session.pinned());
            }
            // as pgjdbc: setReadOnly makes the transactions it begins itself (autocommit off) read-only, as does a
            // SET TRANSACTION READ ONLY first in one (a BEGIN READ ONLY there only warns); a transaction begun
            // with SQL in autocommit mode is read-only only if it says so
            boolean readOnly = session.beginsTransaction()
                    ? session.readOnly() || c.readOnlyBegin() && c.kind() != StatementKind.BEGIN
                    : c.readOnlyBegin();
            // a session's temp tables and SQL prepared statements live on the primary, and any statement of the
            // transaction may use them
            if (readOnly && !c.sessionBound() && session.tempTables().isEmpty()
                    && session.preparedStatements().isEmpty()) {
                return readPool(read, null, false, Reason.READ_ONLY_TRANSACTION, "");
            }
            return RouteDecision.to(primary, Reason.TRANSACTION, "");
        }

        Base base = base(c, session);
        String forced = session.forcedRoute();
        Reason overrideReason = Reason.API;
        String overrideDetail = "";
        String tag = null;
        if (forced == null && session.pinned() != null) {
            return RouteDecision.to(primary, Reason.SESSION_PIN, session.pinned());
        }
        if (forced == null && c.hints().present()) {
            forced = c.hints().route() != null ? c.hints().route() : "replica";
            tag = c.hints().tag();
            overrideReason = Reason.HINT;
        }
        if (forced == null) {
            RuleSpec rule = firstMatchingRule(c, session);
            if (rule != null) {
                forced = rule.route().name().toLowerCase();
                tag = rule.tag();
                overrideReason = Reason.RULE;
                overrideDetail = rule.name();
            }
        }
        if (forced == null) {
            return base.verdict == Verdict.READ
                    ? readPool(read, null, false, Reason.READ, "")
                    : RouteDecision.to(primary, base.reason, base.detail);
        }
        if (forced.equals("primary")) {
            return RouteDecision.to(primary, overrideReason, overrideDetail);
        }
        if (base.verdict != Verdict.READ && base.verdict != Verdict.UNSURE) {
            return RouteDecision.to(primary, Reason.WRITE_OVERRIDES_HINT,
                    base.reason.tag() + (base.detail.isEmpty() ? "" : ": " + base.detail));
        }
        return readPool(read, tag, forced.equals("any"), overrideReason, overrideDetail);
    }

    /** Where the statement would go on its own, after temp tables and the function catalog are considered. */
    private Base base(Classification c, SessionView session) {
        if (c.verdict() != Verdict.READ) {
            return new Base(c.verdict(), c.reason(), c.detail());
        }
        Set<String> temps = session.tempTables();
        if (!temps.isEmpty()) {
            for (String name : c.names()) {
                if (temps.contains(name)) {
                    return new Base(Verdict.WRITE, Reason.TEMP_TABLE, name);
                }
            }
        }
        for (String function : c.functions()) {
            if (readOnlyFunctions.contains(function)) {
                continue;
            }
            switch (catalog.lookup(function)) {
                case VOLATILE:
                    return new Base(Verdict.UNSURE, Reason.VOLATILE_FUNCTION, function);
                case UNKNOWN:
                    catalog.missed(function);
                    return new Base(Verdict.UNSURE, Reason.UNKNOWN_FUNCTION, function);
                default:
                    break;
            }
        }
        return new Base(Verdict.READ, Reason.READ, "");
    }

    private record Base(Verdict verdict, Reason reason, String detail) {
    }

    /** What a read needs from the replica that serves it. */
    private record Read(List<Backend> replicas, Backend primary, boolean mayWait, String consistency, long minLsn,
            Backend sticky) {
    }

    private Read read(Classification c, SessionView session, Backend primary, List<Backend> replicas,
            boolean mayWait) {
        String consistency = c.hints().consistency() != null ? c.hints().consistency() : session.consistency();
        long minLsn = c.hints().minLsn();
        Backend sticky = connectionScope ? session.stickyReplica() : null;
        if (consistency.equals("session") || consistency.equals("token")) {
            minLsn = Math.max(minLsn, session.minLsn());
            sticky = session.stickyReplica();
        }
        return new Read(replicas, primary, mayWait, consistency, minLsn, sticky);
    }

    private RouteDecision readPool(Read read, String tag, boolean includePrimary, Reason reason, String detail) {
        Backend primary = read.primary;
        if (read.consistency.equals("strong")) {
            return RouteDecision.to(primary, Reason.STRONG_CONSISTENCY, "");
        }
        List<Backend> candidates = new ArrayList<>(read.replicas.size() + 1);
        boolean lagging = false;
        for (Backend replica : read.replicas) {
            // a CDC follower may lack tables or name them otherwise: only reads sent to its tags go there
            boolean inGroup = tag == null ? !replica.host().cdcFollower() : replica.tags().contains(tag);
            if (replica.weight() > 0 && inGroup) {
                if (replica.isEligible()) {
                    candidates.add(replica);
                } else if (replica.isAvailable()) {
                    lagging = true;
                }
            }
        }
        if (candidates.isEmpty() && lagging && !includePrimary) {
            switch (lagFallback) {
                case "error":
                    return RouteDecision.refuse(SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), Reason.REPLICA_LAG,
                            "every replica" + (tag != null ? " with tag '" + tag + "'" : "")
                                    + " lags beyond the configured limits (lag.fallback: error)");
                case "wait":
                    if (read.mayWait) {
                        return RouteDecision.awaitCatchUp("every replica lags beyond the configured limits");
                    }
                    return RouteDecision.to(primary, Reason.REPLICA_LAG, "waited max_wait");
                default:
                    return RouteDecision.to(primary, Reason.REPLICA_LAG, "");
            }
        }
        if (includePrimary || "always".equals(primaryReads)) {
            candidates.add(primary);
        }
        if (candidates.isEmpty()) {
            if ("never".equals(primaryReads) && !read.replicas.isEmpty()) {
                return RouteDecision.refuse(SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), Reason.NO_REPLICA,
                        "no replica" + (tag != null ? " with tag '" + tag + "'" : "")
                                + " is available and primary_reads is 'never'");
            }
            return RouteDecision.to(primary, Reason.NO_REPLICA, tag != null ? "tag " + tag : "");
        }
        if (read.minLsn == Lsn.UNKNOWN) {
            return RouteDecision.to(choose(candidates, read.sticky), reason, detail);
        }
        List<Backend> caughtUp = new ArrayList<>(candidates.size());
        for (Backend b : candidates) {
            if (b.isPrimary() || b.replayLsn() >= read.minLsn) {
                caughtUp.add(b);
            }
        }
        if (!caughtUp.isEmpty()) {
            return RouteDecision.to(choose(caughtUp, read.sticky), reason, detail);
        }
        if (read.mayWait) {
            return RouteDecision.onceReplayed(mostAdvanced(candidates, read.sticky), reason, detail, read.minLsn);
        }
        return RouteDecision.to(primary, Reason.READ_YOUR_WRITES,
                "no replica replayed " + Lsn.format(read.minLsn) + " within max_wait");
    }

    private Backend choose(List<Backend> candidates, Backend sticky) {
        if (sticky != null && candidates.contains(sticky)) {
            return sticky;
        }
        return preferLeastLagged ? leastLagged(candidates) : loadBalancer.pick(candidates);
    }

    /** The replica most likely to have caught up: the highest known replay position, the sticky one on a tie. */
    private static Backend mostAdvanced(List<Backend> candidates, Backend sticky) {
        Backend best = sticky != null && candidates.contains(sticky) ? sticky : candidates.get(0);
        for (Backend b : candidates) {
            if (b.replayLsn() > best.replayLsn()) {
                best = b;
            }
        }
        return best;
    }

    private static Backend leastLagged(List<Backend> candidates) {
        Backend best = candidates.get(0);
        for (Backend b : candidates) {
            if (!b.isPrimary() && (best.isPrimary() || b.lagBytes() < best.lagBytes())) {
                best = b;
            }
        }
        return best;
    }

    private RuleSpec firstMatchingRule(Classification c, SessionView session) {
        for (RuleSpec rule : rules) {
            if (matches(rule, c, session)) {
                return rule;
            }
        }
        return null;
    }

    private static boolean matches(RuleSpec rule, Classification c, SessionView session) {
        if (!rule.kinds().isEmpty() && !rule.kinds().contains(c.kind())) {
            return false;
        }
        if (rule.tables() != null && c.tables().stream().noneMatch(t -> rule.tables().matcher(t).find())) {
            return false;
        }
        if (rule.sql() != null && !rule.sql().matcher(c.sql()).find()) {
            return false;
        }
        if (rule.user() != null && (session.user() == null || !rule.user().matcher(session.user()).find())) {
            return false;
        }
        if (rule.applicationName() != null && (session.applicationName() == null
                || !rule.applicationName().matcher(session.applicationName()).find())) {
            return false;
        }
        return rule.hint() == null || (c.hints().label() != null && rule.hint().matcher(c.hints().label()).find());
    }

    private static String describe(Classification c) {
        return c.detail().isEmpty() ? c.kind().name() : c.detail();
    }
}
