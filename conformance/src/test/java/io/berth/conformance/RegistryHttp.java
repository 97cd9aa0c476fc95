package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.server.Berth;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Plain HTTP against a registry's distribution API (Berth or registry:2), to check from the registry's side what a
 * client did, and for the few raw calls where a client tool would hide the bytes: manifests with a chosen Accept and
 * their headers, blobs, catalog and tag lists, blob pushes, manifest puts and deletes, through a {@link RegistryClient}
 * that follows redirects. Also the JSON helpers the tests share.
 */
final class RegistryHttp {
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    /** Every manifest type Berth serves, as a client that knows them all asks for them. */
    static final String MANIFEST_TYPES = String.join(", ", OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST);

    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A response, whole.
     *
     * @param status the HTTP status
     * @param headers the response headers
     * @param body the body bytes
     */
    record Response(int status, HttpHeaders headers, byte[] body) {
        /** The first value of header {@code name}, or "". */
        String header(String name) {
            return headers.firstValue(name).orElse("");
        }

        String contentType() {
            return header("Content-Type");
        }

        /** The Docker-Content-Digest header, or "". */
        String digest() {
            return header("Docker-Content-Digest");
        }

        String location() {
            return header("Location");
        }

        JsonNode json() {
            return RegistryHttp.json(body);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The sha256 digest of the body, as {@code sha256:<hex>}. */
        String sha256() {
            return RegistryClient.sha256(body);
        }

        @Override
        public String toString() {
            return status + " " + headers.map() + "\n" + Proc.tail(text());
        }
    }

    private final RegistryClient client;

    RegistryHttp(Berth berth) {
        this(berth.baseUri());
    }

    /** A plain-HTTP registry at {@code host:port}. */
    RegistryHttp(String hostAndPort) {
        this(URI.create("http://" + hostAndPort));
    }

    private RegistryHttp(URI base) {
        this.client = RegistryClient.builder(base).followRedirects().timeout(Duration.ofMinutes(1)).build();
    }

    /** GET {@code path} (e.g. {@code /v2/a/b/manifests/v1}) accepting every manifest type. */
    Response get(String path) {
        return send("GET", path, "Accept", MANIFEST_TYPES);
    }

    /** HEAD {@code path} accepting every manifest type. */
    Response head(String path) {
        return send("HEAD", path, "Accept", MANIFEST_TYPES);
    }

    /** GET {@code /v2/<repo>/manifests/<reference>} with the given Accept types (none given: every manifest type). */
    Response manifest(String repo, String reference, String... accept) {
        String types = accept.length == 0 ? MANIFEST_TYPES : String.join(", ", accept);
        return send("GET", "/v2/" + repo + "/manifests/" + reference, "Accept", types);
    }

    /** GET of a manifest (accepting every type) that must exist: fails unless the registry answers 200. */
    Response requireManifest(String repo, String reference) {
        Response r = manifest(repo, reference);
        assertThat(r.status()).as("GET %s/v2/%s/manifests/%s: %s", client.base(), repo, reference, r.text()).isEqualTo(200);
        return r;
    }

    Response blob(String repo, String digest) {
        return send("GET", "/v2/" + repo + "/blobs/" + digest);
    }

    /** Downloads a blob, checking that its bytes hash to its digest and that it has the expected size. */
    void requireBlob(String repo, String digest, long size) {
        Response r = blob(repo, digest);
        assertThat(r.status()).as("GET %s/v2/%s/blobs/%s", client.base(), repo, digest).isEqualTo(200);
        assertThat(r.sha256()).as("sha256 of blob %s in %s from %s", digest, repo, client.base()).isEqualTo(digest);
        assertThat((long) r.body().length).as("size of blob %s", digest).isEqualTo(size);
    }

    List<String> catalog() {
        return strings(requireOk("/v2/_catalog?n=1000").json().path("repositories"));
    }

    List<String> tags(String repo) {
        return strings(requireOk("/v2/" + repo + "/tags/list?n=1000").json().path("tags"));
    }

    Response referrers(String repo, String digest) {
        return send("GET", "/v2/" + repo + "/referrers/" + digest);
    }

    /** Uploads {@code content} in one POST + PUT; returns its digest. */
    String pushBlob(String repo, byte[] content) {
        return client.pushBlob(repo, content);
    }

    /** PUTs a manifest under {@code reference}; it must be accepted with 201. Returns the registry's digest header. */
    String putManifest(String repo, String reference, String mediaType, byte[] content) {
        return client.putManifest(repo, reference, mediaType, content);
    }

    int deleteManifest(String repo, String digest) {
        return send("DELETE", "/v2/" + repo + "/manifests/" + digest).status();
    }

    int deleteBlob(String repo, String digest) {
        return send("DELETE", "/v2/" + repo + "/blobs/" + digest).status();
    }

    private Response requireOk(String path) {
        Response r = send("GET", path);
        assertThat(r.status()).as("GET %s%s: %s", client.base(), path, r.text()).isEqualTo(200);
        return r;
    }

    private Response send(String method, String path, String... headers) {
        HttpResponse<byte[]> r = client.send(method, path, null, headers);
        return new Response(r.statusCode(), r.headers(), r.body());
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
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
}
