package io.replicant.proxy.session;

import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLSession;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.Future;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.proxy.ProxyContext;
import io.replicant.proxy.TlsSupport;
import io.replicant.proxy.TrafficStats;
import io.replicant.proxy.admin.AdminConsole;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.backend.BackendLoginException;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.proxy.protocol.ProtocolException;
import io.replicant.proxy.protocol.StartupPacket;
import io.replicant.health.ReplicaMonitor;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.Reason;
import io.replicant.router.Router;
import io.replicant.config.StatementKind;
import io.replicant.router.RouteDecision;
import io.replicant.router.StatementClassifier;
import io.replicant.router.Verdict;
import io.replicant.router.SessionView;

/**
 * One client connection, as a state machine driven by what the client sends and what its servers answer:
 * STARTUP ({@link ClientLogin}) → [LOGGING_IN, the first client of a user only] → READY, where each simple Query is
 * routed by the shared router and its answer relayed until ReadyForQuery, whose transaction status ('I', 'T',
 * 'E') keeps a transaction on one server. The session and its server connections share one event loop, so
 * nothing here needs a lock. Which server connections it uses, its own or pooled ones, is {@link SessionServers}'.
 */
public final class ClientSession extends ChannelInboundHandlerAdapter implements SessionView,
        BackendConnection.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(ClientSession.class);
    /** How often an exchange waiting for a primary (failover) checks whether one is known again. */
    private static final long PRIMARY_CHECK_MILLIS = 10;

    private enum State {
        STARTUP, LOGGING_IN, READY, CLOSED
    }

    private final ProxyContext context;
    private State state = State.STARTUP;
    private Channel client;
    private ClientLogin login;
    /** The BackendKeyData this client got: the proxy's own, mapped to whichever server runs its query. */
    private int[] cancelKey;
    private SessionServers servers;
    /** The startup parameters servers are logged in with (user and database as configured). */
    private Map<String, String> serverStartup;
    private final ArrayDeque<Frame> queued = new ArrayDeque<>();

    // the exchange in flight: frames go to `active` until its ReadyForQuery
    private BackendConnection active;
    private List<Classification> inFlight = List.of();
    private boolean connecting;
    /** The server connection the next exchange waits for (a pool may be busy), while it waits. */
    private Future<BackendConnection> awaitedServer;
    /** An exchange for the primary waiting for one to be known (failover), and until when it may wait. */
    private Exchange awaitingPrimary;
    private ScheduledFuture<?> primaryCheck;
    private long primaryDeadline;
    /** Extended-protocol messages waiting for Sync or Flush, then routed together. */
    private final List<Frame> batch = new ArrayList<>();
    /** Where the rest of a batch goes after a Flush routed its first part; null otherwise. */
    private BackendConnection batchServer;
    /** Set when a statement after that Flush was refused; the server then skips to Sync. */
    private BatchRefusal batchRefusal;
    /** A simple query for the primary that waits while a Sync of the proxy's own ends a batch on a replica. */
    private Exchange afterBatch;
    private Backend afterBatchTarget;
    private final PreparedStatements statements = new PreparedStatements();
    private final ReadRetry retry = new ReadRetry();
    /** The exchange in flight is already a retry: it does not run a third time. */
    private boolean retried;
    private volatile char transactionStatus = 'I';
    private final long connectedAt = System.currentTimeMillis();
    private volatile long lastRequestAt;
    // the exchange in flight, for metrics
    private long exchangeStartedAt;
    /** When the open transaction's first exchange started (with transactionStatus 'I' then). */
    private long transactionStartedAt;
    private TrafficStats traffic;
    private long bytesIn;
    private long bytesOut;
    private Backend transactionBackend;
    private Backend lastReplica;
    private final ReadPosition position;
    private final OwnSettings ownSettings;
    private boolean exchangeFailed;
    /** The exchange's statements that completed (CommandComplete): those of a text that failed part-way ran. */
    private int statementsCompleted;
    /**
     * A batch failed and the proxy's own Sync ended it on its server, so that server no longer skips what the client
     * sends until its Sync, as PostgreSQL does after an error: the proxy does, and answers that Sync itself.
     */
    private boolean skippingToSync;
    private final SessionSettings settings = new SessionSettings();
    /** A settings catch-up runs on `active`; the client's frame waits in `afterCatchUp`. */
    private boolean catchingUp;
    private Exchange afterCatchUp;
    /** Statements of the catch-up under way that completed, and the error of one that set the client's own up. */
    private int caughtUp;
    private ServerRefusal loginParameterError;
    /** The client's ReadyForQuery, held while its own startup settings are put back after it reset them. */
    private Frame readyAfterRestore;
    private ServerRefusal restoreError;
    private final IdleTimer idleTimer;
    private final QuorumCommit quorum;
    private final boolean defersBegin;
    private final DeferredBegin begin = new DeferredBegin();
    /** Set for a client of the admin console (database "replicant"): it never reaches a server. */
    private AdminConsole admin;
    private ParameterReports reports;

    public ClientSession(ProxyContext context) {
        this.context = context;
        this.idleTimer = new IdleTimer(context.config().get(ReplicantOptions.PROXY_IDLE_TIMEOUT),
                context.config().get(ReplicantOptions.PROXY_IDLE_IN_TRANSACTION_TIMEOUT), this::idleTimeout);
        this.quorum = new QuorumCommit(context.cluster());
        this.defersBegin = context.config().get(ReplicantOptions.PROXY_DEFER_BEGIN);
        this.position = new ReadPosition(context.cluster().lastCommitNanos());
        this.ownSettings = new OwnSettings(context, position);
    }

    // ---------------------------------------------------------------- client side

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        client = ctx.channel();
        servers = new SessionServers(context, client.eventLoop(), this);
        reports = new ParameterReports(client, settings::owns);
        login = new ClientLogin(context, client, context.clientOpened(this), this::logIn, this::fatal);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof StartupPacket packet) {
            login.onStartup(packet);
            return;
        }
        Frame frame = (Frame) msg;
        switch (state) {
            case STARTUP:
                try {
                    if (login.authenticating()) {
                        login.onPassword(frame);
                    }
                } finally {
                    frame.release(); // nothing else is accepted before the login is complete
                }
                break;
            case READY:
                bytesIn += frame.bytes().readableBytes();
                idleTimer.busy();
                lastRequestAt = System.currentTimeMillis();
                onClientFrame(frame); // takes ownership
                break;
            default:
                frame.release(); // nothing is accepted before the login is complete
                break;
        }
    }

    /**
     * Tells the client it is in. Server connections open lazily, at the first statement that needs one, so an
     * idle client holds none; the ParameterStatus values come from an earlier login to the primary as the same
     * user (corrected once this session's own primary connection reports otherwise). The first client of a
     * user logs in to the primary right away, which also proves the credentials work.
     */
    private void logIn() {
        if (login.admin()) {
            admin = new AdminConsole(context);
            Map<String, String> known = context.serverParameters(backendUser(), context.config()
                    .get(ReplicantOptions.DATABASE));
            completeLogin(ServerParameters.forClient(known != null ? known : ServerParameters.ADMIN, login.startup()));
            return;
        }
        traffic = context.traffic(backendDatabase());
        Map<String, String> known = context.serverParameters(backendUser(), backendDatabase());
        if (known != null) {
            completeLogin(ServerParameters.forClient(known, login.startup()));
            return;
        }
        state = State.LOGGING_IN;
        connect(context.cluster().primary()).addListener(f -> {
            if (state == State.CLOSED) {
                return;
            }
            if (f.isSuccess()) {
                completeLogin(ServerParameters.forClient(((BackendConnection) f.getNow()).parameters(),
                        login.startup())); // the client is told its own startup values
                servers.transactionEnded();
            } else {
                loginFailed(f.cause());
            }
        });
    }

    private void completeLogin(Map<String, String> parameters) {
        settings.loggedIn(servers.pooled() ? TrackedParameters.sentIn(login.startup()) : Map.of());
        client.write(Messages.authentication(client.alloc(), MessageType.AUTH_OK, null));
        reports.loggedIn(parameters, login.startup().getOrDefault("application_name", ""));
        cancelKey = context.register(this);
        client.write(Messages.backendKeyData(client.alloc(), cancelKey[0], cancelKey[1]));
        client.writeAndFlush(Messages.readyForQuery(client.alloc(), 'I'));
        state = State.READY;
        idleTimer.idle(client.eventLoop(), 'I');
    }

    /** A new primary connection: its parameters are what sessions of this user log in with, and the client sees. */
    private void primaryLoggedIn(BackendConnection server) {
        context.serverParameters(backendUser(), backendDatabase(), server.parameters());
        reports.primaryLoggedIn(server.parameters());
    }

    private String backendUser() {
        String user = context.config().get(ReplicantOptions.USER);
        return user != null && !login.ownRole() ? user : login.startup().get("user");
    }

    private String backendDatabase() {
        String database = context.config().get(ReplicantOptions.DATABASE);
        return database != null ? database : login.startup().getOrDefault("database", login.startup().get("user"));
    }

    private void loginFailed(Throwable cause) {
        if (cause instanceof BackendLoginException e) {
            fatal(e.sqlState(), "the proxy could not log in to the primary: " + e.getMessage());
        } else {
            fatal(SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), "the proxy could not connect to the primary "
                    + context.cluster().primary().name() + ": " + cause.getMessage());
        }
    }

    private void onClientFrame(Frame frame) {
        if (awaitingReady() || held()) {
            if (isCopyFromClient(frame.type()) && queued.isEmpty() && exchangeSent()) {
                active.forward(frame);
                active.flush();
                frame.release();
            } else {
                queued.add(frame); // one exchange at a time; the rest waits for ReadyForQuery
                client.config().setAutoRead(false);
            }
            return;
        }
        dispatch(frame);
    }

    /**
     * The exchange in flight has reached its server, so COPY data the client sends after it (asyncpg does not wait
     * for CopyInResponse) can follow: not while the server is still being connected to, catching up on settings,
     * or finishing a batch with the proxy's own Sync.
     */
    private boolean exchangeSent() {
        return active != null && !catchingUp && afterBatch == null;
    }

    /** COPY data that came while its exchange was on its way: the server has the query now, so it follows. */
    private void forwardQueuedCopyData(BackendConnection server) {
        boolean forwarded = false;
        while (!queued.isEmpty() && isCopyFromClient(queued.peek().type())) {
            Frame frame = queued.poll();
            server.forward(frame);
            frame.release();
            forwarded = true;
        }
        if (forwarded) {
            server.flush();
            if (queued.isEmpty()) {
                client.config().setAutoRead(true); // the rest of the data may come
            }
        }
    }

    /** An exchange is under way and the next client message must wait (a batch after a Flush does not). */
    private boolean awaitingReady() {
        return connecting || active != null && batchServer == null;
    }

    /** Nothing of this session's is under way on a server, and no transaction is open. */
    private boolean quiet() {
        return transactionStatus == 'I' && active == null && !connecting && batchServer == null;
    }

    /** The proxy is paused (PAUSE) and this session would start something new: it waits for RESUME. */
    private boolean held() {
        return context.paused() && admin == null && quiet();
    }

    /**
     * For PAUSE, on this session's own thread, so an exchange it began before it saw the pause is not missed:
     * whether the session has nothing running and no transaction open.
     */
    public Future<Boolean> quiescent() {
        return client.eventLoop().submit(() -> admin != null || state != State.READY || quiet());
    }

    /** RESUME: what this session held back goes on. */
    public void resumed() {
        client.eventLoop().execute(this::drainQueue);
    }

    private static boolean isCopyFromClient(byte type) {
        return type == MessageType.COPY_DATA || type == MessageType.COPY_DONE || type == MessageType.COPY_FAIL;
    }

    /** Handles one client message; takes ownership of the frame. */
    private void dispatch(Frame frame) {
        if (admin != null && frame.type() != MessageType.TERMINATE) {
            admin.onFrame(frame, client, this); // takes ownership
            return;
        }
        if (skippingToSync && frame.type() != MessageType.TERMINATE) {
            frame.release();
            if (frame.type() == MessageType.SYNC) {
                skippingToSync = false;
                client.writeAndFlush(Messages.readyForQuery(client.alloc(), transactionStatus), client.voidPromise());
                readyAgain();
            }
            return;
        }
        switch (frame.type()) {
            case MessageType.QUERY:
                if (batchServer == null) {
                    statements.simpleQuery(); // after a Flush, once it runs (sendAfterBatch): it may be skipped
                }
                String sql = Messages.querySql(frame);
                ProxyStatement own = ProxyStatement.of(sql);
                if (own != null) {
                    answerOwn(List.of(frame), own.showsToken(), 0);
                    return;
                }
                Classification c = context.cluster().router().classify(sql);
                RouteDecision decision = route(c);
                if (decision.refused()) {
                    frame.release();
                    refuse(decision, true);
                    return;
                }
                context.routed(decision);
                String endTag = begin.held() ? DeferredBegin.plainEndTag(c, sql) : null;
                if (endTag != null) { // nothing ran: the servers need not hear of this transaction
                    frame.release();
                    begin.drop();
                    transactionStatus = 'I';
                    settings.answeredLocally(transactionStatus);
                    transactionBackend = null;
                    answerLocally(endTag);
                } else if (defersBegin && transactionStatus == 'I' && DeferredBegin.isPlainBegin(c, sql)) {
                    begin.hold(frame);
                    transactionStatus = 'T';
                    settings.answeredLocally(transactionStatus);
                    transactionBackend = decision.backend();
                    transactionStartedAt = System.nanoTime();
                    answerLocally("BEGIN");
                } else if (!splitAtTransactionEnd(frame, sql, c)) {
                    sendAfterBatch(decision.backend(), frame, List.of(c));
                }
                break;
            case MessageType.TERMINATE:
                frame.release();
                close();
                break;
            case MessageType.FUNCTION_CALL:
                Backend target = transactionBackend != null ? transactionBackend : context.cluster().primary();
                if (target.isPrimary()) {
                    quorum.functionCalled(); // e.g. lo_write: the commit may have to wait for the quorum
                }
                sendAfterBatch(target, frame, List.of());
                break;
            default:
                extended(frame);
                break;
        }
    }

    /**
     * Sends a simple query or function call. After a batch that ended with Flush rather than Sync, PostgreSQL runs
     * it in that batch's session and implicit transaction, and its ReadyForQuery ends both; after an error in the
     * batch it skips it, and all else up to Sync. So a Sync of the proxy's own ends the batch first, whose
     * ReadyForQuery the client never sees, and the query goes on once it came (asyncpg prepares this way before a
     * COPY), to the primary if it needs it, else to the batch's server; or, if the batch failed, the proxy skips it
     * and the rest up to the client's Sync. Only a batch that wrote outside a transaction block keeps the query in
     * its implicit transaction, on its server (the primary), as PostgreSQL would: if the query fails, so do its writes;
     * if the batch failed, the query is dropped, as the server would skip it, and the client's Sync ends the batch.
     */
    private void sendAfterBatch(Backend target, Frame frame, List<Classification> cs) {
        BackendConnection server = batchServer;
        if (server == null) {
            send(target, List.of(frame), cs, true);
            return;
        }
        boolean elsewhere = !server.backend().isPrimary() && target.isPrimary(); // a batch on a replica only read
        boolean wrote = !elsewhere && transactionStatus == 'I'
                && !inFlight.stream().allMatch(c -> c.verdict() == Verdict.READ);
        if (wrote && exchangeFailed) { // the server skips the query, as all else up to the client's Sync
            frame.release();
            return;
        }
        batchServer = null;
        if (wrote) {
            queryRuns(frame);
            transmit(server, List.of(frame), cs, true);
            return;
        }
        afterBatch = new Exchange(List.of(frame), cs, true);
        afterBatchTarget = elsewhere ? target : server.backend();
        server.send(Messages.sync(client.alloc()));
        server.flush();
    }

    /** A simple query goes to a server after a Flush: PostgreSQL drops the unnamed statement as it runs it. */
    private void queryRuns(Frame frame) {
        if (frame.type() == MessageType.QUERY) {
            statements.simpleQuery();
        }
    }

    /**
     * A read-only transaction runs on a replica, but what a multi-statement query sends after the transaction's
     * COMMIT or ROLLBACK runs outside it on PostgreSQL, and may need the primary. So the query is split there:
     * the transaction ends on its replica first, and the rest is routed afresh (false: nothing to split).
     */
    private boolean splitAtTransactionEnd(Frame query, String sql, Classification c) {
        if (transactionBackend == null || transactionBackend.isPrimary() || c.statementCount() < 2
                || batchServer != null) {
            return false;
        }
        int end = StatementClassifier.transactionBlockEnd(sql);
        Router router = context.cluster().router();
        String rest = end < 0 ? null : sql.substring(end);
        if (rest == null || router.classify(rest).statementCount() == 0) {
            return false;
        }
        query.release();
        String first = sql.substring(0, end);
        endTransactionFirst(List.of(new Frame(MessageType.QUERY, Messages.query(client.alloc(), first))),
                List.of(router.classify(first)),
                List.of(new Frame(MessageType.QUERY, Messages.query(client.alloc(), rest))));
        return true;
    }

    /**
     * Runs {@code first}, which ends the transaction on its replica, with a ReadyForQuery the client does not see;
     * then {@code rest} as if the client had sent it next. If {@code first} failed, PostgreSQL skips the rest (up to
     * Sync), so the proxy drops it and the client gets that ReadyForQuery. Takes ownership of the frames.
     */
    private void endTransactionFirst(List<Frame> first, List<Classification> cs, List<Frame> rest) {
        afterBatch = new Exchange(new ArrayList<>(rest), List.of(), true);
        afterBatchTarget = null;
        send(transactionBackend, first, cs, true);
    }

    private RouteDecision route(Classification c) {
        Router router = context.cluster().router();
        Backend primary = context.cluster().primary();
        RouteDecision decision = router.route(c, this, primary, context.cluster().replicas(), false);
        String mode = c.hints().consistency() != null ? c.hints().consistency() : consistency();
        boolean tracksPosition = mode.equals("session") || mode.equals("token");
        if (!decision.refused() && !decision.backend().isPrimary() && transactionBackend == null && tracksPosition) {
            Long othersCommitted = mode.equals("token") ? context.cluster().lastCommitNanos() : null;
            switch (position.settleFor(decision.backend(), context.cluster().monitor(), othersCommitted)) {
                case LEARNED:
                    decision = router.route(c, this, primary, context.cluster().replicas(), false); // with it
                    break;
                case UNKNOWN:
                    decision = RouteDecision.to(primary, Reason.READ_YOUR_WRITES,
                            "the replicas' progress since this session's last statement is not known yet");
                    break;
                default:
                    break; // nothing owed: the decision stands
            }
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug("[proxy] {} -> {}", c.sql().length() > 200 ? c.sql().substring(0, 200) : c.sql(),
                    decision.describe());
        }
        return decision;
    }

    /** A statement the proxy answers for the server: its CommandComplete and ReadyForQuery, counted as an exchange. */
    private void answerLocally(String tag) {
        ByteBuf complete = Messages.commandComplete(client.alloc(), tag);
        ByteBuf ready = Messages.readyForQuery(client.alloc(), transactionStatus);
        traffic.exchanged(0, bytesIn, complete.readableBytes() + ready.readableBytes(),
                transactionStatus == 'I' ? System.nanoTime() - transactionStartedAt : -1);
        bytesIn = 0;
        client.write(complete, client.voidPromise());
        client.writeAndFlush(ready, client.voidPromise());
        readyAgain();
    }

    private void refuse(RouteDecision decision, boolean ready) {
        client.write(Messages.error(client.alloc(), "ERROR", decision.refusal(), decision.detail()));
        if (ready) {
            client.write(Messages.readyForQuery(client.alloc(), transactionStatus));
        }
        client.flush();
    }

    /**
     * Extended-protocol messages wait until Sync (or Flush), so the whole batch is routed at once: where its
     * first statement goes, unless a later one needs the primary; in a transaction, the transaction's server.
     */
    private void extended(Frame frame) {
        if (batchServer != null) {
            continueBatch(frame);
            return;
        }
        batch.add(frame);
        if (frame.type() != MessageType.SYNC && frame.type() != MessageType.FLUSH) {
            return;
        }
        List<Frame> frames = new ArrayList<>(batch);
        batch.clear();
        BatchContents contents = BatchContents.of(frames, statements, context.cluster().router());
        List<Classification> executed = contents.executed();
        if (contents.own() > 0) {
            if (executed.isEmpty() && contents.parsedOthers().isEmpty()) {
                answerOwn(frames, contents.showsToken(), 0);
            } else {
                frames.forEach(Frame::release);
                answerInstead(SqlState.FEATURE_NOT_SUPPORTED.code(), ProxyStatement.MUST_STAND_ALONE,
                        frame.type() == MessageType.SYNC);
            }
            return;
        }
        Backend target = transactionBackend;
        BatchContents.TransactionEnd end = contents.transactionEnd();
        if (target != null && !target.isPrimary() && end != null && frame.type() == MessageType.SYNC) {
            List<Frame> first = new ArrayList<>(frames.subList(0, end.execute() + 1));
            first.add(new Frame(MessageType.SYNC, Messages.sync(client.alloc())));
            endTransactionFirst(first, executed.subList(0, end.executed()),
                    frames.subList(end.execute() + 1, frames.size()));
            return;
        }
        if (target == null) {
            RouteDecision decision = executed.isEmpty() ? routePrepared(contents.parsedOthers())
                    : routeBatch(executed);
            if (decision != null && decision.refused()) {
                boolean sync = frame.type() == MessageType.SYNC;
                frames.forEach(Frame::release);
                refuse(decision, sync);
                return;
            }
            target = decision == null ? context.cluster().primary() : decision.backend();
        }
        send(target, frames, executed, frame.type() == MessageType.SYNC);
    }

    /**
     * The rest of a batch routed at a Flush goes to the same server: its statements are recorded like the first
     * part's. One that needs the primary while the batch runs on a replica fails (0A000), the rest of the batch
     * is skipped up to Sync as after any error, and the server's implicit transaction is aborted with it.
     */
    private void continueBatch(Frame frame) {
        BackendConnection server = batchServer;
        byte type = frame.type();
        if (type == MessageType.SYNC) {
            batchServer = null;
        } else if (batchRefusal != null) {
            frame.release(); // skipped, as the server skips after an error
            return;
        } else if (type == MessageType.BIND) {
            String sql = statements.sql(Messages.bindStatement(frame));
            if (sql != null) {
                Classification c = context.cluster().router().classify(sql);
                RouteDecision decision = transactionBackend != null || server.backend().isPrimary() ? null : route(c);
                BatchRefusal refusal = BatchRefusal.afterFlush(sql, decision);
                if (refusal != null) {
                    frame.release();
                    batchRefusal = refusal;
                    // the server fails the batch here (its implicit transaction with it); the refusal replaces its error
                    server.send(Messages.describePortal(client.alloc(), BatchRefusal.MARKER));
                    statements.sent(MessageType.DESCRIBE);
                    server.flush();
                    return;
                }
                List<Classification> executed = new ArrayList<>(inFlight);
                executed.add(c);
                inFlight = executed;
            }
        }
        statements.send(server, frame);
        frame.release();
        server.flush();
    }

    /**
     * A batch that only prepares (asyncpg's Parse, Describe, Flush before its Bind and Execute) goes where its
     * statements belong, so the rest of it runs there too; null (the primary) when it parses nothing or the router
     * would refuse it, which is for the Execute to hear.
     */
    private RouteDecision routePrepared(List<String> sql) {
        if (sql.isEmpty()) {
            return null;
        }
        List<Classification> cs = new ArrayList<>(sql.size());
        for (String statement : sql) {
            cs.add(context.cluster().router().classify(statement));
        }
        RouteDecision decision = routeBatch(cs);
        return decision.refused() ? null : decision;
    }

    private RouteDecision routeBatch(List<Classification> executed) {
        RouteDecision first = route(executed.get(0));
        RouteDecision decision = first;
        if (!first.refused() && executed.get(0).kind() != StatementKind.BEGIN) {
            for (Classification c : executed.subList(1, executed.size())) {
                RouteDecision next = route(c);
                if (next.refused() || next.backend().isPrimary()) {
                    decision = next;
                    break;
                }
            }
        }
        if (!decision.refused()) {
            context.routed(decision);
        }
        return decision;
    }

    /** Sends an exchange to {@code backend}, opening the connection first if needed; takes ownership of the frames. */
    private void send(Backend backend, List<Frame> frames, List<Classification> cs, boolean awaitsReady) {
        if (backend.isPrimary() && !transactionRan() && context.cluster().primaryProblem() != null) {
            awaitPrimary(new Exchange(frames, cs, awaitsReady));
            return;
        }
        BackendConnection server = servers.get(backend);
        if (server != null) {
            transmit(server, frames, cs, awaitsReady);
            return;
        }
        Future<BackendConnection> pending = connect(backend);
        if (pending.isDone()) { // an idle pooled connection: no need to stop reading from the client meanwhile
            connected(pending, backend, frames, cs, awaitsReady);
            return;
        }
        connecting = true;
        awaitedServer = pending;
        client.config().setAutoRead(false);
        pending.addListener(f -> {
            connecting = false;
            awaitedServer = null;
            if (safely(() -> connected(pending, backend, frames, cs, awaitsReady))) {
                drainQueue();
            }
        });
    }

    private void connected(Future<BackendConnection> f, Backend backend, List<Frame> frames, List<Classification> cs,
            boolean awaitsReady) {
        if (state == State.CLOSED) {
            frames.forEach(Frame::release);
        } else if (f.isSuccess()) {
            transmit(f.getNow(), frames, cs, awaitsReady);
        } else {
            if (!f.isCancelled() && !(f.cause() instanceof BackendLoginException)) {
                context.cluster().monitor().markDown(backend, "no connection: " + f.cause().getMessage());
                if (!retried && mayRunAgain(cs, awaitsReady)) {
                    runAgain(backend, frames, cs);
                    return;
                }
                if (backend.isPrimary() && !transactionRan()) {
                    awaitPrimary(new Exchange(frames, cs, awaitsReady)); // nothing ran: wait for the monitor
                    return;
                }
            }
            frames.forEach(Frame::release);
            if (f.isCancelled()) {
                answerInstead(SqlState.QUERY_CANCELED.code(),
                        "canceling statement due to user request (it was waiting for a server connection)", awaitsReady);
            } else {
                String sqlState = f.cause() instanceof BackendLoginException e ? e.sqlState()
                        : SqlState.CONNECTION_UNABLE_TO_CONNECT.code();
                answerInstead(sqlState, "the proxy could not connect to " + backend + ": " + f.cause().getMessage(),
                        awaitsReady);
            }
        }
    }

    private void transmit(BackendConnection server, List<Frame> frames, List<Classification> cs, boolean awaitsReady) {
        if (active == null) {
            exchangeStartedAt = System.nanoTime();
            if (transactionStatus == 'I') {
                transactionStartedAt = exchangeStartedAt;
            }
        }
        exchangeFailed = false;
        statementsCompleted = 0;
        primaryDeadline = 0;
        active = server;
        if (!retried && mayRunAgain(cs, awaitsReady)) {
            retry.arm(frames, cs);
        }
        reports.exchangeStarted();
        String catchUp = transactionRan() ? null : settings.catchUp(server);
        if (catchUp != null) {
            server.applyFeedback(false); // a replayed SET or RESET ALL may change synchronous_commit: set it again after
        }
        String feedback = transactionStatus == 'E' ? null : quorum.feedbackFor(server, cs);
        if (feedback != null) {
            catchUp = catchUp == null ? feedback : catchUp + "; " + feedback;
        }
        if (catchUp != null) {
            // the session's settings first, as one simple query whose answers the client never sees
            server.prepared().remove(""); // a simple query destroys the unnamed statement
            server.send(Messages.query(client.alloc(), catchUp));
            server.flush();
            catchingUp = true;
            caughtUp = 0;
            afterCatchUp = new Exchange(frames, cs, awaitsReady);
            return;
        }
        if (begin.held()) {
            server.prepared().remove(""); // it is a simple query too
            begin.sendAhead(server);
        }
        for (Frame frame : frames) {
            if (frame.type() == MessageType.QUERY) {
                server.prepared().remove(""); // a simple query destroys the unnamed statement
                server.forward(frame);
            } else {
                statements.send(server, frame);
            }
            frame.release();
        }
        server.flush();
        inFlight = cs;
        if (!awaitsReady) {
            batchServer = server;
        }
        forwardQueuedCopyData(server);
    }

    /**
     * The primary is down, or a split brain blocks writes: like the driver's statements, the exchange waits up to
     * failover.detect_timeout for the monitor to know a primary again, then goes there or fails with 08001. The
     * client's next messages queue meanwhile.
     */
    private void awaitPrimary(Exchange exchange) {
        long now = System.nanoTime();
        if (primaryDeadline == 0) {
            primaryDeadline = now + context.config().get(ReplicantOptions.FAILOVER_DETECT_TIMEOUT).toNanos();
        }
        String problem = context.cluster().primaryProblem();
        if (problem == null || now - primaryDeadline >= 0) {
            if (problem == null) {
                send(context.cluster().primary(), exchange.frames(), exchange.classifications(), exchange.awaitsReady());
            } else {
                exchange.frames().forEach(Frame::release);
                context.cluster().metrics().failed(SqlState.CONNECTION_UNABLE_TO_CONNECT.code());
                answerInstead(SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), problem + " (waited failover.detect_timeout "
                        + context.config().get(ReplicantOptions.FAILOVER_DETECT_TIMEOUT).toMillis() + " ms)",
                        exchange.awaitsReady());
            }
            return;
        }
        connecting = true;
        awaitingPrimary = exchange;
        client.config().setAutoRead(false);
        primaryCheck = client.eventLoop().schedule(() -> {
            Exchange waiting = awaitingPrimary;
            connecting = false;
            awaitingPrimary = null;
            primaryCheck = null;
            if (waiting != null && safely(() -> awaitPrimary(waiting))) {
                drainQueue();
            }
        }, PRIMARY_CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Ends an exchange's wait for a primary, releasing its frames; returns it, or null when none waited. */
    private Exchange stopAwaitingPrimary() {
        Exchange dropped = awaitingPrimary;
        if (dropped != null) {
            primaryCheck.cancel(false);
            dropped.frames().forEach(Frame::release);
            awaitingPrimary = null;
            connecting = false;
        }
        return dropped;
    }

    /** A transaction is open on a server: more than a BEGIN the proxy holds. */
    private boolean transactionRan() {
        return transactionBackend != null && !begin.held();
    }

    /** An error in place of the server's answer to an exchange that never reached one, and ReadyForQuery after it. */
    private void answerInstead(String sqlState, String message, boolean awaitsReady) {
        primaryDeadline = 0;
        client.write(Messages.error(client.alloc(), "ERROR", sqlState, message));
        if (awaitsReady) {
            client.write(Messages.readyForQuery(client.alloc(), transactionStatus));
        }
        client.flush();
    }

    // ---------------------------------------------------------------- the proxy's own settings

    /**
     * Answers a simple query or an extended batch of the proxy's own statements. SHOW replicant.consistency_token
     * first waits, up to failover.detect_timeout, for the monitor to check the primary since the session's last
     * statement (asked for at once); the client's next messages queue meanwhile.
     */
    private void answerOwn(List<Frame> frames, boolean showsToken, long deadline) {
        ReplicaMonitor monitor = context.cluster().monitor();
        long now = System.nanoTime();
        if (showsToken && position.token(monitor) == null && (deadline == 0 || now - deadline < 0)) {
            if (deadline == 0) {
                monitor.checkSoon();
            }
            long until = deadline != 0 ? deadline
                    : now + context.config().get(ReplicantOptions.FAILOVER_DETECT_TIMEOUT).toNanos();
            connecting = true;
            client.config().setAutoRead(false);
            client.eventLoop().schedule(() -> {
                connecting = false;
                if (state == State.CLOSED) {
                    frames.forEach(Frame::release);
                } else if (safely(() -> answerOwn(frames, true, until))) {
                    drainQueue();
                }
            }, 1, TimeUnit.MILLISECONDS);
            return;
        }
        try {
            LocalAnswer.answer(client, frames, statements,
                    statement -> ownSettings.execute(statement, transactionStatus), transactionStatus);
        } finally {
            frames.forEach(Frame::release);
        }
        if (queued.isEmpty()) {
            idleTimer.idle(client.eventLoop(), transactionStatus);
        }
    }

    /** An error of a statement of the proxy's own that ends the session, as the server gave it. */
    private record ServerRefusal(String sqlState, String message) {
    }

    /** An exchange waiting for its server to catch up with the session's settings. */
    private record Exchange(List<Frame> frames, List<Classification> classifications, boolean awaitsReady) {
    }

    private Future<BackendConnection> connect(Backend backend) {
        if (serverStartup == null) {
            serverStartup = new LinkedHashMap<>(login.startup());
            serverStartup.put("user", backendUser());
            serverStartup.put("database", backendDatabase());
        }
        Future<BackendConnection> future = servers.acquire(backend, serverStartup, login.serverCredentials());
        if (backend.isPrimary()) {
            if (future.isDone()) {
                reportIfFresh(future);
            } else {
                future.addListener(f -> reportIfFresh(future));
            }
        }
        return future;
    }

    /** {@link #primaryLoggedIn} for a primary connection's first use (a pooled one may be reused). */
    private void reportIfFresh(Future<BackendConnection> primary) {
        if (primary.isSuccess() && state != State.CLOSED && primary.getNow().firstUse()) {
            primaryLoggedIn(primary.getNow());
        }
    }

    // ---------------------------------------------------------------- server side

    @Override
    public void onFrame(BackendConnection server, Frame frame) {
        if (server != active) {
            if (frame.type() == MessageType.NOTIFICATION_RESPONSE && state == State.READY) {
                client.writeAndFlush(frame.bytes()); // LISTEN: notifications arrive whenever they are sent
                return;
            }
            frame.release(); // e.g. a NoticeResponse on an idle replica connection: nobody asked
            return;
        }
        if (catchingUp) {
            onCatchUpFrame(server, frame);
            return;
        }
        if (readyAfterRestore != null) {
            onRestoreFrame(server, frame);
            return;
        }
        if (begin.answerPending()) {
            if (frame.type() == MessageType.ERROR_RESPONSE) { // not on an idle session, but if so, say what it means
                String message = Messages.errorField(frame, Messages.FIELD_MESSAGE);
                frame.release();
                fatal(SqlState.CONNECTION_FAILURE.code(), server.backend() + " refused the transaction's BEGIN ("
                        + message + "); the statements sent with it may have run outside a transaction");
                return;
            }
            if (begin.isBeginAnswer(frame)) {
                frame.release();
                return;
            }
        }
        if (quorum.waiting()) {
            quorum.onFrame(frame);
            return;
        }
        byte type = frame.type();
        if (type == MessageType.PARAMETER_STATUS && reports.hold(frame)) {
            return;
        }
        if (type == MessageType.ERROR_RESPONSE) {
            statements.failed();
        } else if (endsAnAnswer(type) && statements.answered()) {
            frame.release(); // answers a Parse or Close of the proxy's own
            return;
        }
        if (retry.armed() && retry.hold(frame, client)) {
            return;
        }
        if (type == MessageType.ERROR_RESPONSE) {
            exchangeFailed = true;
            if (batchRefusal != null && Messages.errorField(frame, Messages.FIELD_MESSAGE).contains(BatchRefusal.MARKER)) {
                frame.release();
                frame = new Frame(MessageType.ERROR_RESPONSE, Messages.error(client.alloc(), "ERROR",
                        batchRefusal.sqlState(), batchRefusal.message()));
            }
            context.cluster().metrics().failed(Messages.errorField(frame, Messages.FIELD_CODE));
        }
        bytesOut += frame.bytes().readableBytes();
        if (type != MessageType.READY_FOR_QUERY) {
            if (type == MessageType.COMMAND_COMPLETE) {
                statementsCompleted++;
                if (server.backend().isPrimary()) {
                    quorum.commandComplete(frame);
                }
            }
            // relayed without a promise of its own: a failed write reaches exceptionCaught, which ends the session
            client.write(frame.bytes(), client.voidPromise());
            return;
        }
        String restore = exchangeFailed ? null : settings.restoreAfter(inFlight);
        if (restore != null) {
            readyAfterRestore = frame;
            server.prepared().remove(""); // a simple query destroys the unnamed statement
            server.send(Messages.query(client.alloc(), restore));
            server.flush();
            return;
        }
        readyForQuery(server, frame);
    }

    /**
     * Answers to the query that put back the client's own startup settings after it reset them: their reports
     * replace the RESET's (see ParameterReports), the rest is swallowed; then the client's ReadyForQuery goes on.
     */
    private void onRestoreFrame(BackendConnection server, Frame frame) {
        byte type = frame.type();
        if (type == MessageType.PARAMETER_STATUS && reports.hold(frame)) {
            return;
        }
        if (type == MessageType.ERROR_RESPONSE) { // values the server took at the session's first statement
            restoreError = new ServerRefusal(Messages.errorField(frame, Messages.FIELD_CODE),
                    "the proxy could not set the session's startup settings again after its RESET ("
                            + Messages.errorField(frame, Messages.FIELD_MESSAGE) + ")");
        }
        frame.release();
        if (type != MessageType.READY_FOR_QUERY) {
            return;
        }
        Frame ready = readyAfterRestore;
        readyAfterRestore = null;
        if (restoreError != null) { // the server session is not what the client was told: it ends
            ready.release();
            settings.pin("restore_failed");
            fatal(restoreError.sqlState(), restoreError.message());
            return;
        }
        readyForQuery(server, ready);
    }

    /** The ReadyForQuery that ends the client's exchange, its reports held until now. */
    private void readyForQuery(BackendConnection server, Frame frame) {
        if (afterBatch != null) {
            batchSynced(server, frame);
            return;
        }
        int w = quorum.quorumFor(server, inFlight, exchangeFailed, Messages.transactionStatus(frame));
        if (w > 0) {
            quorum.await(server, client, frame, w, ready -> exchangeEnded(server, ready));
            return;
        }
        exchangeEnded(server, frame);
    }

    /** The last message of the server's answer to one extended-protocol message (or one of a simple query's). */
    private static boolean endsAnAnswer(byte type) {
        switch (type) {
            case MessageType.PARSE_COMPLETE:
            case MessageType.BIND_COMPLETE:
            case MessageType.CLOSE_COMPLETE:
            case MessageType.NO_DATA:
            case MessageType.ROW_DESCRIPTION:
            case MessageType.COMMAND_COMPLETE:
            case MessageType.PORTAL_SUSPENDED:
            case MessageType.EMPTY_QUERY_RESPONSE:
                return true;
            default:
                return false;
        }
    }

    /** The ReadyForQuery that ends the exchange in flight: the session follows it and the client gets it. */
    private void exchangeEnded(BackendConnection server, Frame frame) {
        exchangeOver(server, frame);
        client.writeAndFlush(frame.bytes(), client.voidPromise());
        if (readyAgain()) {
            drainQueue();
        }
    }

    /**
     * The ReadyForQuery of the proxy's own Sync after a batch on a replica, or of the part of a query or batch that
     * ended the transaction there: what waited goes on.
     */
    private void batchSynced(BackendConnection server, Frame ready) {
        Exchange next = afterBatch;
        Backend target = afterBatchTarget;
        afterBatch = null;
        afterBatchTarget = null;
        boolean failed = exchangeFailed;
        exchangeOver(server, ready);
        if (target != null && failed) { // the batch failed: PostgreSQL skips the query, and all else up to Sync
            ready.release();
            next.frames().forEach(Frame::release);
            skippingToSync = true;
            drainQueue();
        } else if (target != null) {
            ready.release();
            queryRuns(next.frames().get(0));
            send(target, next.frames(), next.classifications(), next.awaitsReady());
        } else if (failed || transactionStatus != 'I') {
            next.frames().forEach(Frame::release); // skipped, as the server skips what follows an error
            client.writeAndFlush(ready.bytes(), client.voidPromise());
            if (readyAgain()) {
                drainQueue();
            }
        } else {
            ready.release();
            for (int i = next.frames().size() - 1; i >= 0; i--) {
                queued.addFirst(next.frames().get(i));
            }
            drainQueue();
        }
    }

    /** What the session learns from a ReadyForQuery: the exchange is over, and the transaction status. */
    private void exchangeOver(BackendConnection server, Frame frame) {
        long now = System.nanoTime();
        long took = now - exchangeStartedAt;
        context.exchanged(server.backend(), took, bytesIn, bytesOut);
        transactionStatus = Messages.transactionStatus(frame);
        traffic.exchanged(took, bytesIn, bytesOut, transactionStatus == 'I' ? now - transactionStartedAt : -1);
        bytesIn = 0;
        bytesOut = 0;
        statements.exchangeEnded();
        batchRefusal = null;
        retried = false;
        transactionBackend = transactionStatus == 'I' ? null : server.backend();
        if (!exchangeFailed) {
            for (Classification c : inFlight) {
                statements.afterStatement(c, server);
                quorum.sessionChanged(server, c);
                String pinned = settings.succeeded(c, server);
                if (pinned != null) {
                    context.pinned(pinned);
                }
                if (c.sessionBound() && servers.pooled()) {
                    pinToPrimary("session_function"); // an advisory lock or set_config outlives it: keep the server
                }
            }
        } else {
            for (Classification c : inFlight) { // what ran before the error stays on the server
                // a simple query's count of completed statements says which of its text ran
                String pinned = settings.failedAfter(c, inFlight.size() == 1 ? statementsCompleted : 0, server);
                if (pinned != null) {
                    context.pinned(pinned);
                }
                if (c.sessionBound() && servers.pooled()) {
                    pinToPrimary("session_function"); // an advisory lock
                }
            }
        }
        settings.exchangeEnded(server, transactionStatus, exchangeFailed);
        reports.release();
        if (server.backend().isPrimary()) {
            context.cluster().committedAt(now); // token consistency: other sessions' reads must see it
        } else {
            lastReplica = server.backend();
        }
        position.ranOn(server.backend());
        active = null;
        inFlight = List.of();
        if (transactionStatus == 'I' && settings.pin() == null) {
            servers.transactionEnded();
        }
    }

    /**
     * The client has its ReadyForQuery: a proxy shutting down ends the session once it is between transactions
     * (false); otherwise the idle timeouts run until its next message.
     */
    private boolean readyAgain() {
        if (transactionStatus == 'I' && context.draining()) {
            fatal(SqlState.ADMIN_SHUTDOWN.code(), "terminating connection because the proxy is shutting down");
            return false;
        }
        if (queued.isEmpty()) {
            idleTimer.idle(client.eventLoop(), transactionStatus);
        }
        return true;
    }

    /**
     * Answers to a settings catch-up: swallowed. If the server refused one of the client's own startup parameters,
     * the client gets the error as PostgreSQL gives it at login; if it refused a replayed setting, the session
     * moves to the primary.
     */
    private void onCatchUpFrame(BackendConnection server, Frame frame) {
        byte type = frame.type();
        if (type == MessageType.COMMAND_COMPLETE) {
            caughtUp++;
        } else if (type == MessageType.ERROR_RESPONSE && caughtUp < settings.loginStatements()) {
            // a startup parameter the server refuses, as it would at login
            loginParameterError = new ServerRefusal(Messages.errorField(frame, Messages.FIELD_CODE),
                    Messages.errorField(frame, Messages.FIELD_MESSAGE));
        } else if (type == MessageType.ERROR_RESPONSE) {
            exchangeFailed = true;
            LOG.warn("[proxy] replaying session settings on {} failed ({}); the session is pinned to the primary",
                    server, Messages.errorField(frame, Messages.FIELD_MESSAGE));
        }
        frame.release();
        if (type != MessageType.READY_FOR_QUERY) {
            return;
        }
        catchingUp = false;
        active = null;
        Exchange pending = afterCatchUp;
        afterCatchUp = null;
        boolean sent;
        if (loginParameterError != null) {
            pending.frames().forEach(Frame::release);
            settings.pin("login_parameters"); // what the connection holds now is unknown: it is not shared again
            fatal(loginParameterError.sqlState(), loginParameterError.message());
            return;
        }
        if (exchangeFailed) {
            pinToPrimary("replay_failed");
            sent = safely(() -> send(context.cluster().primary(), pending.frames(), pending.classifications(),
                    pending.awaitsReady()));
        } else {
            sent = safely(() -> transmit(server, pending.frames(), pending.classifications(), pending.awaitsReady()));
        }
        if (sent) {
            drainQueue(); // a batch that ended in Flush: the client's next messages (its Sync) follow it now
        }
    }

    @Override
    public void onReadComplete(BackendConnection server) {
        client.flush();
    }

    private void drainQueue() {
        while (!awaitingReady() && !held() && !queued.isEmpty() && state == State.READY) {
            Frame next = queued.poll();
            if (!safely(() -> dispatch(next))) {
                return;
            }
        }
        if (!awaitingReady() && queued.isEmpty() && state == State.READY) {
            client.config().setAutoRead(true);
        }
    }

    private void pinToPrimary(String reason) {
        if (settings.pin() == null) {
            settings.pin(reason);
            context.pinned(reason);
        }
    }

    @Override
    public void onClosed(BackendConnection server) {
        servers.lost(server);
        context.serverClosed();
        if (state == State.CLOSED) {
            return;
        }
        if (server == active || server.backend() == transactionBackend && transactionRan()) {
            context.cluster().monitor().markDown(server.backend(), "a connection was lost during a query");
            if (server == active && quorum.waiting()) {
                fatal(SqlState.CONNECTION_FAILURE.code(), quorum.lost());
                return;
            }
            ReadRetry.Exchange again = server == active ? retry.take() : null;
            if (again != null) {
                runAgain(server.backend(), again.frames(), again.classifications());
                return;
            }
            LOG.warn("[proxy] {} closed the connection during a query or transaction; closing the client", server);
            fatal(SqlState.CONNECTION_FAILURE.code(), "the connection to " + server.backend()
                    + " was lost; the outcome of a commit in flight is unknown");
        }
    }

    /**
     * An autocommit read whose server was lost before answering runs once more, wherever it is routed now (the
     * lost server is marked down), as the JDBC driver does: it changed nothing, so the client need not know.
     */
    private void runAgain(Backend lost, List<Frame> frames, List<Classification> cs) {
        LOG.warn("[proxy] {} was lost before a read was answered; running it again elsewhere", lost);
        context.cluster().metrics().retried(lost);
        if (afterCatchUp != null) {
            afterCatchUp.frames().forEach(Frame::release); // the retry holds its own reference
            afterCatchUp = null;
        }
        catchingUp = false;
        active = null;
        inFlight = List.of();
        statements.exchangeEnded();
        retried = true;
        RouteDecision decision = routeBatch(cs);
        if (decision.refused()) {
            frames.forEach(Frame::release);
            refuse(decision, true);
            retried = false;
            return;
        }
        send(decision.backend(), frames, cs, true);
    }

    /** Whether an exchange may run again after its server is lost: whole autocommit reads that change nothing. */
    private boolean mayRunAgain(List<Classification> cs, boolean awaitsReady) {
        if (!awaitsReady || cs.isEmpty() || transactionBackend != null || transactionStatus != 'I') {
            return false;
        }
        for (Classification c : cs) {
            if (context.cluster().mayWrite(c) || c.kind() == StatementKind.COMMIT || !c.effects().isEmpty()
                    || c.sessionBound()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        boolean writable = ctx.channel().isWritable();
        for (BackendConnection server : servers.all()) {
            server.autoRead(writable); // a slow client slows its servers instead of filling our memory
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed(cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause);
    }

    /**
     * Runs a step that handles client messages outside the client's own pipeline (in a listener, or on a server's
     * answer), where a malformed message would not reach {@link #exceptionCaught}; false if it failed so.
     */
    private boolean safely(Runnable step) {
        try {
            step.run();
            return true;
        } catch (ProtocolException | IndexOutOfBoundsException e) {
            failed(e);
            return false;
        }
    }

    private void failed(Throwable problem) {
        if (problem instanceof ProtocolException) {
            fatal(SqlState.PROTOCOL_VIOLATION.code(), problem.getMessage());
        } else if (problem instanceof IndexOutOfBoundsException) { // a message body shorter than its fields
            fatal(SqlState.PROTOCOL_VIOLATION.code(), "malformed protocol message");
        } else {
            LOG.debug("[proxy] client connection failed", problem);
            close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        close();
    }

    private void fatal(String sqlState, String message) {
        if (state == State.CLOSED) {
            return;
        }
        client.writeAndFlush(Messages.error(client.alloc(), "FATAL", sqlState, message))
                .addListener(ChannelFutureListener.CLOSE);
        close();
    }

    /** Shutdown: ends the session now if it is between transactions, otherwise at its next ReadyForQuery 'I'. */
    public void drain() {
        client.eventLoop().execute(() -> {
            if (state != State.READY || transactionStatus == 'I' && !awaitingReady()
                    && (queued.isEmpty() || held())) { // a request held by PAUSE has not started: it ends too
                fatal(SqlState.ADMIN_SHUTDOWN.code(), "terminating connection because the proxy is shutting down");
            }
        });
    }

    private void idleTimeout(char status) {
        if (state != State.READY || awaitingReady()) {
            return;
        }
        if (status == 'I') {
            fatal(SqlState.IDLE_SESSION_TIMEOUT.code(), "terminating connection due to idle-session timeout "
                    + "(proxy.idle_timeout)");
        } else {
            fatal(SqlState.IDLE_IN_TRANSACTION_TIMEOUT.code(), "terminating connection due to idle-in-transaction "
                    + "timeout (proxy.idle_in_transaction_timeout); the transaction was rolled back");
        }
    }

    /** A client's CancelRequest named this session (it arrives on a connection of its own, on any thread). */
    void cancelRequested() {
        client.eventLoop().execute(this::cancelRunningQuery);
    }

    /** Cancels the query running for the client, on whichever server runs it. */
    private void cancelRunningQuery() {
        Exchange dropped = stopAwaitingPrimary();
        if (dropped != null) {
            answerInstead(SqlState.QUERY_CANCELED.code(), "canceling statement due to user request (it was waiting "
                    + "for a primary)", dropped.awaitsReady());
            drainQueue();
        } else if (active != null && !catchingUp) {
            active.cancel();
        } else if (awaitedServer != null && servers.pooled()) {
            awaitedServer.cancel(false); // the statement never runs (a connection of its own would be left unowned)
        }
    }

    /**
     * Ends the session: a query still running is cancelled (so a vanished client leaves no lock behind), and
     * every server connection is terminated, which rolls back an open transaction there.
     */
    private void close() {
        if (state == State.CLOSED) {
            return;
        }
        // a connection goes back to a pool only with nothing of this session's on it: no query, transaction or pin
        boolean clean = active == null && !connecting && transactionStatus == 'I' && settings.pin() == null;
        if (active != null) {
            active.cancel();
        }
        if (cancelKey != null) {
            context.unregister(cancelKey[0], cancelKey[1]);
        }
        state = State.CLOSED;
        retry.disarm();
        idleTimer.stop();
        quorum.abandon();
        context.clientClosed(this);
        servers.closeAll(clean);
        if (afterCatchUp != null) {
            afterCatchUp.frames().forEach(Frame::release);
            afterCatchUp = null;
        }
        if (readyAfterRestore != null) {
            readyAfterRestore.release();
            readyAfterRestore = null;
        }
        stopAwaitingPrimary();
        if (afterBatch != null) {
            afterBatch.frames().forEach(Frame::release);
            afterBatch = null;
        }
        begin.drop();
        batch.forEach(Frame::release);
        batch.clear();
        statements.releaseAll();
        queued.forEach(Frame::release);
        queued.clear();
        if (client.isActive()) {
            client.flush();
            client.close();
        }
    }

    // ---------------------------------------------------------------- for the admin console

    /** What SHOW CLIENTS and SHOW SERVERS report about this session (read from another thread: approximate). */
    public record Snapshot(String user, String database, String applicationName, SocketAddress address,
            SocketAddress localAddress, long connectedAt, long lastRequestAt, String state,
            char transactionStatus, String pinned, List<BackendConnection> servers, BackendConnection active,
            int opening, SSLSession tls) {
    }

    public Snapshot snapshot() {
        BackendConnection running = active;
        String status = state != State.READY ? "login" : running != null || connecting ? "active" : "idle";
        Map<String, String> startup = login.startup();
        return new Snapshot(startup.get("user"), startup.getOrDefault("database", startup.get("user")),
                applicationName(), client.remoteAddress(), client.localAddress(),
                connectedAt, lastRequestAt, status, transactionStatus, settings.pin(), List.copyOf(servers.all()),
                running, servers.opening(), TlsSupport.session(client));
    }

    // ---------------------------------------------------------------- SessionView

    @Override
    public Backend transactionBackend() {
        return transactionBackend;
    }

    @Override
    public boolean transactionFailed() {
        return transactionStatus == 'E';
    }

    @Override
    public boolean beginsTransaction() {
        return false; // on the wire, transactions start with an explicit BEGIN
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public Set<String> tempTables() {
        return Set.of(); // CREATE TEMP pins the session to the primary
    }

    @Override
    public Set<String> preparedStatements() {
        return Set.of(); // PREPARE pins the session to the primary
    }

    @Override
    public String pinned() {
        return settings.pin();
    }

    @Override
    public String forcedRoute() {
        return null;
    }

    @Override
    public String consistency() {
        return ownSettings.consistency();
    }

    @Override
    public long minLsn() {
        return position.lsn();
    }

    @Override
    public Backend stickyReplica() {
        return lastReplica;
    }

    @Override
    public String user() {
        return login.startup().get("user");
    }

    @Override
    public String applicationName() {
        return reports.applicationName();
    }
}
