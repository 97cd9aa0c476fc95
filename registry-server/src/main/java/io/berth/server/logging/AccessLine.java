package io.berth.server.logging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * registry:2's access line: {@code "response completed"} with {@code http.response.status}, {@code .duration} (Go's
 * notation), {@code .written} and {@code .contenttype}; {@code "response completed with error"} with {@code err.code},
 * {@code err.message} and {@code err.detail} when the body is a registry error. The request's own fields
 * ({@code http.request.*}, {@code vars.*}) are in the request's log context (MDC), on this line as on every other.
 *
 * <p>registry:2 logs every error response at level error; Berth logs a server error (5xx) at error and a client's
 * (4xx) at info, so that a scan of error lines finds the server's faults, not the 404s of every push.
 */
public final class AccessLine {
    private static final ObjectMapper JSON = new ObjectMapper();

    private AccessLine() {}

    /**
     * Logs one response.
     *
     * @param errorBody the body of an error response ({@code {"errors":[…]}}), null for any other
     */
    public static void log(Logger access, int status, long nanos, long written, @Nullable String contentType, @Nullable String errorBody) {
        JsonNode error = error(errorBody);
        LoggingEventBuilder line = status >= 500 ? access.atError() : access.atInfo();
        line = line.addKeyValue(Fields.RESPONSE_STATUS, status)
                .addKeyValue(Fields.RESPONSE_DURATION, GoDurations.format(nanos))
                .addKeyValue(Fields.RESPONSE_WRITTEN, written);
        if (contentType != null) {
            line = line.addKeyValue(Fields.RESPONSE_CONTENTTYPE, contentType);
        }
        if (error == null) {
            line.log(Fields.RESPONSE_COMPLETED);
            return;
        }
        line.addKeyValue(Fields.ERR_CODE, error.path("code").asText().toLowerCase(Locale.ROOT).replace('_', ' '))
                .addKeyValue(Fields.ERR_MESSAGE, error.path("message").asText())
                .addKeyValue(Fields.ERR_DETAIL, error.path("detail").isValueNode() ? error.path("detail").asText() : error.path("detail").toString())
                .log(Fields.RESPONSE_COMPLETED_WITH_ERROR);
    }

    /** The first error of a registry error body, or null when the body is none. */
    private static @Nullable JsonNode error(@Nullable String body) {
        if (body == null || body.isEmpty()) {
            return null;
        }
        try {
            JsonNode first = JSON.readTree(body).path("errors").path(0);
            return first.isObject() ? first : null;
        } catch (IOException e) {
            return null;
        }
    }
}
