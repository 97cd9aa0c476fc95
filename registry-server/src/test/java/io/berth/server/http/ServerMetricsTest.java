package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.RegistryStorage;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Request metrics are keyed by labels the server chooses, never by what a client sends. */
class ServerMetricsTest {
    private static final String[] KNOWN = {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"};

    @Test
    void theMethodsOfTheRegistryApiAreTheirOwnLabel() {
        for (String method : KNOWN) {
            assertThat(ServerMetrics.methodLabel(HttpMethod.valueOf(method))).isEqualTo(method);
        }
    }

    @ParameterizedTest
    @CsvSource({"TRACE", "CONNECT", "get", "Get", "PROPFIND", "GETS", "BREW"})
    void anyOtherMethodIsLabelledOther(String method) {
        assertThat(ServerMetrics.methodLabel(HttpMethod.valueOf(method))).isEqualTo("other");
    }

    @Test
    void aLongMethodIsLabelledOther() {
        assertThat(ServerMetrics.methodLabel(HttpMethod.valueOf("G".repeat(15_000)))).isEqualTo("other");
    }

    @ParameterizedTest
    @CsvSource({"100, 100", "200, 200", "404, 404", "599, 599", "99, other", "600, other", "0, other", "-1, other", "1000, other"})
    void statusesOutside100To599AreLabelledOther(int status, String label) {
        assertThat(ServerMetrics.statusLabel(status)).isEqualTo(label);
    }

    @Test
    void timersCountUnderTheBoundedLabels() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        ServerMetrics metrics = new ServerMetrics(meters);

        metrics.request(Route.Kind.BASE, "GET", 200, 1_000);
        metrics.request(Route.Kind.BASE, "GET", 200, 1_000);
        metrics.request(Route.Kind.BASE, "X".repeat(100), 405, 1_000);
        metrics.request(Route.Kind.BASE, "Y".repeat(100), 405, 1_000);
        metrics.request(Route.Kind.BASE, "Y".repeat(100), 700, 1_000);

        assertThat(meters.get("berth.http.requests").tags("route", "base", "method", "GET", "status", "200").timer().count()).isEqualTo(2);
        assertThat(meters.get("berth.http.requests").tags("route", "base", "method", "other", "status", "405").timer().count()).isEqualTo(2);
        assertThat(meters.get("berth.http.requests").tags("route", "base", "method", "other", "status", "other").timer().count()).isEqualTo(1);
        assertThat(meters.get("berth.http.requests").timers()).hasSize(3);
    }

    /**
     * The attack of issue 13: unauthenticated requests with random long methods, each of which used to leave a timer
     * with a percentile histogram behind for good, until a scrape ran out of heap.
     */
    @Test
    void requestsWithRandomLongMethodsAddNoTimers(@TempDir Path root) throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RegistryConfig config = ConfigLoader.load(null, Map.of(
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", root.toString(),
                "REGISTRY_HTTP_ADDR", "127.0.0.1:0",
                "REGISTRY_LOG_ACCESSLOG_DISABLED", "true"));
        RegistryServer server = RegistryServer.start(config, RegistryStorage.open(root), meters, java.time.Clock.systemUTC());
        Random random = new Random(13);
        int requests = 200;
        try {
            InetSocketAddress address = server.address();
            for (int i = 0; i < requests; i++) {
                try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                    s.setSoTimeout(15_000);
                    HttpFixture.write(s, randomMethod(random, 15_000) + " /v2/ HTTP/1.1\r\nHost: registry\r\nContent-Length: 0\r\n\r\n");
                    assertThat(HttpFixture.read(s).status()).isEqualTo(405);
                }
            }
        } finally {
            // Waits for the event loops, so every request has been counted.
            server.close();
        }

        Collection<Timer> timers = meters.find("berth.http.requests").timers();
        assertThat(timers).hasSize(1);
        Timer timer = timers.iterator().next();
        assertThat(timer.getId().getTag("method")).isEqualTo("other");
        assertThat(timer.getId().getTag("route")).isEqualTo("base");
        assertThat(timer.getId().getTag("status")).isEqualTo("405");
        assertThat(timer.count()).isEqualTo(requests);
    }

    /** A token of {@code length} upper-case letters: a valid method to HTTP, and a new one every time. */
    private static String randomMethod(Random random, int length) {
        StringBuilder sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            sb.append((char) ('A' + random.nextInt(26)));
        }
        return sb.toString();
    }
}
