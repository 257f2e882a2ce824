package io.replicant.jdbc;

import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;

import org.postgresql.core.TransactionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.replicant.QuorumTimeoutException;
import io.replicant.Route;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.config.StatementKind;
import io.replicant.health.QuorumWait;
import io.replicant.health.WalPosition;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.Lsn;
import io.replicant.router.Reason;
import io.replicant.router.RouteDecision;
import io.replicant.router.SessionEffect;
import io.replicant.router.SessionView;
import io.replicant.router.Verdict;

/**
 * The routing half of a logical connection: the physical connections it holds (at most one per backend,
 * taken lazily and kept until close, so server-side prepared statements survive), the open transaction's
 * backend, and the settings that follow the session onto every physical connection it uses.
 * {@link RoutingConnection} is the JDBC surface over it.
 */
final class LogicalSession implements SessionView {
    /** COMMIT AND CHAIN (END AND CHAIN): a commit that leaves a new transaction open at once. */
    private static final Pattern CHAINED = Pattern.compile("\\band\\s+chain\\b", Pattern.CASE_INSENSITIVE);
    private static final Logger LOG = LoggerFactory.getLogger(LogicalSession.class);
    private static final long WAIT_POLL_MILLIS = 5;
    private static final long PRIMARY_POLL_MILLIS = 10;
    /** How long a read checks a replica's replay position back to back before sleeping between checks. */
    private static final long REPLAY_SPIN_NANOS = 2_000_000;
    private static final long NONE_OWED = Long.MIN_VALUE;
    /** pgjdbc's "No results were returned by the query." */
    private static final String NO_RESULT_SET = "02000";

    private final Cluster cluster;
    private final SessionState state = new SessionState();
    private final List<PhysicalConnection> physicals = new ArrayList<>(3);
    private volatile PhysicalConnection lastUsed;
    private RouteDecision lastDecision;
    private Backend txBackend;

    // Read-your-writes and monotonic reads: a position reads must be at, and what still has to be folded into it
    String consistency;
    private long positionLsn = Lsn.UNKNOWN;
    private Backend lastSource;
    private long lastSourceNanos = NONE_OWED;
    /** The open transaction had an error: its COMMIT rolls back. */
    private boolean transactionFailed;
    private long coveredNanos;
    private Backend readReplica;

    // Quorum commits: whether the primary has uncommitted or unacknowledged writes of this session, and W for them
    private boolean wrotePending;
    /** The app holds the primary's own connection (unwrap): its COPY or large-object writes are not seen here. */
    private boolean primaryHandedOut;
    private Integer quorumOverride;
    private SQLWarning warnings;

    // JDBC-level settings, applied to each physical connection before it runs a statement
    boolean autoCommit = true;
    boolean readOnly;
    int isolation = -1;
    Route forcedNext;
    Route forcedSession;
    Executor networkTimeoutExecutor;
    int networkTimeout;
    final Properties clientInfo = new Properties();

    LogicalSession(Cluster cluster) {
        this.cluster = cluster;
        this.consistency = cluster.config().get(ReplicantOptions.CONSISTENCY);
        this.coveredNanos = cluster.lastCommitNanos() - 1; // token mode: commits made before this connection count too
        String app = cluster.config().jdbcProperties().get("ApplicationName");
        if (app != null) {
            clientInfo.setProperty("ApplicationName", app);
        }
    }

    Cluster cluster() {
        return cluster;
    }

    Classification classify(String sql) {
        return cluster.router().classify(sql);
    }

    /** Where {@code c} would go now, without side effects on the session. */
    RouteDecision explain(Classification c) {
        return cluster.router().route(c, this, cluster.primary(), cluster.replicas());
    }

    RouteDecision lastDecision() {
        return lastDecision;
    }

    PhysicalConnection lastUsed() {
        return lastUsed;
    }

    List<PhysicalConnection> physicals() {
        return physicals;
    }

