package io.berth.server.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
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

    private static final long HEAD_WEIGHT = 16 * 1024;

    private final AtomicLong pending = new AtomicLong();

    /** The event-loop side: counts body bytes handed on and asks for more while under the limit. */
    ChannelInboundHandlerAdapter ioSide() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                pending.addAndGet(weight(msg));
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

    /**
     * What a message counts against the limit: its body bytes, and a flat share for a request head, so
     * that a client pipelining many small requests cannot queue work without bound either.
     */
    static long weight(Object msg) {
        long w = msg instanceof HttpContent c ? c.content().readableBytes() : 0;
        return msg instanceof HttpRequest ? w + HEAD_WEIGHT : w;
    }

    /** Whether the storage side should ask for more on a read-complete. */
    boolean underLimit() {
        return pending.get() < LIMIT;
    }
}
