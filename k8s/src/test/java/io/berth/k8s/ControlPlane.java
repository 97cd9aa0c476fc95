package io.berth.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.conformance.Daemon;
import io.berth.conformance.Proc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.jspecify.annotations.Nullable;

/**
 * A real Kubernetes control plane on loopback: etcd and kube-apiserver built from their Go modules
 * (scripts/install-k8s.sh), with RBAC, the default admission plugins (ValidatingAdmissionPolicy among them), a
 * self-signed serving certificate, a fresh service-account key and two static tokens: {@code admin}
 * (system:masters) and {@code dev} (no rights until a test binds some). No kubelet and no controllers run:
 * objects are admitted and stored, nothing is scheduled.
 */
final class ControlPlane implements AutoCloseable {
    static final String ADMIN_TOKEN = "berth-admin-token";
    static final String DEV_TOKEN = "berth-dev-token";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final List<Daemon> daemons = new ArrayList<>();
    private String etcdUrl = "";
    private int apiPort;
    private @Nullable HttpClient http;
    private @Nullable Path kubeconfig;

    private ControlPlane(Path dir) {
        this.dir = dir;
    }

    static ControlPlane start(Path dir) {
        ControlPlane cp = new ControlPlane(dir);
        try {
            cp.startEtcd();
            cp.startApiServer();
            return cp;
        } catch (RuntimeException | Error e) {
            cp.close();
            throw e;
        }
    }

    private void startEtcd() {
        int client = Daemon.freePort();
        int peer = Daemon.freePort();
        etcdUrl = "http://127.0.0.1:" + client;
        daemons.add(Daemon.start(List.of(Tools.tool("ETCD"),
                "--name", "berth-test", "--data-dir", dir.resolve("etcd").toString(),
                "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
                "--listen-peer-urls", "http://127.0.0.1:" + peer,
                "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
                "--initial-cluster", "berth-test=http://127.0.0.1:" + peer,
                "--listen-metrics-urls", "http://127.0.0.1:" + Daemon.freePort(),
                "--log-level", "warn", "--quota-backend-bytes", String.valueOf(512L << 20)),
                Map.of(), Duration.ofMinutes(1), () -> httpOk(URI.create(etcdUrl + "/health"))));
    }

