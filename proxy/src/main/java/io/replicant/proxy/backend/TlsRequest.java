package io.replicant.proxy.backend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Promise;
import io.replicant.router.Backend;

/**
 * Waits for the server's one-byte answer to the proxy's SSLRequest: 'S' starts the TLS handshake, after which
 * the login runs inside TLS; 'N' lets the login run in clear, unless sslmode requires TLS. Until the login
 * starts, any failure (a refused certificate included) fails the connection's promise with 08001.
 */
final class TlsRequest extends ChannelInboundHandlerAdapter {
    private final Backend backend;
    private final ServerSecurity security;
    private final int handshakeTimeoutMillis;
    private final Promise<BackendConnection> ready;
    private final Runnable login;

    TlsRequest(Backend backend, ServerSecurity security, int handshakeTimeoutMillis, Promise<BackendConnection> ready,
            Runnable login) {
        this.backend = backend;
        this.security = security;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
        this.ready = ready;
        this.login = login;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            byte answer = in.readByte();
            if (in.isReadable()) { // bytes the handshake would otherwise take as its own (CVE-2021-23214)
                fail(ctx, "the server sent more than its one-byte answer to the TLS request");
            } else if (answer == 'S') {
                SslHandler handshake = security.newHandler(ctx.alloc(), backend.host().host(), backend.host().port());
                handshake.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
                ctx.pipeline().addFirst(handshake);
                handshake.handshakeFuture().addListener(f -> {
                    if (f.isSuccess()) {
                        start(ctx);
                    } else {
                        tlsFailed(ctx, f.cause());
                    }
                });
            } else if (answer == 'N' && !security.required()) {
                start(ctx);
            } else if (answer == 'N') {
                fail(ctx, backend + " does not accept TLS connections, and jdbc.sslmode is " + security.sslmode());
            } else {
                fail(ctx, "unexpected answer to the TLS request from " + backend + ": " + (char) answer);
            }
        } finally {
            in.release();
        }
    }

    private void start(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(this);
        login.run();
    }

    private void fail(ChannelHandlerContext ctx, String message) {
        ready.tryFailure(new BackendLoginException("08001", message));
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ready.tryFailure(new BackendLoginException("08006", "the server closed the connection during the TLS request"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        tlsFailed(ctx, cause);
    }

    private void tlsFailed(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        fail(ctx, "TLS with " + backend + " failed (jdbc.sslmode is " + security.sslmode() + "): " + root.getMessage());
    }
}
