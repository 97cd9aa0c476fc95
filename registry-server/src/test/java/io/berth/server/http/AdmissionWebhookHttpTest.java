package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.PodReviews;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admission webhook on its own TLS listener, answering for images in this Berth. */
class AdmissionWebhookHttpTest {
    @TempDir
    Path dir;

    @Test
    void imagesInTheRegistryAreAdmittedAndTyposRefusedOverTls() throws Exception {
        TestPki.Ca pki = TestPki.Ca.root("Berth Test CA");
        pki.server("berth-admission").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", """
                berth:
                  admission:
                    addr: 127.0.0.1:0
                    tls:
                      certificate: %s
                      key: %s
                    hosts: [registry.mycorp.local]
                """.formatted(dir.resolve("tls.crt"), dir.resolve("tls.key")));
                RegistryClient webhook = RegistryClient.builder(URI.create("https://127.0.0.1:" + http.berth.admissionAddress().getPort()))
                        .trust(pki).build()) {
            HttpFixture.Manifest pushed = http.pushImage("team/app", "admitted", "v1");

            JsonNode admitted = post(webhook, PodReviews.create("u-1", "registry.mycorp.local/team/app@" + pushed.digest()));
            assertThat(admitted.path("response").path("allowed").asBoolean()).isTrue();
            assertThat(admitted.path("response").path("uid").asText()).isEqualTo("u-1");

            String typo = "sha256:" + "0".repeat(64);
            JsonNode refused = post(webhook, PodReviews.create("u-1", "registry.mycorp.local/team/app@" + typo));
            assertThat(refused.path("response").path("allowed").asBoolean()).isFalse();
            assertThat(refused.path("response").path("status").path("message").asText())
                    .contains("container \"app\"").contains("is not in the registry under team/app");

            JsonNode otherRepository = post(webhook, PodReviews.create("u-1", "registry.mycorp.local/team/other@" + pushed.digest()));
            assertThat(otherRepository.path("response").path("allowed").asBoolean()).as("the digest must be in that repository").isFalse();

            assertThat(webhook.get("/healthz").statusCode()).isEqualTo(200);
        }
    }

    static JsonNode post(RegistryClient webhook, byte[] review) {
        HttpResponse<byte[]> r = webhook.send("POST", "/validate", review, "Content-Type", "application/json");
        assertThat(r.statusCode()).isEqualTo(200);
        return HttpFixture.json(r.body());
    }
}
