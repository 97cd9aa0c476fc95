package io.berth.server.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** The registry's Micrometer meters: requests by route, method and status; bytes; uploads; storage errors. */
final class ServerMetrics {
    private final MeterRegistry registry;
    private final Counter bytesIn;
    private final Counter bytesOut;
    private final Counter storageErrors;
    private final AtomicInteger activeUploads = new AtomicInteger();

    ServerMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.bytesIn = Counter.builder("berth.http.bytes.in").description("request body bytes received").register(registry);
        this.bytesOut = Counter.builder("berth.http.bytes.out").description("response body bytes sent").register(registry);
        this.storageErrors = Counter.builder("berth.storage.errors").description("storage I/O failures").register(registry);
        registry.gauge("berth.uploads.active", activeUploads);
    }

    /** One timer per route, method and status, looked up without building a meter id on every request. */
    private record TimerKey(Route.Kind route, String method, int status) {}

    private final java.util.concurrent.ConcurrentHashMap<TimerKey, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();

    void request(Route.Kind route, String method, int status, long nanos) {
        timers.computeIfAbsent(new TimerKey(route, method, status), k -> Timer.builder("berth.http.requests")
                        .tag("route", k.route().name().toLowerCase(java.util.Locale.ROOT))
                        .tag("method", k.method())
                        .tag("status", Integer.toString(k.status()))
                        .publishPercentileHistogram()
                        .maximumExpectedValue(Duration.ofSeconds(60))
                        .register(registry))
                .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    void bytesIn(long n) {
        bytesIn.increment(n);
    }

    void bytesOut(long n) {
        bytesOut.increment(n);
    }

    void storageError() {
        storageErrors.increment();
    }

    void uploadStarted() {
        activeUploads.incrementAndGet();
    }

    void uploadEnded() {
        activeUploads.decrementAndGet();
    }
}