    /** Routes a statement and returns the physical connection, up to date with the session, to run it on. */
    PhysicalConnection route(Classification c) throws SQLException {
        if (c.kind() == StatementKind.COMMIT && CHAINED.matcher(c.sql()).find() && quorumWanted(c)) {
            // its commit would return inside the next transaction, before the wait that runs between transactions
            throw Errors.of(SqlState.FEATURE_NOT_SUPPORTED, "COMMIT AND CHAIN cannot wait for a quorum commit through "
                    + "the JDBC driver; use COMMIT, then BEGIN (the proxy supports it)");
        }
        RouteDecision decision = decide(c);
        if (decision.backend().isPrimary() && txBackend == null && cluster.primaryProblem() != null) {
            awaitPrimary();
            decision = decide(c);
        }
        forcedNext = null;
        PhysicalConnection pc;
        try {
            pc = prepare(decision.backend());
        } catch (ReplicaUnusableException e) {
            decision = decide(c); // the replica is now unavailable or the session pinned: decide again
            pc = prepare(decision.backend());
        }
        if (pc.backend.isPrimary()) {
            prepareQuorum(c, pc);
        }
        used(pc, decision);
        if (LOG.isDebugEnabled()) {
            LOG.debug("[{}] {} -> {}", cluster.name(), loggable(c.sql()), decision.describe());
        }
        return pc;
    }

    /** For batches: the open transaction's backend (or the one a new transaction goes to), else the primary. */
    PhysicalConnection routeBatch(Classification c) throws SQLException {
        if (txBackend != null || !autoCommit) {
            return route(c);
        }
        PhysicalConnection pc = prepare(cluster.primary());
        prepareQuorum(c, pc);
        used(pc, RouteDecision.to(cluster.primary(), Reason.WRITE, "batch"));
        return pc;
    }

    private void used(PhysicalConnection pc, RouteDecision decision) {
        cluster.metrics().routed(decision.backend(), decision.reason());
        lastDecision = decision;
        lastUsed = pc;
    }

    private RouteDecision decide(Classification c) throws SQLException {
        RouteDecision decision = explain(c);
        if (decision.backend() != null && !decision.backend().isPrimary() && txBackend == null
                && positionOwed(c, decision.backend())) {
            resolvePosition();
            decision = explain(c);
        }
        if (decision.awaitCatchUp()) {
            decision = waitForReplica(c);
        }
        if (decision.requiredLsn() != Lsn.UNKNOWN) {
            decision = awaitReplay(c, decision);
        }
        if (decision.refused()) {
            cluster.metrics().failed(decision.refusal());
            throw new SQLException(decision.detail(), decision.refusal());
        }
        return decision;
    }

