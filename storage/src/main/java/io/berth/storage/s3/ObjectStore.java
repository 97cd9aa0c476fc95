package io.berth.storage.s3;

import io.berth.storage.Problem;
import io.berth.storage.StorageException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.SdkHttpConfigurationOption;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.crt.AwsCrtAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.utils.AttributeMap;

/**
 * One bucket of an S3-compatible object store, as the rest of the S3 backend needs it: small objects read and
 * written whole (links, state), conditional writes, ranged streams, listings, multipart uploads and server-side
 * copies. Keys given here are relative to the registry's prefix ({@link S3Settings#v2Prefix()}), e.g.
 * {@code blobs/sha256/ab/ab12.../data}.
 *
 * <p>Calls block the calling thread (the server runs storage calls on its blocking executors), except
 * {@link #uploadPart}, which returns a future so an upload can keep several parts in flight. Every failure of the
 * store becomes a {@link StorageException} with {@link Problem#STORAGE_FAILED} and a message naming the store's
 * error code; a missing object is a null or false result, never an exception.
 */
public final class ObjectStore implements AutoCloseable {
    /** The SDK's attempts per request (the first and its retries), with its backoff; 503 SlowDown is retried. */
    static final int ATTEMPTS = 6;

    private final S3Settings settings;
    private final S3AsyncClient client;
    private final S3Presigner presigner;
    private final String bucket;
    private final String prefix;

    private ObjectStore(S3Settings settings, S3AsyncClient client, S3Presigner presigner) {
        this.settings = settings;
        this.client = client;
        this.presigner = presigner;
        this.bucket = settings.bucket();
        this.prefix = settings.v2Prefix();
    }

    /** Connects to the store {@code settings} names; nothing is sent until the first call. */
    public static ObjectStore open(S3Settings settings) {
        AwsCredentialsProvider credentials = settings.accessKey() == null
                ? DefaultCredentialsProvider.builder().build()
                : StaticCredentialsProvider.create(AwsBasicCredentials.create(settings.accessKey(), settings.secretKey()));
        Region region = Region.of(settings.region());
        URI endpoint = settings.endpoint();
        S3Configuration service = S3Configuration.builder().pathStyleAccessEnabled(settings.forcePathStyle()).build();
        var builder = S3AsyncClient.builder()
                .httpClient(httpClient(settings))
                .region(region)
                .credentialsProvider(credentials)
                .serviceConfiguration(service)
                // Berth hashes every blob itself (SHA-256, the digest); the SDK's extra CRC32 of every part costs CPU,
                // and several S3-compatible servers refuse the trailing checksums it would send.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.retryStrategy(RetryMode.STANDARD).retryStrategy(b -> b.maxAttempts(ATTEMPTS)));
        var presign = S3Presigner.builder().region(region).credentialsProvider(credentials).serviceConfiguration(service);
        if (endpoint != null) {
            builder.endpointOverride(endpoint);
            presign.endpointOverride(endpoint);
        }
        return new ObjectStore(settings, builder.build(), presign.build());
    }

    private static SdkAsyncHttpClient httpClient(S3Settings settings) {
        // Enough connections for every part of a few uploads and many concurrent pulls.
        int connections = Math.max(64, settings.partConcurrency() * 16);
        AttributeMap defaults = AttributeMap.builder()
                .put(SdkHttpConfigurationOption.TRUST_ALL_CERTIFICATES, settings.skipVerify())
                .build();
        return switch (settings.client()) {
            case NETTY -> NettyNioAsyncHttpClient.builder()
                    .maxConcurrency(connections)
                    .connectionAcquisitionTimeout(Duration.ofSeconds(60))
                    .buildWithDefaults(defaults);
            case CRT -> AwsCrtAsyncHttpClient.builder()
                    .maxConcurrency(connections)
                    .buildWithDefaults(defaults);
        };
    }

    public S3Settings settings() {
        return settings;
    }

    /** The object's full key in the bucket. */
    String fullKey(String key) {
        return prefix + key;
    }

    /** What a HEAD tells of an object. */
    public record Stat(long size, String etag, Instant lastModified) {}

    /** A small object's bytes and its ETag. */
    public record Content(byte[] bytes, String etag) {}

    /** One object of a listing, its key relative to the registry's prefix. */
    public record Listed(String key, long size, Instant lastModified) {}

    /** The object's size, ETag and time, or null when there is no such object. */
    public @Nullable Stat stat(String key) {
        try {
            HeadObjectResponse r = join(client.headObject(b -> b.bucket(bucket).key(fullKey(key))));
            return new Stat(r.contentLength(), r.eTag(), r.lastModified());
        } catch (StorageException e) {
            if (notFound(e)) {
                return null;
            }
            throw e;
        }
    }

