package io.berth.server.http;

import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.Upload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Blob uploads: POST (start, monolithic, mount), PATCH (streamed or ranged chunks), PUT (close with
 * an optional last chunk), GET (status) and DELETE (cancel). Bytes stream to the upload's file.
 */
final class UploadEndpoints {
    static final String UPLOAD_UUID = "Docker-Upload-UUID";
    /** Upload bytes gathered before each file write. */
    private static final int COALESCE = 1 << 20;
    private static final int MAX_HELD_CHUNKS = 256;
    private static final Pattern CONTENT_RANGE = Pattern.compile("(?:bytes[ =])?(\\d{1,18})-(\\d{1,18})(?:/(?:\\d{1,18}|\\*))?");

    private final RegistryContext registry;

    UploadEndpoints(RegistryContext registry) {
        this.registry = registry;
    }

    BodySink post(Exchange ex) {
        registry.requireWritable(ex);
        requireFreeSpace();
        RepositoryName name = ex.route().repository();
        String mount = ex.param("mount");
        if (mount != null) {
            Digest digest = Digest.parse(mount);
            String from = ex.param("from");
            RepositoryName source = from == null || from.isEmpty() ? null : RepositoryName.of(from);
            // Without from=, any stored blob would be linked: only where nobody's access is restricted.
            long size = source == null && !registry.access().allowsAutomaticMount() ? -1 : registry.storage().mountBlob(name, source, digest);
            if (size >= 0) {
                RegistryEvents.blob(registry, ex, "mount", name, digest, size, source);
                return BodySink.ignoring(() -> Reply.of(created(ex, name, digest)));
            }
        }
        String digest = ex.param("digest");
        if (digest != null) {
            Digest expected = Digest.parse(digest);
            requireRoom(ex, 0);
            return new UploadBody(ex, registry.storage().startUpload(name, ex.principal().name()), expected, true);
        }
        Upload upload = registry.storage().startUpload(name, ex.principal().name());
        try {
            return BodySink.ignoring(() -> Reply.of(progress(ex, upload, HttpResponseStatus.ACCEPTED)));
        } finally {
            upload.close();
        }
    }

    /** GET: the upload's progress, read without taking hold of it, so it never makes the client's next PATCH find it in use. */
    BodySink status(Exchange ex) {
        RepositoryName name = ex.route().repository();
        String id = ex.route().reference();
        long size = registry.storage().uploadProgress(name, id);
        return BodySink.ignoring(() -> Reply.of(progress(ex, name, id, size, HttpResponseStatus.NO_CONTENT)));
    }

    /** DELETE: cancels the upload and discards its bytes. */
    BodySink cancel(Exchange ex) {
        registry.requireWritable(ex);
        registry.storage().resumeUpload(ex.route().repository(), ex.route().reference()).cancel();
        return BodySink.ignoring(() -> Reply.of(Responses.empty(HttpResponseStatus.NO_CONTENT)));
    }

    /** PATCH: appends the body (in order, per {@code Content-Range} when given) and keeps the upload. */
    BodySink patch(Exchange ex) {
        return write(ex, null);
    }

    /** PUT: appends the body, if any, and commits the upload as {@code ?digest=}. */
    BodySink put(Exchange ex) {
        String digest = ex.param("digest");
        if (digest == null) {
            throw new HttpError(ErrorCode.DIGEST_INVALID, "the digest parameter is required to complete an upload");
        }
        return write(ex, Digest.parse(digest));
    }

    private BodySink write(Exchange ex, @Nullable Digest commit) {
        registry.requireWritable(ex);
        requireFreeSpace();
        RepositoryName name = ex.route().repository();
        String id = ex.route().reference();
        Upload upload = registry.storage().resumeUpload(name, id);
        try {
            String range = ex.header(HttpHeaderNames.CONTENT_RANGE);
            if (range != null) {
                long declared = io.netty.handler.codec.http.HttpUtil.getContentLength(ex.request(), -1L);
                if (!continues(range, upload.size(), declared)) {
                    upload.close();
                    FullHttpResponse error = Responses.error(new HttpError(ErrorCode.RANGE_INVALID,
                            "Content-Range " + range + " does not continue the upload at offset " + upload.size()));
                    addProgressHeaders(ex, name, id, upload.size(), error);
                    return BodySink.ignoring(() -> Reply.of(error));
                }
            }
            requireRoom(ex, upload.size());
            return new UploadBody(ex, upload, commit, false);
        } catch (RuntimeException e) {
            upload.close();
            throw e;
        }
    }

    /**
     * Whether a PATCH's {@code Content-Range} ({@code start-end}, registry:2's form, or {@code bytes start-end[/size]})
     * continues an upload that holds {@code offset} bytes: it starts there, does not end before it starts, and spans
     * {@code declared} bytes when the request has a Content-Length ({@code -1} when not).
     */
    static boolean continues(String range, long offset, long declared) {
        Matcher r = CONTENT_RANGE.matcher(range.strip());
        if (!r.matches()) {
            return false;
        }
        long start = Long.parseLong(r.group(1));
        long end = Long.parseLong(r.group(2));
        return start == offset && end >= start && (declared < 0 || declared == end - start + 1);
    }

