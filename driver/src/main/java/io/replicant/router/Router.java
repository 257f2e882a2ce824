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

    public Router(ReplicantConfig config, ClassificationCache cache, FunctionCatalog catalog) {
        this.cache = cache;
        this.catalog = catalog;
        this.loadBalancer = LoadBalancer.forName(config.get(ReplicantOptions.LOAD_BALANCE));
        this.rules = config.rules();
        this.readOnlyFunctions = Set.copyOf(config.get(ReplicantOptions.READ_ONLY_FUNCTIONS));
        this.primaryReads = config.get(ReplicantOptions.PRIMARY_READS);
    }

    public Classification classify(String sql) {
        return cache.get(sql);
    }

    /**
     * @param primary  the primary backend
     * @param replicas all replicas (unavailable ones are skipped here)
     */
    public RouteDecision route(Classification c, SessionView session, Backend primary, List<Backend> replicas) {
        if (c.hints().error() != null) {
            return RouteDecision.refuse(SqlState.INVALID_PARAMETER_VALUE.code(), Reason.HINT, c.hints().error());
        }
        Backend tx = session.transactionBackend();
        if (tx != null) {
            if (!tx.isPrimary() && c.sessionBound()) {
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
            boolean readOnly = session.readOnly() || c.readOnlyBegin();
            if (readOnly && !c.sessionBound()) {
                return readPool(replicas, primary, null, false, Reason.READ_ONLY_TRANSACTION, "");
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
                    ? readPool(replicas, primary, null, false, Reason.READ, "")
                    : RouteDecision.to(primary, base.reason, base.detail);
        }
        if (forced.equals("primary")) {
            return RouteDecision.to(primary, overrideReason, overrideDetail);
        }
        if (base.verdict != Verdict.READ && base.verdict != Verdict.UNSURE) {
            return RouteDecision.to(primary, Reason.WRITE_OVERRIDES_HINT,
                    base.reason.tag() + (base.detail.isEmpty() ? "" : ": " + base.detail));
        }
        return readPool(replicas, primary, tag, forced.equals("any"), overrideReason, overrideDetail);
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

    private RouteDecision readPool(List<Backend> replicas, Backend primary, String tag, boolean includePrimary,
            Reason reason, String detail) {
        List<Backend> candidates = new ArrayList<>(replicas.size() + 1);
        for (Backend replica : replicas) {
            if (replica.isAvailable() && replica.weight() > 0 && (tag == null || replica.tags().contains(tag))) {
                candidates.add(replica);
            }
        }
        if (includePrimary || "always".equals(primaryReads)) {
            candidates.add(primary);
        }
        if (candidates.isEmpty()) {
            if ("never".equals(primaryReads)) {
                return RouteDecision.refuse(SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), Reason.NO_REPLICA,
                        "no replica available" + (tag != null ? " with tag '" + tag + "'" : "")
                                + " and primary_reads is never");
            }
            return RouteDecision.to(primary, Reason.NO_REPLICA, tag != null ? "tag " + tag : "");
        }
        return RouteDecision.to(loadBalancer.pick(candidates), reason, detail);
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
