package io.replicant.proxy.session;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.replicant.QuorumTimeoutException;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.health.QuorumWait;
import io.replicant.jdbc.Cluster;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.Lsn;
import io.replicant.router.Verdict;

/**
 * Quorum commits ({@code replication.mode: sync}, or a {@code quorum} hint) for one proxy session, with the
 * driver's rules: once a commit that wrote has returned from the primary, its ReadyForQuery is held while the
 * same server connection checks the standbys' positions with {@link QuorumWait}'s function, called again until W
 * have the commit or {@code quorum.timeout} passes. Only then does the client hear that the commit is done — or,
 * on timeout, it gets SQLSTATE RQ001 ({@code on_timeout: error}) or a WARNING notice ({@code warn}) saying the
 * transaction is committed on the primary. Runs on the session's event loop.
 */
final class QuorumCommit {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumCommit.class);

    private final Cluster cluster;
    private final boolean replay;
    private final boolean countFollowers;
    /** A statement that may write ran on the primary since the last commit or rollback there. */
    private boolean wrote;
    /** W from a hint, for the commit to come. */
    private Integer override;
    // what the exchange in flight reported (a multi-statement query may commit and then fail)
    private boolean sawCommit;
    private boolean sawRollback;
    // the wait under way
    private Wait wait;

    QuorumCommit(Cluster cluster) {
        this.cluster = cluster;
        this.replay = cluster.config().get(ReplicantOptions.QUORUM_ACK).equals("replay");
        this.countFollowers = cluster.config().get(ReplicantOptions.QUORUM_CDC_FOLLOWERS);
    }

    /**
     * Before an exchange goes to {@code server}: the SET that makes standbys report each applied commit at once,
     * if a commit there may wait for a quorum and the server session does not do so yet; else null.
     */
    String feedbackFor(BackendConnection server, List<Classification> exchange) {
        if (!replay || server.applyFeedback() || !server.backend().isPrimary() || !wanted(exchange)) {
            return null;
        }
        server.applyFeedback(true);
        return QuorumWait.APPLY_FEEDBACK;
    }

    private boolean wanted(List<Classification> exchange) {
        if (cluster.defaultQuorum() > 0 || override != null && override > 0) {
            return true;
        }
        for (Classification c : exchange) {
            if (c.hints().quorum() != null && c.hints().quorum() > 0) {
                return true;
            }
        }
        return false;
    }

    /** A fast-path function call (FunctionCall message) goes to the primary: what it does is not known. */
    void functionCalled() {
        wrote = true;
    }

    /** A CommandComplete from the primary: whether the exchange committed or rolled back a transaction. */
    void commandComplete(Frame frame) {
        if (Messages.hasCommandTag(frame, "COMMIT")) {
            sawCommit = true;
        } else if (Messages.hasCommandTag(frame, "ROLLBACK")) {
            sawRollback = true; // also the answer to COMMIT in a failed transaction
        }
    }

    /** After a server's own SET, RESET or DISCARD succeeded there: synchronous_commit may have changed. */
    void sessionChanged(BackendConnection server, Classification c) {
        if (c.verdict() == Verdict.SESSION) {
            server.applyFeedback(false);
        }
    }

    /**
     * At the ReadyForQuery that ends an exchange on {@code server}: whether a commit that wrote just happened there
     * and must wait for W replicas; W, or 0 for no wait.
     */
    int quorumFor(BackendConnection server, List<Classification> exchange, boolean failed, char transactionStatus) {
        if (!server.backend().isPrimary()) {
            return 0;
        }
        for (Classification c : exchange) {
            if (c.hints().quorum() != null) {
                override = c.hints().quorum();
            }
            if (!wrote && cluster.mayWrite(c)) {
                wrote = true;
            }
        }
        // a transaction still open after a COMMIT (AND CHAIN, or a query that goes on after it) waits for that commit
        boolean ended = transactionStatus == 'I';
        boolean committed = sawCommit || ended && !failed && !sawRollback;
        sawCommit = false;
        sawRollback = false;
        if (ended && !committed) {
            server.applyFeedback(false); // a SET of ours may have been rolled back with the transaction
        }
        int w = override != null ? override : cluster.defaultQuorum();
        boolean waits = wrote && committed;
        if (ended) { // else the open transaction may write after the commit: its own commit waits too
            wrote = false;
            override = null;
        }
        return waits ? w : 0;
    }

    boolean waiting() {
        return wait != null;
    }

    /**
     * Holds {@code ready} (the commit's ReadyForQuery) until {@code w} replicas have the commit, then writes the
     * outcome to the client, if it is not plain success, and hands {@code ready} to {@code done}.
     */
    void await(BackendConnection server, Channel client, Frame ready, int w, Consumer<Frame> done) {
        Duration timeout = cluster.config().get(ReplicantOptions.QUORUM_TIMEOUT);
        wait = new Wait(server, client, ready, w, done, System.nanoTime(), timeout);
        wait.call();
    }

    /** An answer from the server while waiting; takes ownership of the frame. */
    void onFrame(Frame frame) {
        Wait current = wait;
        switch (frame.type()) {
            case MessageType.DATA_ROW -> current.answer(Messages.firstColumn(frame));
            case MessageType.ERROR_RESPONSE -> current.error = new String[] {
                    Messages.errorField(frame, Messages.FIELD_CODE), Messages.errorField(frame, Messages.FIELD_MESSAGE)};
            case MessageType.READY_FOR_QUERY -> current.answered();
            default -> { } // RowDescription, CommandComplete, a notice: nothing the client asked for
        }
        frame.release();
    }

    /** The server connection was lost while waiting: what the client is told (the commit itself succeeded). */
    String lost() {
        Wait lost = wait;
        abandon();
        return "committed on the primary, but the connection to " + lost.server.backend() + " was lost while waiting "
                + "for " + lost.w + " replicas to confirm: whether they have it is unknown; do not retry the transaction";
    }

    /** The session ends: the wait, if any, is dropped. */
    void abandon() {
        if (wait != null) {
            wait.ready.release();
            wait = null;
        }
    }

    private final class Wait {
        final BackendConnection server;
        final Channel client;
        final Frame ready;
        final int w;
        final Consumer<Frame> done;
        final long started;
        final long deadline;
        /** The commit's position as the first answer reported it; null before it. */
        String target;
        int acknowledged;
        String[] error;
        /** The call under way creates the function in the session. */
        boolean installing;
        /** Creating or calling the function failed: the rest of this wait checks with plain queries. */
        boolean plainOnly;

        Wait(BackendConnection server, Channel client, Frame ready, int w, Consumer<Frame> done, long started,
                Duration timeout) {
            this.server = server;
            this.client = client;
            this.ready = ready;
            this.w = w;
            this.done = done;
            this.started = started;
            this.deadline = started + timeout.toNanos();
        }

        void call() {
            if (wait != this) {
                return; // the session ended meanwhile
            }
            // the function is created only once the commit's position is known: its own commit comes later
            installing = !server.quorumWaitInstalled() && target != null && !plainOnly;
            boolean function = server.quorumWaitInstalled() || installing;
            StringBuilder sql = new StringBuilder();
            if (installing) {
                sql.append(QuorumWait.createFunction(replay)).append("; ");
                server.quorumWaitInstalled(true);
            }
            if (function) {
                sql.append("SELECT pg_temp.replicant_quorum_wait(").append(w).append(", ")
                        .append(target == null ? QuorumWait.FIRST_SPIN_MICROS : QuorumWait.NEXT_SPIN_MICROS)
                        .append(", ").append(target == null ? "NULL" : "'" + target + "'").append("::pg_lsn)");
            } else {
                sql.append(QuorumWait.checkOnce(replay, target));
            }
            server.prepared().remove(""); // a simple query destroys the unnamed statement
            server.send(Messages.query(server.alloc(), sql.toString()));
            server.flush();
        }

        void answer(String value) {
            String[] parts = value.split(" ");
            target = parts[0];
            acknowledged = Integer.parseInt(parts[1]);
        }

        void answered() {
            if (error != null) {
                failed();
                return;
            }
            int confirmed = acknowledged + (countFollowers && acknowledged < w ? followersWith(Lsn.parse(target)) : 0);
            long now = System.nanoTime();
            if (confirmed >= w || now - deadline >= 0) {
                finish(confirmed);
            } else if (now - started < QuorumWait.PATIENT_AFTER_NANOS) {
                call();
            } else {
                client.eventLoop().schedule(this::call, 1, TimeUnit.MILLISECONDS);
            }
        }

        /** CDC followers whose applied position, as the replica monitor last saw it, is at or past {@code target}. */
        private int followersWith(long target) {
            int n = 0;
            for (Backend b : cluster.replicas()) {
                if (b.host().cdcFollower() && b.isAvailable() && b.replayLsn() >= target) {
                    n++;
                }
            }
            return n;
        }

        private void failed() {
            if (!plainOnly && (installing || "42883".equals(error[0]))) {
                // it could not be created (no TEMP privilege), or a client's DISCARD dropped it: plain checks
                plainOnly = true;
                error = null;
                server.quorumWaitInstalled(false);
                call();
                return;
            }
            String sqlState;
            String message;
            if (SqlState.QUERY_CANCELED.code().equals(error[0])) {
                sqlState = error[0];
                message = "canceling the wait for " + w + " replicas to confirm due to user request: the transaction "
                        + "is committed on the primary" + (target == null ? "" : " at LSN " + target)
                        + "; do not retry it";
            } else {
                sqlState = SqlState.CONNECTION_FAILURE.code();
                message = "committed on the primary " + server.backend() + ", but waiting for " + w + " replicas to "
                        + "confirm failed (" + error[1] + "): whether they have it is unknown; do not retry the "
                        + "transaction";
            }
            end(Messages.error(client.alloc(), "ERROR", sqlState, message));
        }

        private void finish(int confirmed) {
            long waited = System.nanoTime() - started;
            boolean reached = confirmed >= w;
            cluster.metrics().quorumWait(waited, reached);
            if (reached) {
                end(null);
                return;
            }
            String message = QuorumTimeoutException.message(Lsn.parse(target), confirmed, w, Duration.ofNanos(waited));
            LOG.warn("[{}] {}", cluster.name(), message);
            end(cluster.config().get(ReplicantOptions.QUORUM_ON_TIMEOUT).equals("error")
                    ? Messages.error(client.alloc(), "ERROR", QuorumTimeoutException.SQL_STATE, message)
                    : Messages.notice(client.alloc(), "WARNING", "01000", message));
        }

        private void end(ByteBuf outcome) {
            wait = null;
            if (outcome != null) {
                client.write(outcome, client.voidPromise());
            }
            done.accept(ready);
        }
    }
}
