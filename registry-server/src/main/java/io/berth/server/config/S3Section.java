package io.berth.server.config;

import io.berth.storage.s3.S3Settings;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reads registry:2's {@code storage.s3} section (distribution's {@code s3-aws} driver, its keys and defaults),
 * {@code storage.redirect.disable}, and Berth's own {@code berth.s3}. Values may be strings or numbers, as registry:2
 * accepts them ({@code chunksize: "10485760"}). {@code forcepathstyle} defaults to true when {@code regionendpoint}
 * is set, as in registry:2.
 */
final class S3Section {
    /** registry:2's {@code storageclass} values; {@code NONE} sends none. */
    private static final Set<String> STORAGE_CLASSES = Set.of("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
            "INTELLIGENT_TIERING", "OUTPOSTS", "GLACIER_IR", "NONE");

    private S3Section() {}

    /** The settings, or null when there is no {@code storage.s3} section. */
    static @Nullable S3Settings read(ConfigTree t) {
        if (t.at("storage.s3") == null) {
            t.accept("storage.redirect.disable");
            t.accept("berth.s3");
            return null;
        }
        if (!t.at("storage.s3").isObject()) {
            throw new ConfigException("storage.s3: expected a map of the s3 driver's settings (bucket, region, ...)");
        }
        String region = t.optionalString("storage.s3.region");
        if (region == null) {
            throw new ConfigException("storage.s3.region: required (any value, such as us-east-1, for most S3-compatible servers)");
        }
        String bucket = t.optionalString("storage.s3.bucket");
        if (bucket == null) {
            throw new ConfigException("storage.s3.bucket: required");
        }
        boolean secure = t.bool("storage.s3.secure", true);
        URI endpoint = endpoint(t.optionalString("storage.s3.regionendpoint"), secure);
        if (!t.bool("storage.s3.v4auth", true)) {
            throw new ConfigException("storage.s3.v4auth: Berth signs requests with AWS Signature Version 4 only; remove v4auth: false");
        }
        String storageClass = t.string("storage.s3.storageclass", "STANDARD").toUpperCase(Locale.ROOT);
        if (!STORAGE_CLASSES.contains(storageClass)) {
            throw new ConfigException("storage.s3.storageclass: expected one of " + String.join(", ", STORAGE_CLASSES.stream().sorted().toList())
                    + ", not " + storageClass);
        }
        String clientName = t.string("berth.s3.client", "netty");
        S3Settings.Client client;
        try {
            client = S3Settings.Client.parse(clientName);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("berth.s3.client: expected netty or crt, not " + clientName);
        }
        try {
            return new S3Settings(region, endpoint,
                    t.bool("storage.s3.forcepathstyle", endpoint != null),
                    bucket,
                    t.string("storage.s3.rootdirectory", ""),
                    t.optionalString("storage.s3.accesskey"),
                    t.optionalString("storage.s3.secretkey"),
                    secure,
                    t.bool("storage.s3.skipverify", false),
                    true,
                    t.longValue("storage.s3.chunksize", S3Settings.DEFAULT_CHUNK_SIZE),
                    t.longValue("storage.s3.multipartcopychunksize", S3Settings.DEFAULT_COPY_CHUNK_SIZE),
                    t.integer("storage.s3.multipartcopymaxconcurrency", S3Settings.DEFAULT_COPY_CONCURRENCY),
                    t.longValue("storage.s3.multipartcopythresholdsize", S3Settings.DEFAULT_COPY_THRESHOLD),
                    storageClass.equals("NONE") ? null : storageClass,
                    t.bool("storage.s3.encrypt", false),
                    t.optionalString("storage.s3.keyid"),
                    !t.bool("storage.redirect.disable", false),
                    client,
                    t.integer("berth.s3.partConcurrency", S3Settings.DEFAULT_PART_CONCURRENCY));
        } catch (IllegalArgumentException e) {
            // S3Settings names the key: chunksize below 5 MiB, accesskey without secretkey, ...
            throw new ConfigException(String.valueOf(e.getMessage()));
        }
    }

    /** {@code regionendpoint} as a URL; without a scheme ({@code minio:9000}) it takes https, or http when not secure. */
    private static @Nullable URI endpoint(@Nullable String value, boolean secure) {
        if (value == null) {
            return null;
        }
        String url = value.contains("://") ? value : (secure ? "https://" : "http://") + value;
        try {
            URI uri = new URI(url.replaceAll("/+$", ""));
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw new URISyntaxException(value, "expected http(s)://host[:port]");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new ConfigException("storage.s3.regionendpoint: expected http(s)://host[:port] or host[:port], not " + value);
        }
    }
}
