package io.replicant.proxy.protocol;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * Splits what a client sends into {@link StartupPacket}s until the StartupMessage, then into typed
 * {@link Frame}s. A frame is emitted only once it is complete, however the bytes were split across reads;
 * a length below the minimum or above {@code maxMessageSize} is a {@link ProtocolException}.
 */
public final class FrontendDecoder extends ByteToMessageDecoder {
    /** A startup packet is small; anything larger is not a PostgreSQL client. */
    private static final int MAX_STARTUP_LENGTH = 10_000;

    private final long maxMessageSize;
    private boolean started;

    public FrontendDecoder(long maxMessageSize) {
        this.maxMessageSize = maxMessageSize;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!started) {
            StartupPacket packet = decodeStartup(in);
            if (packet != null) {
                started = packet instanceof StartupPacket.StartupMessage;
                out.add(packet);
            }
            return;
        }
        Frame frame = decodeFrame(in, maxMessageSize);
        if (frame != null) {
            out.add(frame);
        }
    }

    /** The next complete typed frame, or null if more bytes are needed. */
    static Frame decodeFrame(ByteBuf in, long maxMessageSize) {
        if (in.readableBytes() < 5) {
            return null;
        }
        int start = in.readerIndex();
        int length = in.getInt(start + 1);
        if (length < 4 || length > maxMessageSize) {
            throw new ProtocolException("invalid message length " + length + " for message type '"
                    + (char) in.getByte(start) + "' (proxy.max_message_size is " + maxMessageSize + ")");
        }
        if (in.readableBytes() < length + 1) {
            return null;
        }
        byte type = in.getByte(start);
        return new Frame(type, in.readRetainedSlice(length + 1));
    }

    private static StartupPacket decodeStartup(ByteBuf in) {
        if (in.readableBytes() < 8) {
            return null;
        }
        int start = in.readerIndex();
        int length = in.getInt(start);
        if (length < 8 || length > MAX_STARTUP_LENGTH) {
            throw new ProtocolException("invalid startup packet length " + length);
        }
        if (in.readableBytes() < length) {
            return null;
        }
        int code = in.getInt(start + 4);
        ByteBuf body = in.slice(start + 8, length - 8);
        in.skipBytes(length);
        switch (code) {
            case StartupPacket.PROTOCOL_3_0:
                return new StartupPacket.StartupMessage(parameters(body));
            case StartupPacket.SSL_REQUEST:
                return new StartupPacket.SslRequest();
            case StartupPacket.GSSENC_REQUEST:
                return new StartupPacket.GssEncRequest();
            case StartupPacket.CANCEL_REQUEST:
                if (body.readableBytes() != 8) {
                    throw new ProtocolException("invalid CancelRequest length " + length);
                }
                return new StartupPacket.CancelRequest(body.readInt(), body.readInt());
            default:
                throw new ProtocolException("unsupported frontend protocol " + (code >>> 16) + "." + (code & 0xFFFF)
                        + ": the proxy speaks 3.0");
        }
    }

    private static Map<String, String> parameters(ByteBuf body) {
        Map<String, String> params = new LinkedHashMap<>();
        while (body.isReadable() && body.getByte(body.readerIndex()) != 0) {
            String name = Frame.readCString(body);
            params.put(name, Frame.readCString(body));
        }
        return params;
    }
}
