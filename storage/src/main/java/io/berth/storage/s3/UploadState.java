package io.berth.storage.s3;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.storage.Problem;
import io.berth.storage.StorageException;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An upload's resumable state, the JSON of its {@code _uploads/<id>/berth-state} object: what another replica needs
 * to go on writing it without reading any of its bytes back.
 *
 * @param multipart the multipart upload on {@code _uploads/<id>/data}, or null before the first full part
 * @param parts the parts of that multipart upload sent so far, in order: bytes {@code [0, sum of their sizes)}
 * @param size bytes the upload holds: the parts', then the tail's
 * @param tail bytes past the last part, at most a part's size less one, held in {@code tailKey}
 * @param tailKey the object holding the tail (relative to the upload's directory), or null when {@code tail} is 0;
 *     each writer writes its own, so a writer killed between the tail and the state leaves the previous tail intact
 * @param tailEtag that object's ETag, checked when it is read back
 * @param sha256 BouncyCastle's encoded SHA-256 state after {@code size} bytes
 * @param owner the writer holding the lease, or null when none does
 * @param until when that lease expires (the writer's clock); a writer renews it well before
 */
record UploadState(
        @Nullable String multipart,
        List<ObjectStore.Part> parts,
        long size,
        long tail,
        @Nullable String tailKey,
        @Nullable String tailEtag,
        byte[] sha256,
        @Nullable String owner,
        @Nullable Instant until) {

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    UploadState {
        parts = List.copyOf(parts);
    }

    /** Whether a writer other than {@code self} holds a lease that has not expired at {@code now}. */
    boolean leasedAt(Instant now) {
        return owner != null && until != null && until.isAfter(now);
    }

    long partBytes() {
        return size - tail;
    }

    UploadState withLease(@Nullable String owner, @Nullable Instant until) {
        return new UploadState(multipart, parts, size, tail, tailKey, tailEtag, sha256, owner, until);
    }

    byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(new Json(multipart, parts, size, tail, tailKey, tailEtag, sha256, owner,
                    until == null ? null : until.toString()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static UploadState fromJson(byte[] json, String id) {
        try {
            Json j = JSON.readValue(json, Json.class);
            if (j.parts() == null || j.sha256() == null || j.size() < 0 || j.tail() < 0 || j.tail() > j.size()
                    || (j.tail() > 0) != (j.tailKey() != null)) {
                throw new IOException("incomplete state");
            }
            return new UploadState(j.multipart(), j.parts(), j.size(), j.tail(), j.tailKey(), j.tailEtag(), j.sha256(),
                    j.owner(), j.until() == null ? null : Instant.parse(j.until()));
        } catch (IOException | RuntimeException e) {
            throw new StorageException(Problem.BLOB_UPLOAD_INVALID, "upload " + id + " has an unreadable state: " + e.getMessage());
        }
    }

    /** The JSON's shape; the instant is kept as text so no Jackson module is needed. */
    record Json(@Nullable String multipart, @Nullable List<ObjectStore.Part> parts, long size, long tail,
            @Nullable String tailKey, @Nullable String tailEtag, byte @Nullable [] sha256, @Nullable String owner,
            @Nullable String until) {}
}
