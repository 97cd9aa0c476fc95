package io.berth.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.conformance.Daemon;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Debian's Prometheus ({@code /usr/bin/prometheus}, scripts/install-peers.sh) on 127.0.0.1, with a configuration and
 * a data directory of its own under the test's directory: one scrape job {@code berth} every second, and the rule
 * files given, evaluated every second. {@link #close()} stops it.
 */
final class Prometheus implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Daemon daemon;
    private final URI base;
    private final HttpClient http;

    private Prometheus(Daemon daemon, URI base, HttpClient http) {
        this.daemon = daemon;
        this.base = base;
        this.http = http;
    }

    /** Starts Prometheus scraping {@code target} (host:port) at {@code metricsPath}, with {@code ruleFiles} loaded. */
    static Prometheus start(Path dir, String target, String metricsPath, List<Path> ruleFiles) throws IOException {
        Files.createDirectories(dir);
        StringBuilder config = new StringBuilder("""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                """);
        for (Path f : ruleFiles) {
            config.append("  - ").append(JSON.writeValueAsString(f.toAbsolutePath().toString())).append('\n');
        }
        config.append("""
                scrape_configs:
                  - job_name: berth
                    metrics_path: %s
                    static_configs:
                      - targets: [%s]
                """.formatted(JSON.writeValueAsString(metricsPath), JSON.writeValueAsString(target)));
        Path file = Files.writeString(dir.resolve("prometheus.yml"), config);
        int port = Daemon.freePort();
        URI base = URI.create("http://127.0.0.1:" + port);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        Daemon daemon = Daemon.start(List.of(Tools.tool("PROMETHEUS"), "--config.file=" + file, "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port), Map.of(), Duration.ofMinutes(1), () -> status(http, base.resolve("/-/ready")) == 200);
        return new Prometheus(daemon, base, http);
    }

    private static int status(HttpClient http, URI uri) {
        try {
            return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /**
     * The result of the instant query {@code promql} (the {@code data.result} array of /api/v1/query); fails with
     * Prometheus's error when the query does not parse or evaluate.
     */
    JsonNode query(String promql) {
        JsonNode answer = get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        if (!answer.path("status").asText().equals("success")) {
            throw new AssertionError("query failed: " + promql + "\n" + answer);
        }
        return answer.path("data").path("result");
    }

    /** /api/v1/rules: every rule group with each rule's health, last error and state. */
    JsonNode rules() {
        return get("/api/v1/rules").path("data");
    }

    private JsonNode get(String pathAndQuery) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    String logTail() {
        return daemon.logTail();
    }

    @Override
    public void close() {
        try {
            daemon.close();
        } finally {
            http.close();
        }
    }
}
