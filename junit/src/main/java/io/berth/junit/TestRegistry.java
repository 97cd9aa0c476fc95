package io.berth.junit;

import io.berth.server.Berth;
import io.berth.testing.TestPki;
import java.net.URI;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;

/**
 * A started Berth that {@link BerthRegistry} injected: where it listens, how to name images in it, and what to trust
 * when it serves TLS. The extension stops it; tests only use it.
 */
public final class TestRegistry {
    private final Berth berth;
    private final String host;
    private final URI url;
    private final @Nullable X509Certificate ca;
    private final @Nullable Path caFile;

    /** A handle on {@code berth}, started: its address stays readable after the extension stops it. */
    TestRegistry(Berth berth, @Nullable X509Certificate ca, @Nullable Path caFile) {
        this.berth = berth;
        this.host = berth.hostAndPort();
        this.url = berth.baseUri();
        this.ca = ca;
        this.caFile = caFile;
    }

    /** {@code 127.0.0.1:<port>}: the registry part of an image reference, and what {@code docker login} takes. */
    public String host() {
        return host;
    }

    /** The port it listens on, on 127.0.0.1. */
    public int port() {
        return url.getPort();
    }

    /** The base URL: {@code http://127.0.0.1:<port>}, or {@code https://…} with {@link BerthRegistry#tls()}. */
    public URI url() {
        return url;
    }

    /** {@code 127.0.0.1:<port>/<repository>:<tag>}, e.g. for Jib's {@code RegistryImage.named}. */
    public String imageReference(String repository, String tag) {
        requireText(repository, "repository");
        requireText(tag, "tag");
        return host() + "/" + repository + ":" + tag;
    }

    /** Whether it serves HTTPS. */
    public boolean tls() {
        return ca != null;
    }

    /**
     * With TLS, the PEM file of the CA that issued the registry's certificate: for {@code curl --cacert},
     * {@code crane --ca-file}… or a Docker {@code certs.d/<host>/ca.crt}. Deleted with the registry.
     */
    public Optional<Path> caCertificate() {
        return Optional.ofNullable(caFile);
    }

    /** With TLS, a client context that trusts this registry's CA and nothing else, e.g. for {@code java.net.http}. */
    public SSLContext sslContext() {
        if (ca == null) {
            throw new IllegalStateException("this registry serves plain HTTP; ask for @BerthRegistry(tls = true)");
        }
        return TestPki.trusting(ca);
    }

    /** The directory holding the registry's data (registry:2's layout); deleted with the registry. */
    public Path storageDirectory() {
        return berth.storageDirectory();
    }

    /** The embedded server itself, e.g. for its {@link Berth#meters() metrics}. Do not close it: the extension does. */
    public Berth berth() {
        return berth;
    }

    @Override
    public String toString() {
        return "TestRegistry[" + url() + "]";
    }

    private static void requireText(String value, String what) {
        Objects.requireNonNull(value, what);
        if (value.isBlank()) {
            throw new IllegalArgumentException(what + " is empty");
        }
    }
}
