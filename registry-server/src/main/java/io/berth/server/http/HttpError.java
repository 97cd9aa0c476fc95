package io.berth.server.http;

import io.berth.storage.Problem;
import io.berth.storage.StorageException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.Serial;

/** A request failure on its way to becoming the spec's JSON error body. */
final class HttpError extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final HttpResponseStatus status;

    HttpError(ErrorCode code, String detail) {
        this(code, code.status(), detail);
    }

    HttpError(ErrorCode code, HttpResponseStatus status, String detail) {
        super(detail, null, false, false);
        this.code = code;
        this.status = status;
    }

    /**
     * A storage refusal as the spec's error. A full volume is 507 Insufficient Storage with the code UNAVAILABLE, as
     * below {@code berth.storage.minFreeBytes}; a failing volume (EIO, read-only) is 500 UNKNOWN, with what failed; an
     * object store that is unreachable or throttling is 503 UNAVAILABLE, which clients may retry.
     */
    static HttpError from(StorageException e) {
        ErrorCode code = ErrorCode.of(e.problem());
        if (e.problem() == Problem.STORAGE_FULL) {
            return new HttpError(code, HttpResponseStatus.INSUFFICIENT_STORAGE, String.valueOf(e.getMessage()));
        }
        return new HttpError(code, String.valueOf(e.getMessage()));
    }

    ErrorCode code() {
        return code;
    }

    HttpResponseStatus status() {
        return status;
    }
}
