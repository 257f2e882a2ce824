package io.replicant.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.backend.Credentials;
import io.replicant.proxy.protocol.Frame;

/** The server side of one password login ({@code proxy.auth}): SCRAM-SHA-256 or md5. */
interface ClientAuth {
    /** The Authentication request that starts the exchange. */
    ByteBuf request(ByteBufAllocator alloc);

    /**
     * Takes the client's next PasswordMessage (or SASL response).
     *
     * @return what to send back, or null for nothing
     * @throws Failure for a malformed message (with a reason) or a wrong password (reason null)
     */
    ByteBuf answer(Frame frame, ByteBufAllocator alloc) throws Failure;

    /**
     * The client came over TLS: a method that can bind its login to the proxy's certificate (RFC 5929's
     * tls-server-end-point data) offers to, as PostgreSQL does with SCRAM-SHA-256-PLUS. Called before
     * {@link #request}.
     */
    default void offerChannelBinding(byte[] tlsServerEndPoint) {
    }

    /** The client proved it knows the password. */
    boolean done();

    /** What the proxy logs in to servers with for this role (roles from {@code proxy.auth_query}). */
    Credentials credentials();

    /** Against the configured password. */
    static ClientAuth forPassword(String method, String user, String password) {
        return method.equals("md5") ? Md5Exchange.forPassword(user, password) : ScramExchange.forPassword(password);
    }

    /**
     * Against a verifier from {@code proxy.auth_query}, as PostgreSQL would: a SCRAM verifier always means
     * SCRAM; an md5 hash works with {@code md5} only. A missing role or an unusable verifier gets an exchange
     * that fails at the end, like a wrong password, so logins cannot probe which roles exist.
     */
    static ClientAuth forVerifier(String method, String verifier) {
        ScramExchange scram = ScramExchange.forVerifier(verifier);
        if (scram != null) {
            return scram;
        }
        boolean md5Hash = verifier != null && verifier.matches("md5[0-9a-f]{32}");
        if (method.equals("md5")) {
            return new Md5Exchange(md5Hash ? verifier : null);
        }
        return ScramExchange.failing();
    }

    final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String reason) {
            super(reason);
        }
    }
}
