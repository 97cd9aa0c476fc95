package io.berth.server.http;

import io.berth.storage.Problem;
import io.netty.handler.codec.http.HttpResponseStatus;

/** Every error code Berth sends, with the message and the HTTP status registry:2 uses for it. */
enum ErrorCode {
    BLOB_UNKNOWN("blob unknown to registry", HttpResponseStatus.NOT_FOUND),
    BLOB_UPLOAD_INVALID("blob upload invalid", HttpResponseStatus.BAD_REQUEST),
    BLOB_UPLOAD_UNKNOWN("blob upload unknown to registry", HttpResponseStatus.NOT_FOUND),
    DIGEST_INVALID("provided digest did not match uploaded content", HttpResponseStatus.BAD_REQUEST),
    MANIFEST_BLOB_UNKNOWN("manifest references a manifest or blob unknown to registry", HttpResponseStatus.BAD_REQUEST),
    MANIFEST_INVALID("manifest invalid", HttpResponseStatus.BAD_REQUEST),
    MANIFEST_UNKNOWN("manifest unknown", HttpResponseStatus.NOT_FOUND),
    NAME_INVALID("invalid repository name", HttpResponseStatus.BAD_REQUEST),
    NAME_UNKNOWN("repository name not known to registry", HttpResponseStatus.NOT_FOUND),
    SIZE_INVALID("provided length did not match content length", HttpResponseStatus.BAD_REQUEST),
    TAG_INVALID("manifest tag did not match URI", HttpResponseStatus.BAD_REQUEST),
    RANGE_INVALID("invalid content range", HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE),
    PAGINATION_NUMBER_INVALID("invalid number of results requested", HttpResponseStatus.BAD_REQUEST),
    UNAUTHORIZED("authentication required", HttpResponseStatus.UNAUTHORIZED),
    DENIED("requested access to the resource is denied", HttpResponseStatus.FORBIDDEN),
    UNSUPPORTED("The operation is unsupported.", HttpResponseStatus.METHOD_NOT_ALLOWED),
    NOT_FOUND("not found", HttpResponseStatus.NOT_FOUND),
    TOOMANYREQUESTS("too many requests", HttpResponseStatus.TOO_MANY_REQUESTS),
    UNAVAILABLE("service unavailable", HttpResponseStatus.SERVICE_UNAVAILABLE),
    UNKNOWN("unknown error", HttpResponseStatus.INTERNAL_SERVER_ERROR);

    private final String message;
    private final HttpResponseStatus status;

    ErrorCode(String message, HttpResponseStatus status) {
        this.message = message;
        this.status = status;
    }

    String message() {
        return message;
    }

    HttpResponseStatus status() {
        return status;
    }

    /** The code a storage problem is sent as (an exhaustive switch: a new {@link Problem} does not compile unmapped); {@link HttpError#from} says which get another status than the code's own. */
    static ErrorCode of(Problem problem) {
        return switch (problem) {
            case BLOB_UNKNOWN -> BLOB_UNKNOWN;
            case BLOB_UPLOAD_INVALID -> BLOB_UPLOAD_INVALID;
            case BLOB_UPLOAD_UNKNOWN -> BLOB_UPLOAD_UNKNOWN;
            case DIGEST_INVALID -> DIGEST_INVALID;
            case MANIFEST_BLOB_UNKNOWN -> MANIFEST_BLOB_UNKNOWN;
            case MANIFEST_INVALID -> MANIFEST_INVALID;
            case MANIFEST_UNKNOWN -> MANIFEST_UNKNOWN;
            case NAME_INVALID -> NAME_INVALID;
            case NAME_UNKNOWN -> NAME_UNKNOWN;
            case SIZE_INVALID -> SIZE_INVALID;
            case TAG_INVALID -> TAG_INVALID;
            case RANGE_INVALID -> RANGE_INVALID;
            case UNSUPPORTED -> UNSUPPORTED;
            case DENIED -> DENIED;
            case TOOMANYREQUESTS -> TOOMANYREQUESTS;
            case STORAGE_FULL -> UNAVAILABLE;
            case STORAGE_FAILED -> UNKNOWN;
            case STORAGE_UNAVAILABLE -> UNAVAILABLE;
        };
    }
}
