package io.berth.server.http;

import io.berth.server.proxy.PullThroughCache;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.stream.ChunkedInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A blob's body written while it is fetched, by the pull-through cache or from an object store ({@link #pump}): the
 * fetch thread hands in chunks ({@link PullThroughCache.Receiver}), and Netty's {@code ChunkedWriteHandler} takes them
 * as the client can read them. At most {@link #QUEUED} chunks wait in between, so a slow client slows the fetch instead
 * of filling the heap. A failed fetch makes the next read throw, which cuts the response short.
 */
final class StreamingBody implements ChunkedInput<ByteBuf>, PullThroughCache.Receiver {
    static final int QUEUED = 8;

    private final long length;
    private final BlockingQueue<ByteBuf> queue = new ArrayBlockingQueue<>(QUEUED);
    private volatile Runnable resume = () -> {};
    private volatile boolean ended;
    private volatile boolean closed;
    private volatile @Nullable Exception failure;
    private long sent;

    StreamingBody(long length) {
        this.length = length;
    }

    /** Bytes read from the store per chunk handed on. */
    private static final int PUMP_CHUNK = 256 << 10;

    /**
     * A body fed with {@code length} bytes of {@code blob} from {@code offset}, read on a virtual thread of its own: the
     * store's stream blocks that thread only, and stops being read when the client goes.
     */
    static StreamingBody pump(io.berth.storage.BlobContent.Stream blob, long offset, long length) {
        StreamingBody body = new StreamingBody(length);
        Thread.ofVirtual().name("berth-blob-" + blob.digest().hex().substring(0, 12)).start(() -> {
            long left = length;
            try (java.io.InputStream in = blob.opener().open(offset, length)) {
                byte[] buf = new byte[PUMP_CHUNK];
                while (left > 0) {
                    int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, left));
                    if (n <= 0) {
                        throw new IOException("the store's stream of " + blob.digest() + " ended " + left + " bytes early");
                    }
                    left -= n;
                    if (!body.bytes(ByteBuffer.wrap(buf, 0, n))) {
                        return; // the client went away
                    }
                }
                body.end();
            } catch (IOException | RuntimeException e) {
                body.fail(e);
            }
        });
        return body;
    }

    /** Called when a chunk arrives, to wake the writer up (the pipeline's {@code ChunkedWriteHandler.resumeTransfer}). */
    void onArrival(Runnable resumeTransfer) {
        this.resume = resumeTransfer;
        resumeTransfer.run();
    }

    @Override
    public boolean bytes(ByteBuffer chunk) {
        // Straight into a pooled direct buffer: the socket takes it as it is, with no second copy on the way out.
        ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(chunk.remaining());
        copy.writeBytes(chunk.duplicate());
        try {
            while (!closed) {
                if (queue.offer(copy, 100, TimeUnit.MILLISECONDS)) {
                    resume.run();
                    return true;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        copy.release();
        return false;
    }

    @Override
    public void end() {
        ended = true;
        resume.run();
    }

    @Override
    public void fail(Exception cause) {
        failure = cause;
        resume.run();
    }

    @Override
    public boolean isEndOfInput() throws Exception {
        throwIfFailed();
        return ended && queue.isEmpty();
    }

    @Override
    public @Nullable ByteBuf readChunk(ByteBufAllocator allocator) throws Exception {
        throwIfFailed();
        ByteBuf next = queue.poll(); // null: nothing yet, the writer waits for resumeTransfer
        if (next != null) {
            sent += next.readableBytes();
        }
        return next;
    }

    @Deprecated
    @Override
    public @Nullable ByteBuf readChunk(io.netty.channel.ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    private void throwIfFailed() throws IOException {
        Exception f = failure;
        if (f != null) {
            throw new IOException("the fetch failed: " + f.getMessage(), f);
        }
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public long progress() {
        return sent;
    }

    @Override
    public void close() {
        closed = true;
        for (ByteBuf b; (b = queue.poll()) != null; ) {
            b.release();
        }
    }
}
