package io.berth.server.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounded read-ahead between the I/O thread and the storage thread of one connection. The I/O
 * thread keeps reading (and decrypting) while less than {@link #LIMIT} bytes of body wait for the
 * disk, so socket reads overlap hashing and writing; past the limit it stops until the storage
 * thread catches up. Memory per connection stays bounded however fast the client sends.
 */
final class ReadAhead {
    /** Body bytes that may wait for the storage thread. */
    static final long LIMIT = 8L << 20;

    private final AtomicLong pending = new AtomicLong();

    /** The event-loop side: counts body bytes handed on and asks for more while under the limit. */
    ChannelInboundHandlerAdapter ioSide() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof HttpContent c) {
                    pending.addAndGet(c.content().readableBytes());
                }
                ctx.fireChannelRead(msg);
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                if (pending.get() < LIMIT) {
                    ctx.read();
                }
                ctx.fireChannelReadComplete();
            }
        };
    }

    /** The storage side: {@code bytes} of body were consumed; resume reading if that brought us under the limit. */
    void consumed(ChannelHandlerContext ctx, long bytes) {
        long after = pending.addAndGet(-bytes);
        if (after < LIMIT && after + bytes >= LIMIT) {
            ctx.read();
        }
    }

    /** Whether the storage side should ask for more on a read-complete. */
    boolean underLimit() {
        return pending.get() < LIMIT;
    }
}
