package io.replicant.proxy.protocol;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.ByteBuf;

/**
 * One typed protocol message as it came off the wire, header included, so it can be forwarded untouched:
 *
 * <pre>
 * +------+-----------------+------------------+
 * | type | length (Int32)  | body             |
 * | 1 B  | 4 + body length | length - 4 bytes |
 * +------+-----------------+------------------+
 * </pre>
 *
 * Only what routing and session state need is decoded further (see {@link Messages}); the rest is forwarded
 * as it is. The frame owns one reference to its bytes: writing {@link #bytes()} to a channel hands it over.
 */
public final class Frame {
    private final byte type;
    private final ByteBuf bytes;

    public Frame(byte type, ByteBuf bytes) {
        this.type = type;
        this.bytes = bytes;
    }

    public byte type() {
        return type;
    }

    /** The whole message, header included; the reader index is left where it was. */
    public ByteBuf bytes() {
        return bytes;
    }

    /** A view of the body (after the 5-byte header). */
    public ByteBuf body() {
        return bytes.slice(bytes.readerIndex() + 5, bytes.readableBytes() - 5);
    }

    /** Reads a NUL-terminated string at the buffer's reader index and moves past it. */
    public static String readCString(ByteBuf buf) {
        int end = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) 0);
        if (end < 0) {
            throw new ProtocolException("a string in a protocol message is not NUL-terminated");
        }
        String s = buf.toString(buf.readerIndex(), end - buf.readerIndex(), StandardCharsets.UTF_8);
        buf.readerIndex(end + 1);
        return s;
    }

    /** Keeps the bytes alive past the current handler call; pair with {@link #release()}. */
    public Frame retain() {
        bytes.retain();
        return this;
    }

    public void release() {
        bytes.release();
    }

    @Override
    public String toString() {
        return "Frame('" + (char) type + "', " + bytes.readableBytes() + " bytes)";
    }
}
