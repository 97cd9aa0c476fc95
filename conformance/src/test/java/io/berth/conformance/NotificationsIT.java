package io.berth.conformance;

import static io.berth.conformance.RoundTripContent.crane;
import static io.berth.conformance.RoundTripContent.craneDigest;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * registry:2's {@code notifications}, against registry:2 itself: Debian's registry:2 and Berth get the same
 * configuration and the same crane operations (push, digest, pull, copy with a mount, delete), each sending its
 * events to a receiver this test runs, and Berth's envelopes must be registry:2's, field for field, once the values
 * that differ by nature (ids, times, addresses, the listening port) are set aside. Then the delivery Berth adds:
 * events made while the receiver is down, across a restart of Berth, all arrive once it is back, in order.
 */
class NotificationsIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path work;

    private HttpServer receiver;
    private final Map<String, List<JsonNode>> events = new ConcurrentHashMap<>();
    private final Map<String, List<String>> contentTypes = new ConcurrentHashMap<>();

    private void startReceiver(int port) throws IOException {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        receiver.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            byte[] body = exchange.getRequestBody().readAllBytes();
            contentTypes.computeIfAbsent(path, p -> Collections.synchronizedList(new ArrayList<>()))
                    .add(exchange.getRequestHeaders().getFirst("Content-Type") + " " + exchange.getRequestHeaders().get("X-Test"));
            List<JsonNode> list = events.computeIfAbsent(path, p -> Collections.synchronizedList(new ArrayList<>()));
            for (JsonNode e : JSON.readTree(body).path("events")) {
                list.add(e);
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.setExecutor(Executors.newSingleThreadExecutor());
        receiver.start();
    }

    @AfterEach
    void stopReceiver() {
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    private Path config(String name, int port, int receiverPort, String path) throws IOException {
        return Files.writeString(work.resolve(name + ".yml"), """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                notifications:
                  events:
                    includereferences: true
                  endpoints:
                    - name: receiver
                      url: http://127.0.0.1:%d%s
                      headers:
                        X-Test: [one, two]
                      timeout: 2s
                      threshold: 3
                      backoff: 200ms
                """.formatted(work.resolve(name + "-data"), port, receiverPort, path));
    }

    /** The same operations against {@code host}, with the same image (one tarball pushed to both). */
    private static void operate(String host, Path image, Path out) {
        crane("push", image.toString(), host + "/team/app:v1");
        String digest = craneDigest("digest", "--full-ref", host + "/team/app:v1");
        crane("pull", "--format", "oci", host + "/team/app:v1", out.toString());
        crane("copy", host + "/team/app:v1", host + "/team/other:v1");
        crane("delete", host + "/team/app@" + digest);
    }

    @Test
    void berthSendsTheEnvelopesRegistry2SendsForTheSameOperations() throws Exception {
        startReceiver(0);
        int receiverPort = receiver.getAddress().getPort();
        Path layer = TestImages.randomLayer(work, "layer", 20_000, 9);
        Path image = work.resolve("image.tar");
        crane("append", "-f", layer.toString(), "-t", "notifications/app:v1", "-o", image.toString());

        int r2Port = Registry2.freePort();
        try (Registry2 r2 = Registry2.serveConfig(config("registry2", r2Port, receiverPort, "/registry2"), "127.0.0.1:" + r2Port)) {
            operate(r2.hostAndPort(), image, work.resolve("pulled-r2"));
            // registry:2 queues events in memory: stopping it now would lose the last ones.
            awaitQuiet("/registry2");
        }
        try (Berth berth = Berth.builder().config(ConfigLoader.load(config("berth", 0, receiverPort, "/berth"), Map.of())).build()) {
            berth.start();
            operate(berth.hostAndPort(), image, work.resolve("pulled-berth"));
            await(() -> events.getOrDefault("/berth", List.of()).size() >= events.getOrDefault("/registry2", List.of()).size());
        }

        List<JsonNode> expected = normalized(events.get("/registry2"));
        List<JsonNode> actual = normalized(events.get("/berth"));
        assertThat(expected).as("registry:2 sent events").hasSizeGreaterThan(8);
        // crane moves blobs in parallel, so their events may come in either order; everything else is sequential.
        assertThat(actual).as("Berth's events, normalized, against registry:2's").containsExactlyInAnyOrderElementsOf(expected);
        assertThat(withoutBlobs(actual)).as("in registry:2's order").isEqualTo(withoutBlobs(expected));
        assertThat(contentTypes.get("/berth")).as("the envelope's media type and the configured headers")
                .containsOnly("application/vnd.docker.distribution.events.v1+json [one, two]")
                .isEqualTo(contentTypes.get("/registry2"));
    }

    @Test
    void eventsMadeWhileTheReceiverIsDownArriveInOrderAcrossARestartOfBerth() throws Exception {
        int receiverPort = Registry2.freePort();
        Path config = config("restart", Registry2.freePort(), receiverPort, "/events");
        Path layers = work.resolve("layers");
        List<String> pushed = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            try (Berth berth = Berth.builder().config(ConfigLoader.load(config, Map.of())).build()) {
                berth.start();
                for (int i = 0; i < 3; i++) {
                    Path layer = TestImages.randomLayer(layers, "run" + run + "-" + i, 5_000, run * 10L + i);
                    pushed.add(RoundTripContent.pushImage(berth.hostAndPort() + "/team/app:r" + run + "-" + i, layer));
                }
                if (run == 1) {
                    startReceiver(receiverPort);
                    await(() -> manifestPushes().size() >= pushed.size());
                }
            }
        }
        assertThat(manifestPushes()).as("every manifest push, once, in the order pushed").isEqualTo(pushed);
        List<String> ids = events.get("/events").stream().map(e -> e.path("id").asText()).toList();
        assertThat(ids).as("no event twice").doesNotHaveDuplicates();
    }

    private List<String> manifestPushes() {
        return events.getOrDefault("/events", List.of()).stream()
                .filter(e -> e.path("action").asText().equals("push") && e.path("target").has("tag"))
                .map(e -> e.path("target").path("digest").asText()).toList();
    }

    private static List<JsonNode> withoutBlobs(List<JsonNode> events) {
        return events.stream().filter(e -> !e.path("target").path("mediaType").asText().equals("application/octet-stream")).toList();
    }

    /** Sets aside what differs by nature: ids, times, client and server addresses, and the port in URLs. */
    private static List<JsonNode> normalized(List<JsonNode> events) {
        List<JsonNode> out = new ArrayList<>();
        synchronized (events) {
            for (JsonNode e : events) {
                ObjectNode n = e.deepCopy();
                assertThat(n.path("id").asText()).as("an event id").hasSize(36);
                assertThat(n.path("timestamp").asText()).as("an RFC 3339 time").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?Z");
                assertThat(n.path("source").path("instanceID").asText()).hasSize(36);
                assertThat(n.path("source").path("addr").asText()).contains(":");
                n.remove(List.of("id", "timestamp", "source"));
                ObjectNode request = (ObjectNode) n.path("request");
                assertThat(request.path("addr").asText()).startsWith("127.0.0.1:");
                assertThat(request.path("id").asText()).isNotEmpty();
                request.remove(List.of("id", "addr", "host"));
                ObjectNode target = (ObjectNode) n.path("target");
                if (target.has("url")) {
                    target.put("url", target.path("url").asText().replaceFirst("^http://127\\.0\\.0\\.1:\\d+/", "http://HOST/"));
                }
                out.add(n);
            }
        }
        return out;
    }

    /** Waits (up to 30 s) until events have come to {@code path} and no more came for 2 seconds. */
    private void awaitQuiet(String path) throws InterruptedException {
        int seen = -1;
        for (int i = 0; i < 15; i++) {
            Thread.sleep(2000);
            int now = events.getOrDefault(path, List.of()).size();
            if (now > 0 && now == seen) {
                return;
            }
            seen = now;
        }
        throw new AssertionError("events to " + path + " never settled");
    }

    /** Waits (up to 30 s) for events the registries send in the background; then lets stragglers arrive. */
    private static void await(BooleanSupplier condition) throws InterruptedException {
        for (int i = 0; i < 300 && !condition.getAsBoolean(); i++) {
            Thread.sleep(100);
        }
        Thread.sleep(1000);
        assertThat(condition.getAsBoolean()).as("events arrived").isTrue();
    }
}
