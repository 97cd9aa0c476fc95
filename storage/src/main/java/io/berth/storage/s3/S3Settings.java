package io.berth.storage.s3;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * registry:2's {@code storage.s3} section, with its defaults (distribution's {@code registry/storage/driver/s3-aws}),
 * and Berth's own S3 settings ({@code berth.s3}).
 *
 * @param region {@code region}; required by registry:2, any value for most S3-compatible servers
 * @param regionEndpoint {@code regionendpoint}: the server's URL, or null for AWS itself
 * @param forcePathStyle {@code forcepathstyle}: {@code http://host/bucket/key} instead of {@code http://bucket.host/key}
 * @param bucket {@code bucket}
 * @param rootDirectory {@code rootdirectory}, without leading or trailing slashes ("" for none)
 * @param accessKey {@code accesskey}; with {@code secretKey} null, the SDK's default credential chain is used
 * @param secretKey {@code secretkey}
 * @param secure {@code secure}: https to the server (used when {@code regionEndpoint} has no scheme)
 * @param skipVerify {@code skipverify}: do not verify the server's certificate
 * @param v4auth {@code v4auth}; Berth always signs with SigV4, and false is refused at load
 * @param chunkSize {@code chunksize}: bytes per multipart part, at least 5 MiB
 * @param multipartCopyChunkSize {@code multipartcopychunksize}: bytes per part of a server-side multipart copy
 * @param multipartCopyMaxConcurrency {@code multipartcopymaxconcurrency}: parts of one copy in flight
 * @param multipartCopyThresholdSize {@code multipartcopythresholdsize}: objects larger than this are copied in parts
 * @param storageClass {@code storageclass}, or null for the server's default ({@code NONE} in registry:2)
 * @param encrypt {@code encrypt}: server-side encryption
 * @param keyId {@code keyid}: the KMS key for {@code encrypt}, or null for SSE-S3
 * @param redirect registry:2's {@code storage.redirect.disable} inverted: pulls are answered with a presigned URL
 * @param client {@code berth.s3.client}: the SDK's HTTP client
 * @param partConcurrency {@code berth.s3.partConcurrency}: parts of one upload sent to the server at once; with
 *     {@code chunkSize} it bounds an upload's memory
 */
public record S3Settings(
        String region,
        @Nullable URI regionEndpoint,
        boolean forcePathStyle,
        String bucket,
        String rootDirectory,
        @Nullable String accessKey,
        @Nullable String secretKey,
        boolean secure,
        boolean skipVerify,
        boolean v4auth,
        long chunkSize,
        long multipartCopyChunkSize,
        int multipartCopyMaxConcurrency,
        long multipartCopyThresholdSize,
        @Nullable String storageClass,
        boolean encrypt,
        @Nullable String keyId,
        boolean redirect,
        Client client,
        int partConcurrency) {

    /** S3's smallest part but the last, and registry:2's smallest {@code chunksize}. */
    public static final long MIN_PART = 5L << 20;
    public static final long DEFAULT_CHUNK_SIZE = 10L << 20;
    public static final long DEFAULT_COPY_CHUNK_SIZE = 32L << 20;
    public static final int DEFAULT_COPY_CONCURRENCY = 100;
    public static final long DEFAULT_COPY_THRESHOLD = 32L << 20;
    public static final int DEFAULT_PART_CONCURRENCY = 4;

    /** The SDK's asynchronous HTTP clients Berth can use. */
    public enum Client {
        /** {@code software.amazon.awssdk:netty-nio-client}. */
        NETTY,
        /** {@code software.amazon.awssdk:aws-crt-client}, the AWS Common Runtime (native). */
        CRT;

        public static Client parse(String s) {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        }
    }

    public S3Settings {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(client, "client");
        rootDirectory = trimSlashes(Objects.requireNonNullElse(rootDirectory, ""));
        if (bucket.isBlank()) {
            throw new IllegalArgumentException("storage.s3.bucket is required");
        }
        if (chunkSize < MIN_PART) {
            throw new IllegalArgumentException("storage.s3.chunksize must be at least " + MIN_PART + " (5 MiB), got " + chunkSize);
        }
        if (multipartCopyChunkSize < MIN_PART || multipartCopyThresholdSize < 0 || multipartCopyMaxConcurrency < 1) {
            throw new IllegalArgumentException("storage.s3.multipartcopy*: chunk size at least 5 MiB, concurrency at least 1");
        }
        if (partConcurrency < 1) {
            throw new IllegalArgumentException("berth.s3.partConcurrency must be at least 1, got " + partConcurrency);
        }
        if ((accessKey == null) != (secretKey == null)) {
            throw new IllegalArgumentException("storage.s3.accesskey and secretkey go together");
        }
    }

    /** registry:2's defaults for everything but the bucket and region. */
    public static S3Settings defaults(String bucket, String region) {
        return new S3Settings(region, null, false, bucket, "", null, null, true, false, true, DEFAULT_CHUNK_SIZE,
                DEFAULT_COPY_CHUNK_SIZE, DEFAULT_COPY_CONCURRENCY, DEFAULT_COPY_THRESHOLD, null, false, null, true,
                Client.NETTY, DEFAULT_PART_CONCURRENCY);
    }

    /** The key prefix every object of the registry has: {@code <rootdirectory>/docker/registry/v2/}. */
    public String v2Prefix() {
        return (rootDirectory.isEmpty() ? "" : rootDirectory + "/") + "docker/registry/v2/";
    }

    /** The endpoint to send requests to, or null for AWS's own endpoint of {@code region}. */
    public @Nullable URI endpoint() {
        if (regionEndpoint == null) {
            return null;
        }
        String s = regionEndpoint.toString();
        return s.contains("://") ? regionEndpoint : URI.create((secure ? "https://" : "http://") + s);
    }

    public S3Settings withEndpoint(URI endpoint, boolean pathStyle) {
        return new S3Settings(region, endpoint, pathStyle, bucket, rootDirectory, accessKey, secretKey, secure, skipVerify,
                v4auth, chunkSize, multipartCopyChunkSize, multipartCopyMaxConcurrency, multipartCopyThresholdSize,
                storageClass, encrypt, keyId, redirect, client, partConcurrency);
    }

    public S3Settings withCredentials(@Nullable String accessKey, @Nullable String secretKey) {
        return new S3Settings(region, regionEndpoint, forcePathStyle, bucket, rootDirectory, accessKey, secretKey, secure,
                skipVerify, v4auth, chunkSize, multipartCopyChunkSize, multipartCopyMaxConcurrency,
                multipartCopyThresholdSize, storageClass, encrypt, keyId, redirect, client, partConcurrency);
    }

    public S3Settings withRootDirectory(String rootDirectory) {
        return new S3Settings(region, regionEndpoint, forcePathStyle, bucket, rootDirectory, accessKey, secretKey, secure,
                skipVerify, v4auth, chunkSize, multipartCopyChunkSize, multipartCopyMaxConcurrency,
                multipartCopyThresholdSize, storageClass, encrypt, keyId, redirect, client, partConcurrency);
    }

    public S3Settings withRedirect(boolean redirect) {
        return new S3Settings(region, regionEndpoint, forcePathStyle, bucket, rootDirectory, accessKey, secretKey, secure,
                skipVerify, v4auth, chunkSize, multipartCopyChunkSize, multipartCopyMaxConcurrency,
                multipartCopyThresholdSize, storageClass, encrypt, keyId, redirect, client, partConcurrency);
    }

    public S3Settings withClient(Client client, int partConcurrency) {
        return new S3Settings(region, regionEndpoint, forcePathStyle, bucket, rootDirectory, accessKey, secretKey, secure,
                skipVerify, v4auth, chunkSize, multipartCopyChunkSize, multipartCopyMaxConcurrency,
                multipartCopyThresholdSize, storageClass, encrypt, keyId, redirect, client, partConcurrency);
    }

    public S3Settings withChunkSize(long chunkSize) {
        return new S3Settings(region, regionEndpoint, forcePathStyle, bucket, rootDirectory, accessKey, secretKey, secure,
                skipVerify, v4auth, chunkSize, multipartCopyChunkSize, multipartCopyMaxConcurrency,
                multipartCopyThresholdSize, storageClass, encrypt, keyId, redirect, client, partConcurrency);
    }

    /** Never prints the secret key. */
    @Override
    public String toString() {
        return "S3Settings[bucket=" + bucket + ", region=" + region + ", endpoint=" + endpoint() + ", root=" + rootDirectory
                + ", pathStyle=" + forcePathStyle + ", client=" + client + ", chunkSize=" + chunkSize
                + ", accessKey=" + (accessKey == null ? "(default chain)" : "set") + "]";
    }

    private static String trimSlashes(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && s.charAt(from) == '/') {
            from++;
        }
        while (to > from && s.charAt(to - 1) == '/') {
            to--;
        }
        return s.substring(from, to);
    }
}
