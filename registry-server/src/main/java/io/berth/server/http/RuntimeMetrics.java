package io.berth.server.http;

import io.berth.storage.RegistryStorage;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an operator alerts on besides requests: the JVM and the process (Micrometer's binders), the storage volume's
 * free, used and total bytes (read from the file system at each scrape), and how many blobs and repositories the
 * storage holds (counted by listing directories in the background, every {@link #COUNT_INTERVAL}, so a scrape never
 * walks the volume).
 */
final class RuntimeMetrics implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RuntimeMetrics.class);
    static final Duration COUNT_INTERVAL = Duration.ofMinutes(5);

    private final JvmGcMetrics gc;
    private final ScheduledFuture<?> counting;
    private volatile double blobs = Double.NaN;
    private volatile double repositories = Double.NaN;

    private RuntimeMetrics(JvmGcMetrics gc, RegistryStorage storage, ScheduledExecutorService maintenance) {
        this.gc = gc;
        this.counting = maintenance.scheduleWithFixedDelay(() -> count(storage), 0, COUNT_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Registers the meters on {@code meters}; the counts start at once on {@code maintenance}. */
    static RuntimeMetrics bind(MeterRegistry meters, RegistryStorage storage, ScheduledExecutorService maintenance) {
        new JvmMemoryMetrics().bindTo(meters);
        new JvmThreadMetrics().bindTo(meters);
        new ClassLoaderMetrics().bindTo(meters);
        new ProcessorMetrics().bindTo(meters);
        new UptimeMetrics().bindTo(meters);
        new FileDescriptorMetrics().bindTo(meters);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(meters);
        if (storage instanceof io.berth.storage.FileStorage files) { // an object store has no volume to fill
            Path root = files.root();
            volume(meters, root, "free", "bytes free for Berth on the storage volume", FileStore::getUsableSpace);
            volume(meters, root, "total", "size of the storage volume", FileStore::getTotalSpace);
            volume(meters, root, "used", "bytes in use on the storage volume", s -> s.getTotalSpace() - s.getUnallocatedSpace());
        }
        RuntimeMetrics metrics = new RuntimeMetrics(gc, storage, maintenance);
        Gauge.builder("berth.storage.blobs", metrics, m -> m.blobs)
                .description("blobs in storage, counted every " + COUNT_INTERVAL.toMinutes() + " minutes").register(meters);
        Gauge.builder("berth.storage.repositories", metrics, m -> m.repositories)
                .description("repositories in storage, counted every " + COUNT_INTERVAL.toMinutes() + " minutes").register(meters);
        return metrics;
    }

    private interface SpaceReader {
        long read(FileStore store) throws IOException;
    }

    private static void volume(MeterRegistry meters, Path root, String which, String description, SpaceReader reader) {
        ToDoubleFunction<Path> read = p -> {
            try {
                return reader.read(Files.getFileStore(p));
            } catch (IOException | RuntimeException e) {
                return Double.NaN; // no sample rather than a wrong one; the health check reports the volume
            }
        };
        Gauge.builder("berth.storage.volume." + which, root, read).baseUnit("bytes").description(description).register(meters);
    }

    private void count(RegistryStorage storage) {
        try {
            RegistryStorage.ContentCounts counts = storage.countContent();
            blobs = counts.blobs();
            repositories = counts.repositories();
        } catch (RuntimeException e) {
            log.warn("could not count the blobs and repositories in storage: {}", e.toString());
        }
    }

    @Override
    public void close() {
        counting.cancel(false);
        gc.close();
    }
}
