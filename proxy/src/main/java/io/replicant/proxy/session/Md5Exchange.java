package io.replicant.proxy.session;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.backend.Credentials;
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

    /** pg_authid's form, {@code "md5" + md5hex(password + user)}; null for a role that cannot log in. */
    private final String storedHash;
    private final byte[] salt = new byte[4];
    private boolean done;

    Md5Exchange(String storedHash) {
        this.storedHash = storedHash;
        RANDOM.nextBytes(salt);
    }

    static Md5Exchange forPassword(String user, String password) {
        return new Md5Exchange(Md5Password.hash(password, user));
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
        if (storedHash == null || !MessageDigest.isEqual(Md5Password.fromHash(storedHash, salt)
                .getBytes(StandardCharsets.US_ASCII), sent.getBytes(StandardCharsets.US_ASCII))) {
            throw new Failure(null);
        }
        done = true;
        return null;
    }

    @Override
    public boolean done() {
        return done;
    }

    @Override
    public Credentials credentials() {
        return Credentials.md5(storedHash);
    }
}
