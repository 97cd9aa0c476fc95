package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets never reach the log. Berth runs as its own process, as in production, with TLS, {@code log.level: debug} and
 * {@code log.formatter: json}, once behind its built-in token issuer (the README's secure example) and once with
 * htpasswd basic auth. Wrong and right passwords, issued bearer tokens (as headers and in query strings) and a
 * password in a token request's query string are sent, crane pushes and pulls; then every line Berth wrote is searched
 * for each secret: the plain passwords, their base64 basic credentials, the bearer tokens and their signatures.
 */
class LogSecretsIT {
    private static final String ACCOUNT = "ci";
    private static final String WRONG = "wrong-" + HtpasswdFiles.password("nope");

    @Test
    void aTokenIssuerRunLogsNoSecret(@TempDir Path work) throws Exception {
        Pki pki = Pki.make(work);
        String password = HtpasswdFiles.password(ACCOUNT);
        HtpasswdFiles.write(work.resolve("htpasswd"), Map.of(ACCOUNT, password));
        TestPki.selfSigned("berth token signer", TestPki.ec(), TestPki.aroundNow()).writeTo(work.resolve("token.crt"), work.resolve("token.key"));
        int port = Registry2.freePort();
        String host = "127.0.0.1:" + port;
        Map<String, String> env = new HashMap<>(pki.env(work, host));
        env.put("REGISTRY_AUTH_TOKEN_REALM", "https://" + host + "/auth/token");
        env.put("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", work.resolve("token.crt").toString());
        env.put("REGISTRY_BERTH_TOKENISSUER_HTPASSWD", work.resolve("htpasswd").toString());
        env.put("REGISTRY_BERTH_TOKENISSUER_KEY", work.resolve("token.key").toString());
        List<String> secrets = new ArrayList<>(credentials(password));
        List<String> lines;
        try (LoggedProcess berth = LoggedProcess.berth(SecureRegistry.EXAMPLE, env, port, work.resolve("berth.log"));
                RegistryClient http = RegistryClient.builder(URI.create("https://" + host)).trust(pki.ca).build()) {
            String tokens = "/auth/token?service=registry.mycorp.local&scope=" + URLEncoder.encode("repository:secrets/app:pull,push", StandardCharsets.UTF_8);
            assertThat(http.get(tokens, "Authorization", RegistryClient.basicAuthorization(ACCOUNT, WRONG)).statusCode()).isEqualTo(401);
            HttpResponse<byte[]> issued = RegistryClient.expect(http.get(tokens, "Authorization", RegistryClient.basicAuthorization(ACCOUNT, password)), 200);
            String token = RegistryHttp.json(issued.body()).path("token").asText();
            secrets.add(token);
            secrets.add(token.substring(token.lastIndexOf('.') + 1));
            RegistryClient.expect(http.get("/v2/secrets/app/tags/list", "Authorization", "Bearer " + token), 404);
            String forged = token.substring(0, token.length() - 4) + "AAAA";
            secrets.add(forged.substring(forged.lastIndexOf('.') + 1));
            assertThat(http.get("/v2/", "Authorization", "Bearer " + forged).statusCode()).isEqualTo(401);
            http.get("/v2/secrets/app/tags/list?access_token=" + token);
            http.get(tokens + "&account=" + ACCOUNT + "&password=" + password);
            pushAndPull(work, host, pki, password);
            lines = berth.stopAndReadLines();
        }
        assertNoSecretIn(lines, secrets);
    }

    @Test
    void aBasicAuthRunLogsNoSecret(@TempDir Path work) throws Exception {
        Pki pki = Pki.make(work);
        String password = HtpasswdFiles.password(ACCOUNT);
        HtpasswdFiles.write(work.resolve("htpasswd"), Map.of(ACCOUNT, password));
        int port = Registry2.freePort();
        String host = "127.0.0.1:" + port;
        Path config = Files.writeString(work.resolve("config.yml"), """
                version: 0.1
                storage:
                  filesystem:
                    rootdirectory: /unused
                http:
                  addr: :5000
                  tls:
                    certificate: /unused
                    key: /unused
                auth:
                  htpasswd:
                    realm: basic-realm
                    path: %s
                """.formatted(work.resolve("htpasswd")));
        List<String> lines;
        try (LoggedProcess berth = LoggedProcess.berth(config, pki.env(work, host), port, work.resolve("berth.log"));
                RegistryClient http = RegistryClient.builder(URI.create("https://" + host)).trust(pki.ca).build()) {
            assertThat(http.get("/v2/", "Authorization", RegistryClient.basicAuthorization(ACCOUNT, WRONG)).statusCode()).isEqualTo(401);
            RegistryClient.expect(http.get("/v2/", "Authorization", RegistryClient.basicAuthorization(ACCOUNT, password)), 200);
            http.get("/v2/?password=" + password);
            pushAndPull(work, host, pki, password);
            lines = berth.stopAndReadLines();
        }
        assertNoSecretIn(lines, credentials(password));
    }

    /** crane logs in with the wrong password (and fails to list), then with the right one, pushes and pulls. */
    private static void pushAndPull(Path work, String host, Pki pki, String password) throws IOException {
        Map<String, String> trust = Map.of("SSL_CERT_FILE", pki.caPem.toString());
        PeerCli wrong = PeerCli.of("CRANE", work.resolve("crane-wrong"), trust);
        wrong.ok("auth", "login", host, "-u", ACCOUNT, "-p", WRONG);
        assertThat(wrong.run("ls", host + "/secrets/app").exitCode()).isNotZero();
        PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"), trust);
        crane.ok("auth", "login", host, "-u", ACCOUNT, "-p", password);
        crane.ok("append", "-f", TestImages.randomLayer(work, "layer", 64 * 1024, 3).toString(), "-t", host + "/secrets/app:v1");
        crane.ok("pull", host + "/secrets/app:v1", work.resolve("pulled.tar").toString());
    }

    /** The plain passwords and the basic credentials made of them, in both base64 alphabets. */
    private static List<String> credentials(String password) {
        List<String> out = new ArrayList<>(List.of(password, WRONG));
        for (String p : List.of(password, WRONG)) {
            byte[] pair = (ACCOUNT + ":" + p).getBytes(StandardCharsets.UTF_8);
            out.add(Base64.getEncoder().encodeToString(pair));
            out.add(Base64.getUrlEncoder().withoutPadding().encodeToString(pair));
        }
        return out;
    }

    private static void assertNoSecretIn(List<String> lines, List<String> secrets) {
        assertThat(lines.stream().filter(l -> l.contains("\"msg\":\"response completed")).count())
                .as("the access lines of the run").isGreaterThan(10);
        assertThat(lines).as("lines naming the authenticated user").anyMatch(l -> l.contains("\"auth.user.name\":\"" + ACCOUNT + "\""));
        assertThat(lines).as("the run logs at debug level").anyMatch(l -> l.contains("\"level\":\"debug\""));
        for (String secret : secrets) {
            assertThat(lines).as("log lines holding a secret").noneMatch(l -> l.contains(secret));
        }
    }

    /** A CA for the run and Berth's TLS pair, and the environment that points Berth's config at them. */
    private record Pki(TestPki.Ca ca, Path caPem) {
        static Pki make(Path work) {
            TestPki.Ca ca = TestPki.Ca.root("Berth log-secrets test CA");
            Path pem = work.resolve("ca.pem");
            ca.writeCertificate(pem);
            ca.server("127.0.0.1").writeTo(work.resolve("tls.crt"), work.resolve("tls.key"));
            return new Pki(ca, pem);
        }

        Map<String, String> env(Path work, String host) {
            return Map.of("REGISTRY_HTTP_ADDR", host,
                    "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", work.resolve("data").toString(),
                    "REGISTRY_HTTP_TLS_CERTIFICATE", work.resolve("tls.crt").toString(),
                    "REGISTRY_HTTP_TLS_KEY", work.resolve("tls.key").toString(),
                    "REGISTRY_LOG_LEVEL", "debug",
                    "REGISTRY_LOG_FORMATTER", "json");
        }
    }
}
