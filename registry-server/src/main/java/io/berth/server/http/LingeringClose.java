package io.berth.server.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.AttributeKey;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection gently after an answer sent before its request body was read (a refused upload, a full disk, a
 * malformed body): output is shut down, so the answer and a FIN reach the client, and what the client still sends
 * is read and discarded until it stops or {@link #LINGER_MILLIS} pass. Closing at once with unread bytes in the
 * socket makes the kernel send a reset, and a client still writing its body then sees "connection reset" instead
 * of the 4xx or 5xx that says why (Go's net/http lingers the same way). Other closes are not delayed.
 */
@ChannelHandler.Sharable
final class LingeringClose extends ChannelOutboundHandlerAdapter {
    static final LingeringClose INSTANCE = new LingeringClose();
    /** Set on a connection whose last answer left part of its request unread. */
    static final AttributeKey<Boolean> LINGER = AttributeKey.valueOf("berth.linger");
    static final long LINGER_MILLIS = 2_000;

    private LingeringClose() {}

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        Boolean linger = ctx.channel().attr(LINGER).getAndSet(null);
        if (linger == null || !ctx.channel().isActive() || !(ctx.channel() instanceof DuplexChannel duplex)) {
            ctx.close(promise);
            return;
        }
        duplex.shutdownOutput().addListener(f -> {
            ctx.read(); // the request handler discards what arrives; the end of input closes the connection
            ctx.executor().schedule(() -> {
                ctx.close(promise);
            }, LINGER_MILLIS, TimeUnit.MILLISECONDS);
        });
    }
}
