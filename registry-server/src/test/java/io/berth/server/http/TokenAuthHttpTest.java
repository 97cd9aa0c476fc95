package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.header;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token auth end to end: Berth's own token server grants what the rules allow of what was asked, and
 * the registry accepts exactly those grants, with registry:2's Bearer challenges.
 */
class TokenAuthHttpTest {
    @TempDir
    Path dir;
    private HttpFixture registry;
    private String realm;

    @BeforeEach
    void start() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        realm = "http://127.0.0.1:" + port + "/auth/token";
        TestPki.Ca pki = TestPki.Ca.root("Berth Test CA");
        pki.server("berth token signer").writeTo(dir.resolve("token.crt"), dir.resolve("token.key"));
        HtpasswdFiles.write(dir.resolve("htpasswd"), "ci", "ci-secret", "cluster", "pull-secret");
        registry = HttpFixture.startWithConfig(dir, "127.0.0.1:" + port, """
                auth:
                  token:
                    realm: %s
                    service: registry.test
                    issuer: berth
                    rootcertbundle: %s
                berth:
                  tokenIssuer:
                    htpasswd: %s
                    key: %s
                  access:
                    - account: ci
                      repositories: ["team/**"]
                      actions: [pull, push]
                    - account: cluster
                      repositories: ["team/**"]
                      actions: [pull]
                """.formatted(realm, dir.resolve("token.crt"), dir.resolve("htpasswd"), dir.resolve("token.key")));
        assertThat(registry.address.getPort()).isEqualTo(port);
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    private String token(String user, String password, String... scopes) {
        StringBuilder q = new StringBuilder("/auth/token?service=registry.test");
        for (String s : scopes) {
            q.append("&scope=").append(java.net.URLEncoder.encode(s, StandardCharsets.UTF_8));
        }
        HttpResponse<byte[]> r = (user == null ? registry : registry.as(user, password)).get(q.toString());
        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(200);
        JsonNode body = HttpFixture.json(r.body());
        assertThat(body.path("access_token").asText()).isEqualTo(body.path("token").asText());
        assertThat(body.path("expires_in").asInt()).isEqualTo(300);
        return body.path("token").asText();
    }

