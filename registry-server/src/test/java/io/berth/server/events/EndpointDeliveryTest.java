package io.berth.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.berth.server.config.RegistryConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One endpoint's delivery against a real HTTP receiver on 127.0.0.1: many request threads at once, a receiver that
 * refuses and then accepts, a restart in between, a full spool, and registry:2's threshold and backoff.
 */
class EndpointDeliveryTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private HttpServer receiver;
    private final List<JsonNode> received = Collections.synchronizedList(new ArrayList<>());
    private final List<Map<String, List<String>>> headers = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger posts = new AtomicInteger();
    private volatile int status = 200;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void startReceiver() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/events", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            posts.incrementAndGet();
            int answer = status;
            if (answer < 300) {
                headers.add(new HashMap<>(exchange.getRequestHeaders()));
                for (JsonNode e : JSON.readTree(body).path("events")) {
                    received.add(e);
                }
            }
            exchange.sendResponseHeaders(answer, -1);
            exchange.close();
        });
        receiver.setExecutor(Executors.newFixedThreadPool(4));
        receiver.start();
    }

    @AfterEach
    void stopReceiver() {
        receiver.stop(0);
        client.close();
    }

    private RegistryConfig.Endpoint endpoint(int threshold, Duration backoff) {
        return new RegistryConfig.Endpoint("hook", URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/events"),
                Map.of("X-Token", List.of("one", "two")), Duration.ofSeconds(2), threshold, backoff, List.of(), List.of(), List.of(), false);
    }

    private EndpointDelivery delivery(RegistryConfig.Endpoint endpoint, long spoolMaxBytes, AtomicLong clock) throws Exception {
        return new EndpointDelivery(endpoint, dir.resolve("spool"), spoolMaxBytes, client, meters, clock::get);
    }

    private static byte[] event(String id) {
        return ("{\"id\":\"" + id + "\",\"action\":\"push\"}").getBytes(StandardCharsets.UTF_8);
    }

    private List<String> ids() {
        synchronized (received) {
            return received.stream().map(e -> e.path("id").asText()).toList();
        }
    }

    @Test
    void eventsFromManyThreadsAtOnceAllArriveInEachThreadsOrder() throws Exception {
        int threads = 16;
        int each = 200;
        try (EndpointDelivery d = delivery(endpoint(10, Duration.ofMillis(50)), 64 << 20, new AtomicLong());
                ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CountDownLatch start = new CountDownLatch(1);
            for (int t = 0; t < threads; t++) {
                int thread = t;
                pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < each; i++) {
                        d.offer(event(thread + "-" + i));
                    }
                    return null;
                });
            }
            start.countDown();
            await(() -> received.size() >= threads * each);
        }
        List<String> ids = ids();
        assertThat(ids).hasSize(threads * each).doesNotHaveDuplicates();
        for (int t = 0; t < threads; t++) {
            String prefix = t + "-";
            List<String> mine = ids.stream().filter(id -> id.startsWith(prefix)).toList();
            assertThat(mine).as("thread %d's events in its order", t)
                    .isEqualTo(java.util.stream.IntStream.range(0, each).mapToObj(i -> prefix + i).toList());
        }
        assertThat(meters.get("berth.notifications.events").tag("outcome", "delivered").counter().count()).isEqualTo(threads * each);
        synchronized (headers) {
            assertThat(headers).allSatisfy(h -> {
                assertThat(h.get("Content-type")).containsExactly(EndpointDelivery.MEDIA_TYPE);
                assertThat(h.get("X-token")).containsExactly("one", "two");
            });
        }
    }

    @Test
    void aReceiverThatRefusesThenAcceptsGetsEveryEventOnceInOrderAcrossARestart() throws Exception {
        status = 503;
        AtomicLong clock = new AtomicLong();
        try (EndpointDelivery d = delivery(endpoint(3, Duration.ofMillis(100)), 64 << 20, clock)) {
            for (int i = 0; i < 50; i++) {
                d.offer(event("a-" + i));
            }
            await(() -> posts.get() >= 3);
        }
        assertThat(received).isEmpty();
        try (EndpointDelivery d = delivery(endpoint(3, Duration.ofMillis(100)), 64 << 20, clock)) {
            for (int i = 0; i < 50; i++) {
                d.offer(event("b-" + i));
            }
            status = 200;
            clock.addAndGet(Duration.ofSeconds(1).toNanos());
            await(() -> received.size() >= 100);
        }
        List<String> expected = new ArrayList<>();
        for (String p : List.of("a-", "b-")) {
            for (int i = 0; i < 50; i++) {
                expected.add(p + i);
            }
        }
        assertThat(ids()).isEqualTo(expected);
    }

    @Test
    void afterThresholdFailuresInARowItRetriesOnlyOnceTheBackoffHasPassed() throws Exception {
        status = 500;
        AtomicLong clock = new AtomicLong();
        try (EndpointDelivery d = delivery(endpoint(2, Duration.ofSeconds(30)), 64 << 20, clock)) {
            d.offer(event("x"));
            await(() -> posts.get() >= 2);
            Thread.sleep(600);
            assertThat(posts.get()).as("no retry before the backoff").isEqualTo(2);

            clock.addAndGet(Duration.ofSeconds(30).toNanos());
            await(() -> posts.get() >= 3);
            status = 200;
            clock.addAndGet(Duration.ofSeconds(30).toNanos());
            await(() -> received.size() == 1);
        }
        assertThat(meters.get("berth.notifications.failures").counter().count()).isEqualTo(3);
    }

    @Test
    void aFullSpoolDropsTheOldestAndCountsThem() throws Exception {
        status = 503;
        AtomicLong clock = new AtomicLong();
        int total = 400;
        try (EndpointDelivery d = delivery(endpoint(1, Duration.ofHours(1)), 4096, clock)) {
            for (int i = 0; i < total; i++) {
                d.offer(event(String.format("e-%05d", i)));
            }
            await(() -> meters.get("berth.notifications.events").tag("outcome", "dropped").counter().count() > 0);
        }
        try (EndpointDelivery d = delivery(endpoint(1, Duration.ofHours(1)), 4096, clock)) {
            status = 200;
            clock.addAndGet(Duration.ofHours(2).toNanos());
            double lost = meters.get("berth.notifications.events").tag("outcome", "dropped").counter().count();
            await(() -> received.size() + lost >= total);
        }
        double dropped = meters.get("berth.notifications.events").tag("outcome", "dropped").counter().count();
        List<String> ids = ids();
        assertThat(dropped + ids.size()).as("each event delivered or counted as dropped").isEqualTo(total);
        assertThat(ids).as("the newest survive, in order").isEqualTo(java.util.stream.IntStream.range((int) dropped, total)
                .mapToObj(i -> String.format("e-%05d", i)).toList());
    }

    /** Waits (up to 20 s) for something the delivery thread does; the assertion is on the outcome, not the time. */
    private static void await(BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 400 && !condition.getAsBoolean(); i++) {
            Thread.sleep(50);
        }
        assertThat(condition.getAsBoolean()).as("condition reached").isTrue();
    }
}
