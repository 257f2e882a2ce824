package io.replicant.proxy.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;

/** The client-side codec, byte for byte, including frames split across reads and oversized ones. */
class FrontendDecoderTest {

    private static byte[] hex(String hex) {
        return ByteBufUtil.decodeHexDump(hex.replace(" ", ""));
    }

    /** StartupMessage for user "app", database "db": length 30, protocol 3.0, then name\0value\0 pairs and \0. */
    private static final byte[] STARTUP = hex("0000001e 00030000 7573657200 61707000 646174616261736500 646200 00");
    /** Query "SELECT 1": 'Q', length 13, "SELECT 1\0". */
    private static final byte[] QUERY = hex("51 0000000d 53454c4543542031 00");

    @Test
    void startupThenTypedFrames() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrontendDecoder(1 << 20));
        ch.writeInbound(Unpooled.wrappedBuffer(hex("00000008 04d2162f"))); // SSLRequest
        assertInstanceOf(StartupPacket.SslRequest.class, ch.readInbound());
        ch.writeInbound(Unpooled.wrappedBuffer(STARTUP));
        StartupPacket.StartupMessage startup = ch.readInbound();
        assertEquals(Map.of("user", "app", "database", "db"), startup.parameters());
        ch.writeInbound(Unpooled.wrappedBuffer(QUERY));
        Frame query = ch.readInbound();
        assertEquals('Q', query.type());
        assertEquals("SELECT 1", Messages.querySql(query));
        assertArrayEquals(QUERY, ByteBufUtil.getBytes(query.bytes()), "forwarded byte for byte");
        query.release();
        assertFalse(ch.finish());
    }

    @Test
    void aFrameSplitAcrossReadsIsEmittedOnceComplete() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrontendDecoder(1 << 20));
        ch.writeInbound(Unpooled.wrappedBuffer(STARTUP));
        ch.readInbound();
        byte[] two = new byte[QUERY.length * 2];
        System.arraycopy(QUERY, 0, two, 0, QUERY.length);
        System.arraycopy(QUERY, 0, two, QUERY.length, QUERY.length);
        for (int split : new int[] {1, 3, 5, QUERY.length + 2}) {
            ch.writeInbound(Unpooled.wrappedBuffer(two, 0, split));
            int emitted = split >= QUERY.length ? 1 : 0;
            for (int i = 0; i < emitted; i++) {
                ((Frame) ch.readInbound()).release();
            }
            assertNull(ch.readInbound(), "nothing more before the rest arrives (split at " + split + ")");
            ch.writeInbound(Unpooled.wrappedBuffer(two, split, two.length - split));
            for (int i = emitted; i < 2; i++) {
                Frame f = ch.readInbound();
                assertEquals("SELECT 1", Messages.querySql(f));
                f.release();
            }
        }
        assertFalse(ch.finish());
    }

    @Test
    void cancelRequestCarriesProcessAndKey() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrontendDecoder(1 << 20));
        ch.writeInbound(Unpooled.wrappedBuffer(hex("00000010 04d2162e 00003039 0000002a")));
        StartupPacket.CancelRequest cancel = ch.readInbound();
        assertEquals(12345, cancel.processId());
        assertEquals(42, cancel.secretKey());
    }

    @Test
    void oversizedAndMalformedLengthsAreProtocolErrors() {
        EmbeddedChannel big = new EmbeddedChannel(new FrontendDecoder(1024));
        big.writeInbound(Unpooled.wrappedBuffer(STARTUP));
        big.readInbound();
        DecoderException e = assertThrows(DecoderException.class,
                () -> big.writeInbound(Unpooled.wrappedBuffer(hex("51 00100000"))));
        assertInstanceOf(ProtocolException.class, e.getCause());

        EmbeddedChannel tiny = new EmbeddedChannel(new FrontendDecoder(1024));
        assertThrows(DecoderException.class, () -> tiny.writeInbound(Unpooled.wrappedBuffer(hex("00000004 00030000"))));

        EmbeddedChannel v2 = new EmbeddedChannel(new FrontendDecoder(1024));
        DecoderException old = assertThrows(DecoderException.class,
                () -> v2.writeInbound(Unpooled.wrappedBuffer(hex("00000008 00020000"))));
        assertEquals("unsupported frontend protocol 2.0: the proxy speaks 3.0", old.getCause().getMessage());
    }

    @Test
    void messagesTheProxyWritesAreByteExact() {
        ByteBuf rfq = Messages.readyForQuery(Unpooled.buffer().alloc(), 'T');
        assertArrayEquals(hex("5a 00000005 54"), ByteBufUtil.getBytes(rfq));
        ByteBuf error = Messages.error(Unpooled.buffer().alloc(), "ERROR", "08P01", "bad");
        assertArrayEquals(hex("45 0000001f 534552524f5200 564552524f5200 433038503031 00 4d62616400 00"),
                ByteBufUtil.getBytes(error));
        ByteBuf startup = Messages.startup(Unpooled.buffer().alloc(), new java.util.LinkedHashMap<>(
                Map.of("user", "app")));
        assertArrayEquals(hex("00000012 00030000 7573657200 61707000 00"), ByteBufUtil.getBytes(startup));
    }
}
