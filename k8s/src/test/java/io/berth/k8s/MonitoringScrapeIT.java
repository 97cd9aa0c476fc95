package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.conformance.Daemon;
import io.berth.conformance.Proc;
import io.berth.testing.PodReviews;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitoring kit against live metrics: Berth as the cluster runs it (the rendered config.yml and the StatefulSet's
 * environment and JVM options, {@link RenderedBerth#prepare}: TLS, the token issuer on htpasswd accounts, the image
 * webhook, the debug listener's Prometheus endpoint), started as its own process from the built jar, and Debian's
 * Prometheus scraping it every second with berth-rules.yml loaded. After pushes, pulls, refused credentials, a
 * failed upload and admission reviews (one admitted, one refused), every alert expression (with its threshold made a
 * {@code bool} comparison, the convention berth-rules.yml documents) and every dashboard query must return a series:
 * a misspelt metric or label fails here instead of staying silent in production.
 */
class MonitoringScrapeIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    static Path work;

    private static RenderedBerth.Setup setup;
    private static Daemon berth;
    private static Prometheus prometheus;
    private static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        setup = RenderedBerth.prepare(work);
        berth = startBerth(setup);
        client = HttpClient.newBuilder().sslContext(TestPki.trusting(setup.secrets().resolve("ca.crt"))).connectTimeout(Duration.ofSeconds(5)).build();
        String metricsPath = MonitoringKit.yamlText(Files.readString(setup.config())).path("http").path("debug").path("prometheus").path("path").asText();
        prometheus = Prometheus.start(work.resolve("prometheus"), "127.0.0.1:" + setup.debugPort(), metricsPath, List.of(MonitoringKit.RULES));
        // A first scrape before any traffic, so that counters have a sample to grow from.
        awaitQuery("up{job=\"berth\"} == 1", r -> !r.isEmpty());
        traffic();
        // Scrapes after the traffic: every rate window holds samples from before and after it.
        long after = System.currentTimeMillis() / 1000 + 3;
        awaitQuery("timestamp(up{job=\"berth\"}) > " + after, r -> !r.isEmpty());
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(client, prometheus, berth);
    }

    /** Berth's jar (or -Dberth.jar, e.g. a build from before a change) with the StatefulSet's JVM options and memory limit. */
    private static Daemon startBerth(RenderedBerth.Setup s) {
        Path repo = Tools.k8sDir().getParent();
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(s.javaOptions());
        command.addAll(List.of("-jar", System.getProperty("berth.jar", repo.resolve("registry-server/target/berth-server.jar").toString()),
                "serve", s.config().toString()));
        URI metrics = URI.create("http://127.0.0.1:" + s.debugPort() + "/debug/health");
        HttpClient plain = HttpClient.newHttpClient();
        try {
            return Daemon.start(command, s.env(), Duration.ofMinutes(1), () -> {
                try {
                    return plain.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(2)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
        } finally {
            plain.close();
        }
    }

    /** What a day at the registry looks like, in small: CI pushes and signs, nodes pull, the API server asks the webhook. */
    private static void traffic() throws Exception {
        crane("auth", "login", setup.host(), "-u", "ci", "-p", password("ci")).requireSuccess();
        String signed = push("team/app:v1.0.0");
        String unsigned = push("team/tool:v2.0.0");
        setup.cosign().sign(setup.host() + "/team/app@" + signed, ci()).requireSuccess();
        crane("pull", setup.host() + "/team/app@" + signed, work.resolve("pulled.tar").toString()).requireSuccess();

        // Refused credentials: a wrong password at the token issuer (Basic), a forged token at the registry (Bearer).
        assertThat(send("GET", tokenUri("team/app", "pull"), null, "Authorization", basic("ci", "not-the-password")).statusCode()).isEqualTo(401);
        assertThat(send("GET", registryUri("/v2/"), null, "Authorization", "Bearer not.a.token").statusCode()).isEqualTo(401);

        // A failed upload: the blob's bytes do not match the digest the client names.
        String token = JSON.readTree(expect(send("GET", tokenUri("team/app", "pull,push"), null, "Authorization", basic("ci", password("ci"))), 200))
                .path("token").asText();
        HttpResponse<String> started = send("POST", registryUri("/v2/team/app/blobs/uploads/"), new byte[0], "Authorization", "Bearer " + token);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        URI upload = URI.create(registryUri("/")).resolve(started.headers().firstValue("Location").orElseThrow());
        String wrongDigest = "sha256:" + "0".repeat(64);
        HttpResponse<String> put = send("PUT", upload + (upload.getQuery() == null ? "?" : "&") + "digest=" + wrongDigest,
                "not what the digest says".getBytes(StandardCharsets.UTF_8), "Authorization", "Bearer " + token);
        assertThat(put.statusCode()).as(put.body()).isEqualTo(400);

        // The webhook admits the signed digest and refuses the unsigned one.
        assertThat(review("team/app", signed).path("allowed").asBoolean()).isTrue();
        assertThat(review("team/tool", unsigned).path("allowed").asBoolean()).isFalse();
    }

    @Test
    void everyAlertExpressionReturnsASeriesFromTheLiveBerth() {
        List<String> empty = new ArrayList<>();
        MonitoringKit.alerts().forEach((name, expr) -> {
            String query = Promql.asBool(expr);
            if (prometheus.query(query).isEmpty()) {
                empty.add(name + ": " + query);
            }
        });
        assertThat(empty).as("alerts whose expression returns no series (a metric or label Berth does not export?)").isEmpty();
    }

    @Test
    void everyDashboardQueryReturnsASeriesFromTheLiveBerth() {
        List<String> empty = new ArrayList<>();
        for (MonitoringKit.Query q : MonitoringKit.dashboardQueries()) {
            if (prometheus.query(q.promql()).isEmpty()) {
                empty.add(q.where() + ": " + q.promql());
            }
        }
        assertThat(empty).as("dashboard queries that return no series (a metric or label Berth does not export?)").isEmpty();
    }

    @Test
    void prometheusEvaluatesEveryRuleWithoutErrorAndTheRefusedPodFiresItsAlert() throws InterruptedException {
        JsonNode rules = awaitRules(r -> firing(r, "BerthAdmissionRefusals"));
        List<String> unhealthy = new ArrayList<>();
        int count = 0;
        for (JsonNode group : rules.path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                count++;
                if (!rule.path("health").asText().equals("ok")) {
                    unhealthy.add(rule.path("name").asText() + ": " + rule.path("health").asText() + " " + rule.path("lastError").asText());
                }
            }
        }
        assertThat(count).isEqualTo(MonitoringKit.alerts().size());
        assertThat(unhealthy).isEmpty();
        assertThat(firing(rules, "BerthAdmissionRefusals")).as("one pod was refused: BerthAdmissionRefusals fires").isTrue();
        assertThat(firing(rules, "BerthDown")).as("Berth is up").isFalse();
        assertThat(firing(rules, "BerthStorageUnhealthy")).as("Berth's storage is healthy").isFalse();
        assertThat(firing(rules, "BerthCertificateExpiringSoon")).as("bootstrap-secrets.sh's certificates are fresh").isFalse();
    }

    @Test
    void theLiveValuesMatchWhatTheTrafficDid() {
        assertThat(value("berth_storage_healthy{job=\"berth\"}")).isEqualTo(1);
        assertThat(value("sum(berth_auth_failures_total{job=\"berth\", scheme=\"basic\"})")).isGreaterThanOrEqualTo(1);
        assertThat(value("sum(berth_auth_failures_total{job=\"berth\", scheme=\"bearer\"})")).isGreaterThanOrEqualTo(1);
        assertThat(value("sum(berth_uploads_failed_total{job=\"berth\"})")).isGreaterThanOrEqualTo(1);
        assertThat(value("sum(berth_admission_reviews_total{job=\"berth\", decision=\"denied\"})")).isEqualTo(1);
        assertThat(value("sum(berth_admission_reviews_total{job=\"berth\", decision=\"allowed\"})")).isEqualTo(1);
        assertThat(value("count(berth_tls_certificate_expiry_timestamp_seconds{job=\"berth\"} - time() > 14 * 86400)")).isGreaterThanOrEqualTo(2);
        assertThat(value("berth_storage_volume_total_bytes{job=\"berth\"}")).isGreaterThan(0);
    }

    private static double value(String promql) {
        JsonNode r = prometheus.query(promql);
        assertThat(r).as(promql).hasSize(1);
        return Double.parseDouble(r.get(0).path("value").get(1).asText());
    }

    private static boolean firing(JsonNode rules, String alert) {
        for (JsonNode group : rules.path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.path("name").asText().equals(alert)) {
                    return rule.path("state").asText().equals("firing");
                }
            }
        }
        throw new AssertionError("no rule " + alert + " loaded");
    }

    /** Polls /api/v1/rules until {@code done} holds or {@link #WAIT} passed; returns the last answer either way. */
    private static JsonNode awaitRules(Predicate<JsonNode> done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode rules = prometheus.rules();
        while (!done.test(rules) && System.nanoTime() < deadline) {
            Thread.sleep(500);
            rules = prometheus.rules();
        }
        return rules;
    }

    /** Polls {@code promql} until its result satisfies {@code done}; fails after {@link #WAIT}. */
    private static void awaitQuery(String promql, Predicate<JsonNode> done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.test(prometheus.query(promql))) {
            if (System.nanoTime() > deadline || !berth.isAlive()) {
                throw new AssertionError("no answer to " + promql + " after " + WAIT + "\nBerth's log:\n" + berth.logTail()
                        + "\nPrometheus's log:\n" + prometheus.logTail());
            }
            Thread.sleep(250);
        }
    }

    private static JsonNode review(String repository, String digest) throws IOException {
        HttpResponse<String> r = send("POST", "https://127.0.0.1:" + setup.admissionPort() + "/validate",
                PodReviews.create("uid-" + digest.substring(7, 19), Workloads.HOST + "/" + repository + "@" + digest), "Content-Type", "application/json");
        return JSON.readTree(expect(r, 200)).path("response");
    }

    private static String registryUri(String path) {
        return "https://" + setup.host() + path;
    }

    private static String tokenUri(String repository, String actions) {
        String service = setup.env().get("REGISTRY_AUTH_TOKEN_SERVICE");
        return registryUri("/auth/token?service=" + URLEncoder.encode(service, StandardCharsets.UTF_8) + "&scope="
                + URLEncoder.encode("repository:" + repository + ":" + actions, StandardCharsets.UTF_8));
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static HttpResponse<String> send(String method, String uri, byte @Nullable [] body, String... headers) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        try {
            return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static String expect(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as(r.request().method() + " " + r.uri() + ": " + r.body()).isEqualTo(status);
        return r.body();
    }

    private static String password(String account) throws IOException {
        return Files.readString(setup.secrets().resolve(account + ".password")).strip();
    }

    /** Pushes a one-layer image as ci; returns its digest. */
    private static String push(String repositoryAndTag) throws IOException {
        return CiCrane.push(work, setup.host(), ci(), repositoryAndTag, "monitoring");
    }

    /** CI's environment: the registry's CA, and the docker config crane logged in to as ci. */
    private static Map<String, String> ci() {
        return CiCrane.env(work, setup.secrets().resolve("ca.crt"));
    }

    private static Proc.Result crane(String... args) {
        return CiCrane.run(ci(), args);
    }

}
