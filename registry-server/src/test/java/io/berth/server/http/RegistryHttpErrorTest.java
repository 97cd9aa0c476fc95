package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.utf8;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every failure is the spec's JSON error with the API version header, and the right status. */
class RegistryHttpErrorTest extends SharedBerthTest {
    private static final String DIGEST = sha256(utf8("whatever"));

    @BeforeAll
    static void seed() {
        http.pushImage("app", "seed", "latest");
    }

    @ParameterizedTest
    @CsvSource({"GET,/v2/app", "GET,/nothing", "GET,/v2/app/unknown/x", "GET,/v2/app/tags/other", "GET,/v2/app/manifests/",
            "DELETE,/v2/app/", "GET,/v3/"})
    void unknownRoutesAre404NotFound(String method, String path) {
        assertError(http.send(method, path, null), 404, "NOT_FOUND");
    }

    @ParameterizedTest
    @CsvSource({"POST,/v2/app/tags/list", "PUT,/v2/_catalog", "DELETE,/v2/", "POST,/v2/", "PATCH,/v2/app/manifests/latest",
            "POST,/v2/app/manifests/latest", "POST,/v2/app/blobs/" + "sha256:85738f8f9a7f1b04b5329c590ebcb9e425925c6d0984089c43a022de4f19c281",
            "PUT,/v2/app/blobs/uploads/", "GET,/v2/app/blobs/uploads/", "DELETE,/v2/app/tags/list", "POST,/v2/app/referrers/"
            + "sha256:85738f8f9a7f1b04b5329c590ebcb9e425925c6d0984089c43a022de4f19c281", "POST,/v2/app/blobs/uploads/someid",
            "DELETE,/", "OPTIONS,/v2/"})
    void knownRoutesWithTheWrongMethodAre405Unsupported(String method, String path) {
        assertError(http.send(method, path, null), 405, "UNSUPPORTED");
    }

    @ParameterizedTest
    @CsvSource({"GET,/v2/App/tags/list", "GET,/v2/a%2Fb/manifests/latest", "POST,/v2/a..b/blobs/uploads/",
            "GET,/v2/a//b/tags/list", "GET,/v2/%2e%2e/tags/list", "HEAD,/v2/_x/manifests/latest"})
    void invalidNamesAre400NameInvalid(String method, String path) {
        HttpResponse<byte[]> r = http.send(method, path, null);

        if (method.equals("HEAD")) {
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).isEmpty();
            assertThat(r.headers().firstValue("Docker-Distribution-API-Version")).hasValue("registry/2.0");
        } else {
            assertError(r, 400, "NAME_INVALID");
        }
    }

    @Test
    void overlongNameIsNameInvalid() {
        String name = "a".repeat(128) + "/" + "b".repeat(127);

        assertError(http.get("/v2/" + name + "/tags/list"), 400, "NAME_INVALID");
    }

    @Test
    void errorDetailNamesTheProblem() {
        var error = assertError(http.get("/v2/app/manifests/" + DIGEST), 404, "MANIFEST_UNKNOWN");

        assertThat(error.get("message").asText()).isEqualTo("manifest unknown");
        assertThat(error.get("detail").asText()).contains(DIGEST);
    }

    @Test
    void successfulResponsesCarryTheApiVersionHeaderToo() {
        for (HttpResponse<byte[]> r : new HttpResponse[] {http.get("/v2/"), http.get("/v2/app/manifests/latest"),
                http.get("/v2/app/tags/list"), http.get("/v2/_catalog"), http.send("POST", "/v2/app/blobs/uploads/", null)}) {
            assertThat(r.statusCode()).isLessThan(300);
            assertThat(r.headers().firstValue("Docker-Distribution-API-Version")).as("%s", r.request().uri()).hasValue("registry/2.0");
        }
    }

    @Test
    void deletesAreUnsupportedWhenDisabled(@TempDir Path dir) {
        RegistryConfig config = ConfigLoader.loadDefaults(dir, Map.of("REGISTRY_STORAGE_DELETE_ENABLED", "false"));
        try (Berth berth = Berth.builder().config(config).storageDirectory(dir).port(0).build()) {
            berth.start();
            HttpFixture other = HttpFixture.attach(berth);
            HttpFixture.Manifest m = other.pushImage("app", "seed", "latest");
            String blob = other.pushBlob("app", utf8("blob"));

            assertError(other.send("DELETE", "/v2/app/manifests/" + m.digest(), null), 405, "UNSUPPORTED");
            assertError(other.send("DELETE", "/v2/app/manifests/latest", null), 405, "UNSUPPORTED");
            assertError(other.send("DELETE", "/v2/app/blobs/" + blob, null), 405, "UNSUPPORTED");
            assertThat(other.get("/v2/app/manifests/latest").statusCode()).isEqualTo(200);
            String upload = other.startUpload("app");
            assertThat(other.send("DELETE", upload, null).statusCode()).as("cancelling an upload is no delete").isEqualTo(204);
        }
    }

    @Test
    void writesAreUnsupportedInReadOnlyMode(@TempDir Path dir) {
        HttpFixture.Manifest m;
        try (Berth writable = Berth.builder().storageDirectory(dir).port(0).build()) {
            writable.start();
            m = HttpFixture.attach(writable).pushImage("app", "seed", "latest");
        }
        RegistryConfig config = ConfigLoader.loadDefaults(dir, Map.of("REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", "true"));
        try (Berth berth = Berth.builder().config(config).storageDirectory(dir).port(0).build()) {
            berth.start();
            HttpFixture ro = HttpFixture.attach(berth);

            assertThat(ro.get("/v2/app/manifests/latest").body()).isEqualTo(m.content());
            assertError(ro.send("POST", "/v2/app/blobs/uploads/", null), 405, "UNSUPPORTED");
            assertError(ro.send("PUT", "/v2/app/manifests/other", m.content(), "Content-Type", HttpFixture.OCI_MANIFEST), 405, "UNSUPPORTED");
            assertError(ro.send("DELETE", "/v2/app/manifests/latest", null), 405, "UNSUPPORTED");
            assertThat(ro.get("/v2/app/tags/list").statusCode()).isEqualTo(200);
        }
    }
}