    /** A small object's bytes, or null when there is no such object. */
    public @Nullable Content get(String key) {
        try {
            ResponseBytes<GetObjectResponse> r = join(client.getObject(b -> b.bucket(bucket).key(fullKey(key)),
                    AsyncResponseTransformer.toBytes()));
            return new Content(r.asByteArrayUnsafe(), r.response().eTag());
        } catch (StorageException e) {
            if (notFound(e)) {
                return null;
            }
            throw e;
        }
    }

    /**
     * Streams {@code length} bytes of the object from {@code offset}; the caller closes the stream. BLOB_UNKNOWN when
     * there is no such object. Bytes arrive as the store sends them: only a window is buffered.
     */
    public InputStream stream(String key, long offset, long length) {
        if (length == 0) {
            return InputStream.nullInputStream();
        }
        String range = "bytes=" + offset + "-" + (offset + length - 1);
        try {
            ResponseInputStream<GetObjectResponse> in = join(client.getObject(b -> b.bucket(bucket).key(fullKey(key)).range(range),
                    AsyncResponseTransformer.toBlockingInputStream()));
            return in;
        } catch (StorageException e) {
            if (notFound(e)) {
                throw new StorageException(Problem.BLOB_UNKNOWN, "no object " + key + " in the bucket");
            }
            throw e;
        }
    }

    /** Writes a small object whole; returns its ETag. */
    public String put(String key, byte[] bytes) {
        return join(client.putObject(b -> {
            b.bucket(bucket).key(fullKey(key));
            storageOptions(b::storageClass, b::serverSideEncryption, b::ssekmsKeyId);
        }, AsyncRequestBody.fromBytes(bytes))).eTag();
    }

    /** Writes the object only if there is none ({@code If-None-Match: *}); returns its ETag, or null when one exists. */
    public @Nullable String putIfAbsent(String key, byte[] bytes) {
        try {
            return join(client.putObject(b -> {
                b.bucket(bucket).key(fullKey(key)).ifNoneMatch("*");
                storageOptions(b::storageClass, b::serverSideEncryption, b::ssekmsKeyId);
            }, AsyncRequestBody.fromBytes(bytes))).eTag();
        } catch (StorageException e) {
            if (conflict(e)) {
                return null;
            }
            throw e;
        }
    }

    /** Replaces the object only if its ETag is still {@code etag}; returns the new ETag, or null when it changed or went. */
    public @Nullable String putIfMatch(String key, byte[] bytes, String etag) {
        try {
            return join(client.putObject(b -> {
                b.bucket(bucket).key(fullKey(key)).ifMatch(etag);
                storageOptions(b::storageClass, b::serverSideEncryption, b::ssekmsKeyId);
            }, AsyncRequestBody.fromBytes(bytes))).eTag();
        } catch (StorageException e) {
            if (conflict(e) || notFound(e)) {
                return null;
            }
            throw e;
        }
    }

    /** Deletes the object; nothing happens when there is none. */
    public void delete(String key) {
        join(client.deleteObject(b -> b.bucket(bucket).key(fullKey(key))));
    }

    /** Deletes the object only if its ETag is still {@code etag}; false when it changed (or the store refused). */
    public boolean deleteIfMatch(String key, String etag) {
        try {
            join(client.deleteObject(b -> b.bucket(bucket).key(fullKey(key)).ifMatch(etag)));
            return true;
        } catch (StorageException e) {
            if (conflict(e) || notFound(e)) {
                return false;
            }
            throw e;
        }
    }

    /** Deletes every object whose key starts with {@code keyPrefix}. */
    public void deleteAll(String keyPrefix) {
        List<String> keys = new ArrayList<>();
        list(keyPrefix, o -> keys.add(o.key()));
        for (String key : keys) {
            delete(key);
        }
    }

    /**
     * The "directories" right under {@code dirPrefix} (which ends with a slash): the common prefixes of a delimited
     * listing, each relative to the registry's prefix and ending with a slash, in the store's (byte) order.
     */
    public List<String> listDirectories(String dirPrefix) {
        List<String> out = new ArrayList<>();
        listDelimited(dirPrefix, out::add, o -> {});
        return out;
    }

