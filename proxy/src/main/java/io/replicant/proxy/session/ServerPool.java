package io.replicant.proxy.session;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.proxy.ProxyContext;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.backend.BackendLoginException;
import io.replicant.proxy.backend.Credentials;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Backend;

/**
 * Transaction pooling: the server connections to one server that the client sessions of one event loop share,
 * for clients with the same startup parameters. A session borrows one for a transaction and gives it back at
 * ReadyForQuery 'I'. Living on one event loop, like its sessions, it needs no lock; the proxy has one pool per
 * loop and key, so {@code proxy.pool_size} counts per thread.
 */
public final class ServerPool implements BackendConnection.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(ServerPool.class);
    /**
     * Which connections may be shared: same loop, same server, same login (user, database, options, …), whatever
     * the clients' {@link TrackedParameters} (application_name, TimeZone, …): connections log in without them and
     * take each borrower's with SET as they are lent (SessionSettings), so applications that name themselves, or
     * run in other time zones, do not each get a pool, and connections, of their own.
     *
     * @param parameters the startup parameters the pool's connections log in with
     */
    public record Key(EventLoop loop, Backend backend, Map<String, String> parameters) {
        public Key {
            parameters = Map.copyOf(parameters);
        }

        static Key of(EventLoop loop, Backend backend, Map<String, String> startup) {
            return new Key(loop, backend, TrackedParameters.withoutTracked(startup));
        }
    }

    /** How often idle connections are checked against pool.idle_timeout and pool.max_lifetime. */
    private static final long EVICTION_PERIOD_SECONDS = 5;
    private final ProxyContext context;
    private final Key key;
    /** Most recently released first, so a lightly loaded pool keeps reusing the same few connections. */
    private final Deque<BackendConnection> idle = new ConcurrentLinkedDeque<>();
    /** Idle connections being checked before they are lent (see {@link #check}). */
    private final Map<BackendConnection, Check> checks = new HashMap<>();
    /** Sessions waiting for a connection, first come first served. */
    private final Deque<Promise<BackendConnection>> waiting = new ArrayDeque<>();
    /** Connections open or opening, lent or idle. */
    private volatile int open;
    private volatile int waiters;
    /** Sessions that have used this pool and not ended yet. */
    private int users;
    /** Whose keys new connections log in with: the latest borrower's (the same role, so the same keys). */
    private Credentials credentials;

    private final ScheduledFuture<?> eviction;

    public ServerPool(ProxyContext context, Key key) {
        this.context = context;
        this.key = key;
        this.eviction = key.loop().scheduleAtFixedRate(this::evict, EVICTION_PERIOD_SECONDS, EVICTION_PERIOD_SECONDS,
                TimeUnit.SECONDS);
    }

    public Key key() {
        return key;
    }

    /** A session starts using this pool. */
    ServerPool attach() {
        users++;
        return this;
    }

    void detach() {
        users--;
    }

    /** A connection for a session: an idle one, a new one while under the limit, or the next one released. */
    Future<BackendConnection> acquire(Credentials login) {
        this.credentials = login;
        BackendConnection connection;
        while ((connection = idle.pollFirst()) != null) {
            if (connection.isOpen()) {
                if (!needsCheck(connection)) {
                    return key.loop().newSucceededFuture(connection);
                }
                Promise<BackendConnection> lent = key.loop().newPromise();
                check(connection, lent);
                return lent;
            }
        }
        Promise<BackendConnection> lent = key.loop().newPromise();
        if (open < context.config().get(ReplicantOptions.PROXY_POOL_SIZE)) {
            openFor(lent);
            return lent;
        }
        waiting.addLast(lent);
        waiters = waiting.size();
        Duration timeout = context.config().get(ReplicantOptions.PROXY_POOL_WAIT_TIMEOUT);
        long since = System.nanoTime();
        ScheduledFuture<?> timer = key.loop().schedule(() -> lent.tryFailure(new BackendLoginException(
                SqlState.TOO_MANY_CONNECTIONS.code(), "all " + open + " connections of its pool stayed busy for "
                        + "proxy.pool_wait_timeout (" + ReplicantOptions.PROXY_POOL_WAIT_TIMEOUT.type().format(timeout)
                        + "); try again, or raise proxy.pool_size")), timeout.toMillis(), TimeUnit.MILLISECONDS);
        lent.addListener(f -> { // served, timed out or cancelled by its client
            context.poolWaited(key.parameters().get("database"), System.nanoTime() - since,
                    f.isSuccess() ? "served" : f.isCancelled() ? "cancelled" : "timeout");
            timer.cancel(false);
            waiting.remove(lent);
            waiters = waiting.size();
        });
        return lent;
    }

    private boolean needsCheck(BackendConnection connection) {
        long delay = context.config().get(ReplicantOptions.PROXY_SERVER_CHECK_DELAY).toMillis();
        return delay > 0 && System.currentTimeMillis() - connection.idleSince() >= delay;
    }

    /** A check under way: the session that gets the connection if it answers, and the time limit. */
    private record Check(Promise<BackendConnection> lent, ScheduledFuture<?> timer) {
    }

    /**
     * Lends a long-idle connection only once it has answered an empty query: a server or network gone silent
     * meanwhile (no close ever arrived) would otherwise leave the client's statement hanging.
     */
    private void check(BackendConnection connection, Promise<BackendConnection> lent) {
        long limit = context.config().get(ReplicantOptions.POOL_CONNECT_TIMEOUT).toMillis();
        ScheduledFuture<?> timer = key.loop().schedule(() -> {
            if (checks.remove(connection) != null) {
                LOG.warn("[proxy] {} did not answer its check within pool.connect_timeout ({} ms); closed, a new "
                        + "connection is opened instead", connection, limit);
                failedCheck(connection, lent);
            }
        }, limit, TimeUnit.MILLISECONDS);
        checks.put(connection, new Check(lent, timer));
        connection.send(Messages.query(connection.alloc(), ""));
        connection.flush();
    }

    private void failedCheck(BackendConnection connection, Promise<BackendConnection> lent) {
        open--;
        context.serverClosed();
        connection.close();
        if (!lent.isDone()) {
            openFor(lent);
        }
    }

    private void openFor(Promise<BackendConnection> lent) {
        open++;
        context.openServer(key.loop(), key.backend(), key.parameters(), credentials).addListener(f -> {
                    if (!f.isSuccess()) {
                        open--;
                        lent.tryFailure(f.cause());
                        return;
                    }
                    BackendConnection connection = (BackendConnection) f.getNow();
                    context.serverOpened();
                    if (!lent.trySuccess(connection)) {
                        release(connection); // its client gave up waiting
                    }
                });
    }

    /** Takes back a connection that is idle on the server ('I', nothing in flight): the next waiter gets it. */
    void release(BackendConnection connection) {
        if (!connection.isOpen()) { // lost while its session held it (counted closed there)
            discard(connection);
            return;
        }
        connection.listener(this);
        connection.autoRead(true);
        Promise<BackendConnection> next;
        while ((next = waiting.pollFirst()) != null) {
            waiters = waiting.size();
            if (next.trySuccess(connection)) { // false if done but not yet notified (Netty may defer listeners)
                return;
            }
        }
        connection.idleSince(System.currentTimeMillis());
        idle.addFirst(connection);
    }

    /**
     * Closes idle connections past pool.idle_timeout or pool.max_lifetime, so a quiet pool shrinks; a pool left
     * with no connections and no sessions is retired, so pools of servers gone after a failover, or of logins with
     * one-off startup parameters, do not pile up.
     */
    private void evict() {
        long now = System.currentTimeMillis();
        long idleLimit = context.config().get(ReplicantOptions.POOL_IDLE_TIMEOUT).toMillis();
        long lifetime = context.config().get(ReplicantOptions.POOL_MAX_LIFETIME).toMillis();
        for (BackendConnection connection : idle) {
            boolean expired = now - connection.idleSince() >= idleLimit || now - connection.connectedAt() >= lifetime;
            if (expired && idle.remove(connection)) {
                open--;
                context.serverClosed();
                connection.close();
            }
        }
        if (users == 0 && open == 0 && waiting.isEmpty()) {
            eviction.cancel(false);
            context.retire(this);
        }
    }

    /**
     * A lent connection that must not be shared again (closed by the server, or given up in the middle of a
     * transaction): it is closed, and a waiting session gets a new one instead.
     */
    void discard(BackendConnection connection) {
        connection.close();
        open--;
        Promise<BackendConnection> next;
        while ((next = waiting.pollFirst()) != null) {
            waiters = waiting.size();
            if (!next.isDone()) {
                openFor(next);
                return;
            }
        }
    }

    /** Closes the idle connections (proxy shutdown). */
    public void close() {
        eviction.cancel(false);
        key.loop().execute(() -> {
            BackendConnection connection;
            while ((connection = idle.pollFirst()) != null) {
                connection.close();
            }
        });
    }

    // ---------------------------------------------------------------- while idle here

    @Override
    public void onFrame(BackendConnection connection, Frame frame) {
        // EmptyQueryResponse and ReadyForQuery of a check; or a NoticeResponse or ParameterStatus nobody asked for
        boolean ready = frame.type() == MessageType.READY_FOR_QUERY;
        frame.release();
        Check check = ready ? checks.remove(connection) : null;
        if (check != null) {
            check.timer().cancel(false);
            if (!check.lent().trySuccess(connection)) { // its client gave up meanwhile
                release(connection);
            }
        }
    }

    @Override
    public void onReadComplete(BackendConnection connection) {
    }

    @Override
    public void onClosed(BackendConnection connection) {
        Check check = checks.remove(connection);
        if (check != null) {
            check.timer().cancel(false);
            failedCheck(connection, check.lent());
        } else if (idle.remove(connection)) {
            open--;
            context.serverClosed();
        }
    }

    // ---------------------------------------------------------------- for the admin console (approximate)

    public List<BackendConnection> idleConnections() {
        return List.copyOf(idle);
    }

    public int waitingClients() {
        return waiters;
    }
}
