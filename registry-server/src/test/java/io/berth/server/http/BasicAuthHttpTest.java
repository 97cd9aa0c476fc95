package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * registry:2's htpasswd auth with Berth's roles and tag rules, over real HTTP: CI pushes, the cluster
 * pulls, an admin deletes, anonymous and wrong passwords are refused, immutable tags hold, latest is refused.
 */
class BasicAuthHttpTest {
    @TempDir
    Path dir;
    private HttpFixture registry;
    private HttpFixture ci;
    private HttpFixture puller;
    private HttpFixture admin;

    @BeforeEach
    void start() throws Exception {
        HtpasswdFiles.write(dir.resolve("htpasswd"), "ci", "ci-secret", "puller", "pull-secret", "admin", "admin-secret");
        registry = HttpFixture.startWithConfig(dir, "127.0.0.1:0", """
                auth:
                  htpasswd:
                    realm: berth-test
                    path: %s
                berth:
                  access:
                    - account: admin
                      repositories: ["**"]
                      actions: [pull, push, delete, catalog]
                    - account: ci
                      repositories: ["team/**"]
                      actions: [pull, push]
                    - account: puller
                      repositories: ["team/**"]
                      actions: [pull, catalog]
                  immutableTags:
                    - repositories: ["team/**"]
                      tags: ["v*"]
                  denyTags: [latest]
                """.formatted(dir.resolve("htpasswd")));
        ci = registry.as("ci", "ci-secret");
        puller = registry.as("puller", "pull-secret");
        admin = registry.as("admin", "admin-secret");
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void anonymousGetsABasicChallengeWithTheSpecBody() {
        HttpResponse<byte[]> r = registry.get("/v2/");
        assertError(r, 401, "UNAUTHORIZED");
        assertThat(header(r, "WWW-Authenticate")).isEqualTo("Basic realm=\"berth-test\"");
        assertError(registry.get("/v2/team/app/manifests/v1"), 401, "UNAUTHORIZED");
        assertThat(registry.get("/").statusCode()).as("the liveness probe needs no credentials").isEqualTo(200);
    }

    @Test
    void wrongPasswordsAndMalformedHeadersAreRefused() {
        assertError(registry.as("ci", "wrong").get("/v2/"), 401, "UNAUTHORIZED");
        assertError(registry.as("nobody", "ci-secret").get("/v2/"), 401, "UNAUTHORIZED");
        assertError(registry.with("Authorization", "Basic %%%not-base64").get("/v2/"), 401, "UNAUTHORIZED");
        assertError(registry.with("Authorization", "Basic " + "A".repeat(9000)).get("/v2/"), 401, "UNAUTHORIZED");
        assertThat(ci.get("/v2/").statusCode()).isEqualTo(200);
    }

    @Test
    void ciPushesThePullerPullsButCannotPushOrDelete() {
        HttpFixture.Manifest m = ci.pushImage("team/app", "one", "v1");
        HttpResponse<byte[]> pulled = puller.get("/v2/team/app/manifests/v1", "Accept", HttpFixture.OCI_MANIFEST);
        assertThat(pulled.statusCode()).isEqualTo(200);
        assertThat(pulled.body()).isEqualTo(m.content());
        assertError(puller.send("POST", "/v2/team/app/blobs/uploads/", null), 403, "DENIED");
        assertError(puller.send("PUT", "/v2/team/app/manifests/v2", m.content(), "Content-Type", HttpFixture.OCI_MANIFEST), 403, "DENIED");
        assertError(puller.send("DELETE", "/v2/team/app/manifests/" + m.digest(), null), 403, "DENIED");
        assertError(ci.send("DELETE", "/v2/team/app/manifests/" + m.digest(), null), 403, "DENIED");
    }

    @Test
    void rolesAreScopedToTheirRepositories() {
        admin.pushImage("other/app", "x", "v1");
        assertError(ci.send("POST", "/v2/other/app/blobs/uploads/", null), 403, "DENIED");
        assertError(puller.get("/v2/other/app/manifests/v1"), 403, "DENIED");
    }

    @Test
    void adminDeletesButNotAManifestAnImmutableTagPointsAt() {
        HttpFixture.Manifest tagged = ci.pushImage("team/app", "one", "v1");
        HttpFixture.Manifest untagged = ci.pushImage("team/app", "two", "build-2");
        assertThat(admin.send("DELETE", "/v2/team/app/manifests/" + untagged.digest(), null).statusCode()).isEqualTo(202);
        HttpResponse<byte[]> refused = admin.send("DELETE", "/v2/team/app/manifests/" + tagged.digest(), null);
        assertThat(assertError(refused, 403, "DENIED").toString()).contains("immutable");
        assertError(admin.send("DELETE", "/v2/team/app/manifests/v1", null), 403, "DENIED");
    }

    @Test
    void anImmutableTagCannotMoveButTheSameDigestIsIdempotent() {
        HttpFixture.Manifest first = ci.pushImage("team/app", "one", "v1");
        assertThat(ci.send("PUT", "/v2/team/app/manifests/v1", first.content(), "Content-Type", HttpFixture.OCI_MANIFEST).statusCode())
                .isEqualTo(201);
        byte[] other = HttpFixture.bytes(ci.imageJson("team/app", "two"));
        HttpResponse<byte[]> moved = ci.send("PUT", "/v2/team/app/manifests/v1", other, "Content-Type", HttpFixture.OCI_MANIFEST);
        assertThat(assertError(moved, 403, "DENIED").toString()).contains("v1").contains("immutable");
        assertThat(puller.get("/v2/team/app/manifests/v1").body()).isEqualTo(first.content());
        assertThat(ci.pushImage("team/app", "three", "dev").digest()).as("a mutable tag still moves").isNotNull();
    }

    @Test
    void latestIsRefusedEvenForTheAdmin() {
        byte[] manifest = HttpFixture.bytes(ci.imageJson("team/app", "one"));
        assertError(ci.send("PUT", "/v2/team/app/manifests/latest", manifest, "Content-Type", HttpFixture.OCI_MANIFEST), 403, "DENIED");
        assertError(admin.send("PUT", "/v2/team/app/manifests/latest", manifest, "Content-Type", HttpFixture.OCI_MANIFEST), 403, "DENIED");
        assertError(registry.get("/v2/team/app/manifests/latest", "Authorization", "x"), 401, "UNAUTHORIZED");
    }

    @Test
    void theCatalogListsOnlyWhatTheCallerMayPull() {
        admin.pushImage("team/app", "a", "v1");
        admin.pushImage("secret/app", "b", "v1");
        assertThat(RegistryClient.text(admin.get("/v2/_catalog"))).contains("team/app").contains("secret/app");
        String visible = RegistryClient.text(puller.get("/v2/_catalog"));
        assertThat(visible).contains("team/app").doesNotContain("secret");
        assertError(ci.get("/v2/_catalog"), 403, "DENIED");
    }

    @Test
    void repeatedFailuresFromOneClientAreRateLimited() {
        HttpResponse<byte[]> last = null;
        for (int i = 0; i < 30; i++) {
            last = registry.as("ci", "guess-" + i).get("/v2/");
            if (last.statusCode() == 429) {
                break;
            }
        }
        assertError(last, 429, "TOOMANYREQUESTS");
        assertThat(header(last, "Retry-After")).isNotBlank();
    }
}
