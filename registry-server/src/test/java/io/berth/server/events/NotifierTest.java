package io.berth.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.berth.server.config.RegistryConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which endpoint gets which event: registry:2's {@code ignoredmediatypes}, {@code ignore} and {@code disabled}. */
class NotifierTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Event.Source SOURCE = new Event.Source("registry:5000", "00000000-0000-0000-0000-000000000000");
    private static final Event.Request REQUEST = new Event.Request("req-1", "10.0.0.1:4000", "registry:5000", "PUT", "test/1");

    @TempDir
    Path dir;

    private HttpServer receiver;
    private final Map<String, List<JsonNode>> received = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            for (JsonNode e : JSON.readTree(body).path("events")) {
                received.computeIfAbsent(exchange.getRequestURI().getPath(), p -> Collections.synchronizedList(new ArrayList<>())).add(e);
            }
            exchange.sendResponseHeaders(202, -1);
            exchange.close();
        });
        receiver.start();
    }

    @AfterEach
    void stop() {
        receiver.stop(0);
    }

    private RegistryConfig.Endpoint endpoint(String name, List<String> ignoredMediaTypes, List<String> ignoreMediaTypes, List<String> actions,
            boolean disabled) {
        return new RegistryConfig.Endpoint(name, URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/" + name), Map.of(),
                Duration.ofSeconds(2), 10, Duration.ofMillis(100), ignoredMediaTypes, ignoreMediaTypes, actions, disabled);
    }

    @Test
    void eachEndpointGetsTheEventsItDoesNotIgnore() throws Exception {
        String blob = "application/octet-stream";
        String manifest = "application/vnd.oci.image.manifest.v1+json";
        RegistryConfig.Notifications config = new RegistryConfig.Notifications(false, List.of(
                endpoint("all", List.of(), List.of(), List.of(), false),
                endpoint("nopulls", List.of(), List.of(), List.of("pull"), false),
                endpoint("noblobs-old", List.of(blob), List.of(), List.of(), false),
                endpoint("noblobs-new", List.of(), List.of(blob), List.of(), false),
                endpoint("off", List.of(), List.of(), List.of(), true)), RegistryConfig.Notifications.DEFAULT_SPOOL_MAX_BYTES);
        try (Notifier n = Notifier.start(config, dir, 1 << 20, new SimpleMeterRegistry())) {
            n.publish(event("push", blob, "sha256:" + "1".repeat(64)));
            n.publish(event("push", manifest, "sha256:" + "2".repeat(64)));
            n.publish(event("pull", manifest, "sha256:" + "2".repeat(64)));
            n.publish(Event.of("delete", Instant.EPOCH).digest("sha256:" + "2".repeat(64)).repository("team/app").from(REQUEST, "ci", SOURCE));
            for (int i = 0; i < 200 && received.getOrDefault("/all", List.of()).size() < 4; i++) {
                Thread.sleep(50);
            }
            Thread.sleep(300);
        }
        assertThat(actions("/all")).containsExactly("push " + blob, "push " + manifest, "pull " + manifest, "delete ");
        assertThat(actions("/nopulls")).containsExactly("push " + blob, "push " + manifest, "delete ");
        assertThat(actions("/noblobs-old")).containsExactly("push " + manifest, "pull " + manifest, "delete ");
        assertThat(actions("/noblobs-new")).containsExactly("push " + manifest, "pull " + manifest, "delete ");
        assertThat(received).doesNotContainKey("/off");
        JsonNode delete = received.get("/all").get(3);
        assertThat(delete.path("actor").path("name").asText()).isEqualTo("ci");
        assertThat(delete.path("timestamp").asText()).isEqualTo("1970-01-01T00:00:00Z");
        assertThat(delete.path("request").path("useragent").asText()).isEqualTo("test/1");
        assertThat(delete.path("source").path("instanceID").asText()).isEqualTo(SOURCE.instanceId());
    }

    @Test
    void timestampsAreGosRfc3339WithTheFractionsTrailingZerosLeftOut() {
        assertThat(Event.timestamp(Instant.parse("2026-12-06T16:43:07.978275287Z"))).isEqualTo("2026-12-06T16:43:07.978275287Z");
        assertThat(Event.timestamp(Instant.parse("2026-12-06T16:43:07.100Z"))).isEqualTo("2026-12-06T16:43:07.1Z");
        assertThat(Event.timestamp(Instant.parse("2026-12-06T16:43:07Z"))).isEqualTo("2026-12-06T16:43:07Z");
    }

    private static Event event(String action, String mediaType, String digest) {
        return Event.of(action, Instant.EPOCH).descriptor(mediaType, 10, digest).repository("team/app").from(REQUEST, null, SOURCE);
    }

    private List<String> actions(String path) {
        List<JsonNode> list = received.getOrDefault(path, List.of());
        synchronized (list) {
            return list.stream().map(e -> e.path("action").asText() + " " + e.path("target").path("mediaType").asText()).toList();
        }
    }
}
