package io.berth.server.events;

import io.berth.server.config.RegistryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one {@code notifications.endpoints} entry's events: in order, at least once, without ever making a request
 * wait. A request thread's {@link #offer} puts the event in a bounded queue in memory and returns; the endpoint's own
 * thread moves what is queued into the {@link Spool} on disk (one fsync for all of it), then POSTs the oldest
 * undelivered event and moves the spool's cursor past it once the endpoint answers 2xx or 3xx, as registry:2 accepts.
 *
 * <p>Failures are retried as registry:2's retrying sink does: at once, until {@code threshold} POSTs in a row have
 * failed, then once every {@code backoff}. Meanwhile events keep arriving in the spool; past its bound the oldest are
 * dropped, and so are the oldest in memory if the queue fills faster than one fsync drains it. Every dropped event is
 * counted ({@code berth.notifications.events{outcome="dropped"}}) and logged.
 */
final class EndpointDelivery implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EndpointDelivery.class);
    static final String MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json";
    private static final byte[] ENVELOPE_HEAD = "{\"events\":[".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ENVELOPE_TAIL = "]}".getBytes(StandardCharsets.US_ASCII);
    private static final int QUEUE = 8192;
    private static final long IDLE_POLL_MILLIS = 200;
    private static final int SYNC_EVERY = 256;

    private final RegistryConfig.Endpoint endpoint;
    private final Spool spool;
    private final HttpClient client;
    private final LongSupplier nanoTime;
    private final ArrayBlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Counter delivered;
    private final Counter dropped;
    private final Counter failedPosts;
    private final AtomicLong pendingBytes = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;
    private int failuresInARow;
    private long lastFailureNanos;
    private int unsynced;
    private long syncedNanos;

    EndpointDelivery(RegistryConfig.Endpoint endpoint, Path spoolDirectory, long spoolMaxBytes, HttpClient client, MeterRegistry meters,
            LongSupplier nanoTime) throws IOException {
        this.endpoint = endpoint;
        this.spool = new Spool(spoolDirectory, Math.max(64, Math.min(4 << 20, spoolMaxBytes / 8)), spoolMaxBytes);
        this.client = client;
        this.nanoTime = nanoTime;
        this.delivered = events(meters, "delivered");
        this.dropped = events(meters, "dropped");
        this.failedPosts = Counter.builder("berth.notifications.failures").tag("endpoint", endpoint.name())
                .description("POSTs of an event that the endpoint did not accept (an error status, a timeout, no connection)").register(meters);
        Gauge.builder("berth.notifications.pending", pendingBytes, AtomicLong::get).baseUnit("bytes").tag("endpoint", endpoint.name())
                .description("events spooled on disk and not yet delivered").register(meters);
        pendingBytes.set(spool.pendingBytes());
        this.thread = Thread.ofPlatform().daemon().name("berth-notify-" + endpoint.name()).start(this::run);
    }

    private Counter events(MeterRegistry meters, String outcome) {
        return Counter.builder("berth.notifications.events").tag("endpoint", endpoint.name()).tag("outcome", outcome)
                .description("events by outcome: delivered to the endpoint, or dropped because its spool was full").register(meters);
    }

    /** Queues one event (its JSON) for this endpoint; never blocks. */
    void offer(byte[] event) {
        while (!queue.offer(event)) {
            if (queue.poll() != null) {
                dropped(1, "its queue in memory is full");
            }
        }
    }

    private void run() {
        try {
            while (running) {
                spoolQueued(pollWait());
                deliverOne();
                syncNowAndThen();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            log.error("notifications to {} stopped: {}", endpoint.name(), e.toString());
        }
    }

    /** How long to wait for new events: not at all while delivery can go on, else until the next retry, at most a moment. */
    private long pollWait() {
        long wait = backoffLeftMillis();
        if (wait == 0 && spool.pendingBytes() > 0) {
            return 0;
        }
        return wait == 0 ? IDLE_POLL_MILLIS : Math.min(wait, IDLE_POLL_MILLIS);
    }

    private void spoolQueued(long waitMillis) throws IOException, InterruptedException {
        List<byte[]> batch = new ArrayList<>();
        byte[] first = waitMillis == 0 ? queue.poll() : queue.poll(waitMillis, TimeUnit.MILLISECONDS);
        if (first == null) {
            return;
        }
        batch.add(first);
        queue.drainTo(batch);
        int lost = spool.append(batch);
        if (lost > 0) {
            dropped(lost, "its spool is full");
        }
        pendingBytes.set(spool.pendingBytes());
    }

    private void deliverOne() throws IOException {
        if (backoffLeftMillis() > 0) {
            return;
        }
        List<Spool.Entry> next = spool.read(1);
        if (next.isEmpty()) {
            return;
        }
        Spool.Entry e = next.getFirst();
        @Nullable String failure = post(e.bytes());
        if (failure == null) {
            spool.commit(e.next());
            unsynced++;
            pendingBytes.set(spool.pendingBytes());
            delivered.increment();
            if (failuresInARow >= endpoint.threshold()) {
                log.info("notifications to {} delivered again", endpoint.name());
            }
            failuresInARow = 0;
        } else {
            failedPosts.increment();
            failuresInARow++;
            lastFailureNanos = nanoTime.getAsLong();
            if (failuresInARow == endpoint.threshold()) {
                log.warn("notifications to {} failed {} times in a row ({}); retrying every {}", endpoint.name(), failuresInARow, failure,
                        endpoint.backoff());
            }
        }
    }

    /**
     * Makes the deliveries durable every {@link #SYNC_EVERY} events, every second, and whenever the spool runs dry:
     * one fsync for many events. A crash in between delivers the unsynced ones again (at least once).
     */
    private void syncNowAndThen() throws IOException {
        if (unsynced == 0) {
            return;
        }
        long now = nanoTime.getAsLong();
        if (unsynced >= SYNC_EVERY || now - syncedNanos >= 1_000_000_000L || spool.pendingBytes() == 0) {
            spool.sync();
            unsynced = 0;
            syncedNanos = now;
        }
    }

    private long backoffLeftMillis() {
        if (failuresInARow < endpoint.threshold()) {
            return 0;
        }
        long left = endpoint.backoff().toNanos() - (nanoTime.getAsLong() - lastFailureNanos);
        return left <= 0 ? 0 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(left));
    }

    /** POSTs one event in its envelope; null when the endpoint accepted it, else why not. */
    private @Nullable String post(byte[] event) {
        byte[] body = new byte[ENVELOPE_HEAD.length + event.length + ENVELOPE_TAIL.length];
        System.arraycopy(ENVELOPE_HEAD, 0, body, 0, ENVELOPE_HEAD.length);
        System.arraycopy(event, 0, body, ENVELOPE_HEAD.length, event.length);
        System.arraycopy(ENVELOPE_TAIL, 0, body, ENVELOPE_HEAD.length + event.length, ENVELOPE_TAIL.length);
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.url())
                .timeout(endpoint.timeout())
                .header("Content-Type", MEDIA_TYPE)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, List<String>> h : endpoint.headers().entrySet()) {
            for (String v : h.getValue()) {
                request.header(h.getKey(), v);
            }
        }
        try {
            HttpResponse<Void> r = client.send(request.build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() >= 200 && r.statusCode() < 400 ? null : "status " + r.statusCode();
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private void dropped(int n, String why) {
        dropped.increment(n);
        log.warn("notifications to {}: dropped the {} oldest event(s): {}", endpoint.name(), n, why);
    }

    /** Stops delivery; what is still queued in memory is written to the spool, to be delivered after a restart. */
    @Override
    public void close() throws IOException {
        running = false;
        try {
            thread.join(endpoint.timeout().toMillis() + 5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            List<byte[]> rest = new ArrayList<>();
            queue.drainTo(rest);
            int lost = spool.append(rest);
            if (lost > 0) {
                dropped(lost, "its spool is full");
            }
            spool.close();
        }
    }
}
