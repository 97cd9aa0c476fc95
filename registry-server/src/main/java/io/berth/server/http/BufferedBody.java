package io.berth.server.http;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * A request body collected in the heap (a manifest, a token form), within a budget shared by every connection
 * ({@code berth.limits.bufferedBodyBytes}). The array's whole capacity is charged to the budget before it is
 * allocated, so the heap held by bodies never exceeds the budget however many clients send at once; a body that
 * would overrun it is refused with 429 TOOMANYREQUESTS. One per request; {@link #release} gives the bytes back and
 * may be called any number of times.
 */
final class BufferedBody {
    /** The bytes all buffered bodies may hold at once. Thread-safe. */
    static final class Budget {
        private final long limit;
        private final AtomicLong used = new AtomicLong();

        Budget(long limit) {
            this.limit = limit;
        }

        boolean tryReserve(long bytes) {
            while (true) {
                long now = used.get();
                if (now + bytes > limit) {
                    return false;
                }
                if (used.compareAndSet(now, now + bytes)) {
                    return true;
                }
            }
        }

        void release(long bytes) {
            used.addAndGet(-bytes);
        }

        long used() {
            return used.get();
        }
    }

    private static final int FIRST_CAPACITY = 8 * 1024;

    private final Budget budget;
    private final long max;
    private final LongFunction<HttpError> tooLarge;
    private byte[] bytes = new byte[0];
    private int size;
    private long reserved;

    /**
     * @param declared the request's Content-Length, or -1; the first allocation is that size when it is within {@code max}
     * @param tooLarge the error for a body over {@code max}, given {@code max}
     */
    BufferedBody(Budget budget, long max, long declared, LongFunction<HttpError> tooLarge) {
        this.budget = budget;
        this.max = max;
        this.tooLarge = tooLarge;
        if (declared > max) {
            throw tooLarge.apply(max);
        }
        if (declared > 0) {
            grow((int) declared);
        }
    }

    /** Appends {@code content}; 413 past {@code max}, 429 when the shared budget cannot hold it. */
    void add(ByteBuf content) {
        int n = content.readableBytes();
        if (size + (long) n > max) {
            throw tooLarge.apply(max);
        }
        if (size + n > bytes.length) {
            grow((int) Math.min(max, Math.max(size + (long) n, Math.max(FIRST_CAPACITY, 2L * bytes.length))));
        }
        content.getBytes(content.readerIndex(), bytes, size, n);
        size += n;
    }

    private void grow(int capacity) {
        long more = capacity - reserved;
        if (!budget.tryReserve(more)) {
            throw new HttpError(ErrorCode.TOOMANYREQUESTS, "the server is holding as many request bodies as it may "
                    + "(berth.limits.bufferedBodyBytes); retry shortly");
        }
        reserved = capacity;
        bytes = Arrays.copyOf(bytes, capacity);
    }

    /** The body so far. */
    byte[] bytes() {
        return size == bytes.length ? bytes : Arrays.copyOf(bytes, size);
    }

    int size() {
        return size;
    }

    void release() {
        if (reserved > 0) {
            budget.release(reserved);
            reserved = 0;
            bytes = new byte[0];
            size = 0;
        }
    }
}
