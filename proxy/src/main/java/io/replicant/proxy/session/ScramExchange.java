package io.replicant.proxy.session;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;

/**
 * The server side of one SCRAM-SHA-256 login (RFC 5802/7677, as PostgreSQL runs it: no channel binding, the
 * user name comes from the StartupMessage). The verifier is derived from the configured password with a
 * fresh salt per login, so no secret is stored beyond the configuration itself.
 */
final class ScramExchange implements ClientAuth {
    static final String MECHANISM = "SCRAM-SHA-256";
    private static final ScramMechanism SHA_256 = ScramMechanism.SCRAM_SHA_256;
    private static final int ITERATIONS = 4096;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final char[] password;
    private boolean started;
    private boolean done;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private byte[] saltedPassword;

    ScramExchange(String password) {
        this.password = password.toCharArray();
    }

    /**
     * Answers the client's next SASL message: SASLInitialResponse (mechanism, then the client-first-message)
     * with SASLContinue, then SASLResponse with SASLFinal.
     */
    @Override
    public ByteBuf answer(Frame frame, ByteBufAllocator alloc) throws Failure {
        ByteBuf body = frame.body();
        try {
            if (!started) {
                String mechanism = Frame.readCString(body);
                if (!MECHANISM.equals(mechanism)) {
                    throw new Failure("unsupported SASL mechanism " + mechanism);
                }
                String clientFirst = body.readCharSequence(body.readInt(), StandardCharsets.UTF_8).toString();
                started = true;
                return Messages.authentication(alloc, MessageType.AUTH_SASL_CONTINUE, utf8(serverFirst(clientFirst)));
            }
            String serverFinal = serverFinal(body.toString(StandardCharsets.UTF_8));
            done = true;
            return Messages.authentication(alloc, MessageType.AUTH_SASL_FINAL, utf8(serverFinal));
        } catch (RuntimeException e) {
            throw new Failure("malformed SASL message: " + e.getMessage());
        }
    }

    @Override
    public boolean done() {
        return done;
    }

    @Override
    public ByteBuf request(ByteBufAllocator alloc) {
        return Messages.authentication(alloc, MessageType.AUTH_SASL,
                (MECHANISM + "\0\0").getBytes(StandardCharsets.US_ASCII));
    }

    /** Takes the client-first-message; returns the server-first-message. */
    private String serverFirst(String clientFirst) throws Failure {
        if (clientFirst.startsWith("p=")) {
            throw new Failure("channel binding is not supported by the proxy");
        }
        if (!clientFirst.startsWith("n,") && !clientFirst.startsWith("y,")) {
            throw new Failure("malformed SCRAM client-first-message");
        }
        int bare = clientFirst.indexOf(',', 2);
        if (bare < 0) {
            throw new Failure("malformed SCRAM client-first-message");
        }
        clientFirstBare = clientFirst.substring(bare + 1);
        String clientNonce = attribute(clientFirstBare, 'r');
        byte[] salt = ScramFunctions.salt(16, RANDOM);
        nonce = clientNonce + ScramFunctions.nonce(18, RANDOM);
        saltedPassword = ScramFunctions.saltedPassword(SHA_256, StringPreparation.POSTGRESQL_PREPARATION, password, salt,
                ITERATIONS);
        serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt) + ",i=" + ITERATIONS;
        return serverFirst;
    }

    /** Takes the client-final-message; returns the server-final-message, or throws if the proof is wrong. */
    private String serverFinal(String clientFinal) throws Failure {
        int proofAt = clientFinal.lastIndexOf(",p=");
        if (proofAt < 0 || !nonce.equals(attribute(clientFinal, 'r'))) {
            throw new Failure("malformed SCRAM client-final-message");
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + clientFinal.substring(0, proofAt);
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(clientFinal.substring(proofAt + 3));
        } catch (IllegalArgumentException e) {
            throw new Failure("malformed SCRAM client proof");
        }
        byte[] storedKey = ScramFunctions.storedKey(SHA_256, ScramFunctions.clientKey(SHA_256, saltedPassword));
        if (!verify(proof, storedKey, authMessage)) {
            throw new Failure(null);
        }
        byte[] serverKey = ScramFunctions.serverKey(SHA_256, saltedPassword);
        return "v=" + Base64.getEncoder().encodeToString(ScramFunctions.serverSignature(SHA_256, serverKey, authMessage));
    }

    private static boolean verify(byte[] proof, byte[] storedKey, String authMessage) {
        byte[] signature = ScramFunctions.clientSignature(SHA_256, storedKey, authMessage);
        if (proof.length != signature.length) {
            return false;
        }
        byte[] clientKey = new byte[proof.length];
        for (int i = 0; i < proof.length; i++) {
            clientKey[i] = (byte) (proof[i] ^ signature[i]);
        }
        return MessageDigest.isEqual(ScramFunctions.hash(SHA_256, clientKey), storedKey);
    }

    private static String attribute(String message, char name) throws Failure {
        for (String part : message.split(",")) {
            if (part.length() >= 2 && part.charAt(0) == name && part.charAt(1) == '=') {
                return part.substring(2);
            }
        }
        throw new Failure("SCRAM message without '" + name + "' attribute");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
