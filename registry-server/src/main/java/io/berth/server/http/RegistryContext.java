package io.berth.server.http;

import io.berth.auth.TagPolicy;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.RegistryStorage;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.time.Clock;
import org.jspecify.annotations.Nullable;

/** What every endpoint shares: the storage, the settings, the meters and the security decisions. */
final class RegistryContext {
    private final RegistryStorage storage;
    private final RegistryConfig config;
    private final ServerMetrics metrics;
    private final AccessControl access;
    private final TagPolicy tagPolicy;
    private final @Nullable TokenEndpoint tokenEndpoint;

    RegistryContext(RegistryStorage storage, RegistryConfig config, ServerMetrics metrics) {
        this.storage = storage;
        this.config = config;
        this.metrics = metrics;
        this.access = SecurityWiring.accessControl(config.security(), Clock.systemUTC());
        this.tagPolicy = SecurityWiring.tagPolicy(config.security());
        this.tokenEndpoint = SecurityWiring.tokenEndpoint(config.security(), Clock.systemUTC());
    }

    RegistryStorage storage() {
        return storage;
    }

    RegistryConfig config() {
        return config;
    }

    ServerMetrics metrics() {
        return metrics;
    }

    AccessControl access() {
        return access;
    }

    TagPolicy tagPolicy() {
        return tagPolicy;
    }

    /** The built-in token server, when {@code berth.tokenIssuer} is configured. */
    @Nullable TokenEndpoint tokenEndpoint() {
        return tokenEndpoint;
    }

    /** Refuses writes in read-only mode ({@code storage.maintenance.readonly}), as registry:2 does. */
    void requireWritable() {
        if (config.storage().readOnly()) {
            throw new HttpError(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
        }
    }

    /** Refuses deletes of blobs and manifests unless {@code storage.delete.enabled}, as registry:2 does. */
    void requireDeletable() {
        requireWritable();
        if (!config.storage().deleteEnabled()) {
            throw new HttpError(ErrorCode.UNSUPPORTED, "deletes are disabled (storage.delete.enabled)");
        }
    }

    /** An absolute URL for {@code path} (which starts with {@code /v2/}), as registry:2 builds Location headers. */
    String url(Exchange ex, String path) {
        String prefixed = config.http().prefix() + path.substring(1);
        if (config.http().relativeUrls()) {
            return prefixed;
        }
        String base = config.http().host();
        if (base == null) {
            String host = ex.header(HttpHeaderNames.HOST);
            if (host == null) {
                return prefixed;
            }
            String proto = ex.header("X-Forwarded-Proto");
            String scheme = config.http().tls() != null ? "https" : "http";
            base = (proto == null ? scheme : proto.split(",")[0].strip()) + "://" + host;
        }
        return base + prefixed;
    }
}
