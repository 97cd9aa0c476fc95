package io.berth.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Reads manifests straight from Berth's HTTP API with a chosen Accept header (where {@link RegistryHttp}
 * always accepts every type), keeping the headers, to hold what a daemon reported against what Berth serves.
 */
final class ClientHttp {
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";

    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private ClientHttp() {}

    /**
     * A response, whole.
     *
     * @param status the HTTP status
     * @param headers the response headers
     * @param body the body bytes
     */
    record Response(int status, HttpHeaders headers, byte[] body) {
        String header(String name) {
            return headers.firstValue(name).orElse("");
        }

        JsonNode json() {
            return RegistryHttp.json(body);
        }

        /** The sha256 digest of the body, as {@code sha256:<hex>}. */
        String sha256() {
            return RegistryHttp.sha256(body);
        }

        @Override
        public String toString() {
            return status + " " + headers.map() + "\n" + Proc.tail(new String(body, StandardCharsets.UTF_8));
        }
    }

    /** GET {@code /v2/<repository>/manifests/<reference>} with the given Accept types. */
    static Response manifest(URI base, String repository, String reference, String... accept) {
        return get(base.resolve("/v2/" + repository + "/manifests/" + reference), accept);
    }

    static Response get(URI uri, String... accept) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (accept.length > 0) {
            request.header("Accept", String.join(", ", accept));
        }
        try {
            HttpResponse<byte[]> r = CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(r.statusCode(), r.headers(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("GET " + uri, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
