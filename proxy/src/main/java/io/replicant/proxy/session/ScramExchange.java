package io.replicant.proxy.session;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.backend.Credentials;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;

/**
 * The server side of one SCRAM-SHA-256 login (RFC 5802/7677, as PostgreSQL runs it: the user name comes from the
 * StartupMessage, and over TLS SCRAM-SHA-256-PLUS binds the login to the proxy's certificate, RFC 5929's
 * tls-server-end-point). The verifier is derived from the configured password with a fresh salt per login, so
 * no secret is stored beyond the configuration itself.
 */
final class ScramExchange implements ClientAuth {
    static final String MECHANISM = "SCRAM-SHA-256";
    static final String MECHANISM_PLUS = "SCRAM-SHA-256-PLUS";
    private static final String BINDING_TYPE = "tls-server-end-point";
    private static final ScramMechanism SHA_256 = ScramMechanism.SCRAM_SHA_256;
    private static final int ITERATIONS = 4096;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern VERIFIER = Pattern.compile(
            "SCRAM-SHA-256\\$(\\d+):([A-Za-z0-9+/=]+)\\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)");

    private final int iterations;
    private final byte[] salt;
    private final byte[] storedKey;
    private final byte[] serverKey;
    /** The proxy certificate's tls-server-end-point data, when the client came over TLS; else null. */
    private byte[] channelBinding;
    private boolean started;
    private boolean bound;
    private boolean done;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private byte[] clientKey;

