package io.berth.server.http;

import io.netty.util.concurrent.AbstractEventExecutor;
import io.netty.util.concurrent.DefaultPromise;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.NonStickyEventExecutorGroup;
import io.netty.util.concurrent.Promise;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where request handling runs: one pool of platform threads shared by all connections, through an ordered executor
 * per connection ({@link NonStickyEventExecutorGroup}). A connection's messages are handled in the order they
 * arrived, one at a time, on whichever pool thread is free. The pool keeps few threads while requests only use the
 * CPU ({@link #base}: twice the cores, at least 4), and grows when they block: a watchdog that sees queued work and
 * every thread taken and no request finished for {@link #STALL_MILLIS} adds a thread per waiting task (at most
 * {@link #base} at a time), up to {@code berth.limits.requestThreads}, and the pool shrinks back to {@link #base}
 * once nothing has waited for a second. So a request stuck on the disk,
 * or on bcrypt, holds one thread and its own connection, and the others go on.
 *
 * <p>Measured against the alternatives (README, "Execution model"): connections pinned to a fixed group of 16
 * single-thread executors, as before, let one blocked request stall every connection pinned beside it; a virtual
 * thread per connection pins its carrier in file-system calls the JDK does not compensate ({@code open} among them),
 * so two requests stuck on the disk froze every connection of a 2-core server; a pool that starts a thread per
 * busy connection (Netty's {@code UnorderedThreadPoolEventExecutor} sized to the maximum) ran W4 over TLS at a
 * fraction of the rate, its hundreds of threads taking turns on two cores.
 */
final class RequestExecutors implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RequestExecutors.class);
    /** Tasks one connection may run in a row before its thread goes to the next connection. */
    private static final int TASKS_PER_TURN = 64;
    /** How long queued work may see no request finish before the pool grows. */
    static final long STALL_MILLIS = 20;

    private final int base;
    private final int max;
    private final AtomicLong finished = new AtomicLong();
    private final ThreadPoolExecutor pool;
    private final NonStickyEventExecutorGroup group;
    private final Thread watchdog;
    private volatile boolean closed;

    RequestExecutors(int maxThreads) {
        if (maxThreads < 1) {
            throw new IllegalArgumentException("the request pool needs at least one thread, got " + maxThreads);
        }
        this.max = maxThreads;
        this.base = Math.min(maxThreads, Math.max(4, 2 * Runtime.getRuntime().availableProcessors()));
        Promise<Void> terminated = new DefaultPromise<>(GlobalEventExecutor.INSTANCE);
        this.pool = new ThreadPoolExecutor(base, max, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                new DefaultThreadFactory("berth-request", true)) {
            @Override
            protected void afterExecute(Runnable r, Throwable t) {
                finished.incrementAndGet();
            }

            @Override
            protected void terminated() {
                terminated.trySuccess(null);
            }
        };
        this.group = new NonStickyEventExecutorGroup(new PoolExecutor(pool, terminated), TASKS_PER_TURN);
        this.watchdog = Thread.ofPlatform().daemon().name("berth-request-watchdog").start(this::watch);
    }

    /** The group to add a connection's request handler with: each pipeline gets its own ordered executor from it. */
    EventExecutorGroup group() {
        return group;
    }

    /** Threads in the pool now, busy or idle. */
    int threads() {
        return pool.getPoolSize();
    }

    /** Threads the pool may keep now: {@link #base}, more while requests block. */
    int targetThreads() {
        return pool.getCorePoolSize();
    }

    private void watch() {
        long seen = finished.get();
        long idleSince = System.nanoTime();
        while (!closed) {
            try {
                Thread.sleep(STALL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = finished.get();
            int queued = pool.getQueue().size();
            int target = pool.getCorePoolSize();
            // Blocked, not merely busy: work waits, every thread is taken, and none finished anything for a while.
            boolean blocked = queued > 0 && now == seen && pool.getActiveCount() >= pool.getPoolSize();
            seen = now;
            if (blocked && Math.max(target, pool.getPoolSize()) < max) {
                // No more threads than there is work waiting: each connection has at most one task in the pool.
                // From the threads there are, not the target: after a shrink, blocked threads still count in the pool.
                int grown = Math.min(max, Math.max(target, pool.getPoolSize()) + Math.min(base, queued));
                log.debug("requests are blocked: request threads {} -> {}", target, grown);
                pool.setCorePoolSize(grown);
            }
            if (queued > 0) {
                idleSince = System.nanoTime();
            } else if (target > base && System.nanoTime() - idleSince > TimeUnit.SECONDS.toNanos(1)) {
                pool.setCorePoolSize(base); // the threads past it end as soon as they are idle
            }
        }
    }

    /** Lets the tasks already queued (the pipelines' last hops after their connections closed) run, then ends. */
    @Override
    public void close() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int quietChecks = 0;
        while (quietChecks < 3 && System.nanoTime() < deadline) {
            quietChecks = pool.getActiveCount() == 0 && pool.getQueue().isEmpty() ? quietChecks + 1 : 0;
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        closed = true;
        watchdog.interrupt();
        group.shutdownGracefully().syncUninterruptibly();
    }

    /** The pool as the unordered executor {@link NonStickyEventExecutorGroup} puts its ordered ones on. */
    private static final class PoolExecutor extends AbstractEventExecutor {
        private final ThreadPoolExecutor pool;
        private final Promise<Void> terminated;

        PoolExecutor(ThreadPoolExecutor pool, Promise<Void> terminated) {
            this.pool = pool;
            this.terminated = terminated;
        }

        @Override
        public void execute(Runnable task) {
            pool.execute(task);
        }

        @Override
        public boolean inEventLoop(Thread thread) {
            return false;
        }

        @Override
        public boolean isShuttingDown() {
            return pool.isShutdown();
        }

        @Override
        public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
            pool.shutdown();
            return terminated;
        }

        @Override
        public Future<?> terminationFuture() {
            return terminated;
        }

        @Override
        @Deprecated
        public void shutdown() {
            pool.shutdown();
        }

        @Override
        public boolean isShutdown() {
            return pool.isShutdown();
        }

        @Override
        public boolean isTerminated() {
            return pool.isTerminated();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
            return pool.awaitTermination(timeout, unit);
        }
    }
}
