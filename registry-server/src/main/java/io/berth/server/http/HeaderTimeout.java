package io.berth.server.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code berth.limits.headerTimeout}: a request head must arrive within this time of the connection opening, or of
 * its first byte on a kept-alive connection (Go's {@code ReadHeaderTimeout}). A client that trickles a head one
 * byte at a time is dropped instead of holding a connection and its buffers. Bodies are not timed here: a stalled
 * body is dropped by the idle timeout. One per connection, on its event loop: {@link #bytesSide()} goes before the
 * HTTP decoder, {@link #requestsSide()} after it.
 */
final class HeaderTimeout {
    private static final Logger log = LoggerFactory.getLogger(HeaderTimeout.class);

    private final long timeoutNanos;
    private @Nullable ScheduledFuture<?> timer;
    /** Between requests: the next bytes start a head. */
    private boolean waiting = true;

    HeaderTimeout(java.time.Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    ChannelInboundHandlerAdapter bytesSide() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                start(ctx);
                ctx.fireChannelActive();
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (waiting && msg instanceof ByteBuf b && b.isReadable()) {
                    start(ctx);
                }
                ctx.fireChannelRead(msg);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                cancel();
                ctx.fireChannelInactive();
            }
        };
    }

    ChannelInboundHandlerAdapter requestsSide() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpRequest) {
                    cancel();
                }
                if (msg instanceof LastHttpContent) {
                    waiting = true;
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    private void start(ChannelHandlerContext ctx) {
        waiting = false;
        if (timer == null) {
            timer = ctx.executor().schedule(() -> {
                log.debug("closing {}: no request head within the header timeout", ctx.channel().remoteAddress());
                ctx.close();
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
