package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.berth.server.logging.Fields;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The access line and the request id, seen where logback receives them: the MDC and the key-value pairs of each event. */
class RequestLogHttpTest {
    private final Logger access = (Logger) LoggerFactory.getLogger("io.berth.access");
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private ch.qos.logback.classic.@Nullable Level level;
    private HttpFixture registry;

    @BeforeEach
    void start() {
        lines.start();
        level = access.getLevel();
        access.setLevel(ch.qos.logback.classic.Level.INFO); // whatever level earlier tests left the root at
        access.addAppender(lines);
        registry = HttpFixture.start();
    }

    @AfterEach
    void stop() {
        registry.close();
        access.detachAppender(lines);
        access.setLevel(level);
    }

    /** The access lines logged so far: a response's line is logged before the response is written. */
    private List<ILoggingEvent> accessLines() {
        return List.copyOf(lines.list);
    }

    private static Map<String, Object> pairs(ILoggingEvent e) {
        return e.getKeyValuePairs() == null ? Map.of() : e.getKeyValuePairs().stream().collect(Collectors.toMap(kv -> kv.key, kv -> kv.value));
    }

    @Test
    void aSaneClientRequestIdIsLoggedAndSentBack() {
        HttpResponse<byte[]> r = registry.get("/v2/", "X-Request-Id", "trace-42.abc");
        assertThat(r.headers().firstValue("X-Request-Id")).contains("trace-42.abc");
        ILoggingEvent line = accessLines().getLast();
        assertThat(line.getFormattedMessage()).isEqualTo("response completed");
        assertThat(line.getMDCPropertyMap()).containsEntry(Fields.REQUEST_ID, "trace-42.abc").containsEntry(Fields.REQUEST_METHOD, "GET")
                .containsEntry(Fields.REQUEST_URI, "/v2/").containsKeys(Fields.REQUEST_HOST, Fields.REQUEST_REMOTEADDR);
        assertThat(pairs(line)).containsEntry(Fields.RESPONSE_STATUS, 200).containsKeys(Fields.RESPONSE_DURATION, Fields.RESPONSE_WRITTEN);
    }

    @Test
    void anUnsafeRequestIdIsReplacedAndTheNewOneSentBack() {
        HttpResponse<byte[]> r = registry.get("/v2/", "X-Request-Id", "x\" msg=\"forged");
        String id = r.headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(id).matches("[0-9a-f-]{36}");
        assertThat(accessLines().getLast().getMDCPropertyMap()).containsEntry(Fields.REQUEST_ID, id);
        String other = registry.get("/v2/").headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(other).isNotEqualTo(id);
    }

    @Test
    void anErrorResponseIsLoggedWithItsRegistryErrorAndRouteVariables() {
        HttpResponse<byte[]> r = registry.get("/v2/team/app/manifests/nope");
        assertThat(r.statusCode()).isEqualTo(404);
        ILoggingEvent line = accessLines().getLast();
        assertThat(line.getFormattedMessage()).isEqualTo("response completed with error");
        assertThat(line.getMDCPropertyMap()).containsEntry(Fields.VARS_NAME, "team/app").containsEntry(Fields.VARS_REFERENCE, "nope");
        assertThat(pairs(line)).containsEntry(Fields.RESPONSE_STATUS, 404).containsEntry(Fields.ERR_CODE, "manifest unknown")
                .containsKeys(Fields.ERR_MESSAGE, Fields.ERR_DETAIL);
    }
}