    private void startApiServer() {
        try {
            Path certs = Files.createDirectories(dir.resolve("apiserver-certs"));
            Path saKey = writeServiceAccountKey(dir.resolve("sa.key"));
            Path tokens = Files.writeString(dir.resolve("tokens.csv"),
                    ADMIN_TOKEN + ",admin,admin,\"system:masters\"\n" + DEV_TOKEN + ",dev,dev,\"developers\"\n");
            apiPort = Daemon.freePort();
            List<String> command = List.of(Tools.tool("KUBE_APISERVER"),
                    "--etcd-servers", etcdUrl,
                    "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                    "--secure-port", String.valueOf(apiPort), "--cert-dir", certs.toString(),
                    "--service-cluster-ip-range", "10.96.0.0/24",
                    "--service-account-issuer", "https://kubernetes.default.svc",
                    "--service-account-key-file", saKey.toString(),
                    "--service-account-signing-key-file", saKey.toString(),
                    "--token-auth-file", tokens.toString(),
                    "--authorization-mode", "RBAC",
                    "--endpoint-reconciler-type", "none",   // a loopback advertise address is not a valid endpoint
                    "--profiling=false", "--v=1");
            daemons.add(Daemon.start(command, Map.of(), Duration.ofMinutes(3), this::ready));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private boolean ready() {
        Path cert = dir.resolve("apiserver-certs").resolve("apiserver.crt");
        if (!Files.isRegularFile(cert)) {
            return false;
        }
        try {
            if (http == null) {
                http = HttpClient.newBuilder().sslContext(trusting(cert)).connectTimeout(Duration.ofSeconds(5)).build();
            }
            return get("/readyz").status() == 200;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static SSLContext trusting(Path bundle) {
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(bundle)))) {
                trust.setCertificateEntry("c" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot trust " + bundle, e);
        }
    }

    private static Path writeServiceAccountKey(Path file) throws IOException {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            String pem = "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(g.generateKeyPair().getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
            return Files.writeString(file, pem);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean httpOk(URI uri) {
        try {
            HttpResponse<Void> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    String server() {
        return "https://127.0.0.1:" + apiPort;
    }

    /** A kubeconfig for the admin (system:masters), trusting the API server's certificate. */
    Path kubeconfig() {
        if (kubeconfig == null) {
            kubeconfig = writeKubeconfig("admin", ADMIN_TOKEN);
        }
        return kubeconfig;
    }

    Path writeKubeconfig(String user, String token) {
        Path ca = dir.resolve("apiserver-certs").resolve("apiserver.crt");
        try {
            return Files.writeString(dir.resolve("kubeconfig-" + user), """
                    apiVersion: v1
                    kind: Config
                    clusters:
                      - name: berth-test
                        cluster:
                          server: %s
                          certificate-authority: %s
                    users:
                      - name: %s
                        user:
                          token: %s
                    contexts:
                      - name: berth-test
                        context:
                          cluster: berth-test
                          user: %s
                    current-context: berth-test
                    """.formatted(server(), ca, user, token, user));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs kubectl as the admin; {@code stdin} feeds {@code -f -}. */
    Proc.Result kubectl(@Nullable String stdin, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool("KUBECTL"), "--kubeconfig", kubeconfig().toString()));
        command.addAll(List.of(args));
        return Proc.run(command, Map.of(), Duration.ofMinutes(2), stdin);
    }

    /** The environment that points kubectl (and scripts calling it) at this control plane as the admin. */
    Map<String, String> kubectlEnv() {
        return Map.of("KUBECONFIG", kubeconfig().toString(), "KUBECTL", Tools.tool("KUBECTL"));
    }

    /**
     * An API response.
     *
     * @param status the HTTP status
     * @param body the body as JSON (a Status object for refusals)
     * @param warnings the {@code Warning} headers
     */
    record Response(int status, JsonNode body, List<String> warnings) {
        String message() {
            return body.path("message").asText();
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    Response get(String path) {
        return send("GET", path, null, ADMIN_TOKEN, "application/json");
    }

    Response create(String path, JsonNode object) {
        return send("POST", path, object, ADMIN_TOKEN, "application/json");
    }

    Response put(String path, JsonNode object) {
        return send("PUT", path, object, ADMIN_TOKEN, "application/json");
    }

    Response patch(String path, JsonNode mergePatch) {
        return send("PATCH", path, mergePatch, ADMIN_TOKEN, "application/merge-patch+json");
    }

    Response delete(String path) {
        return send("DELETE", path, null, ADMIN_TOKEN, "application/json");
    }

    Response send(String method, String path, @Nullable JsonNode body, String token, String contentType) {
        HttpClient client = http;
        if (client == null) {
            throw new IllegalStateException("the API server is not started");
        }
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server() + path))
                    .timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + token)
                    .header("Accept", "application/json")
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            if (body != null) {
                b.header("Content-Type", contentType);
            }
            HttpResponse<byte[]> r = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            JsonNode json = r.body().length == 0 ? JSON.createObjectNode() : readJson(r.body());
            return new Response(r.statusCode(), json, r.headers().allValues("Warning"));
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode readJson(byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            return JSON.createObjectNode().put("message", new String(body, StandardCharsets.UTF_8));
        }
    }

    String logTail() {
        StringBuilder sb = new StringBuilder();
        daemons.forEach(d -> sb.append(d.logTail()).append('\n'));
        return sb.toString();
    }

    @Override
    public void close() {
        for (int i = daemons.size() - 1; i >= 0; i--) {
            daemons.get(i).close();
        }
        daemons.clear();
    }
}