    private static JsonNode claims(String jwt) {
        return HttpFixture.json(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
    }

    @Test
    void aRequestWithoutATokenGetsRegistry2sBearerChallenge() {
        HttpResponse<byte[]> ping = registry.get("/v2/");
        assertError(ping, 401, "UNAUTHORIZED");
        assertThat(header(ping, "WWW-Authenticate")).isEqualTo("Bearer realm=\"" + realm + "\",service=\"registry.test\"");
        HttpResponse<byte[]> pull = registry.get("/v2/team/app/manifests/v1");
        assertThat(header(pull, "WWW-Authenticate"))
                .isEqualTo("Bearer realm=\"" + realm + "\",service=\"registry.test\",scope=\"repository:team/app:pull\"");
        HttpResponse<byte[]> push = registry.send("POST", "/v2/team/app/blobs/uploads/?mount=sha256:" + "a".repeat(64) + "&from=team/base", null);
        assertThat(header(push, "WWW-Authenticate")).endsWith("scope=\"repository:team/app:pull,push repository:team/base:pull\"");
    }

    @Test
    void theIssuerGrantsOnlyWhatTheRulesAllowOfWhatWasAsked() {
        JsonNode access = claims(token("cluster", "pull-secret", "repository:team/app:pull,push", "repository:other/app:pull")).path("access");
        assertThat(access).hasSize(1);
        assertThat(access.get(0).path("name").asText()).isEqualTo("team/app");
        assertThat(access.get(0).path("actions").toString()).isEqualTo("[\"pull\"]");
        JsonNode ci = claims(token("ci", "ci-secret", "repository:team/app:pull,push"));
        assertThat(ci.path("sub").asText()).isEqualTo("ci");
        assertThat(ci.path("aud").asText()).isEqualTo("registry.test");
        assertThat(ci.path("access").get(0).path("actions").toString()).isEqualTo("[\"pull\",\"push\"]");
    }

    private HttpResponse<byte[]> postForm(String form) {
        return registry.send("POST", "/auth/token", form.getBytes(StandardCharsets.UTF_8),
                "Content-Type", "application/x-www-form-urlencoded");
    }

    @Test
    void theOAuth2PasswordGrantIssuesTheSameTokenAsGet() {
        HttpResponse<byte[]> r = postForm("grant_type=password&service=registry.test&client_id=containerd-client"
                + "&scope=repository%3Ateam%2Fapp%3Apull%2Cpush+repository%3Aother%2Fapp%3Apull&username=ci&password=ci-secret");

        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(200);
        JsonNode body = HttpFixture.json(r.body());
        assertThat(body.path("scope").asText()).isEqualTo("repository:team/app:pull,push");
        assertThat(body.path("expires_in").asInt()).isEqualTo(300);
        assertThat(header(r, "Cache-Control")).isEqualTo("no-store");
        JsonNode claims = claims(body.path("access_token").asText());
        assertThat(claims.path("sub").asText()).isEqualTo("ci");
        assertThat(claims.path("access")).hasSize(1);
        HttpFixture ci = registry.with("Authorization", "Bearer " + body.path("access_token").asText());
        assertThat(ci.pushImage("team/app", "oauth", "v1").digest()).startsWith("sha256:");
    }

    @Test
    void theOAuth2FormRefusesWhatGetRefuses() {
        assertError(postForm("grant_type=password&service=registry.test&username=ci&password=wrong"), 401, "UNAUTHORIZED");
        assertError(postForm("grant_type=password&service=other&username=ci&password=ci-secret"), 400, "DENIED");
        HttpResponse<byte[]> refresh = postForm("grant_type=refresh_token&service=registry.test&refresh_token=x");
        assertThat(refresh.statusCode()).isEqualTo(400);
        assertThat(HttpFixture.json(refresh.body()).path("error").asText()).isEqualTo("unsupported_grant_type");
        assertThat(HttpFixture.json(postForm("service=registry.test").body()).path("error").asText()).isEqualTo("invalid_request");
        assertError(postForm("grant_type=password&pad=" + "x".repeat(TokenEndpoint.MAX_FORM_BYTES)), 413, "SIZE_INVALID");
    }

    /** Found by fuzzing (issue 11): a bad escape in the form made Netty's decoder throw, and the client got a 500. */
    @Test
    void aFormPairWithAMalformedEscapeIsDroppedAndTheRestIsRead() {
        HttpResponse<byte[]> r = postForm("grant_type=password&service=registry.test&client_id=%zz&username=ci"
                + "&password=ci-secret&%=x");

        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(200);
        assertThat(claims(HttpFixture.json(r.body()).path("access_token").asText()).path("sub").asText()).isEqualTo("ci");
    }

    @Test
    void wrongCredentialsGetNoToken() {
        assertError(registry.as("ci", "wrong").get("/auth/token?service=registry.test&scope=repository:team/app:push"), 401, "UNAUTHORIZED");
        assertError(registry.as("ci", "ci-secret").get("/auth/token?service=other"), 400, "DENIED");

        assertThat(authFailures("basic")).as("the wrong password is a failed login; the unknown service is not").isEqualTo(1);
        assertThat(authFailures("bearer")).isZero();
    }

    @Test
    void ciPushesWithItsTokenAndTheClusterPullsWithItsOwn() {
        HttpFixture ci = registry.with("Authorization", "Bearer " + token("ci", "ci-secret", "repository:team/app:pull,push"));
        HttpFixture.Manifest m = ci.pushImage("team/app", "one", "v1");
        HttpFixture cluster = registry.with("Authorization", "Bearer " + token("cluster", "pull-secret", "repository:team/app:pull"));
        assertThat(cluster.get("/v2/team/app/manifests/" + m.digest()).body()).isEqualTo(m.content());
        HttpResponse<byte[]> push = cluster.send("POST", "/v2/team/app/blobs/uploads/", null);
        assertError(push, 401, "UNAUTHORIZED");
        assertThat(header(push, "WWW-Authenticate")).endsWith(",error=\"insufficient_scope\"");
    }

    @Test
    void aTokenForOneRepositoryDoesNotOpenAnother() {
        HttpFixture ci = registry.with("Authorization", "Bearer " + token("ci", "ci-secret", "repository:team/app:pull,push"));
        assertThat(header(ci.get("/v2/team/other/tags/list"), "WWW-Authenticate")).contains("error=\"insufficient_scope\"");
    }

    @Test
    void forgedTokensAreInvalid() {
        String real = token("ci", "ci-secret", "repository:team/app:pull,push");
        String[] parts = real.split("\\.");
        String unsigned = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
                + "." + parts[1] + ".";
        String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("team/app", "team/xyz").getBytes(StandardCharsets.UTF_8))
                + "." + parts[2];
        for (String forged : new String[] {unsigned, tampered, "not-a-jwt", real + "x"}) {
            HttpResponse<byte[]> r = registry.get("/v2/team/app/tags/list", "Authorization", "Bearer " + forged);
            assertError(r, 401, "UNAUTHORIZED");
            assertThat(header(r, "WWW-Authenticate")).endsWith(",error=\"invalid_token\"");
            assertThat(RegistryClient.text(r)).doesNotContain("berth token signer");
        }
        assertThat(authFailures("bearer")).isEqualTo(4);
        registry.get("/v2/team/app/tags/list");
        assertThat(authFailures("bearer")).as("no token at all is a challenge, not a failure").isEqualTo(4);
    }

    private double authFailures(String scheme) {
        return registry.berth.meters().get("berth.auth.failures").tag("scheme", scheme).counter().count();
    }
}
