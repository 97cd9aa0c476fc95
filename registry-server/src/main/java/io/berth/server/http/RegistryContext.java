package io.berth.server.http;

import io.berth.server.config.RegistryConfig;
import io.berth.storage.RegistryStorage;
import io.netty.handler.codec.http.HttpHeaderNames;

/**
 * What every endpoint shares: the storage, the settings and the meters.
 *
 * @param storage the storage
 * @param config the settings
 * @param metrics the meters
 */
record RegistryContext(RegistryStorage storage, RegistryConfig config, ServerMetrics metrics) {

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
