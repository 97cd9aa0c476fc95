package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.server.Berth;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * Plain HTTP against Berth's distribution API, to check from the registry's side what a client did
 * (used by CraneIT, RegctlIT, SkopeoIT and OrasIT), plus the JSON and digest helpers they share.
 */
final class RegistryHttp {
    /** Every manifest type Berth serves, as a client that knows them all asks for them. */
    static final String MANIFEST_TYPES = String.join(", ",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    RegistryHttp(Berth berth) {
        this.base = berth.baseUri();
    }

    /** GET {@code path} (e.g. {@code /v2/a/b/manifests/v1}) accepting every manifest type. */
    HttpResponse<byte[]> get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Accept", MANIFEST_TYPES).GET());
    }

    /** HEAD {@code path} accepting every manifest type. */
    HttpResponse<byte[]> head(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Accept", MANIFEST_TYPES)
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    }

    /** The manifest {@code repo:reference} as Berth stores it; fails unless Berth answers 200. */
    byte[] manifest(String repo, String reference) {
        HttpResponse<byte[]> r = get("/v2/" + repo + "/manifests/" + reference);
        assertThat(r.statusCode()).as("GET manifest %s:%s", repo, reference).isEqualTo(200);
        return r.body();
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder request) {
        try {
            return client.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(byte[] body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(String body) {
        return json(body.getBytes(StandardCharsets.UTF_8));
    }

    static JsonNode json(Path file) {
        try {
            return json(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code sha256:<hex>} of {@code data}. */
    static String sha256(byte[] data) {
        return "sha256:" + HexFormat.of().formatHex(sha256Digest().digest(data));
    }

    /** {@code sha256:<hex>} of a file's content, streamed. */
    static String sha256(Path file) {
        MessageDigest md = sha256Digest();
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
