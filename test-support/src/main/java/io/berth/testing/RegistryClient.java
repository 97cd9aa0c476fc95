package io.berth.testing;

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
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;

/**
 * The one HTTP client of Berth's tests, for a registry (Berth or registry:2) or any of Berth's listeners: HTTP/1.1,
 * no redirects unless asked, plain or TLS trusting a test CA, views that add a header (credentials) to each request, whole
 * responses as bytes, and the few registry verbs every suite repeats. Failures of I/O are unchecked; a verb that
 * gets an unexpected status throws an {@link AssertionError} naming the request and the answer.
 */
public final class RegistryClient implements AutoCloseable {
    private final HttpClient http;
    private final boolean owner;
    private final URI base;
    private final Duration timeout;
    /** Name, value pairs sent with every request. */
    private final List<String> defaultHeaders;

    private RegistryClient(HttpClient http, boolean owner, URI base, Duration timeout, List<String> defaultHeaders) {
        this.http = http;
        this.owner = owner;
        this.base = base;
        this.timeout = timeout;
        this.defaultHeaders = List.copyOf(defaultHeaders);
    }

    /** A client for {@code base} ({@code http://127.0.0.1:5000}, or {@code https://...} with {@link Builder#trust}). */
    public static Builder builder(URI base) {
        return new Builder(base);
    }

    /** A plain client for {@code base}, with the defaults. */
    public static RegistryClient of(URI base) {
        return builder(base).build();
    }

    /** Builds a {@link RegistryClient}. */
    public static final class Builder {
        private final URI base;
        private @Nullable SSLContext tls;
        private boolean followRedirects;
        private Duration timeout = Duration.ofSeconds(30);

        private Builder(URI base) {
            this.base = Objects.requireNonNull(base, "base");
        }

        /** TLS trusting {@code ca} alone. */
        public Builder trust(TestPki.Ca ca) {
            this.tls = ca.trustingContext();
            return this;
        }

        /** Follows redirects (Redirect.NORMAL) instead of returning them. */
        public Builder followRedirects() {
            this.followRedirects = true;
            return this;
        }

        /** How long one request may take, whole; 30 s by default. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        public RegistryClient build() {
            HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .followRedirects(followRedirects ? HttpClient.Redirect.NORMAL : HttpClient.Redirect.NEVER);
            if (tls != null) {
                b.sslContext(tls);
            }
            return new RegistryClient(b.build(), true, base, timeout, List.of());
        }
    }

    /** A view that shares this client's connections and also sends {@code name: value}; closing it closes nothing. */
    public RegistryClient with(String name, String value) {
        List<String> more = new ArrayList<>(defaultHeaders);
        more.add(name);
        more.add(value);
        return new RegistryClient(http, false, base, timeout, more);
    }

    /** A view that also sends Basic credentials; see {@link #with}. */
    public RegistryClient as(String user, String password) {
        return with("Authorization", basicAuthorization(user, password));
    }

    /** The value of a Basic {@code Authorization} header. */
    public static String basicAuthorization(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    public URI base() {
        return base;
    }

    /** {@code pathOrUrl} against the base: a path, or an absolute URL (a Location header) as it is. */
    public URI resolve(String pathOrUrl) {
        return base.resolve(pathOrUrl);
    }

    // ---- requests

    /** {@code method pathOrUrl} with {@code body} (none when null) and {@code headers} as name, value pairs. */
    public HttpResponse<byte[]> send(String method, String pathOrUrl, byte @Nullable [] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(resolve(pathOrUrl))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i < defaultHeaders.size(); i += 2) {
            b.header(defaultHeaders.get(i), defaultHeaders.get(i + 1));
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpRequest built = b.timeout(timeout).build();
        try {
            return http.send(built, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(built.method() + " " + built.uri(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public HttpResponse<byte[]> get(String pathOrUrl, String... headers) {
        return send("GET", pathOrUrl, null, headers);
    }

    public HttpResponse<byte[]> head(String pathOrUrl, String... headers) {
        return send("HEAD", pathOrUrl, null, headers);
    }

    // ---- registry verbs

    /** Starts an upload ({@code POST /v2/<repo>/blobs/uploads/}, 202); returns its Location. */
    public String startUpload(String repo) {
        HttpResponse<byte[]> r = expect(send("POST", "/v2/" + repo + "/blobs/uploads/", null), 202);
        return r.headers().firstValue("Location").orElseThrow(() -> new AssertionError("no Location in " + describe(r)));
    }

    /** Pushes {@code content} in one monolithic {@code POST ...?digest=} (201); returns its digest. */
    public String postBlob(String repo, byte[] content) {
        String digest = sha256(content);
        expect(send("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest, content, "Content-Type", "application/octet-stream"), 201);
        return digest;
    }

    /** Pushes {@code content} in a POST then one PUT (201), as registry:2 takes it too; returns its digest. */
    public String pushBlob(String repo, byte[] content) {
        String digest = sha256(content);
        URI location = resolve(startUpload(repo));
        String sep = location.getRawQuery() == null ? "?" : "&";
        expect(send("PUT", location + sep + "digest=" + digest, content, "Content-Type", "application/octet-stream"), 201);
        return digest;
    }

    /** PUTs a manifest under {@code reference} (201); returns the registry's Docker-Content-Digest. */
    public String putManifest(String repo, String reference, String mediaType, byte[] content) {
        HttpResponse<byte[]> r = expect(send("PUT", "/v2/" + repo + "/manifests/" + reference, content, "Content-Type", mediaType), 201);
        return r.headers().firstValue("Docker-Content-Digest").orElseThrow(() -> new AssertionError("no Docker-Content-Digest in " + describe(r)));
    }

    /** {@code r} if its status is {@code status}; else an AssertionError naming the request and the answer. */
    public static HttpResponse<byte[]> expect(HttpResponse<byte[]> r, int status) {
        if (r.statusCode() != status) {
            throw new AssertionError("expected " + status + ", got " + describe(r));
        }
        return r;
    }

    private static String describe(HttpResponse<byte[]> r) {
        return r.statusCode() + " to " + r.request().method() + " " + r.request().uri() + ": " + text(r);
    }

    // ---- utilities

    /** The body as UTF-8 ("" when there is none). */
    public static String text(HttpResponse<byte[]> r) {
        return r.body() == null ? "" : new String(r.body(), StandardCharsets.UTF_8);
    }

    /** {@code sha256:<hex>} of {@code data}. */
    public static String sha256(byte[] data) {
        return "sha256:" + HexFormat.of().formatHex(sha256Digest().digest(data));
    }

    /** {@code sha256:<hex>} of a file's content, streamed. */
    public static String sha256(Path file) {
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

    /** Closes the connections, unless this is a view made by {@link #with}. */
    @Override
    public void close() {
        if (owner) {
            http.shutdownNow();
        }
    }
}