    /** The directories and the objects right under {@code dirPrefix}, one delimited listing. */
    public void listDelimited(String dirPrefix, Consumer<String> directories, Consumer<Listed> objects) {
        ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).prefix(fullKey(dirPrefix)).delimiter("/");
        for (String token = null; ; ) {
            String t = token;
            ListObjectsV2Response page = join(client.listObjectsV2(request.continuationToken(t).build()));
            for (CommonPrefix p : page.commonPrefixes()) {
                directories.accept(p.prefix().substring(prefix.length()));
            }
            for (S3Object o : page.contents()) {
                objects.accept(new Listed(o.key().substring(prefix.length()), o.size(), o.lastModified()));
            }
            if (!Boolean.TRUE.equals(page.isTruncated())) {
                return;
            }
            token = page.nextContinuationToken();
        }
    }

    /**
     * One listing of at most one key under {@code keyPrefix}: a cheap authenticated call, for health checks, that throws
     * the store's error (unreachable, credentials refused, no such bucket).
     */
    public void listOne(String keyPrefix) {
        join(client.listObjectsV2(b -> b.bucket(bucket).prefix(fullKey(keyPrefix)).maxKeys(1)));
    }

    /** Every object whose key starts with {@code keyPrefix}, at any depth, in key order. */
    public void list(String keyPrefix, Consumer<Listed> objects) {
        ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).prefix(fullKey(keyPrefix));
        for (String token = null; ; ) {
            String t = token;
            ListObjectsV2Response page = join(client.listObjectsV2(request.continuationToken(t).build()));
            for (S3Object o : page.contents()) {
                objects.accept(new Listed(o.key().substring(prefix.length()), o.size(), o.lastModified()));
            }
            if (!Boolean.TRUE.equals(page.isTruncated())) {
                return;
            }
            token = page.nextContinuationToken();
        }
    }

    // ---- multipart uploads

    /** One uploaded part of a multipart upload. */
    public record Part(int number, String etag, long size) {}

    /** Starts a multipart upload on {@code key}; returns its upload id. */
    public String createMultipart(String key) {
        return join(client.createMultipartUpload(b -> {
            b.bucket(bucket).key(fullKey(key));
            storageOptions(b::storageClass, b::serverSideEncryption, b::ssekmsKeyId);
        })).uploadId();
    }

    /**
     * Sends part {@code number} ({@code data}'s remaining bytes, which the store owns until the future ends, so the
     * caller must not reuse the buffer before then). The future fails with a {@link StorageException}.
     */
    public CompletableFuture<Part> uploadPart(String key, String uploadId, int number, ByteBuffer data) {
        // A slice: the SDK's body reads a heap buffer's array from its start, whatever the buffer's position.
        ByteBuffer body = data.slice();
        long size = body.remaining();
        return client.uploadPart(b -> b.bucket(bucket).key(fullKey(key)).uploadId(uploadId).partNumber(number).contentLength(size),
                        AsyncRequestBody.fromByteBufferUnsafe(body))
                .handle((r, e) -> {
                    if (e != null) {
                        throw failure(e);
                    }
                    return new Part(number, r.eTag(), size);
                });
    }

    /** Completes a multipart upload from {@code parts} (any order); returns the object's ETag. */
    public String completeMultipart(String key, String uploadId, List<Part> parts) {
        List<CompletedPart> completed = parts.stream().sorted(Comparator.comparingInt(Part::number))
                .map(p -> CompletedPart.builder().partNumber(p.number()).eTag(p.etag()).build()).toList();
        return join(client.completeMultipartUpload(b -> b.bucket(bucket).key(fullKey(key)).uploadId(uploadId)
                .multipartUpload(CompletedMultipartUpload.builder().parts(completed).build()))).eTag();
    }

    /** Aborts a multipart upload, dropping its parts; nothing happens when it is already gone. */
    public void abortMultipart(String key, String uploadId) {
        try {
            join(client.abortMultipartUpload(b -> b.bucket(bucket).key(fullKey(key)).uploadId(uploadId)));
        } catch (StorageException e) {
            if (!notFound(e)) {
                throw e;
            }
        }
    }

    /**
     * Copies an object of {@code size} bytes within the bucket, on the store's side: one CopyObject up to
     * {@code multipartcopythresholdsize}, above it a multipart copy in parts of {@code multipartcopychunksize} with at most
     * {@code multipartcopymaxconcurrency} in flight, as registry:2's driver does.
     */
    public void copy(String from, String to, long size) {
        String source = fullKey(from);
        if (size <= settings.multipartCopyThresholdSize()) {
            join(client.copyObject(b -> {
                b.sourceBucket(bucket).sourceKey(source).destinationBucket(bucket).destinationKey(fullKey(to));
                storageOptions(b::storageClass, b::serverSideEncryption, b::ssekmsKeyId);
            }));
            return;
        }
        String uploadId = createMultipart(to);
        try {
            long chunk = settings.multipartCopyChunkSize();
            int count = (int) ((size + chunk - 1) / chunk);
            Semaphore inFlight = new Semaphore(settings.multipartCopyMaxConcurrency());
            List<CompletableFuture<Part>> parts = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                long start = i * chunk;
                long end = Math.min(size, start + chunk) - 1;
                int number = i + 1;
                inFlight.acquireUninterruptibly();
                parts.add(client.uploadPartCopy(b -> b.sourceBucket(bucket).sourceKey(source).destinationBucket(bucket)
                                .destinationKey(fullKey(to)).uploadId(uploadId).partNumber(number)
                                .copySourceRange("bytes=" + start + "-" + end))
                        .handle((r, e) -> {
                            inFlight.release();
                            if (e != null) {
                                throw failure(e);
                            }
                            return new Part(number, r.copyPartResult().eTag(), end - start + 1);
                        }));
            }
            List<Part> done = new ArrayList<>(count);
            for (CompletableFuture<Part> p : parts) {
                done.add(join(p));
            }
            completeMultipart(to, uploadId, done);
        } catch (RuntimeException e) {
            abortMultipart(to, uploadId);
            throw e;
        }
    }

    /** A URL that lets its holder GET the object for {@code ttl}, without credentials: registry:2's redirect. */
    public URI presignGet(String key, Duration ttl) {
        try {
            return presigner.presignGetObject(p -> p.signatureDuration(ttl).getObjectRequest(g -> g.bucket(bucket).key(fullKey(key))))
                    .url().toURI();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private void storageOptions(Consumer<String> storageClass, Consumer<ServerSideEncryption> encryption, Consumer<String> kmsKey) {
        if (settings.storageClass() != null) {
            storageClass.accept(StorageClass.fromValue(settings.storageClass()).toString());
        }
        if (settings.encrypt()) {
            encryption.accept(settings.keyId() == null ? ServerSideEncryption.AES256 : ServerSideEncryption.AWS_KMS);
            if (settings.keyId() != null) {
                kmsKey.accept(settings.keyId());
            }
        }
    }

    @Override
    public void close() {
        presigner.close();
        client.close();
    }

    // ---- failures

    /** Waits for {@code f}; a failure of the store becomes a StorageException saying what the store answered. */
    static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            throw new StorageException(Problem.STORAGE_FAILED, "interrupted while waiting for the object store", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw failure(cause == null ? e : cause);
        }
    }

    /** The StorageException for a failed call: the store's status and error code, or the connection's failure. */
    static StorageException failure(Throwable e) {
        Throwable cause = e;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof StorageException s) {
            return s;
        }
        if (cause instanceof S3Exception s3) {
            String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
            String detail = "the object store answered " + s3.statusCode() + (code == null ? "" : " " + code);
            if (isCredentialsProblem(code)) {
                detail += ": it refuses Berth's credentials (check storage.s3.accesskey and secretkey)";
            }
            return new StorageException(Problem.STORAGE_FAILED, detail, new StoreError(s3.statusCode(), code, s3));
        }
        if (cause instanceof SdkClientException || cause instanceof SdkException) {
            return new StorageException(Problem.STORAGE_FAILED, "the object store cannot be reached: " + cause.getMessage(), cause);
        }
        return new StorageException(Problem.STORAGE_FAILED, "object store call failed: " + cause, cause);
    }

    private static boolean isCredentialsProblem(@Nullable String code) {
        return code != null && (code.equals("InvalidAccessKeyId") || code.equals("SignatureDoesNotMatch")
                || code.equals("AccessDenied") || code.equals("InvalidToken") || code.equals("ExpiredToken"));
    }

    /** The status and error code of a store's refusal, kept as a StorageException's cause. */
    static final class StoreError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final @Nullable String code;

        StoreError(int status, @Nullable String code, Throwable cause) {
            super(status + " " + code, cause, false, false);
            this.status = status;
            this.code = code;
        }
    }

    static boolean notFound(StorageException e) {
        return e.getCause() instanceof StoreError s && (s.status == 404 || "NoSuchKey".equals(s.code) || "NoSuchUpload".equals(s.code));
    }

    /** A conditional write that lost: 412 Precondition Failed, or 409 ConditionalRequestConflict. */
    static boolean conflict(StorageException e) {
        return e.getCause() instanceof StoreError s && (s.status == 412 || s.status == 409);
    }
}
