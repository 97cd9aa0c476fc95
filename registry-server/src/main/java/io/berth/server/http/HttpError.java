package io.berth.server.http;

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

    static HttpError from(StorageException e) {
        return new HttpError(ErrorCode.of(e.problem()), String.valueOf(e.getMessage()));
    }

    ErrorCode code() {
        return code;
    }

    HttpResponseStatus status() {
        return status;
    }
}
