package io.berth.server.http;

import io.berth.storage.BlobContent;
import io.berth.storage.Digest;
import io.berth.storage.TagGuard;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;

/** GET, HEAD and DELETE of blobs. Bodies go from the file to the socket without passing through the heap. */
final class BlobEndpoints {
    private final RegistryContext registry;
    private final TagGuard guard;

    BlobEndpoints(RegistryContext registry) {
        this.registry = registry;
        this.guard = ManifestEndpoints.tagGuard(registry.tagPolicy());
    }

    Reply get(Exchange ex) {
        Digest digest = Digest.parse(ex.route().reference());
        var proxy = registry.proxyFor(ex.route().repository());
        if (proxy != null) {
            if (ex.isHead()) {
                long size = RegistryContext.fromUpstream(() -> proxy.blobSize(ex.route().repository(), digest));
                FullHttpResponse r = Responses.empty(HttpResponseStatus.OK);
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
                r.headers().set(HttpHeaderNames.CONTENT_LENGTH, size);
                r.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
                r.headers().set(HttpHeaderNames.ETAG, "\"" + digest + "\"");
                r.headers().set(ManifestEndpoints.DOCKER_CONTENT_DIGEST, digest.toString());
                RegistryEvents.blob(registry, ex, "pull", ex.route().repository(), digest, size, null);
                return Reply.of(r);
            }
            if (ex.header(HttpHeaderNames.RANGE) == null) {
                StreamingBody[] streaming = new StreamingBody[1];
                boolean fetching = RegistryContext.fromUpstream(() -> proxy.streamOrStore(ex.route().repository(), digest,
                        length -> streaming[0] = new StreamingBody(length)));
                if (fetching && streaming[0] != null) {
                    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                    head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
                    head.headers().set(HttpHeaderNames.CONTENT_LENGTH, streaming[0].length());
                    head.headers().set(HttpHeaderNames.ETAG, "\"" + digest + "\"");
                    head.headers().set(ManifestEndpoints.DOCKER_CONTENT_DIGEST, digest.toString());
                    RegistryEvents.blob(registry, ex, "pull", ex.route().repository(), digest, streaming[0].length(), null);
                    return new Reply.Streamed(head, streaming[0]);
                }
            } else {
                RegistryContext.fromUpstream(() -> {
                    proxy.ensureBlob(ex.route().repository(), digest);
                    return null;
                });
            }
        }
        BlobContent blob = registry.storage().openBlob(ex.route().repository(), digest);
        try {
            String etag = "\"" + digest + "\"";
            if (etag.equals(ex.header(HttpHeaderNames.IF_NONE_MATCH))) {
                closeQuietly(blob);
                FullHttpResponse r = Responses.empty(HttpResponseStatus.NOT_MODIFIED);
                r.headers().set(HttpHeaderNames.ETAG, etag);
                return Reply.of(r);
            }
            long size = blob.size();
            ByteRange range = ByteRange.parse(ex.header(HttpHeaderNames.RANGE), size);
            if (range == ByteRange.UNSATISFIABLE) {
                closeQuietly(blob);
                FullHttpResponse r = Responses.error(new HttpError(ErrorCode.RANGE_INVALID, "range not satisfiable for " + size + " bytes"));
                r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size);
                return Reply.of(r);
            }
            long offset = range == null ? 0 : range.start();
            long length = range == null ? size : range.length();
            if (blob instanceof BlobContent.Redirect redirect && !ex.isHead()) {
                // registry:2's storage.redirect: the client fetches the bytes from the object store itself, Range and all.
                FullHttpResponse r = Responses.empty(HttpResponseStatus.TEMPORARY_REDIRECT);
                r.headers().set(HttpHeaderNames.LOCATION, redirect.location().toString());
                r.headers().set(ManifestEndpoints.DOCKER_CONTENT_DIGEST, digest.toString());
                RegistryEvents.blob(registry, ex, "pull", ex.route().repository(), digest, size, null);
                return Reply.of(r);
            }
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
            head.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
            head.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
            head.headers().set(HttpHeaderNames.ETAG, etag);
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, "max-age=31536000");
            head.headers().set(ManifestEndpoints.DOCKER_CONTENT_DIGEST, digest.toString());
            if (range != null) {
                head.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + range.start() + "-" + range.end() + "/" + size);
            }
            RegistryEvents.blob(registry, ex, "pull", ex.route().repository(), digest, size, null);
            return switch (blob) {
                case BlobContent.File file -> new Reply.Blob(head, file, offset, length);
                case BlobContent.Stream stream when !ex.isHead() && length > 0 -> new Reply.Streamed(head, StreamingBody.pump(stream, offset, length));
                default -> {
                    // A HEAD, or nothing to send: the headers say it all.
                    closeQuietly(blob);
                    FullHttpResponse r = Responses.empty(head.status());
                    r.headers().set(head.headers());
                    yield Reply.of(r);
                }
            };
        } catch (RuntimeException e) {
            closeQuietly(blob);
            throw e;
        }
    }

    /** Refused (403 DENIED, naming the rule) for a config or layer that an immutable tag reaches. */
    Reply delete(Exchange ex) {
        registry.requireDeletable(ex);
        Digest digest = Digest.parse(ex.route().reference());
        registry.storage().deleteBlob(ex.route().repository(), digest, guard);
        RegistryEvents.deleted(registry, ex, ex.route().repository(), digest, null);
        return Reply.of(Responses.empty(HttpResponseStatus.ACCEPTED));
    }

    static void closeQuietly(BlobContent blob) {
        try {
            blob.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
