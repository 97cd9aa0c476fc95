package io.berth.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The README's secure example, live: {@code examples/secure/config.yml} loaded as it is, with only file paths and
 * the address overridden through {@code REGISTRY_*} variables, in front of key material made for the run
 * ({@link TestPki}): TLS from a test CA, Berth's own token issuer on {@code /auth/token}, accounts admin, ci
 * and cluster. The port is chosen before Berth starts, because the token realm has to name it.
 */
final class SecureRegistry implements AutoCloseable {
    static final Path EXAMPLE = Path.of("..", "examples", "secure", "config.yml");
    static final List<String> ACCOUNTS = List.of("admin", "ci", "cluster");
    static final String WRONG_PASSWORD = "not-the-password";

    private final Path dir;
    private final Map<String, String> passwords;
    private final String host;
    private final String service;
    private final Berth berth;
    private final RegistryClient client;

    private SecureRegistry(Path dir, TestPki.Ca pki, Map<String, String> passwords, String host, String service, Berth berth) {
        this.dir = dir;
        this.passwords = passwords;
        this.host = host;
        this.service = service;
        this.berth = berth;
        this.client = RegistryClient.builder(berth.baseUri()).trust(pki).build();
    }

    /** Makes the key material under {@code dir} and starts the example; {@code settings} are further REGISTRY_* overrides. */
    static SecureRegistry start(Path dir, Map<String, String> settings) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TestPki.Ca pki = TestPki.Ca.root("Berth secure-example test CA");
        pki.writeCertificate(dir.resolve("ca.pem"));
        pki.writeCertificate(dir.resolve("certs/ca.crt"));
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        TestPki.selfSigned("berth token signer", TestPki.ec(), TestPki.aroundNow()).writeTo(dir.resolve("token.crt"), dir.resolve("token.key"));
        Map<String, String> passwords = new LinkedHashMap<>();
        ACCOUNTS.forEach(a -> passwords.put(a, HtpasswdFiles.password(a)));
        HtpasswdFiles.write(dir.resolve("htpasswd"), passwords);

