package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.testing.RegistryClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A real Berth on a free port, a real HTTP client, and the few helpers every HTTP test needs. */
final class HttpFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
    static final String LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

    final Berth berth;
    final URI base;
    final InetSocketAddress address;
    /** This view's client: the fixture's own, or one that adds headers (an Authorization) to every request. */
    final RegistryClient client;

    private HttpFixture(Berth berth, InetSocketAddress address, RegistryClient client) {
        this.berth = berth;
        this.address = address;
        this.base = client.base();
        this.client = client;
    }

    private HttpFixture(Berth berth, InetSocketAddress address) {
        this(berth, address, RegistryClient.of(URI.create("http://127.0.0.1:" + address.getPort())));
    }

    static HttpFixture start() {
        Berth berth = Berth.builder().temporaryStorage().port(0).build();
        return new HttpFixture(berth, berth.start());
    }

    /** A Berth with a full configuration (its {@code http.addr} included), on temporary storage. */
    static HttpFixture start(io.berth.server.config.RegistryConfig config) {
        Berth berth = Berth.builder().config(config).temporaryStorage().build();
        return new HttpFixture(berth, berth.start());
    }

    /**
     * Writes {@code dir/config.yml} (filesystem storage under {@code dir/data} with deletes enabled, {@code http.addr}
     * {@code addr}, then {@code sections}: auth, berth and the like) and starts a Berth with it, on temporary storage.
     */
    static HttpFixture startWithConfig(Path dir, String addr, String sections) {
        return start(ConfigLoader.load(writeConfig(dir, addr, sections), Map.of()));
    }

    /** Like {@link #startWithConfig}, on {@code 127.0.0.1:0}, with the data kept in {@code dir/data}: a test's own volume. */
    static HttpFixture startOn(Path dir, String sections) {
        Berth berth = Berth.builder().config(ConfigLoader.load(writeConfig(dir, "127.0.0.1:0", sections), Map.of())).build();
        return new HttpFixture(berth, berth.start());
    }

    private static Path writeConfig(Path dir, String addr, String sections) {
        String yaml = """
                version: 0.1
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: %s
                """.formatted(dir.resolve("data"), addr) + sections;
        try {
            return Files.writeString(dir.resolve("config.yml"), yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A view of the same Berth that sends {@code name: value} with every request; do not close it. */
    HttpFixture with(String name, String value) {
        return new HttpFixture(berth, address, client.with(name, value));
    }

    /** A view that sends Basic credentials with every request; do not close it. */
    HttpFixture as(String user, String password) {
        return new HttpFixture(berth, address, client.as(user, password));
    }

    /** A fixture on an already started Berth; closing the fixture closes it. */
    static HttpFixture attach(Berth started) {
        return new HttpFixture(started, started.address());
    }

    @Override
    public void close() {
        client.close();
        berth.close();
    }

    // ---- requests

    HttpResponse<byte[]> send(String method, String pathOrUrl, byte[] body, String... headers) {
        return client.send(method, pathOrUrl, body, headers);
    }

    HttpResponse<byte[]> get(String pathOrUrl, String... headers) {
        return send("GET", pathOrUrl, null, headers);
    }

    HttpResponse<byte[]> head(String pathOrUrl, String... headers) {
        return send("HEAD", pathOrUrl, null, headers);
    }

    URI resolve(String pathOrUrl) {
        return client.resolve(pathOrUrl);
    }

    // ---- pushes

    /** Starts an upload; returns its Location. */
    String startUpload(String repo) {
        return client.startUpload(repo);
    }

    /** Pushes a blob in one monolithic POST; returns its digest. */
    String pushBlob(String repo, byte[] content) {
        return client.postBlob(repo, content);
    }

    /** A pushed manifest. */
    record Manifest(String digest, byte[] content) {
        ObjectNode descriptor() {
            ObjectNode d = JSON.createObjectNode();
            d.put("mediaType", OCI_MANIFEST);
            d.put("digest", digest);
            d.put("size", content.length);
            return d;
        }
    }

    /** An image manifest over a fresh config and layer, unique to {@code seed}; not pushed. */
    ObjectNode imageJson(String repo, String seed) {
        byte[] config = utf8("{\"seed\":\"" + seed + "\"}");
        byte[] layer = utf8("layer of " + seed);
        ObjectNode m = JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", OCI_MANIFEST);
        m.set("config", descriptor(CONFIG_TYPE, pushBlob(repo, config), config.length));
        m.putArray("layers").add(descriptor(LAYER_TYPE, pushBlob(repo, layer), layer.length));
        return m;
    }

    Manifest putManifest(String repo, String reference, ObjectNode json) {
        byte[] content = bytes(json);
        return new Manifest(client.putManifest(repo, reference, json.path("mediaType").asText(OCI_MANIFEST), content), content);
    }

    Manifest pushImage(String repo, String seed, String reference) {
        return putManifest(repo, reference, imageJson(repo, seed));
    }

    static ObjectNode descriptor(String mediaType, String digest, long size) {
        ObjectNode d = JSON.createObjectNode();
        d.put("mediaType", mediaType);
        d.put("digest", digest);
        d.put("size", size);
        return d;
    }

    // ---- assertions and utilities

    /** Asserts the spec's error shape: status, the JSON body with one error of {@code code}, and the API version header. */
    static JsonNode assertError(HttpResponse<byte[]> r, int status, String code) {
        assertThat(r.statusCode()).as("status of %s: %s", r.request().uri(), RegistryClient.text(r)).isEqualTo(status);
        assertThat(r.headers().firstValue("Docker-Distribution-API-Version")).hasValue("registry/2.0");
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        JsonNode body = json(r.body());
        assertThat(body.fieldNames()).toIterable().containsExactly("errors");
        assertThat(body.get("errors").isArray()).isTrue();
        assertThat(body.get("errors")).hasSize(1);
        JsonNode e = body.get("errors").get(0);
        assertThat(e.get("code").asText()).isEqualTo(code);
        assertThat(e.get("message").isTextual()).isTrue();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.has("detail")).isTrue();
        return e;
    }

    static JsonNode json(byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + new String(body, StandardCharsets.UTF_8), e);
        }
    }

    static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElseThrow(() -> new AssertionError("no " + name + " header in " + r.headers().map()));
    }

    // ---- raw sockets, for what java.net.http will not send

    /** A response read off a raw socket. */
    record RawResponse(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** The current value of the server's gauge {@code name}. */
    double gauge(String name) {
        return berth.meters().get(name).gauge().value();
    }

    /** Where this Berth keeps the data of the blob {@code digest} (registry:2's layout). */
    Path blobData(String digest) {
        String hex = digest.substring("sha256:".length());
        return berth.storageDirectory().resolve("docker/registry/v2/blobs/sha256/" + hex.substring(0, 2) + "/" + hex + "/data");
    }

    Socket socket() {
        try {
            Socket s = new Socket(address.getAddress(), address.getPort());
            s.setSoTimeout(15_000);
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Socket s, String text) throws IOException {
        write(s, text.getBytes(StandardCharsets.ISO_8859_1));
    }

    static void write(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
    }

    /** Reads one response: head, then a Content-Length body. */
    static RawResponse read(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed inside the response head: " + head.toString(StandardCharsets.ISO_8859_1));
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        List<String> lines = List.of(head.toString(StandardCharsets.ISO_8859_1).split("\r\n"));
        int status = Integer.parseInt(lines.get(0).split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        return new RawResponse(status, headers, body);
    }

    /** Whether the server has closed {@code s}: a read sees end of stream (or a reset) within the socket timeout. */
    static boolean closedByServer(Socket s) {
        try {
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Waits, up to 10 seconds, until {@code condition} holds. */
    static void awaitTrue(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        java.time.Instant deadline = java.time.Instant.now().plus(Duration.ofSeconds(10));
        while (!condition.getAsBoolean()) {
            if (java.time.Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }
}
