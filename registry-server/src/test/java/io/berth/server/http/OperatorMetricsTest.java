package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.HtpasswdFiles;
import io.berth.testing.PodReviews;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics the monitoring kit's alerts and dashboard read (k8s/components/monitoring), with the values the
 * server really has: JVM and process, the volume, content counts, certificate expiry, failed logins, failed
 * uploads, storage health and admission decisions.
 */
class OperatorMetricsTest {
    @TempDir
    Path dir;

    private String sections(TestPki.Ca pki) {
        HtpasswdFiles.write(dir.resolve("htpasswd"), "ci", "ci-secret");
        pki.server("berth-admission").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        return """
                  debug:
                    addr: 127.0.0.1:0
                    prometheus:
                      enabled: true
                      path: /metrics
                health:
                  storagedriver:
                    enabled: true
                    interval: 100ms
                    threshold: 1
                auth:
                  htpasswd:
                    realm: test
                    path: %s
                berth:
                  admission:
                    addr: 127.0.0.1:0
                    tls:
                      certificate: %s
                      key: %s
                    hosts: [registry.mycorp.local]
                """.formatted(dir.resolve("htpasswd"), dir.resolve("tls.crt"), dir.resolve("tls.key"));
    }

    @Test
    void failedLoginsFailedUploadsAndAdmissionDecisionsAreCountedAndScraped() throws Exception {
        TestPki.Ca pki = TestPki.Ca.root("Berth Test CA");
        try (HttpFixture http = HttpFixture.startOn(dir, sections(pki));
                RegistryClient webhook = RegistryClient.builder(URI.create("https://127.0.0.1:" + http.berth.admissionAddress().getPort()))
                        .trust(pki).build();
                RegistryClient debug = RegistryClient.builder(URI.create("http://127.0.0.1:" + http.berth.debugAddress().getPort())).build()) {
            HttpFixture ci = http.as("ci", "ci-secret");
            HttpFixture.Manifest pushed = ci.pushImage("team/app", "one", "v1");

            assertThat(http.get("/v2/").statusCode()).as("a challenge").isEqualTo(401);
            assertThat(http.as("ci", "wrong").get("/v2/").statusCode()).isEqualTo(401);
            assertThat(counter(http, "berth.auth.failures", "scheme", "basic")).as("only the wrong password counts").isEqualTo(1);

            String upload = ci.startUpload("team/app");
            HttpResponse<byte[]> wrongDigest = ci.send("PUT", upload + (upload.contains("?") ? "&" : "?") + "digest=sha256:" + "0".repeat(64),
                    "bytes".getBytes(), "Content-Type", "application/octet-stream");
            HttpFixture.assertError(wrongDigest, 400, "DIGEST_INVALID");
            assertThat(ci.get("/v2/team/nowhere/blobs/uploads/x").statusCode()).isEqualTo(404);
            assertThat(counter(http, "berth.uploads.failed")).as("the wrong digest fails an upload; an unknown upload does not").isEqualTo(1);

            String dropped = ci.startUpload("team/app");
            try (Socket s = http.socket()) {
                HttpFixture.write(s, "PATCH " + URI.create(dropped).getRawPath() + " HTTP/1.1\r\nHost: x\r\n"
                        + "Authorization: Basic " + java.util.Base64.getEncoder().encodeToString("ci:ci-secret".getBytes()) + "\r\n"
                        + "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000));
            }
            awaitValue(() -> counter(http, "berth.uploads.failed"), 2);

            AdmissionWebhookHttpTest.post(webhook, PodReviews.create("u-1", "registry.mycorp.local/team/app@" + pushed.digest()));
            AdmissionWebhookHttpTest.post(webhook, PodReviews.create("u-1", "registry.mycorp.local/team/app@sha256:" + "0".repeat(64)));
            AdmissionWebhookHttpTest.post(webhook, PodReviews.create("u-1", "registry.mycorp.local/team/app@sha256:" + "1".repeat(64)));
            assertThat(counter(http, "berth.admission.reviews", "decision", "allowed")).isEqualTo(1);
            assertThat(counter(http, "berth.admission.reviews", "decision", "denied")).isEqualTo(2);
            assertThat(http.berth.meters().get("berth.admission.review").timer().count()).isEqualTo(3);

            awaitValue(() -> http.gauge("berth.storage.healthy"), 1);
            X509Certificate served;
            try (InputStream in = Files.newInputStream(dir.resolve("tls.crt"))) {
                served = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            }
            assertThat(http.berth.meters().get("berth.tls.certificate.expiry.timestamp").tag("endpoint", "admission").gauge().value())
                    .isEqualTo(served.getNotAfter().toInstant().getEpochSecond());

            String scraped = RegistryClient.text(debug.get("/metrics"));
            assertThat(scraped).contains(
                    "berth_auth_failures_total{scheme=\"basic\"} 1.0",
                    "berth_auth_failures_total{scheme=\"bearer\"} 0.0",
                    "berth_uploads_failed_total 2.0",
                    "berth_admission_reviews_total{decision=\"denied\"} 2.0",
                    "berth_admission_review_seconds_bucket{",
                    "berth_storage_healthy 1.0",
                    "berth_tls_certificate_expiry_timestamp_seconds{endpoint=\"admission\"}",
                    "berth_storage_volume_free_bytes ",
                    "berth_storage_volume_total_bytes ",
                    "berth_storage_volume_used_bytes ",
                    "berth_storage_blobs ",
                    "berth_storage_repositories ",
                    "jvm_memory_used_bytes{",
                    "jvm_threads_live_threads ",
                    "process_cpu_usage ",
                    "process_uptime_seconds ",
                    "process_start_time_seconds ",
                    "process_files_open_files ",
                    "system_cpu_count ");
        }
    }

    @Test
    void theVolumeAndTheContentCountsAreTheStoragesOwn() throws Exception {
        try (HttpFixture first = HttpFixture.startOn(dir, "")) {
            first.pushImage("team/app", "one", "v1");
            first.pushImage("team/other", "two", "v1");
        }
        try (HttpFixture http = HttpFixture.startOn(dir, "")) {
            awaitValue(() -> http.gauge("berth.storage.repositories"), 2);
            assertThat(http.gauge("berth.storage.blobs")).as("two configs, two layers, two manifests").isEqualTo(6);

            var store = Files.getFileStore(dir);
            double total = http.gauge("berth.storage.volume.total");
            assertThat(total).isEqualTo(store.getTotalSpace());
            assertThat(http.gauge("berth.storage.volume.free")).isPositive().isLessThanOrEqualTo(total);
            assertThat(http.gauge("berth.storage.volume.used")).isPositive().isLessThanOrEqualTo(total);
        }
    }

    private static double counter(HttpFixture http, String name, String... tags) {
        return http.berth.meters().get(name).tags(tags).counter().count();
    }

    /** Waits (up to 10 s) for a value the server updates in the background; the assertion is on the value, not the time. */
    private static void awaitValue(DoubleSupplier value, double expected) throws InterruptedException {
        for (int i = 0; i < 200 && value.getAsDouble() != expected; i++) {
            Thread.sleep(50);
        }
        assertThat(value.getAsDouble()).isEqualTo(expected);
    }

}
