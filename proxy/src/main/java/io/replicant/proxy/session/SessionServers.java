package io.replicant.proxy.session;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.replicant.config.ReplicantOptions;
import io.replicant.proxy.ProxyContext;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.backend.Credentials;
import io.replicant.router.Backend;

/**
 * The server connections one client session holds, by server. In session pooling they are the session's own,
 * opened at first use and closed with it; in transaction pooling they are borrowed from the event loop's
 * {@link ServerPool}s and given back between transactions.
 */
final class SessionServers {
    private final ProxyContext context;
    private final EventLoop loop;
    private final BackendConnection.Listener session;
    private final boolean pooled;
    /** Concurrent only so the admin console may list it from another event loop. */
    private final Map<Backend, BackendConnection> held = new ConcurrentHashMap<>();
    private final Map<Backend, Future<BackendConnection>> opening = new HashMap<>();
    private final Map<Backend, ServerPool> pools = new HashMap<>();
    private boolean closed;

    SessionServers(ProxyContext context, EventLoop loop, BackendConnection.Listener session) {
        this.context = context;
        this.loop = loop;
        this.session = session;
        this.pooled = context.config().get(ReplicantOptions.PROXY_POOL_MODE).equals("transaction");
    }

    /** Transaction pooling: connections are borrowed from the event loop's pools. */
    boolean pooled() {
        return pooled;
    }

    /** The open connection to {@code backend} this session holds, or null. */
    BackendConnection get(Backend backend) {
        BackendConnection server = held.get(backend);
        return server != null && server.isOpen() ? server : null;
    }

    /** A connection to {@code backend} for this session: new, or (transaction pooling) borrowed. */
    Future<BackendConnection> acquire(Backend backend, Map<String, String> parameters, Credentials credentials) {
        Future<BackendConnection> pending = opening.get(backend);
        if (pending != null) {
            return pending;
        }
        Future<BackendConnection> future = pooled
                ? pools.computeIfAbsent(backend, b -> context.pool(ServerPool.Key.of(loop, b, parameters)).attach())
                        .acquire(credentials)
                : context.openServer(loop, backend, parameters, credentials);
        if (future.isDone()) { // an idle pooled connection: take it now (Netty may run listeners later)
            acquired(backend, future);
            return future;
        }
        opening.put(backend, future);
        future.addListener(f -> {
            opening.remove(backend);
            acquired(backend, future);
        });
        return future;
    }

    private void acquired(Backend backend, Future<BackendConnection> future) {
        if (!future.isSuccess()) {
            return;
        }
        BackendConnection server = future.getNow();
        if (!pooled) {
            context.serverOpened();
        }
        server.listener(session);
        if (closed) {
            giveUp(server, true);
        } else {
            held.put(backend, server);
        }
    }

    /** Transaction pooling: the session is between transactions, so its connections go back to their pools. */
    void transactionEnded() {
        if (pooled) {
            held.values().forEach(this::giveBack);
            held.clear();
        }
    }

    /** A held connection closed (by its server, or on its way out). */
    void lost(BackendConnection server) {
        if (held.remove(server.backend(), server) && pooled) {
            pools.get(server.backend()).discard(server);
        }
    }

    /**
     * The session ended. Own connections are terminated, which rolls back whatever was open there; borrowed
     * ones go back to their pool when {@code clean} (nothing in flight, no transaction), else are closed.
     */
    void closeAll(boolean clean) {
        if (closed) {
            return;
        }
        closed = true;
        held.values().forEach(server -> giveUp(server, clean));
        held.clear();
        pools.values().forEach(ServerPool::detach);
    }

    private void giveUp(BackendConnection server, boolean clean) {
        if (!pooled) {
            server.close();
        } else if (clean) {
            giveBack(server);
        } else {
            pools.get(server.backend()).discard(server);
        }
    }

    /** Back to its pool, once a cancel sent for this session's query, if any, has reached the server. */
    private void giveBack(BackendConnection server) {
        ServerPool pool = pools.get(server.backend());
        Future<Void> cancel = server.cancelling();
        if (cancel == null) {
            pool.release(server);
        } else {
            cancel.addListener(f -> pool.release(server));
        }
    }

    Collection<BackendConnection> all() {
        return held.values();
    }

    int opening() {
        return opening.size();
    }
}
