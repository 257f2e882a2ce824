package io.replicant.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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

    /** The client proved it knows the password. */
    boolean done();

    static ClientAuth forMethod(String method, String user, String password) {
        return method.equals("md5") ? new Md5Exchange(user, password) : new ScramExchange(password);
    }

    final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String reason) {
            super(reason);
        }
    }
}
