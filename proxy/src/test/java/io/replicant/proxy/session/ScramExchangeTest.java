package io.replicant.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.ongres.scram.client.ScramClient;
import com.ongres.scram.common.exception.ScramException;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;

/**
 * The proxy's side of SCRAM against ongres' client (the one pgjdbc uses): plain SCRAM-SHA-256, and over TLS
 * SCRAM-SHA-256-PLUS bound to the proxy's certificate, which a client bound to another certificate (a man in the
 * middle) or a client talked out of binding (a downgrade) cannot pass.
 */
class ScramExchangeTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final String PASSWORD = "s3cret";
    private static final byte[] PROXY_END_POINT = "hash of the proxy's certificate".getBytes(StandardCharsets.UTF_8);

    /** Runs a login; returns the mechanism the client chose. */
    private static String login(ScramExchange server, byte[] clientSeesEndPoint, String password)
            throws ClientAuth.Failure, ScramException {
        ByteBuf request = server.request(ALLOC);
        List<String> mechanisms = new ArrayList<>();
        ByteBuf body = request.slice(9, request.readableBytes() - 9); // type, length, AuthenticationSASL code
        String mechanism;
        while (!(mechanism = Frame.readCString(body)).isEmpty()) {
            mechanisms.add(mechanism);
        }
        request.release();
        ScramClient.FinalBuildStage builder = ScramClient.builder().advertisedMechanisms(mechanisms).username("*")
                .password(password.toCharArray());
        if (clientSeesEndPoint != null) {
            builder.channelBinding("tls-server-end-point", clientSeesEndPoint);
        }
        ScramClient client = builder.build();
        ByteBuf serverFirst = server.answer(frame(Messages.saslInitialResponse(ALLOC,
                client.getScramMechanism().getName(), client.clientFirstMessage().toString())), ALLOC);
        client.serverFirstMessage(saslData(serverFirst));
        ByteBuf serverFinal = server.answer(frame(Messages.saslResponse(ALLOC, client.clientFinalMessage().toString())),
                ALLOC);
        client.serverFinalMessage(saslData(serverFinal)); // the client checks the proxy's signature too
        assertTrue(server.done());
        return client.getScramMechanism().getName();
    }

    private static Frame frame(ByteBuf message) {
        return new Frame(MessageType.PASSWORD, message);
    }

    private static String saslData(ByteBuf authentication) {
        String data = authentication.toString(9, authentication.readableBytes() - 9, StandardCharsets.UTF_8);
        authentication.release();
        return data;
    }

    private static ScramExchange overTls() {
        ScramExchange exchange = ScramExchange.forPassword(PASSWORD);
        exchange.offerChannelBinding(PROXY_END_POINT);
        return exchange;
    }

    @Test
    void clearTextClientsGetPlainScram() throws Exception {
        assertEquals("SCRAM-SHA-256", login(ScramExchange.forPassword(PASSWORD), null, PASSWORD));
        assertThrows(ClientAuth.Failure.class, () -> login(ScramExchange.forPassword(PASSWORD), null, "wrong"));
    }

    /** PostgreSQL's nonces are base64; clients that parse loosely (asyncpg 0.27) read "s=" in one as the salt. */
    @Test
    void theServerNonceIsBase64LikePostgreSqls() throws Exception {
        for (int i = 0; i < 1000; i++) {
            ScramExchange server = ScramExchange.forPassword(PASSWORD);
            server.request(ALLOC).release();
            String serverFirst = saslData(server.answer(frame(Messages.saslInitialResponse(ALLOC, "SCRAM-SHA-256",
                    "n,,n=*,r=clientnonce")), ALLOC));
            assertTrue(serverFirst.matches("r=clientnonce[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=4096"), serverFirst);
        }
    }

    @Test
    void overTlsTheLoginIsBoundToTheProxysCertificate() throws Exception {
        assertEquals("SCRAM-SHA-256-PLUS", login(overTls(), PROXY_END_POINT, PASSWORD));
        assertEquals("SCRAM-SHA-256", login(overTls(), null, PASSWORD), "a client without binding still logs in");
        byte[] otherCertificate = Arrays.copyOf(PROXY_END_POINT, PROXY_END_POINT.length);
        otherCertificate[0] ^= 1;
        ClientAuth.Failure relayed = assertThrows(ClientAuth.Failure.class,
                () -> login(overTls(), otherCertificate, PASSWORD));
        assertEquals("SCRAM channel binding check failed", relayed.getMessage());
    }

    @Test
    void aClientToldThereIsNoBindingIsRefusedAsADowngrade() {
        ScramExchange server = overTls();
        server.request(ALLOC).release();
        // "y": the client could bind but believes the server cannot, so someone removed -PLUS from the offer
        ClientAuth.Failure downgrade = assertThrows(ClientAuth.Failure.class, () -> server.answer(frame(
                Messages.saslInitialResponse(ALLOC, "SCRAM-SHA-256", "y,,n=*,r=abcdefghijkl")), ALLOC));
        assertTrue(downgrade.getMessage().startsWith("SCRAM channel binding negotiation error"),
                downgrade.getMessage());
        ScramExchange clear = ScramExchange.forPassword(PASSWORD);
        clear.request(ALLOC).release();
        assertEquals("unsupported SASL mechanism SCRAM-SHA-256-PLUS", assertThrows(ClientAuth.Failure.class,
                () -> clear.answer(frame(Messages.saslInitialResponse(ALLOC, "SCRAM-SHA-256-PLUS",
                        "p=tls-server-end-point,,n=*,r=abcdefghijkl")), ALLOC)).getMessage());
    }
}
