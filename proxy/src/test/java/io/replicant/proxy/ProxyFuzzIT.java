package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;

/**
 * Random, malformed and truncated input thrown at the proxy over raw sockets. Whatever arrives, the proxy
 * answers (an ErrorResponse, or anything) or closes the connection within a bounded time, never leaves a
 * session behind once the client is gone, and keeps serving real clients. The seed is printed so a failure
 * can be replayed.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ProxyFuzzIT {
    private static final byte[] TYPES = "QPBDESHCXFdcfpzZ\0".getBytes(StandardCharsets.ISO_8859_1);

    private LocalPostgresCluster cluster;
    private ReplicantProxy proxy;
    /** The same in transaction pooling, with a pool small enough that one leaked connection would wedge it. */
    private ReplicantProxy pooled;

    @BeforeAll
    void start(LocalPostgresCluster cluster) throws SQLException {
        this.cluster = cluster;
        proxy = ProxyFixture.start(cluster, "  auth: trust\n  max_message_size: 1MB\n");
        pooled = ProxyFixture.start(cluster, "  auth: trust\n  max_message_size: 1MB\n  pool_mode: transaction\n"
                + "  pool_size: 1\n  threads: 1\n  pool_wait_timeout: 5s\n");
    }

    @AfterAll
    void stop() {
        proxy.close();
        pooled.close();
    }

    @Test
    void randomAndMalformedInputNeverCrashesOrWedgesTheProxy() throws Exception {
        fuzz(proxy);
    }

    @Test
    void randomAndMalformedInputDoesNotWedgeAPooledProxy() throws Exception {
        fuzz(pooled);
        try (Connection c = ProxyFixture.connect(pooled, "extended"); Statement s = c.createStatement()) {
            for (int i = 0; i < 4; i++) { // each server's pool holds one connection: none may be left lent
                s.execute("/* replicant:route=primary */ SELECT 1");
                s.execute("SELECT 1");
            }
        }
    }

    private void fuzz(ReplicantProxy target) throws Exception {
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        System.out.println("ProxyFuzzIT seed " + seed + " (replay with -Dfuzz.seed=" + seed + ")");
        Random random = new Random(seed);
        for (int round = 0; round < 300; round++) {
            byte[] input = random.nextInt(4) == 0 ? randomStartup(random) : loggedInGarbage(random);
            if (random.nextBoolean() && input.length > 1) {
                input = java.util.Arrays.copyOf(input, 1 + random.nextInt(input.length - 1)); // truncated
            }
            exchange(target, input, random.nextBoolean(), "seed " + seed + " round " + round);
        }
        awaitNoClients(target, "seed " + seed);
        try (Connection c = ProxyFixture.connect(target, "extended"); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT 42")) {
            assertTrue(rs.next());
            assertEquals(42, rs.getInt(1), "the proxy still serves real clients");
        }
    }

    @Test
    void oversizedAndUndersizedLengthsAreProtocolViolations() throws Exception {
        for (int length : new int[] {Integer.MAX_VALUE, 2 << 20, 3, -1}) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            bytes.write(startupMessage());
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte('Q');
            out.writeInt(length);
            String answer = exchange(proxy, bytes.toByteArray(), false, "length " + length);
            assertTrue(answer.contains("08P01"), "length " + length + " answered: " + answer);
        }
    }

    /** Sends the bytes, then reads until the proxy closes, goes quiet for a moment, or 5 s pass. */
    private static String exchange(ReplicantProxy target, byte[] input, boolean closeEarly, String what)
            throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", target.address().getPort()), 2000);
            socket.getOutputStream().write(input);
            socket.getOutputStream().flush();
            if (closeEarly) {
                return "";
            }
            socket.setSoTimeout(300);
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < deadline) {
                try {
                    int n = in.read(buffer);
                    if (n < 0) {
                        break; // closed by the proxy
                    }
                    answer.write(buffer, 0, n);
                } catch (SocketTimeoutException quiet) {
                    break; // waiting for more input, as the protocol allows
                } catch (IOException reset) {
                    break;
                }
            }
            assertTrue(System.nanoTime() < deadline + 1_000_000_000L, what + ": the proxy kept talking");
            return answer.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static void awaitNoClients(ReplicantProxy target, String what) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (target.context().clients() > 0 && System.nanoTime() < deadline) {
            ProxyFixture.sleep(20);
        }
        assertEquals(0, target.context().clients(), what + ": sessions left behind after their clients left");
    }

    private static byte[] startupMessage() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(body);
        out.writeInt(196608);
        for (String s : new String[] {"user", LocalPostgresCluster.APP_USER, "database",
                LocalPostgresCluster.APP_DATABASE}) {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.writeByte(0);
        }
        out.writeByte(0);
        ByteArrayOutputStream packet = new ByteArrayOutputStream();
        new DataOutputStream(packet).writeInt(body.size() + 4);
        packet.write(body.toByteArray());
        return packet.toByteArray();
    }

    /** A startup packet with a random length, protocol code and body. */
    private static byte[] randomStartup(Random random) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        byte[] body = new byte[random.nextInt(64)];
        random.nextBytes(body);
        int[] codes = {196608, 80877103, 80877104, 80877102, random.nextInt()};
        out.writeInt(random.nextInt(3) == 0 ? random.nextInt() : body.length + 8);
        out.writeInt(codes[random.nextInt(codes.length)]);
        out.write(body);
        return bytes.toByteArray();
    }

    /** A valid login followed by a few frames of random type and contents (lengths mostly right). */
    private static byte[] loggedInGarbage(Random random) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(startupMessage());
        DataOutputStream out = new DataOutputStream(bytes);
        int frames = 1 + random.nextInt(6);
        for (int i = 0; i < frames; i++) {
            byte[] body = new byte[random.nextInt(40)];
            if (random.nextBoolean()) {
                random.nextBytes(body);
            } else { // printable, often NUL-terminated: gets further into the parsers
                for (int j = 0; j < body.length; j++) {
                    body[j] = (byte) (random.nextInt(8) == 0 ? 0 : 32 + random.nextInt(95));
                }
            }
            out.writeByte(TYPES[random.nextInt(TYPES.length)]);
            out.writeInt(random.nextInt(8) == 0 ? random.nextInt(64) : body.length + 4);
            out.write(body);
        }
        if (random.nextBoolean()) {
            out.writeByte('S');
            out.writeInt(4);
        }
        return bytes.toByteArray();
    }
}