        int port = freePort();
        String host = "127.0.0.1:" + port;
        Map<String, String> env = new HashMap<>();
        env.put("REGISTRY_HTTP_ADDR", host);
        env.put("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", dir.resolve("data").toString());
        env.put("REGISTRY_HTTP_TLS_CERTIFICATE", dir.resolve("tls.crt").toString());
        env.put("REGISTRY_HTTP_TLS_KEY", dir.resolve("tls.key").toString());
        env.put("REGISTRY_AUTH_TOKEN_REALM", "https://" + host + "/auth/token");
        env.put("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", dir.resolve("token.crt").toString());
        env.put("REGISTRY_BERTH_TOKENISSUER_HTPASSWD", dir.resolve("htpasswd").toString());
        env.put("REGISTRY_BERTH_TOKENISSUER_KEY", dir.resolve("token.key").toString());
        env.putAll(settings);
        RegistryConfig config = ConfigLoader.load(EXAMPLE, env);
        String service = Objects.requireNonNull(config.security().token(), "the example configures auth.token").service();
        Berth berth = Berth.builder().config(config).build();
        berth.start();
        return new SecureRegistry(dir, pki, passwords, host, service, berth);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code 127.0.0.1:<port>}. */
    String host() {
        return host;
    }

    /** {@code <host>/<repoRef>}. */
    String ref(String repoRef) {
        return host + "/" + repoRef;
    }

    URI baseUri() {
        return berth.baseUri();
    }

    String realm() {
        return "https://" + host + "/auth/token";
    }

    /** auth.token.service, as the example sets it. */
    String service() {
        return service;
    }

    String password(String account) {
        return Objects.requireNonNull(passwords.get(account), account);
    }

    /** The CA certificate (PEM), for SSL_CERT_FILE and containerd's {@code ca}. */
    Path caPem() {
        return dir.resolve("ca.pem");
    }

    /** A directory holding just {@code ca.crt}, for podman's and skopeo's {@code --cert-dir}. */
    Path certDir() {
        return dir.resolve("certs");
    }

    /** Environment that makes a Go client trust the test CA, and keeps containers/image's auth file private. */
    Map<String, String> trustEnv(Path home) {
        return Map.of("SSL_CERT_FILE", caPem().toString(), "REGISTRY_AUTH_FILE", home.resolve("auth.json").toString());
    }

    /** crane with a home of its own under {@code home}, trusting the CA, logged in as {@code account}. */
    PeerCli crane(Path home, String account) {
        PeerCli crane = PeerCli.of("CRANE", home, trustEnv(home));
        crane.ok("auth", "login", host, "-u", account, "-p", password(account));
        return crane;
    }

    /** Pushes a two-layer image (busybox and seeded random bytes) as ci to {@code repoTag}; returns its digest. */
    String seed(Path work, String repoTag, long seed) {
        PeerCli crane = crane(work.resolve("seed-home-" + seed), "ci");
        List<Path> layers = layers(work, seed);
        return CraneSeed.digestOf(crane.text("append", "-f", layers.get(0).toString(), "-f", layers.get(1).toString(), "-t", ref(repoTag)));
    }

    /** The two layer tarballs of a seeded image: the busybox root file system and 256 KiB of random bytes. */
    static List<Path> layers(Path work, long seed) {
        try {
            Path layers = Files.createTempDirectory(Files.createDirectories(work), "layers-");
            return List.of(TestImages.busyboxRootfs(layers), TestImages.randomLayer(layers, "random-" + seed, 256 * 1024, seed));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** GET of the token endpoint with Basic credentials (none when {@code account} is null) and scopes. */
    HttpResponse<byte[]> tokenRequest(@Nullable String account, @Nullable String password, String... scopes) {
        StringBuilder uri = new StringBuilder(realm()).append("?service=").append(encode(service));
        for (String scope : scopes) {
            uri.append("&scope=").append(encode(scope));
        }
        return account == null ? client.get(uri.toString())
                : client.get(uri.toString(), "Authorization", RegistryClient.basicAuthorization(account, String.valueOf(password)));
    }

    /** A token for {@code account} (with its right password) and {@code scopes}; fails unless the issuer answers 200. */
    String token(String account, String... scopes) {
        HttpResponse<byte[]> r = tokenRequest(account, password(account), scopes);
        if (r.statusCode() != 200) {
            throw new AssertionError("token for " + account + " " + List.of(scopes) + ": " + r.statusCode() + " " + RegistryClient.text(r));
        }
        return RegistryHttp.json(r.body()).path("token").asText();
    }

    /** {@code method path} on the registry with a Bearer token (none when null). */
    HttpResponse<byte[]> request(String method, String path, @Nullable String token) {
        return token == null ? client.send(method, path, null, "Accept", RegistryHttp.MANIFEST_TYPES)
                : client.send(method, path, null, "Accept", RegistryHttp.MANIFEST_TYPES, "Authorization", "Bearer " + token);
    }

    /** The admission webhook's address ({@code berth.admission}), or null when it is not configured. */
    java.net.@Nullable InetSocketAddress admissionAddress() {
        return berth.admissionAddress();
    }

    /** A client that trusts the test CA, for the registry (paths) or another of its listeners (absolute URLs). */
    RegistryClient client() {
        return client;
    }

    /** The claims of a JWT, decoded (not verified). */
    static JsonNode claims(String jwt) {
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            throw new AssertionError("not a JWS compact serialization: " + jwt);
        }
        return RegistryHttp.json(Base64.getUrlDecoder().decode(parts[1]));
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Stops Berth; the data stays in the test's directory, which JUnit removes. */
    @Override
    public void close() {
        client.close();
        berth.close();
    }
}