    private ScramExchange(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {
        this.iterations = iterations;
        this.salt = salt;
        this.storedKey = storedKey;
        this.serverKey = serverKey;
    }

    /** Against a password from the configuration: the verifier is derived with a fresh salt per login. */
    static ScramExchange forPassword(String password) {
        byte[] salt = ScramFunctions.salt(16, RANDOM);
        byte[] salted = ScramFunctions.saltedPassword(SHA_256, StringPreparation.POSTGRESQL_PREPARATION,
                password.toCharArray(), salt, ITERATIONS);
        return new ScramExchange(ITERATIONS, salt,
                ScramFunctions.storedKey(SHA_256, ScramFunctions.clientKey(SHA_256, salted)),
                ScramFunctions.serverKey(SHA_256, salted));
    }

    /**
     * Against a stored verifier, {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>} as in
     * pg_authid; null if it is not one.
     */
    static ScramExchange forVerifier(String verifier) {
        Matcher m = VERIFIER.matcher(verifier == null ? "" : verifier);
        if (!m.matches()) {
            return null;
        }
        Base64.Decoder b64 = Base64.getDecoder();
        return new ScramExchange(Integer.parseInt(m.group(1)), b64.decode(m.group(2)), b64.decode(m.group(3)),
                b64.decode(m.group(4)));
    }

    /** For a role that does not exist: an exchange that runs like any other and always fails (no user probing). */
    static ScramExchange failing() {
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        return new ScramExchange(ITERATIONS, ScramFunctions.salt(16, RANDOM), random, random);
    }

    @Override
    public void offerChannelBinding(byte[] tlsServerEndPoint) {
        this.channelBinding = tlsServerEndPoint;
    }

    /** After a successful login, what the proxy needs to log in to servers as the same role. */
    @Override
    public Credentials credentials() {
        return Credentials.scramKeys(clientKey, serverKey);
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
                bound = MECHANISM_PLUS.equals(mechanism) && channelBinding != null;
                if (!MECHANISM.equals(mechanism) && !bound) {
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
        String mechanisms = (channelBinding != null ? MECHANISM_PLUS + "\0" : "") + MECHANISM + "\0\0";
        return Messages.authentication(alloc, MessageType.AUTH_SASL, mechanisms.getBytes(StandardCharsets.US_ASCII));
    }

    /** Takes the client-first-message; returns the server-first-message. */
    private String serverFirst(String clientFirst) throws Failure {
        // the GS2 header says whether the client binds (p=), could but thinks the proxy cannot (y) or cannot (n)
        if (bound != clientFirst.startsWith("p=")) {
            throw new Failure(bound ? "SCRAM-SHA-256-PLUS without channel binding"
                    : "channel binding requested with SCRAM-SHA-256 instead of SCRAM-SHA-256-PLUS");
        }
        if (bound && !clientFirst.startsWith("p=" + BINDING_TYPE + ",")) {
            throw new Failure("unsupported channel binding type (the proxy offers " + BINDING_TYPE + ")");
        }
        if (clientFirst.startsWith("y,") && channelBinding != null) {
            throw new Failure("SCRAM channel binding negotiation error: the client supports channel binding and "
                    + "thinks the proxy does not, but the proxy offered SCRAM-SHA-256-PLUS");
        }
        if (!bound && !clientFirst.startsWith("n,") && !clientFirst.startsWith("y,")) {
            throw new Failure("malformed SCRAM client-first-message");
        }
        int bare = clientFirst.indexOf(',', clientFirst.indexOf(',') + 1);
        if (bare < 0) {
            throw new Failure("malformed SCRAM client-first-message");
        }
        gs2Header = clientFirst.substring(0, bare + 1);
        clientFirstBare = clientFirst.substring(bare + 1);
        String clientNonce = attribute(clientFirstBare, 'r');
        // base64 of 18 random bytes, as PostgreSQL makes it: a nonce of any printable characters may hold "s=",
        // which asyncpg 0.27 (Debian 12's) takes for the salt, failing about one login in 500
        byte[] serverNonce = new byte[18];
        RANDOM.nextBytes(serverNonce);
        nonce = clientNonce + Base64.getEncoder().encodeToString(serverNonce);
        serverFirst = "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt) + ",i=" + iterations;
        return serverFirst;
    }

    /** Takes the client-final-message; returns the server-final-message, or throws if the proof is wrong. */
    private String serverFinal(String clientFinal) throws Failure {
        int proofAt = clientFinal.lastIndexOf(",p=");
        if (proofAt < 0 || !nonce.equals(attribute(clientFinal, 'r'))) {
            throw new Failure("malformed SCRAM client-final-message");
        }
        if (!attribute(clientFinal, 'c').equals(expectedBinding())) {
            throw new Failure("SCRAM channel binding check failed");
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + clientFinal.substring(0, proofAt);
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(clientFinal.substring(proofAt + 3));
        } catch (IllegalArgumentException e) {
            throw new Failure("malformed SCRAM client proof");
        }
        clientKey = recoverClientKey(proof, authMessage);
        if (clientKey == null) {
            throw new Failure(null);
        }
        return "v=" + Base64.getEncoder().encodeToString(ScramFunctions.serverSignature(SHA_256, serverKey, authMessage));
    }

    /** The client-final-message's c=: the GS2 header, then (when bound) the proxy certificate's end point. */
    private String expectedBinding() {
        byte[] header = gs2Header.getBytes(StandardCharsets.UTF_8);
        byte[] data = bound ? channelBinding : new byte[0];
        byte[] both = new byte[header.length + data.length];
        System.arraycopy(header, 0, both, 0, header.length);
        System.arraycopy(data, 0, both, header.length, data.length);
        return Base64.getEncoder().encodeToString(both);
    }

    /** ClientKey = proof XOR ClientSignature; the proof is right when H(ClientKey) is the StoredKey. Null if not. */
    private byte[] recoverClientKey(byte[] proof, String authMessage) {
        byte[] signature = ScramFunctions.clientSignature(SHA_256, storedKey, authMessage);
        if (proof.length != signature.length) {
            return null;
        }
        byte[] key = new byte[proof.length];
        for (int i = 0; i < proof.length; i++) {
            key[i] = (byte) (proof[i] ^ signature[i]);
        }
        return MessageDigest.isEqual(ScramFunctions.hash(SHA_256, key), storedKey) ? key : null;
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
