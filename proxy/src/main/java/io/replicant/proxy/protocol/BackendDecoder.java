package io.replicant.proxy.protocol;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/** Splits what a PostgreSQL server sends into typed {@link Frame}s (the server's messages are all typed). */
public final class BackendDecoder extends ByteToMessageDecoder {
    /** A server's DataRow can be as large as a 1 GB field plus its header. */
    private static final long MAX_BACKEND_MESSAGE = (1L << 30) + 1024;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        Frame frame;
        while ((frame = FrontendDecoder.decodeFrame(in, MAX_BACKEND_MESSAGE)) != null) {
            out.add(frame);
        }
    }
}
