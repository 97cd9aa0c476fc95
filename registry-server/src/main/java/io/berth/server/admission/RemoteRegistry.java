package io.berth.server.admission;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A read-only client of any OCI registry (Harbor, Nexus, registry:2, distribution v3, Berth) for the standalone
 * webhook ({@code berth admission}): manifests by digest, the referrers API with its tag fallback, tags and blobs,
 * with pull credentials sent as Basic or exchanged for a Bearer token as the registry's challenge asks. Bodies are
 * capped ({@link #MAX_BYTES}); anything a hostile registry sends beyond it is an error, never a heap. Thread-safe.
 */
public final class RemoteRegistry {
    /** The most any manifest, listing or signature blob may be. */
    static final int MAX_BYTES = 4 << 20;

    private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
    private static final String ACCEPT = String.join(",", "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json");

    private final URI base;
    private final HttpClient client;
    private final @Nullable String basic;
    private final Duration timeout;
    /** Bearer tokens by scope, reused until the registry refuses one. */
    private final Map<String, String> tokens = new ConcurrentHashMap<>();

    /**
     * @param base the registry's base URL, e.g. {@code https://harbor.mycorp.local}
     * @param user the pull account, or null for anonymous pulls
     * @param password its password
     */
    public RemoteRegistry(URI base, HttpClient client, @Nullable String user, @Nullable String password, Duration timeout) {
        this.base = base;
        this.client = client;
        this.basic = user == null ? null
                : "Basic " + Base64.getEncoder().encodeToString((user + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
        this.timeout = timeout;
    }

    /** A fetched body: its bytes and Content-Type. */
    public record Body(byte[] bytes, String contentType) {}

    /** The manifest {@code repository@digest}, checked against the digest; null when the registry has no such manifest. */
    public @Nullable Body manifest(RepositoryName repository, Digest digest) throws IOException {
        Body b = get(repository, "/manifests/" + digest, ACCEPT);
        if (b != null && !digest.matches(b.bytes())) {
            throw new IOException("the registry served other bytes for " + digest);
        }
        return b;
    }

    /** The digest {@code tag} points at, or null. */
    public @Nullable Digest tag(RepositoryName repository, String tag) throws IOException {
        HttpResponse<InputStream> r = send(repository, "HEAD", "/manifests/" + tag, ACCEPT);
        try (InputStream in = r.body()) {
            if (r.statusCode() == 404) {
                return null;
            }
            require(r, "HEAD " + tag);
            String d = r.headers().firstValue("Docker-Content-Digest").orElse(null);
            if (d != null) {
                return Digest.parse(d);
            }
        }
        Body b = get(repository, "/manifests/" + tag, ACCEPT);
        return b == null ? null : Digest.sha256(b.bytes());
    }

    /** The blob {@code repository@digest}, checked against the digest; null when it is not there. */
    public byte @Nullable [] blob(RepositoryName repository, Digest digest) throws IOException {
        Body b = get(repository, "/blobs/" + digest, "*/*");
        if (b == null) {
            return null;
        }
        if (!digest.matches(b.bytes())) {
            throw new IOException("the registry served other bytes for blob " + digest);
        }
        return b.bytes();
    }

    /**
     * The referrers of {@code subject} as an image index: from the referrers API, or, where the registry has none
     * (registry:2, older Harbor), from the {@code sha256-<hex>} tag that OCI 1.1 clients write instead. Null when neither.
     */
    public @Nullable JsonNode referrers(RepositoryName repository, Digest subject) throws IOException {
        Body listing = get(repository, "/referrers/" + subject, "application/vnd.oci.image.index.v1+json");
        if (listing != null && listing.contentType().startsWith("application/vnd.oci.image.index.v1+json")) {
            return AdmissionReviews.JSON.readTree(listing.bytes());
        }
        Digest fallback = tag(repository, subject.toString().replace(':', '-'));
        if (fallback == null) {
            return null;
        }
        Body index = manifest(repository, fallback);
        return index == null ? null : AdmissionReviews.JSON.readTree(index.bytes());
    }

    private @Nullable Body get(RepositoryName repository, String path, String accept) throws IOException {
        HttpResponse<InputStream> r = send(repository, "GET", path, accept);
        try (InputStream in = r.body()) {
            if (r.statusCode() == 404) {
                return null;
            }
            require(r, "GET " + path);
            byte[] bytes = in.readNBytes(MAX_BYTES + 1);
            if (bytes.length > MAX_BYTES) {
                throw new IOException("GET " + path + ": more than " + MAX_BYTES + " bytes");
            }
            return new Body(bytes, r.headers().firstValue("Content-Type").orElse(""));
        }
    }

    private static void require(HttpResponse<?> r, String what) throws IOException {
        if (r.statusCode() / 100 != 2) {
            throw new IOException(what + " answered " + r.statusCode());
        }
    }

    /** One request, with the cached token or Basic credentials; on a Bearer challenge, fetches a token and tries again. */
    private HttpResponse<InputStream> send(RepositoryName repository, String method, String path, String accept) throws IOException {
        String scope = "repository:" + repository + ":pull";
        URI uri = base.resolve("/v2/" + repository + path);
        String token = tokens.get(scope);
        HttpResponse<InputStream> r = exchange(uri, method, accept, token != null ? "Bearer " + token : basic);
        if (r.statusCode() != 401) {
            return r;
        }
        r.body().close();
        String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
        if (!challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return exchange(uri, method, accept, basic);
        }
        token = fetchToken(challenge, scope);
        tokens.put(scope, token);
        return exchange(uri, method, accept, "Bearer " + token);
    }

    private HttpResponse<InputStream> exchange(URI uri, String method, String accept, @Nullable String authorization) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", accept)
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        try {
            return client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** The Docker token protocol: GET the challenge's realm with service and scope, with the pull credentials. */
    private String fetchToken(String challenge, String scope) throws IOException {
        Map<String, String> params = new LinkedHashMap<>();
        Matcher m = PARAM.matcher(challenge);
        while (m.find()) {
            params.put(m.group(1), m.group(2));
        }
        String realm = params.get("realm");
        if (realm == null) {
            throw new IOException("a Bearer challenge without a realm");
        }
        StringBuilder query = new StringBuilder(realm).append(realm.contains("?") ? '&' : '?');
        if (params.containsKey("service")) {
            query.append("service=").append(URLEncoder.encode(params.get("service"), StandardCharsets.UTF_8)).append('&');
        }
        query.append("scope=").append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
        HttpResponse<InputStream> r = exchange(URI.create(query.toString()), "GET", "application/json", basic);
        try (InputStream in = r.body()) {
            require(r, "the token request");
            JsonNode body = AdmissionReviews.JSON.readTree(in.readNBytes(MAX_BYTES));
            String token = body.path("token").asText(body.path("access_token").asText(""));
            if (token.isEmpty()) {
                throw new IOException("the token server sent no token");
            }
            return token;
        }
    }
}
