package io.berth.server.http;

import io.berth.storage.BlobContent;
import io.berth.storage.Digest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** GET, HEAD and DELETE of blobs. Bodies go from the file to the socket without passing through the heap. */
final class BlobEndpoints {
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d*)-(\\d*)");

    private final RegistryContext registry;

    BlobEndpoints(RegistryContext registry) {
        this.registry = registry;
    }

    Reply get(Exchange ex) {
        Digest digest = Digest.parse(ex.route().reference());
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
            long[] range = range(ex.header(HttpHeaderNames.RANGE), size);
            if (range == null) {
                closeQuietly(blob);
                FullHttpResponse r = Responses.error(new HttpError(ErrorCode.RANGE_INVALID, "range not satisfiable for " + size + " bytes"));
                r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size);
                return Reply.of(r);
            }
            boolean partial = range[0] != 0 || range[1] != size - 1;
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, partial ? HttpResponseStatus.PARTIAL_CONTENT : HttpResponseStatus.OK);
            long length = size == 0 ? 0 : range[1] - range[0] + 1;
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
            head.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
            head.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
            head.headers().set(HttpHeaderNames.ETAG, etag);
            head.headers().set(HttpHeaderNames.CACHE_CONTROL, "max-age=31536000");
            head.headers().set(ManifestEndpoints.DOCKER_CONTENT_DIGEST, digest.toString());
            if (partial) {
                head.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + range[0] + "-" + range[1] + "/" + size);
            }
            return new Reply.Blob(head, blob, range[0], length);
        } catch (RuntimeException e) {
            closeQuietly(blob);
            throw e;
        }
    }

    Reply delete(Exchange ex) {
        registry.requireWritable(ex.method());
        registry.storage().deleteBlob(ex.route().repository(), Digest.parse(ex.route().reference()));
        return Reply.of(Responses.empty(HttpResponseStatus.ACCEPTED));
    }

    /**
     * The inclusive byte range to send: the whole blob without a usable Range header, or null when the
     * range cannot be satisfied. Malformed or multi-range headers are ignored, as RFC 9110 allows.
     */
    static long @Nullable [] range(@Nullable String header, long size) {
        long[] whole = {0, Math.max(size - 1, 0)};
        if (header == null) {
            return whole;
        }
        Matcher m = RANGE.matcher(header.strip());
        if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
            return whole;
        }
        try {
            if (m.group(1).isEmpty()) {
                long suffix = Long.parseLong(m.group(2));
                if (suffix == 0 || size == 0) {
                    return null;
                }
                return new long[] {Math.max(0, size - suffix), size - 1};
            }
            long start = Long.parseLong(m.group(1));
            long end = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
            if (start >= size || end < start) {
                return null;
            }
            return new long[] {start, end};
        } catch (NumberFormatException e) {
            return whole;
        }
    }

    static void closeQuietly(BlobContent blob) {
        try {
            blob.close();
        } catch (IOException e) {
            // nothing to do
        }
    }
}