    /**
     * 507 while the volume has less free space than {@code berth.storage.minFreeBytes}: uploads stop before the disk
     * fills, so that link files, deletes and garbage collection still have room; reads go on.
     */
    private void requireFreeSpace() {
        long floor = registry.config().limits().minFreeBytes();
        if (floor > 0) {
            long free = registry.storage().usableBytes();
            if (free < floor) {
                throw new HttpError(ErrorCode.UNAVAILABLE, HttpResponseStatus.INSUFFICIENT_STORAGE, "the registry's volume has "
                        + free + " bytes free, below its floor of " + floor + " (berth.storage.minFreeBytes); uploads resume once space returns");
            }
        }
    }

    /** 413 at the head when the declared body would take the upload past {@code berth.maxBlobBytes}. */
    private void requireRoom(Exchange ex, long already) {
        long declared = io.netty.handler.codec.http.HttpUtil.getContentLength(ex.request(), -1L);
        if (declared >= 0 && already + declared > maxBlobBytes()) {
            throw tooLarge();
        }
    }

    private long maxBlobBytes() {
        return registry.config().limits().maxBlobBytes();
    }

    private HttpError tooLarge() {
        return new HttpError(ErrorCode.SIZE_INVALID, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "the blob would exceed the largest allowed, " + maxBlobBytes() + " bytes (berth.maxBlobBytes)");
    }

    private FullHttpResponse created(Exchange ex, RepositoryName name, Digest digest) {
        FullHttpResponse r = Responses.empty(HttpResponseStatus.CREATED);
        r.headers().set(HttpHeaderNames.LOCATION, registry.url(ex, "/v2/" + name + "/blobs/" + digest));
        r.headers().set(ManifestEndpoints.DOCKER_CONTENT_DIGEST, digest.toString());
        return r;
    }

    private FullHttpResponse progress(Exchange ex, Upload upload, HttpResponseStatus status) {
        return progress(ex, upload.repository(), upload.id(), upload.size(), status);
    }

    private FullHttpResponse progress(Exchange ex, RepositoryName name, String id, long size, HttpResponseStatus status) {
        FullHttpResponse r = Responses.empty(status);
        addProgressHeaders(ex, name, id, size, r);
        return r;
    }

    private void addProgressHeaders(Exchange ex, RepositoryName name, String id, long size, FullHttpResponse r) {
        r.headers().set(HttpHeaderNames.LOCATION, registry.url(ex, "/v2/" + name + "/blobs/uploads/" + id));
        r.headers().set(HttpHeaderNames.RANGE, "0-" + Math.max(size - 1, 0));
        r.headers().set(UPLOAD_UUID, id);
    }

    /** Streams a request body into an upload, then commits it (PUT, monolithic POST) or keeps it (PATCH). */
    private final class UploadBody implements BodySink {
        private final Exchange ex;
        private final Upload upload;
        private final @Nullable Digest commit;
        private final boolean startedHere;
        private boolean counted = true;
        /** Chunks held back so that the file gets one gathering write per {@link #COALESCE} bytes, not one per TLS record. */
        private @Nullable CompositeByteBuf held;

        UploadBody(Exchange ex, Upload upload, @Nullable Digest commit, boolean startedHere) {
            this.ex = ex;
            this.upload = upload;
            this.commit = commit;
            this.startedHere = startedHere;
            registry.metrics().uploadStarted();
        }

        @Override
        public void content(ByteBuf content) {
            int n = content.readableBytes();
            if (n == 0) {
                return;
            }
            if (upload.size() + (held == null ? 0 : held.readableBytes()) + (long) n > maxBlobBytes()) {
                throw tooLarge(); // checked before the bytes are held or written: the disk never takes them
            }
            if (held == null) {
                held = content.alloc().compositeBuffer(MAX_HELD_CHUNKS);
            }
            held.addComponent(true, content.retainedSlice());
            registry.metrics().bytesIn(n);
            if (held.readableBytes() >= COALESCE || held.numComponents() >= MAX_HELD_CHUNKS) {
                flush();
            }
        }

        private void flush() {
            CompositeByteBuf buf = held;
            if (buf == null) {
                return;
            }
            held = null;
            try {
                requireFreeSpace();
                upload.write(buf.nioBuffers(), Long.MAX_VALUE);
            } finally {
                buf.release();
            }
        }

        @Override
        public Reply finish() {
            uncount();
            flush();
            if (commit == null) {
                upload.close();
                return Reply.of(progress(ex, upload, HttpResponseStatus.ACCEPTED));
            }
            long size = upload.commit(commit);
            RegistryEvents.blob(registry, ex, "push", ex.route().repository(), commit, size, null);
            return Reply.of(created(ex, ex.route().repository(), commit));
        }

        @Override
        public void abort() {
            uncount();
            if (startedHere) {
                release();
                upload.cancel();
                return;
            }
            try {
                // What arrived before the connection died stays resumable, as the Range header will say.
                flush();
            } catch (RuntimeException e) {
                release();
            } finally {
                upload.close();
            }
        }

        private void release() {
            if (held != null) {
                held.release();
                held = null;
            }
        }

        private void uncount() {
            if (counted) {
                counted = false;
                registry.metrics().uploadEnded();
            }
        }
    }
}
