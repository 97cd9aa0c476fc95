package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The few raw Distribution API calls the round-trip tests need where a client tool would hide the
 * bytes: manifests with their headers, blobs, catalog and tag lists, monolithic blob pushes and
 * manifest puts. Works against registry:2 and Berth alike.
 */
final class RoundTripHttp {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    private static final String ACCEPT_ALL = String.join(", ", OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST);

    /**
     * A response as received.
     *
     * @param status the HTTP status
     * @param contentType the Content-Type header, or ""
     * @param digest the Docker-Content-Digest header, or ""
     * @param location the Location header, or ""
     * @param body the body's bytes
     */
    record Fetched(int status, String contentType, String digest, String location, byte[] body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final HttpClient client = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NORMAL).build();
    private final URI base;

    RoundTripHttp(String hostAndPort) {
        this.base = URI.create("http://" + hostAndPort);
    }

    /** GET of a manifest by tag or digest, accepting every image and index media type. */
    Fetched manifest(String repo, String reference) {
        return send(HttpRequest.newBuilder(uri("/v2/" + repo + "/manifests/" + reference)).header("Accept", ACCEPT_ALL).GET());
    }

    /** GET of a manifest that must exist. */
    Fetched requireManifest(String repo, String reference) {
        Fetched f = manifest(repo, reference);
        assertThat(f.status()).as("GET %s/v2/%s/manifests/%s: %s", base, repo, reference, f.text()).isEqualTo(200);
        return f;
    }

    Fetched blob(String repo, String digest) {
        return send(HttpRequest.newBuilder(uri("/v2/" + repo + "/blobs/" + digest)).GET());
    }

    /** Downloads a blob, checking that its bytes hash to its digest and that it has the expected size. */
    void requireBlob(String repo, String digest, long size) {
        Fetched f = blob(repo, digest);
        assertThat(f.status()).as("GET %s/v2/%s/blobs/%s", base, repo, digest).isEqualTo(200);
        assertThat(sha256(f.body())).as("sha256 of blob %s in %s from %s", digest, repo, base).isEqualTo(digest);
        assertThat((long) f.body().length).as("size of blob %s", digest).isEqualTo(size);
    }

    List<String> catalog() {
        return strings(requireOk("/v2/_catalog?n=1000").json().path("repositories"));
    }

    List<String> tags(String repo) {
        return strings(requireOk("/v2/" + repo + "/tags/list?n=1000").json().path("tags"));
    }

    Fetched referrers(String repo, String digest) {
        return send(HttpRequest.newBuilder(uri("/v2/" + repo + "/referrers/" + digest)).GET());
    }

    /** Uploads {@code content} in one POST + PUT; returns its digest. */
    String pushBlob(String repo, byte[] content) {
        String digest = sha256(content);
        Fetched started = send(HttpRequest.newBuilder(uri("/v2/" + repo + "/blobs/uploads/")).POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(started.status()).as("POST upload to %s/%s", base, repo).isEqualTo(202);
        URI location = base.resolve(started.location());
        String sep = location.getRawQuery() == null ? "?" : "&";
        Fetched done = send(HttpRequest.newBuilder(URI.create(location + sep + "digest=" + digest))
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofByteArray(content)));
        assertThat(done.status()).as("PUT blob %s to %s/%s: %s", digest, base, repo, done.text()).isEqualTo(201);
        return digest;
    }

    /** PUTs a manifest under {@code reference}; it must be accepted with 201. Returns the registry's digest header. */
    String putManifest(String repo, String reference, String mediaType, byte[] content) {
        Fetched f = send(HttpRequest.newBuilder(uri("/v2/" + repo + "/manifests/" + reference))
                .header("Content-Type", mediaType).PUT(HttpRequest.BodyPublishers.ofByteArray(content)));
        assertThat(f.status()).as("PUT manifest %s:%s to %s: %s", repo, reference, base, f.text()).isEqualTo(201);
        return f.digest();
    }

    int deleteManifest(String repo, String digest) {
        return send(HttpRequest.newBuilder(uri("/v2/" + repo + "/manifests/" + digest)).DELETE()).status();
    }

    int deleteBlob(String repo, String digest) {
        return send(HttpRequest.newBuilder(uri("/v2/" + repo + "/blobs/" + digest)).DELETE()).status();
    }

    static String sha256(byte[] content) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Fetched requireOk(String path) {
        Fetched f = send(HttpRequest.newBuilder(uri(path)).GET());
        assertThat(f.status()).as("GET %s%s: %s", base, path, f.text()).isEqualTo(200);
        return f;
    }

    private URI uri(String path) {
        return base.resolve(path);
    }

    private Fetched send(HttpRequest.Builder request) {
        try {
            HttpResponse<byte[]> r = client.send(request.timeout(Duration.ofMinutes(1)).build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Fetched(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""),
                    r.headers().firstValue("Docker-Content-Digest").orElse(""),
                    r.headers().firstValue("Location").orElse(""), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
