package io.berth.server.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The registry's Micrometer meters: requests by route, method and status; bytes; uploads; storage errors.
 *
 * <p>Every tag value comes from a bounded set the server chooses: a client picks the method of a request before it
 * is authenticated, so the method is labelled {@link #methodLabel(String) by name only when it is one of the API's}.
 */
final class ServerMetrics {
    /** The label of any method the registry API does not use, and of a status outside 100-599. */
    static final String OTHER = "other";

    private final MeterRegistry registry;
    private final Counter bytesIn;
    private final Counter bytesOut;
    private final Counter storageErrors;
    private final Counter basicFailures;
    private final Counter bearerFailures;
    private final Counter uploadsFailed;
    private final AtomicInteger activeUploads = new AtomicInteger();
    private final AtomicInteger activeRequests = new AtomicInteger();

    ServerMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.bytesIn = Counter.builder("berth.http.bytes.in").description("request body bytes received").register(registry);
        this.bytesOut = Counter.builder("berth.http.bytes.out").description("response body bytes sent").register(registry);
        this.storageErrors = Counter.builder("berth.storage.errors").description("storage I/O failures").register(registry);
        this.basicFailures = authFailures(registry, "basic");
        this.bearerFailures = authFailures(registry, "bearer");
        this.uploadsFailed = Counter.builder("berth.uploads.failed")
                .description("upload requests refused for a reason other than access (401, 403, 404), failed (5xx) or dropped by the client")
                .register(registry);
        registry.gauge("berth.uploads.active", activeUploads);
        registry.gauge("berth.http.requests.active", activeRequests);
    }

    /** Reports the shared read-ahead budget's bytes in flight and the connections waiting for room in it. */
    void watch(ReadAhead.Budget inFlight) {
        io.micrometer.core.instrument.Gauge.builder("berth.http.inflight.bytes", inFlight, ReadAhead.Budget::used)
                .description("request bytes read from sockets and not yet handled, over all connections (berth.limits.inFlightBytes)")
                .register(registry);
        io.micrometer.core.instrument.Gauge.builder("berth.http.inflight.waiting", inFlight, ReadAhead.Budget::waiting)
                .description("connections waiting for room in berth.limits.inFlightBytes")
                .register(registry);
    }

    /**
     * The method as a label: {@code GET}, {@code HEAD}, {@code PUT}, {@code POST}, {@code PATCH}, {@code DELETE} or
     * {@code OPTIONS} (case-sensitive, as HTTP methods are), else {@code other}. For metrics and logs alike.
     */
    static String methodLabel(HttpMethod method) {
        return methodLabel(method.name());
    }

    /** {@link #methodLabel(HttpMethod)} of a method's name. */
    static String methodLabel(String method) {
        return switch (method) {
            case "GET" -> "GET";
            case "HEAD" -> "HEAD";
            case "PUT" -> "PUT";
            case "POST" -> "POST";
            case "PATCH" -> "PATCH";
            case "DELETE" -> "DELETE";
            case "OPTIONS" -> "OPTIONS";
            default -> OTHER;
        };
    }

    /** The status code as a label, or {@code other} outside 100-599. */
    static String statusLabel(int status) {
        return status >= 100 && status <= 599 ? Integer.toString(status) : OTHER;
    }

    /** One timer per route, method label and status label, looked up without building a meter id on every request. */
    private record TimerKey(Route.Kind route, String method, String status) {}

    private final ConcurrentHashMap<TimerKey, Timer> timers = new ConcurrentHashMap<>();

    private static Counter authFailures(MeterRegistry registry, String scheme) {
        return Counter.builder("berth.auth.failures").tag("scheme", scheme)
                .description("credentials that did not authenticate: a wrong password (basic, also at the token endpoint) or an invalid token (bearer)")
                .register(registry);
    }

    /** Credentials of {@code scheme} ({@code basic} or {@code bearer}) that did not authenticate. */
    void authFailure(String scheme) {
        (scheme.equals("bearer") ? bearerFailures : basicFailures).increment();
    }

    /** An upload whose connection closed before it was answered. */
    void uploadAborted() {
        uploadsFailed.increment();
    }

    /**
     * Counts a request; {@code method} and {@code status} are mapped to their labels here. A 401 from the token
     * endpoint is a failed login, and an upload answered with an error other than access is a failed upload.
     */
    void request(Route.Kind route, String method, int status, long nanos) {
        if (route == Route.Kind.TOKEN && status == 401) {
            basicFailures.increment();
        } else if ((route == Route.Kind.UPLOADS || route == Route.Kind.UPLOAD) && status >= 400 && status != 401 && status != 403 && status != 404) {
            uploadsFailed.increment();
        }
        timers.computeIfAbsent(new TimerKey(route, methodLabel(method), statusLabel(status)), k -> Timer.builder("berth.http.requests")
                        .tag("route", k.route().name().toLowerCase(Locale.ROOT))
                        .tag("method", k.method())
                        .tag("status", k.status())
                        .publishPercentileHistogram()
                        .maximumExpectedValue(Duration.ofSeconds(60))
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
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

    /** A request head has been accepted for handling; {@link #requestEnded()} follows once it is answered or abandoned. */
    void requestStarted() {
        activeRequests.incrementAndGet();
    }

    void requestEnded() {
        activeRequests.decrementAndGet();
    }

    void uploadStarted() {
        activeUploads.incrementAndGet();
    }

    void uploadEnded() {
        activeUploads.decrementAndGet();
    }
}
