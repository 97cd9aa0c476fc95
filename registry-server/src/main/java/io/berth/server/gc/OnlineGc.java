package io.berth.server.gc;

import io.berth.server.config.RegistryConfig;
import io.berth.storage.GarbageCollector;
import io.berth.storage.RegistryStorage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the storage's garbage collector every {@code berth.gc.interval} while the registry serves, on a daemon thread of
 * its own (never a Netty thread, nor one of the storage executors requests wait for). Only unreferenced blobs are
 * collected, never manifests, and blobs younger than {@code berth.gc.gracePeriod} are kept; pushes go on meanwhile
 * ({@link GarbageCollector} says why that is safe). The first collection starts after the interval or ten minutes,
 * whichever is shorter, then each one starts an interval after the previous one ended.
 *
 * <p>Metrics: {@code berth.gc.runs} (tag {@code outcome}: ok or failed), {@code berth.gc.duration},
 * {@code berth.gc.blobs.deleted} and {@code berth.gc.bytes.freed}.
 */
public final class OnlineGc implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OnlineGc.class);
    private static final Duration FIRST_RUN_AT_MOST = Duration.ofMinutes(10);

    private final RegistryConfig.Gc settings;
    private final RegistryStorage storage;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final Counter ok;
    private final Counter failed;
    private final Counter blobsDeleted;
    private final Counter bytesFreed;
    private final Timer duration;

    private OnlineGc(RegistryConfig.Gc settings, RegistryStorage storage, MeterRegistry meters, ScheduledExecutorService executor, Clock clock) {
        this.settings = settings;
        this.storage = storage;
        this.executor = executor;
        this.clock = clock;
        this.ok = Counter.builder("berth.gc.runs").tag("outcome", "ok").description("online garbage collections").register(meters);
        this.failed = Counter.builder("berth.gc.runs").tag("outcome", "failed").description("online garbage collections").register(meters);
        this.blobsDeleted = Counter.builder("berth.gc.blobs.deleted").description("blobs deleted by online garbage collection").register(meters);
        this.bytesFreed = Counter.builder("berth.gc.bytes.freed").description("bytes freed by online garbage collection").register(meters);
        this.duration = Timer.builder("berth.gc.duration").description("time an online garbage collection took").register(meters);
    }

    /**
     * Starts collecting on a daemon thread of its own when {@code settings.enabled()}; the returned handle stops it. When
     * not enabled, nothing runs on a schedule and {@link #collectNow()} still works.
     */
    public static OnlineGc start(RegistryConfig.Gc settings, RegistryStorage storage, MeterRegistry meters, Clock clock) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "berth-gc");
            t.setDaemon(true);
            return t;
        });
        OnlineGc gc = new OnlineGc(settings, storage, meters, executor, clock);
        if (settings.enabled()) {
            long every = settings.interval().toMillis();
            long first = Math.min(every, FIRST_RUN_AT_MOST.toMillis());
            executor.scheduleWithFixedDelay(gc::collectLogged, first, every, TimeUnit.MILLISECONDS);
            log.info("online garbage collection every {} with a grace period of {}", settings.interval(), settings.gracePeriod());
        }
        return gc;
    }

    /** Runs one collection now, on the collector's thread, after any in progress; for operators and tests. */
    public Future<GarbageCollector.Result> collectNow() {
        return executor.submit(this::collect);
    }

    private void collectLogged() {
        try {
            collect();
        } catch (RuntimeException e) {
            // already counted and logged; the next run is still scheduled
        }
    }

    private GarbageCollector.Result collect() {
        Instant start = clock.instant();
        try {
            GarbageCollector.Result r = storage.collectGarbage(false, false, settings.gracePeriod());
            Duration took = Duration.between(start, clock.instant());
            duration.record(took);
            ok.increment();
            blobsDeleted.increment(r.blobsDeleted());
            bytesFreed.increment(r.bytesFreed());
            log.info("online garbage collection: {} blobs deleted, {} bytes freed in {} ms", r.blobsDeleted(), r.bytesFreed(), took.toMillis());
            return r;
        } catch (RuntimeException e) {
            failed.increment();
            log.warn("online garbage collection failed; the next one runs in {}", settings.interval(), e);
            throw e;
        }
    }

    /**
     * Stops collecting; waits up to 10 s for a collection in progress, which otherwise ends on its own thread. A
     * collection cut short (the process stops) leaves tombstones, which requests rename back when they need them and the
     * next collection decides on.
     */
    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
                log.warn("online garbage collection did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
