package io.berth.server.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounded read-ahead between the I/O thread and the request executor of one connection, within a budget shared by
 * all connections. The I/O thread keeps reading (and decrypting) while less than {@link #LIMIT} bytes of this
 * connection wait for the disk, so socket reads overlap hashing and writing, and while all connections together
 * hold less than {@code berth.limits.inFlightBytes}. Past either, it stops reading until the request side catches
 * up: memory stays bounded per connection and in all, however many clients send however fast. A connection holding
 * less than {@link #FREE} always reads.
 */
final class ReadAhead {
    /** Body bytes of one connection that may wait for its request executor. */
    static final long LIMIT = 8L << 20;

    private static final long HEAD_WEIGHT = 16 * 1024;

    /**
     * What a connection may hold whatever the shared budget: room for a few request heads and a small body, so a
     * spent budget slows the large bodies that spent it, never the next small request of another client.
     */
    static final long FREE = 4 * HEAD_WEIGHT;

    /**
     * Bytes read from sockets and not yet handled, across connections ({@code berth.limits.inFlightBytes}). A
     * connection that finds it spent waits in line and is asked to read again once handled bytes give room back.
     * The bound is soft by at most one socket read per waiting connection.
     */
    static final class Budget {
        private final long limit;
        private final AtomicLong used = new AtomicLong();
        private final ConcurrentLinkedQueue<ChannelHandlerContext> waiting = new ConcurrentLinkedQueue<>();

        Budget(long limit) {
            if (limit < 1) {
                throw new IllegalArgumentException("the in-flight budget must be positive, got " + limit);
            }
            this.limit = limit;
        }

        static Budget unlimited() {
            return new Budget(Long.MAX_VALUE);
        }

        long used() {
            return used.get();
        }

        int waiting() {
            return waiting.size();
        }

        private boolean available() {
            return used.get() < limit;
        }

        private void take(long n) {
            used.addAndGet(n);
        }

        private void give(long n) {
            long after = used.addAndGet(-n);
            if (after < limit && after + n >= limit) {
                wake();
            }
        }

        private void await(ChannelHandlerContext ctx) {
            waiting.add(ctx);
            if (available()) {
                wake(); // room came back between the check and the enqueue
            }
        }

        private void wake() {
            ChannelHandlerContext next;
            while (available() && (next = waiting.poll()) != null) {
                next.read();
            }
        }
    }

    private final Budget budget;
    private final AtomicLong pending = new AtomicLong();

    ReadAhead(Budget budget) {
        this.budget = budget;
    }

    /** The event-loop side: counts body bytes handed on and asks for more while under both limits. */
    ChannelInboundHandlerAdapter ioSide() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                long w = weight(msg);
                pending.addAndGet(w);
                budget.take(w);
                ctx.fireChannelRead(msg);
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                readIfUnder(ctx);
                ctx.fireChannelReadComplete();
            }
        };
    }

    /** The request side: {@code bytes} were handled; resume reading if that brought this connection under its limit. */
    void consumed(ChannelHandlerContext ctx, long bytes) {
        long after = pending.addAndGet(-bytes);
        budget.give(bytes);
        if (after < LIMIT && after + bytes >= LIMIT) {
            readIfUnder(ctx);
        }
    }

    /** The connection closed: what it read and never handled (a discarded pipeline, say) goes back to the budget. */
    void closed() {
        budget.give(pending.getAndSet(0));
    }

    /** Reads now if this connection and the shared budget have room; waits for the budget if only it is spent. */
    void readIfUnder(ChannelHandlerContext ctx) {
        if (pending.get() >= LIMIT) {
            return; // consumed() reads once the request side catches up
        }
        if (pending.get() < FREE || budget.available()) {
            ctx.read();
        } else {
            budget.await(ctx);
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
}
