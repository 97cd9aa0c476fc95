package io.berth.server.http;

import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.NonStickyEventExecutorGroup;
import io.netty.util.concurrent.UnorderedThreadPoolEventExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where request handling runs: one pool of platform threads shared by all connections, through an ordered executor
 * per connection ({@link NonStickyEventExecutorGroup}). A connection's messages are handled in the order they
 * arrived, one at a time, on whichever pool thread is free; a request that blocks (an fsync, a bcrypt on a cache
 * miss, a catalog walk, a hung volume) holds one thread and its own connection, and nothing else. The pool grows on
 * demand up to {@code berth.limits.requestThreads} and idle threads end after a minute.
 *
 * <p>Measured against the alternatives (README, "Execution model"): connections pinned to a fixed group of 16
 * single-thread executors, as before, let one blocked request stall every connection pinned beside it; a virtual
 * thread per connection pins its carrier in file-system calls the JDK does not compensate ({@code open} among
 * them), so two requests stuck on the disk froze every connection of a 2-core server.
 */
final class RequestExecutors implements AutoCloseable {
    /** Tasks one connection may run in a row before its thread goes to the next connection. */
    private static final int TASKS_PER_TURN = 64;

    private final UnorderedThreadPoolEventExecutor pool;
    private final NonStickyEventExecutorGroup group;

    RequestExecutors(int maxThreads) {
        if (maxThreads < 1) {
            throw new IllegalArgumentException("the request pool needs at least one thread, got " + maxThreads);
        }
        pool = new UnorderedThreadPoolEventExecutor(maxThreads, new DefaultThreadFactory("berth-request", true));
        pool.setKeepAliveTime(60, TimeUnit.SECONDS);
        pool.allowCoreThreadTimeOut(true);
        group = new NonStickyEventExecutorGroup(pool, TASKS_PER_TURN);
    }

    /** The group to add a connection's request handler with: each pipeline gets its own ordered executor from it. */
    EventExecutorGroup group() {
        return group;
    }

    /** Threads in the pool now, busy or idle. */
    int threads() {
        return pool.getPoolSize();
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
        group.shutdownGracefully().syncUninterruptibly();
    }
}
