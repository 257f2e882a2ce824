package io.replicant.proxy.backend;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import com.ongres.scram.client.ScramClient;
import com.ongres.scram.common.StringPreparation;
import com.ongres.scram.common.util.TlsServerEndpoint;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.replicant.proxy.TlsSupport;
import io.replicant.proxy.Transport;
import io.replicant.proxy.protocol.BackendDecoder;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.Md5Password;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Backend;

/**
 * One connection from the proxy to a PostgreSQL server, on the event loop of the client session that owns it
 * (so the session and its backends never need locks). It logs in (trust, cleartext, md5 or SCRAM-SHA-256),
 * keeps the server's ParameterStatus values and BackendKeyData, and then hands every frame to its listener.
 */
public final class BackendConnection {
    /** Receives the server's frames once the connection is ready. */
    public interface Listener {
        /** Called on the event loop; the listener owns (and must release) the frame. */
        void onFrame(BackendConnection connection, Frame frame);

        /** The end of one read from the server: a good moment to flush what was relayed. */
        void onReadComplete(BackendConnection connection);

        void onClosed(BackendConnection connection);
    }

    /** Bootstrap needs a handler; this one leaves the pipeline empty for the TLS request or the login to fill. */
    private static final ChannelInitializer<Channel> NOTHING_YET = new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {
        }
    };
    /** How long a cancel connection may stay open before the proxy closes it itself. */
    private static final long CANCEL_TIMEOUT_SECONDS = 5;
    private final Backend backend;
    private final Channel channel;
    private final ServerSecurity security;
    private final Map<String, String> parameters = new ConcurrentHashMap<>(); // SHOW SERVERS reads it elsewhere
    private volatile Listener listener;
    private int processId;
    private int secretKey;
    /** Whose session settings were applied here (shared connections change hands), and how many of them. */
    private Object settingsOwner;
    private int appliedSettings;
    private Map<String, String> carriedParameters = Map.of();
    private boolean used;
    private long idleSince;
    private Future<Void> cancelling;
    /** Prepared statements that exist on this server session: name ("" = unnamed) → SQL and parameter types. */
    private final Map<String, String> prepared = new HashMap<>();
    /** Set once this server session commits with synchronous_commit = remote_apply (for quorum waits). */
    private boolean applyFeedback;
    /** Set once this server session has the quorum-wait function (a temporary one: DISCARD drops it). */
    private boolean quorumWaitInstalled;
    private final long connectedAt = System.currentTimeMillis();

    private BackendConnection(Backend backend, Channel channel, ServerSecurity security) {
        this.backend = backend;
        this.channel = channel;
        this.security = security;
    }

    /**
     * Connects and logs in, over TLS as {@code security} says; the future fails with {@link BackendLoginException}
     * carrying the server's SQLSTATE (28P01, 3D000, 57P03, …) or the proxy's (08001 when TLS cannot be had as
     * required), or with the connection error.
     */
    public static Future<BackendConnection> open(EventLoop loop, Backend backend, Map<String, String> startup,
            Credentials credentials, ServerSecurity security, int connectTimeoutMillis) {
        Promise<BackendConnection> ready = loop.newPromise();
        if (!security.retriesWithTls()) {
            connect(loop, backend, startup, credentials, security, security.asksFirst(), connectTimeoutMillis, ready);
            return ready;
        }
        Promise<BackendConnection> clear = loop.newPromise();
        clear.addListener(f -> {
            if (f.isSuccess()) {
                ready.trySuccess(clear.getNow());
            } else if (f.cause() instanceof BackendLoginException e && e.sqlState().equals("28000")) {
                // sslmode=allow: the server's pg_hba.conf wants TLS (hostssl) for this login
                connect(loop, backend, startup, credentials, security, true, connectTimeoutMillis, ready);
            } else {
                ready.tryFailure(f.cause());
            }
        });
        connect(loop, backend, startup, credentials, security, false, connectTimeoutMillis, clear);
        return ready;
    }

    private static void connect(EventLoop loop, Backend backend, Map<String, String> startup, Credentials credentials,
            ServerSecurity security, boolean askForTls, int connectTimeoutMillis, Promise<BackendConnection> ready) {
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(Transport.channel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
                .handler(NOTHING_YET);
        ChannelFuture connect = bootstrap.connect(new InetSocketAddress(backend.host().host(), backend.host().port()));
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                ready.tryFailure(f.cause());
                return;
            }
            BackendConnection connection = new BackendConnection(backend, connect.channel(), security);
            Runnable login = () -> connection.login(ready, startup, credentials);
            if (askForTls) {
                connect.channel().pipeline().addLast(new TlsRequest(backend, security, connectTimeoutMillis, ready,
                        login));
                connect.channel().writeAndFlush(Messages.sslRequest(connect.channel().alloc()));
            } else {
                login.run();
            }
        });
    }

    private void login(Promise<BackendConnection> ready, Map<String, String> startup, Credentials credentials) {
        channel.pipeline().addLast(new BackendDecoder(),
                new Handler(ready, startup.get("user"), credentials, security));
        channel.writeAndFlush(Messages.startup(channel.alloc(), startup));
    }

    public Backend backend() {
        return backend;
    }

    /** The server's ParameterStatus values from login and since (server_version, client_encoding, …). */
    public Map<String, String> parameters() {
        return parameters;
    }

    /** The tracked startup parameters the proxy set here for the client it is lent to (transaction pooling). */
    public Map<String, String> carriedParameters() {
        return carriedParameters;
    }

    public void carriedParameters(Map<String, String> values) {
        this.carriedParameters = values;
    }

    public long connectedAt() {
        return connectedAt;
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The TLS session with the server, or null on a clear-text connection. */
    public SSLSession tlsSession() {
        return TlsSupport.session(channel);
    }

    public int processId() {
        return processId;
    }

    public int secretKey() {
        return secretKey;
    }

    public Object settingsOwner() {
        return settingsOwner;
    }

    public void settingsOwner(Object owner) {
        this.settingsOwner = owner;
        this.appliedSettings = 0;
    }

    /** True the first time only: a fresh connection, whose ParameterStatus values its first client should see. */
    public boolean firstUse() {
        boolean first = !used;
        used = true;
        return first;
    }

    /** When it was last given back to a pool (epoch millis). */
    public long idleSince() {
        return idleSince;
    }

    public void idleSince(long epochMillis) {
        this.idleSince = epochMillis;
    }

    public int appliedSettings() {
        return appliedSettings;
    }

    public void appliedSettings(int count) {
        this.appliedSettings = count;
    }

    public Map<String, String> prepared() {
        return prepared;
    }

    public boolean applyFeedback() {
        return applyFeedback;
    }

    public void applyFeedback(boolean on) {
        this.applyFeedback = on;
    }

    public boolean quorumWaitInstalled() {
        return quorumWaitInstalled;
    }

    public void quorumWaitInstalled(boolean installed) {
        this.quorumWaitInstalled = installed;
    }

    public void listener(Listener listener) {
        this.listener = listener;
    }

    /**
     * Sends a frame as it is (the caller keeps its own reference). Relayed messages take no promise of their own:
     * a failed write closes the connection (see {@link Handler#exceptionCaught}), which the listener is told of.
     */
    public void forward(Frame frame) {
        channel.write(frame.bytes().retainedDuplicate(), channel.voidPromise());
    }

    public ByteBufAllocator alloc() {
        return channel.alloc();
    }

    public void send(ByteBuf message) {
        channel.write(message, channel.voidPromise());
    }

    public void flush() {
        channel.flush();
    }

    /** Stops or resumes reading from the server (back-pressure from a slow client). */
    public void autoRead(boolean enabled) {
        channel.config().setAutoRead(enabled);
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /**
     * Asks the server to cancel what this connection is running, the way clients do: a CancelRequest with the
     * connection's process id and secret key, on a connection of its own, which the server closes once it has
     * signalled the session. When this connection uses TLS, so does the cancel's (as libpq's since PostgreSQL 17;
     * servers before it accept that too), so the secret key never crosses the network in clear.
     */
    public void cancel() {
        Promise<Void> done = channel.eventLoop().newPromise();
        cancelling = done;
        new Bootstrap().group(channel.eventLoop()).channel(Transport.channel())
                .handler(NOTHING_YET)
                .connect(new InetSocketAddress(backend.host().host(), backend.host().port()))
                .addListener((ChannelFuture f) -> {
                    if (!f.isSuccess()) {
                        done.trySuccess(null);
                        return;
                    }
                    Channel c = f.channel();
                    c.closeFuture().addListener(closed -> done.trySuccess(null));
                    Runnable request = () -> c.writeAndFlush(Messages.cancelRequest(c.alloc(), processId, secretKey));
                    if (tlsSession() != null) { // a failed handshake closes the channel: the cancel is lost, as in libpq
                        c.pipeline().addLast(new TlsRequest(backend, security, (int) TimeUnit.SECONDS.toMillis(
                                CANCEL_TIMEOUT_SECONDS), c.eventLoop().newPromise(), request));
                        c.writeAndFlush(Messages.sslRequest(c.alloc()));
                    } else {
                        request.run();
                    }
                    c.eventLoop().schedule(() -> c.close(), CANCEL_TIMEOUT_SECONDS,
                            TimeUnit.SECONDS); // a server that never closes it must not hold the connection back
                });
    }

    /**
     * A cancel sent for this connection that the server may not have acted on yet, or null. Until it has, the
     * connection must not run another client's query: the cancel could land there.
     */
    public Future<Void> cancelling() {
        Future<Void> pending = cancelling;
        return pending == null || pending.isDone() ? null : pending;
    }

    /** Ends the session politely (Terminate), which also rolls back any open transaction there. */
    public void close() {
        if (channel.isActive()) {
            channel.writeAndFlush(Messages.terminate(channel.alloc())).addListener(f -> channel.close());
        }
    }

    @Override
    public String toString() {
        return backend + " (pid " + processId + ")";
    }

    /** Login, then forwarding. */
    private final class Handler extends ChannelInboundHandlerAdapter {
        private final Promise<BackendConnection> ready;
        private final String user;
        private final Credentials credentials;
        private final ServerSecurity security;
        private ScramClient scram;
        private boolean channelBound;
        private boolean serverVerified;
        private boolean passwordSent;
        private boolean loggedIn;

        Handler(Promise<BackendConnection> ready, String user, Credentials credentials, ServerSecurity security) {
            this.ready = ready;
            this.user = user;
            this.credentials = credentials;
            this.security = security;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            Frame frame = (Frame) msg;
            if (loggedIn) {
                if (frame.type() == MessageType.PARAMETER_STATUS) { // e.g. after a SET application_name
                    ByteBuf body = frame.body();
                    parameters.put(Frame.readCString(body), Frame.readCString(body));
                }
                listener.onFrame(BackendConnection.this, frame);
                return;
            }
            try {
                login(ctx, frame);
            } finally {
                frame.release();
            }
        }

        private void login(ChannelHandlerContext ctx, Frame frame) throws Exception {
            switch (frame.type()) {
                case MessageType.AUTHENTICATION:
                    authenticate(ctx, frame.body());
                    break;
                case MessageType.PARAMETER_STATUS:
                    ByteBuf body = frame.body();
                    parameters.put(Frame.readCString(body), Frame.readCString(body));
                    break;
                case MessageType.BACKEND_KEY_DATA:
                    processId = frame.body().getInt(0);
                    secretKey = frame.body().getInt(4);
                    break;
                case MessageType.ERROR_RESPONSE:
                    ready.tryFailure(new BackendLoginException(Messages.errorField(frame, Messages.FIELD_CODE),
                            Messages.errorField(frame, Messages.FIELD_MESSAGE)));
                    ctx.close();
                    break;
                case MessageType.READY_FOR_QUERY:
                    loggedIn = true;
                    ready.trySuccess(BackendConnection.this);
                    break;
                default:
                    break; // NoticeResponse and the like during login: nothing to do
            }
        }

        private void authenticate(ChannelHandlerContext ctx, ByteBuf body) throws Exception {
            int code = body.readInt();
            String method = switch (code) {
                case MessageType.AUTH_OK -> scram == null && !passwordSent ? "none" : null;
                case MessageType.AUTH_CLEARTEXT -> "password";
                case MessageType.AUTH_MD5 -> "md5";
                case MessageType.AUTH_SASL -> "scram-sha-256";
                default -> null;
            };
            if (method != null) {
                security.checkLoginMethod(method);
            }
            switch (code) {
                case MessageType.AUTH_OK:
                    if (scram != null && !serverVerified) {
                        throw new BackendLoginException("08004", "the server ended its SCRAM exchange without proving "
                                + "it knows the password");
                    }
                    return;
                case MessageType.AUTH_CLEARTEXT:
                    ctx.writeAndFlush(Messages.password(ctx.alloc(), requirePassword()));
                    passwordSent = true;
                    return;
                case MessageType.AUTH_MD5:
                    byte[] salt = new byte[4];
                    body.readBytes(salt);
                    String answer = credentials.md5Hash() != null ? Md5Password.fromHash(credentials.md5Hash(), salt)
                            : Md5Password.encode(requirePassword(), user, salt);
                    ctx.writeAndFlush(Messages.password(ctx.alloc(), answer));
                    passwordSent = true;
                    return;
                case MessageType.AUTH_SASL:
                    List<String> mechanisms = new ArrayList<>();
                    String mechanism;
                    while (!(mechanism = Frame.readCString(body)).isEmpty()) {
                        mechanisms.add(mechanism);
                    }
                    ScramClient.PasswordBuildStage secret = ScramClient.builder().advertisedMechanisms(mechanisms)
                            .username("*");
                    ScramClient.FinalBuildStage client = (credentials.scramClientKey() != null
                            ? secret.clientAndServerKey(credentials.scramClientKey(), credentials.scramServerKey())
                            : secret.password(requirePassword().toCharArray()))
                            .stringPreparation(StringPreparation.POSTGRESQL_PREPARATION);
                    X509Certificate server = serverCertificate();
                    if (server != null && security.channelBinding() != ServerSecurity.ChannelBinding.DISABLE) {
                        // offered or not, so that a server stripped of SCRAM-SHA-256-PLUS on the way is noticed
                        client.channelBinding(TlsServerEndpoint.TLS_SERVER_END_POINT,
                                TlsServerEndpoint.getChannelBindingData(server));
                        channelBound = mechanisms.contains("SCRAM-SHA-256-PLUS");
                    }
                    if (!channelBound && security.channelBinding() == ServerSecurity.ChannelBinding.REQUIRE) {
                        throw new BackendLoginException("08004", "jdbc.channelBinding is require, but the server did "
                                + "not offer SCRAM-SHA-256-PLUS" + (server == null ? " (the connection is not "
                                + "encrypted)" : ""));
                    }
                    scram = client.build();
                    ctx.writeAndFlush(Messages.saslInitialResponse(ctx.alloc(), scram.getScramMechanism().getName(),
                            scram.clientFirstMessage().toString()));
                    return;
                case MessageType.AUTH_SASL_CONTINUE:
                    scram.serverFirstMessage(body.toString(StandardCharsets.UTF_8));
                    ctx.writeAndFlush(Messages.saslResponse(ctx.alloc(), scram.clientFinalMessage().toString()));
                    return;
                case MessageType.AUTH_SASL_FINAL:
                    scram.serverFinalMessage(body.toString(StandardCharsets.UTF_8)); // verifies the server
                    serverVerified = true;
                    return;
                default:
                    throw new BackendLoginException("08004", "the server asked for an authentication method the "
                            + "proxy does not support (code " + code + ")");
            }
        }

        private X509Certificate serverCertificate() throws SSLPeerUnverifiedException {
            SSLSession session = tlsSession();
            return session == null ? null : (X509Certificate) session.getPeerCertificates()[0];
        }

        private String requirePassword() throws BackendLoginException {
            if (credentials.password() == null) {
                throw new BackendLoginException("28P01", "the server asks for a password and none is configured"
                        + " for this role (or it asks for a method the client's own login cannot be passed on to)");
            }
            return credentials.password();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Listener l = listener; // none yet if the login's last read completes before its owner takes it
            if (loggedIn && l != null) {
                l.onReadComplete(BackendConnection.this);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ready.tryFailure(new BackendLoginException("08006", "the server closed the connection during login"));
            Listener l = listener;
            if (loggedIn && l != null) {
                l.onClosed(BackendConnection.this);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ready.tryFailure(cause);
            ctx.close();
        }
    }
}
