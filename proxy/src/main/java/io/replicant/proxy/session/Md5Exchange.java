package io.replicant.proxy.session;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.Md5Password;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;

/**
 * An md5 login, for clients too old for SCRAM: a fresh 4-byte salt, and the client must answer
 * {@code "md5" + md5(md5(password + user) + salt)}. Weaker than SCRAM (a captured exchange allows offline
 * guessing), so only where {@code proxy.auth: md5} asks for it.
 */
final class Md5Exchange implements ClientAuth {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String user;
    private final String password;
    private final byte[] salt = new byte[4];
    private boolean done;

    Md5Exchange(String user, String password) {
        this.user = user;
        this.password = password;
        RANDOM.nextBytes(salt);
    }

    @Override
    public ByteBuf request(ByteBufAllocator alloc) {
        return Messages.authentication(alloc, MessageType.AUTH_MD5, salt);
    }

    @Override
    public ByteBuf answer(Frame frame, ByteBufAllocator alloc) throws Failure {
        String sent;
        try {
            sent = Frame.readCString(frame.body());
        } catch (RuntimeException e) {
            throw new Failure("malformed password message");
        }
        byte[] expected = Md5Password.encode(password, user, salt).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, sent.getBytes(StandardCharsets.US_ASCII))) {
            throw new Failure(null);
        }
        done = true;
        return null;
    }

    @Override
    public boolean done() {
        return done;
    }
}
