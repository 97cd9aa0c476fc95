package io.berth.server.logging;

/**
 * registry:2's field names ({@code registry/handlers/app.go}, {@code context/http.go} in distribution v2.8.2), as its
 * {@code "response completed"} lines and the lines logged while it serves a request carry them.
 */
public final class Fields {
    public static final String REQUEST_ID = "http.request.id";
    public static final String REQUEST_METHOD = "http.request.method";
    public static final String REQUEST_URI = "http.request.uri";
    public static final String REQUEST_HOST = "http.request.host";
    public static final String REQUEST_REMOTEADDR = "http.request.remoteaddr";
    public static final String REQUEST_USERAGENT = "http.request.useragent";
    public static final String REQUEST_CONTENTTYPE = "http.request.contenttype";
    public static final String RESPONSE_STATUS = "http.response.status";
    public static final String RESPONSE_DURATION = "http.response.duration";
    public static final String RESPONSE_WRITTEN = "http.response.written";
    public static final String RESPONSE_CONTENTTYPE = "http.response.contenttype";
    public static final String VARS_NAME = "vars.name";
    public static final String VARS_REFERENCE = "vars.reference";
    public static final String VARS_DIGEST = "vars.digest";
    public static final String VARS_UUID = "vars.uuid";
    public static final String AUTH_USER_NAME = "auth.user.name";
    public static final String ERR_CODE = "err.code";
    public static final String ERR_MESSAGE = "err.message";
    public static final String ERR_DETAIL = "err.detail";
    /** The message of registry:2's access line. */
    public static final String RESPONSE_COMPLETED = "response completed";
    /** The message of registry:2's access line for a response that carries registry errors. */
    public static final String RESPONSE_COMPLETED_WITH_ERROR = "response completed with error";

    private Fields() {}
}