    /** The primary is down or writes are blocked: waits up to {@code failover.detect_timeout} for the monitor to fix it. */
    private void awaitPrimary() throws SQLException {
        Duration limit = cluster.config().get(ReplicantOptions.FAILOVER_DETECT_TIMEOUT);
        long deadline = System.nanoTime() + limit.toNanos();
        String problem;
        while ((problem = cluster.primaryProblem()) != null && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(PRIMARY_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (problem != null) {
            cluster.metrics().failed(SqlState.CONNECTION_UNABLE_TO_CONNECT.code());
            throw Errors.of(SqlState.CONNECTION_UNABLE_TO_CONNECT,
                    problem + " (waited failover.detect_timeout " + limit.toMillis() + " ms)");
        }
    }

    /**
     * What the app is told when {@code e} ended a statement: a lost connection during a write or a transaction
     * becomes 08006 saying what happened to the work; anything else is the server's own error.
     *
     * @param inTransaction whether the statement ran inside a transaction (before it failed)
     */
    SQLException describeFailure(Classification c, PhysicalConnection pc, boolean inTransaction, SQLException e) {
        if (!Errors.isFatal(e) || !pc.backend.isPrimary() && !inTransaction) {
            return e;
        }
        String where = "the connection to " + pc.backend + " was lost";
        if (c.kind() == StatementKind.COMMIT) {
            return Errors.of(SqlState.CONNECTION_FAILURE, where + " during COMMIT: the outcome of the transaction is "
                    + "unknown; check before retrying it", e);
        }
        if (inTransaction) {
            return Errors.of(SqlState.CONNECTION_FAILURE, where + " inside a transaction: the server rolls it back, "
                    + "nothing of it was committed; retry the whole transaction", e);
        }
        if (mayWrite(c)) {
            return Errors.of(SqlState.CONNECTION_FAILURE, where + " while a write ran in autocommit mode: the outcome "
                    + "of its commit is unknown; check before retrying it", e);
        }
        return e;
    }

    /** A read in autocommit mode that lost its connection may run once more elsewhere: it changed nothing. */
    boolean retriable(Classification c, SQLException e) {
        return Errors.isFatal(e) && autoCommit && txBackend == null && !mayWrite(c)
                && c.kind() != StatementKind.COMMIT && c.effects().isEmpty();
    }

    /** Every replica lags ({@code lag.fallback: wait}): polls for one to catch up until {@code max_wait}, then decides without waiting. */
    private RouteDecision waitForReplica(Classification c) {
        long deadline = System.nanoTime() + cluster.config().get(ReplicantOptions.MAX_WAIT).toNanos();
        cluster.monitor().checkSoon();
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(WAIT_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            RouteDecision decision = explain(c);
            if (!decision.awaitCatchUp()) {
                return decision;
            }
        }
        return cluster.router().route(c, this, cluster.primary(), cluster.replicas(), false);
    }

    // ---------------------------------------------------------------- read-your-writes

    private boolean tracksPosition(Classification c) {
        String mode = c.hints().consistency() != null ? c.hints().consistency() : consistency;
        return mode.equals("session") || mode.equals("token");
    }

    /**
     * True when a read about to go to {@code replica} must first learn the primary's position: the session
     * last ran something elsewhere (a write, or a read it must not go back from), or in {@code token} mode
     * another connection of this cluster committed since the position was last learnt.
     */
    private boolean positionOwed(Classification c, Backend replica) {
        if (!tracksPosition(c)) {
            return false;
        }
        boolean own = lastSourceNanos != NONE_OWED && lastSource != replica;
        return own || (consistency.equals("token") && cluster.lastCommitNanos() - coveredNanos > 0);
    }

    /** Folds the primary's current position (from a fresh monitor check, else asked on the primary) into the session's. */
    private void resolvePosition() throws SQLException {
        long since = lastSourceNanos;
        if (consistency.equals("token") && (since == NONE_OWED || cluster.lastCommitNanos() - since > 0)) {
            since = cluster.lastCommitNanos();
        }
        long lsn = cluster.monitor().primaryPositionSince(since);
        if (lsn == Lsn.UNKNOWN) {
            PhysicalConnection pc = physicalFor(cluster.primary());
            pc.setAutoCommit(true);
            // the insert position: it also covers what other sessions committed with synchronous_commit = off
            lsn = WalPosition.of(pc.connection, 0).lsn();
        }
        positionLsn = Math.max(positionLsn, lsn);
        if (since - coveredNanos > 0) {
            coveredNanos = since;
        }
        lastSourceNanos = NONE_OWED;
    }

    /** Checks on the chosen replica that it has replayed the session's position, polling up to {@code max_wait}. */
    private RouteDecision awaitReplay(Classification c, RouteDecision decision) throws SQLException {
        Backend replica = decision.backend();
        long start = System.nanoTime();
        long deadline = start + cluster.config().get(ReplicantOptions.MAX_WAIT).toNanos();
        String cdcSlot = cluster.config().get(ReplicantOptions.CDC_SLOT);
        try {
            PhysicalConnection pc = physicalFor(replica);
            while (true) {
                pc.setAutoCommit(true);
                long replayed = WalPosition.replayed(pc.connection, replica.host(), cdcSlot);
                replica.observeReplay(replayed);
                if (replayed >= decision.requiredLsn()) {
                    cluster.metrics().consistencyWait(System.nanoTime() - start, true);
                    return RouteDecision.to(replica, decision.reason(), decision.detail());
                }
                long now = System.nanoTime();
                if (now - deadline >= 0) {
                    break;
                }
                if (now - start > REPLAY_SPIN_NANOS) {
                    Thread.sleep(1); // replicas usually catch up within the spin; past it, stop costing round trips
                }
            }
        } catch (ReplicaUnusableException e) {
            // the replica is down: decide again without it
        } catch (SQLException e) {
            LOG.warn("[{}] checking the replay position of {} failed ({}); the read goes elsewhere", cluster.name(),
                    replica, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        cluster.metrics().consistencyWait(System.nanoTime() - start, false);
        return cluster.router().route(c, this, cluster.primary(), cluster.replicas(), false);
    }

    /** Records where the session last ran something, for monotonic reads and read-your-writes. */
    private void ranOn(Backend backend) {
        long now = System.nanoTime();
        lastSource = backend;
        lastSourceNanos = now;
        if (backend.isPrimary()) {
            cluster.committedAt(now);
        } else {
            readReplica = backend;
        }
    }

    /** The position this connection's reads have reached or must reach, learnt now if owed; null if none. */
    String consistencyToken() throws SQLException {
        if (lastSourceNanos != NONE_OWED) {
            resolvePosition();
        }
        return positionLsn == Lsn.UNKNOWN ? null : Lsn.format(positionLsn);
    }

    void consistencyToken(String token) throws SQLException {
        try {
            positionLsn = Math.max(positionLsn, Lsn.parse(token));
        } catch (IllegalArgumentException e) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "invalid consistency token: " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- quorum commits

    private boolean mayWrite(Classification c) {
        return cluster.mayWrite(c);
    }

    void quorumForNextCommit(int w) throws SQLException {
        if (w < 0 || w > cluster.quorumCapacity()) {
            throw Errors.of(SqlState.INVALID_PARAMETER_VALUE, "quorum must be between 0 and the "
                    + cluster.quorumCapacity() + " configured replicas that can acknowledge, but was " + w);
        }
        quorumOverride = w;
    }

    /**
     * Once writes on the primary are committed (an autocommit statement, SQL COMMIT, {@code commit()}), waits until
     * the quorum has them. The data is committed on the primary whatever happens here.
     */
    void settle(PhysicalConnection pc) throws SQLException {
        if (!wrotePending || !pc.backend.isPrimary() || pc.inTransaction()) {
            return;
        }
        wrotePending = false;
        int w = quorumOverride != null ? quorumOverride : cluster.defaultQuorum();
        quorumOverride = null;
        if (w == 0) {
            return;
        }
        pc.setAutoCommit(true); // the wait must not open a transaction
        long start = System.nanoTime();
        long[] result;
        try (CdcQuorum followers = cluster.config().get(ReplicantOptions.QUORUM_CDC_FOLLOWERS)
                ? new CdcQuorum(cluster) : null) {
            result = pc.awaitQuorum(w, cluster.config().get(ReplicantOptions.QUORUM_TIMEOUT), ackReplay(), followers);
        } catch (SQLException e) {
            if (Errors.isFatal(e)) {
                discard(pc, e);
            }
            throw Errors.of(SqlState.CONNECTION_FAILURE, "committed on the primary " + pc.backend + ", but waiting for "
                    + w + " replicas to confirm failed (" + e.getMessage() + "): whether they have it is unknown; "
                    + "do not retry the transaction", e);
        }
        long waited = System.nanoTime() - start;
        positionLsn = Math.max(positionLsn, result[0]);
        boolean reached = result[1] >= w;
        cluster.metrics().quorumWait(waited, reached);
        if (reached) {
            return;
        }
        QuorumTimeoutException timeout = new QuorumTimeoutException(result[0], (int) result[1], w,
                Duration.ofNanos(waited));
        LOG.warn("[{}] {}", cluster.name(), timeout.getMessage());
        if (cluster.config().get(ReplicantOptions.QUORUM_ON_TIMEOUT).equals("error")) {
            throw timeout;
        }
        SQLWarning warning = new SQLWarning(timeout.getMessage(), "01000", timeout);
        if (warnings == null) {
            warnings = warning;
        } else {
            warnings.setNextWarning(warning);
        }
    }

    private boolean ackReplay() {
        return cluster.config().get(ReplicantOptions.QUORUM_ACK).equals("replay");
    }

    /**
     * Before a statement that may end in a quorum commit runs on the primary: asks for immediate apply feedback
     * from standbys on that connection (see {@link QuorumWait}).
     */
    private void prepareQuorum(Classification c, PhysicalConnection pc) throws SQLException {
        if (quorumWanted(c) && !pc.applyFeedback && ackReplay()) {
            pc.execute(QuorumWait.APPLY_FEEDBACK);
            pc.applyFeedback = true;
            pc.dirty = true;
        }
    }

    /** Whether a commit after {@code c} may have to wait for a quorum. */
    private boolean quorumWanted(Classification c) {
        return cluster.defaultQuorum() > 0 || quorumOverride != null && quorumOverride > 0
                || c.hints().quorum() != null && c.hints().quorum() > 0;
    }

    /** Replicant's own warnings (quorum timeouts with {@code on_timeout: warn}) ahead of the server's. */
    SQLWarning warnings(SQLWarning server) {
        if (warnings == null) {
            return server;
        }
        SQLWarning all = new SQLWarning(warnings.getMessage(), warnings.getSQLState(), warnings.getCause());
        for (SQLWarning w = warnings.getNextWarning(); w != null; w = w.getNextWarning()) {
            all.setNextWarning(w);
        }
        if (server != null) {
            all.setNextWarning(server);
        }
        return all;
    }

    void clearWarnings() {
        warnings = null;
    }

    /** A replica cannot be used after all (no connection, or session replay failed): decide again. */
    private static final class ReplicaUnusableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ReplicaUnusableException() {
            super(null, null, false, false);
        }
    }

    /** The physical connection for {@code backend}, brought up to date with the session unless it runs the open transaction. */
    PhysicalConnection prepare(Backend backend) throws SQLException {
        PhysicalConnection pc = physicalFor(backend);
        if (txBackend == backend) {
            return pc;
        }
        String catchUp = state.catchUpSql(pc);
        if (catchUp != null) {
            try {
                pc.setAutoCommit(true);
                pc.execute(catchUp);
                state.markSynced(pc);
                pc.applyFeedback = false; // the session's own settings may have changed synchronous_commit
            } catch (SQLException e) {
                if (Errors.isFatal(e) || backend.isPrimary()) {
                    discard(pc, e);
                    throw e;
                }
                LOG.warn("[{}] replaying session settings on {} failed ({}); session pinned to the primary",
                        cluster.name(), backend, e.getMessage());
                pin("replay_failed");
                throw new ReplicaUnusableException();
            }
        }
        pc.setReadOnly(readOnly);
        if (isolation != -1) {
            pc.setIsolation(isolation);
        }
        pc.setAutoCommit(autoCommit);
        if (!autoCommit) {
            txBackend = backend;
        }
        return pc;
    }

    private PhysicalConnection physicalFor(Backend backend) throws SQLException {
        for (PhysicalConnection pc : physicals) {
            if (pc.backend == backend) {
                return pc;
            }
        }
        PhysicalConnection pc;
        try {
            pc = cluster.acquire(backend);
        } catch (SQLException e) {
            if (backend.isPrimary()) {
                throw e;
            }
            throw new ReplicaUnusableException();
        }
        if (networkTimeoutExecutor != null) {
            pc.connection.setNetworkTimeout(networkTimeoutExecutor, networkTimeout);
        }
        if (!clientInfo.isEmpty()) {
            pc.connection.setClientInfo(clientInfo);
        }
        physicals.add(pc);
        return pc;
    }

    /** After a statement succeeded on {@code pc}. */
    void completed(Classification c, PhysicalConnection pc) {
        ranOn(pc.backend);
        if (c.verdict() == Verdict.SESSION) {
            pc.applyFeedback = false; // a SET may have changed synchronous_commit
        }
        if (pc.backend.isPrimary()) {
            if (c.kind() == StatementKind.ROLLBACK) {
                wrotePending = false;
                quorumOverride = null;
            } else if (mayWrite(c) || primaryHandedOut && c.kind() == StatementKind.COMMIT) {
                wrotePending = true;
            }
            if (c.hints().quorum() != null) {
                quorumOverride = c.hints().quorum();
            }
        }
        String pin = state.apply(c, txBackend != null, pc); // followTransaction has not seen it yet
        if (pin != null) {
            cluster.metrics().pinned(pin);
        }
        for (SessionEffect effect : c.effects()) {
            if (effect.type() == SessionEffect.Type.CATALOG_CHANGED) {
                cluster.catalog().refreshSoon();
            }
        }
        if (leavesStateBehind(c)) {
            pc.dirty = true;
        }
        followTransaction(c, pc);
    }

    /** Whether {@code c} may leave locks, cursors, settings or sequence state behind on its server session. */
    private static boolean leavesStateBehind(Classification c) {
        return c.sessionBound() || c.reason() == Reason.WRITER_FUNCTION || c.kind() == StatementKind.CURSOR
                || c.kind() == StatementKind.DO || c.kind() == StatementKind.CALL;
    }

    /** After a statement failed on {@code pc}. */
    void failed(Classification c, PhysicalConnection pc, SQLException e) throws SQLException {
        if (NO_RESULT_SET.equals(e.getSQLState())) {
            // executeQuery of a statement without rows: pgjdbc ran it (a SET, an autocommit INSERT), then complained
            completed(c, pc);
            settle(pc);
            return;
        }
        ranOn(pc.backend);
        // PostgreSQL keeps what ran before the error (an advisory lock, a PREPARE): reset it before the pool reuses it
        pc.dirty |= leavesStateBehind(c);
        for (SessionEffect effect : c.effects()) {
            if (effect.type() == SessionEffect.Type.PREPARE || effect.type() == SessionEffect.Type.DEALLOCATE) {
                pc.preparedUnknown = true;
                state.mayHavePrepared(effect); // a PREPARE may have run, a DEALLOCATE may not have
            }
        }
        if (pc.backend.isPrimary() && !pc.inTransaction()) {
            wrotePending = false; // an autocommit statement that failed committed nothing
            quorumOverride = null;
        }
        cluster.metrics().failed(e.getSQLState());
        if (Errors.isFatal(e)) {
            discard(pc, e);
        } else {
            followTransaction(c, pc);
        }
    }

    /** Tracks transactions opened and closed by SQL (BEGIN/COMMIT) from the server's own transaction status. */
    private void followTransaction(Classification c, PhysicalConnection pc) {
        if (pc.inTransaction()) {
            if (txBackend == null) {
                txBackend = pc.backend;
            }
            transactionFailed = pc.transactionState() == TransactionState.FAILED; // ROLLBACK TO recovers it
            if (transactionFailed) {
                state.transactionFailed();
            }
        } else if (txBackend == pc.backend) {
            txBackend = null;
            transactionEnded(c.kind() != StatementKind.ROLLBACK, pc);
        }
    }

    /** Settings made in the transaction become the session's if it committed; COMMIT of a failed one rolls back. */
    private void transactionEnded(boolean commit, PhysicalConnection pc) {
        if (commit && !transactionFailed) {
            state.commitPending(pc);
        } else {
            state.dropPending();
        }
        transactionFailed = false;
    }

    /** A savepoint set through the JDBC API ({@code name} from {@link #savepointName}). */
    void savepointSet(String name) {
        state.transactionSettings().savepoint(name);
    }

    /** A rollback to a savepoint through the JDBC API: the transaction goes on, as it was when the savepoint was set. */
    void rolledBackTo(String name) {
        transactionFailed = false;
        state.transactionSettings().rolledBackTo(name);
    }

    /** A savepoint released through the JDBC API: the changes since it stay in the transaction. */
    void released(String name) {
        state.transactionSettings().released(name);
    }

    /**
     * The name pgjdbc gives the server: a named savepoint's quoted, an unnamed one's folded to lower case; null for
     * one pgjdbc no longer accepts (released), which it refuses with its own error.
     */
    static String savepointName(Savepoint savepoint) {
        try {
            return savepoint.getSavepointName();
        } catch (SQLException unnamedOrReleased) {
            try {
                return "jdbc_savepoint_" + savepoint.getSavepointId();
            } catch (SQLException released) {
                return null;
            }
        }
    }

    /** Commits or rolls back the open transaction, if any. */
    void endTransaction(boolean commit) throws SQLException {
        PhysicalConnection pc = transactionConnection();
        if (pc == null) {
            return;
        }
        try {
            if (commit) {
                pc.connection.commit();
                wrotePending |= primaryHandedOut && pc.backend.isPrimary();
            } else {
                pc.connection.rollback();
                wrotePending = false;
                quorumOverride = null;
            }
            transactionEnded(commit, pc);
            txBackend = null;
            ranOn(pc.backend);
        } catch (SQLException e) {
            if (commit && Errors.isFatal(e)) {
                discard(pc, e);
                throw Errors.of(SqlState.CONNECTION_FAILURE, "connection to " + pc.backend
                        + " failed during COMMIT; the outcome of the transaction is unknown", e);
            }
            failed(classify(commit ? "COMMIT" : "ROLLBACK"), pc, e);
            throw e;
        }
        settle(pc);
    }

    /** The physical connection running the open transaction, or null. */
    PhysicalConnection transactionConnection() {
        for (PhysicalConnection pc : physicals) {
            if (pc.backend == txBackend) {
                return pc;
            }
        }
        return null;
    }

    void discard(PhysicalConnection pc, SQLException cause) {
        physicals.remove(pc);
        if (txBackend == pc.backend) {
            txBackend = null;
            transactionEnded(false, pc);
        }
        LOG.warn("[{}] connection to {} failed ({}: {}); it is discarded", cluster.name(), pc.backend,
                cause.getSQLState(), cause.getMessage());
        cluster.evict(pc);
        closeQuietly(pc);
        if (Errors.isFatal(cause)) {
            cluster.reportFatal(pc.backend, cause);
        }
    }

    void pin(String reason) {
        if (state.pin(reason)) {
            cluster.metrics().pinned(reason);
        }
    }

    /** unwrap(PGConnection): from now on the session stays on the primary and every commit waits for the quorum. */
    PhysicalConnection handOutPrimary() throws SQLException {
        pin("pgconnection");
        primaryHandedOut = true;
        return primary();
    }

    PhysicalConnection primary() throws SQLException {
        return prepare(cluster.primary());
    }

    /** A connection for connection-level calls (createArrayOf, nativeSQL, …): one already held, else the primary. */
    PhysicalConnection any() throws SQLException {
        return physicals.isEmpty() ? primary() : physicals.get(0);
    }

    /** Returns every physical connection to its pool, rolled back and with session state reset. */
    void releaseAll() {
        for (PhysicalConnection pc : physicals) {
            release(pc);
        }
        physicals.clear();
    }

    private void release(PhysicalConnection pc) {
        try {
            if (pc.inTransaction()) {
                if (pc.connection.getAutoCommit()) {
                    pc.execute("ROLLBACK"); // a transaction opened by SQL BEGIN in autocommit mode
                } else {
                    pc.connection.rollback();
                }
            }
            if (pc.dirty) {
                // in autocommit: else pgjdbc wraps the reset in a transaction that the pool then rolls back
                pc.setAutoCommit(true);
                pc.execute(cleanupSql(pc));
            }
        } catch (SQLException e) {
            LOG.warn("[{}] could not reset a connection to {} ({}); it is evicted", cluster.name(), pc.backend,
                    e.getMessage());
            cluster.evict(pc); // the pool closes it now: closing it again would reset a connection that is gone
            return;
        }
        closeQuietly(pc);
    }

    /** Undoes everything a session can leave behind (the parts of DISCARD ALL that keep pgjdbc's statements). */
    private String cleanupSql(PhysicalConnection pc) {
        StringBuilder sql = new StringBuilder("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL");
        if (pc.backend.isPrimary()) {
            sql.append("; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES");
            if (!pc.preparedUnknown) {
                for (String name : state.preparedNames()) {
                    sql.append("; DEALLOCATE ").append(quoteIdentifier(name));
                }
            }
        }
        if (pc.preparedUnknown) {
            sql.append("; DEALLOCATE ALL"); // pgjdbc sees it and prepares its own statements again
        }
        return sql.toString();
    }

    static String quoteIdentifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static void closeQuietly(PhysicalConnection pc) {
        try {
            pc.connection.close();
        } catch (SQLException e) {
            LOG.debug("closing a physical connection failed", e);
        }
    }

    /** SQL for a debug log line: shortened, and withheld entirely if it might carry a password. */
    private static String loggable(String sql) {
        if (sql.toLowerCase(Locale.ROOT).contains("password")) {
            return "(statement not shown: it mentions a password)";
        }
        return sql.length() <= 200 ? sql : sql.substring(0, 200) + "…";
    }

    // ---------------------------------------------------------------- SessionView

    @Override
    public Backend transactionBackend() {
        return txBackend;
    }

    @Override
    public boolean beginsTransaction() {
        return !autoCommit && txBackend == null;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public boolean transactionFailed() {
        return transactionFailed;
    }

    @Override
    public Set<String> tempTables() {
        return state.tempTables();
    }

    @Override
    public Set<String> preparedStatements() {
        return state.preparedNames();
    }

    @Override
    public String pinned() {
        if (state.pin() != null) {
            return state.pin();
        }
        // A hot standby refuses SERIALIZABLE transactions (0A000), so such a session reads on the primary.
        return isolation == java.sql.Connection.TRANSACTION_SERIALIZABLE ? "serializable" : null;
    }

    @Override
    public String consistency() {
        return consistency;
    }

    @Override
    public long minLsn() {
        return positionLsn;
    }

    @Override
    public Backend stickyReplica() {
        return readReplica;
    }

    @Override
    public String forcedRoute() {
        Route r = forcedNext != null ? forcedNext : forcedSession;
        return r == null ? null : r.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String user() {
        return cluster.config().get(ReplicantOptions.USER);
    }

    @Override
    public String applicationName() {
        return clientInfo.getProperty("ApplicationName");
    }
}
