package io.berth.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The debug listener: health that follows the storage, and Prometheus metrics of real traffic. */
class ObservabilityTest {
    private final HttpClient http = HttpClient.newHttpClient();

    private static RegistryConfig config(Path root) {
        return ConfigLoader.load(null, Map.of(
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", root.toString(),
                "REGISTRY_HTTP_ADDR", "127.0.0.1:0",
                "REGISTRY_HTTP_DEBUG_ADDR", "127.0.0.1:0",
                "REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED", "true",
                "REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL", "50ms",
                "REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD", "2",
                "REGISTRY_LOG_ACCESSLOG_DISABLED", "true"));
    }

    private HttpResponse<String> get(InetSocketAddress addr, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + addr.getPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void rootAndBaseAnswer200WithTheApiVersionHeader(@TempDir Path root) throws Exception {
        try (Berth berth = Berth.builder().config(config(root)).build()) {
            InetSocketAddress addr = berth.start();
            assertThat(get(addr, "/").statusCode()).isEqualTo(200);
            HttpResponse<String> base = get(addr, "/v2/");
            assertThat(base.statusCode()).isEqualTo(200);
            assertThat(base.headers().firstValue("Docker-Distribution-API-Version")).hasValue("registry/2.0");
        }
    }

    @Test
    void healthTurns503WhenStorageFailsThresholdTimesAndRecovers(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("data");
        try (Berth berth = Berth.builder().config(config(root)).build()) {
            berth.start();
            InetSocketAddress debug = berth.debugAddress();
            assertThat(debug).isNotNull();
            awaitStatus(debug, 200);
            Files.delete(root);
            HttpResponse<String> down = awaitStatus(debug, 503);
            assertThat(down.body()).contains("storagedriver_filesystem");
            Files.createDirectories(root);
            awaitStatus(debug, 200);
        }
    }

    @Test
    void metricsCountRequestsByRouteMethodAndStatus(@TempDir Path root) throws Exception {
        try (Berth berth = Berth.builder().config(config(root)).build()) {
            InetSocketAddress addr = berth.start();
            get(addr, "/v2/");
            get(addr, "/v2/team/app/manifests/missing");
            // A request is counted once its response is written, so the scrape may briefly lag the client.
            HttpResponse<String> metrics = get(berth.debugAddress(), "/metrics");
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (!metrics.body().contains("route=\"manifest\",status=\"404\"") && System.nanoTime() < deadline) {
                Thread.sleep(20);
                metrics = get(berth.debugAddress(), "/metrics");
            }
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body())
                    .contains("berth_http_requests_seconds_count{method=\"GET\",route=\"base\",status=\"200\"} 1")
                    .contains("berth_http_requests_seconds_count{method=\"GET\",route=\"manifest\",status=\"404\"} 1")
                    .contains("berth_http_requests_seconds_bucket")
                    .contains("berth_uploads_active")
                    .contains("berth_storage_errors_total");
        }
    }

    private HttpResponse<String> awaitStatus(InetSocketAddress debug, int status) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        HttpResponse<String> last;
        do {
            last = get(debug, "/debug/health");
            if (last.statusCode() == status) {
                return last;
            }
            Thread.sleep(25);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("health stayed " + last.statusCode() + " " + last.body() + ", expected " + status);
    }
}
