package io.berth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

/** Each formatter's shape, field by field, as registry:2 2.8.2 writes the same line (its output is in the comments). */
class FormattersTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LoggerContext CONTEXT = new LoggerContext();
    private static final Map<String, String> STATIC = Map.of("service", "registry", "environment", "test");

    /** An access line as RegistryHandler logs it: the request's fields in the MDC, the response's as key-value pairs. */
    private static ILoggingEvent accessLine(Level level, String message) {
        return accessLine(level, message, Map.of(Fields.REQUEST_ID, "8676bc06-0854-48d8-8373-1d8081ef2bb2", Fields.REQUEST_METHOD, "GET",
                Fields.REQUEST_URI, "/v2/", Fields.REQUEST_HOST, "127.0.0.1:5832", Fields.REQUEST_USERAGENT, "crane/v0.22.1 go-containerregistry/v0.22.1"));
    }

    private static ILoggingEvent accessLine(Level level, String message, Map<String, String> request) {
        LoggingEvent e = new LoggingEvent("x", CONTEXT.getLogger("io.berth.access"), level, message, null, null);
        e.setInstant(Instant.parse("2026-12-06T16:29:42.235209047Z"));
        e.setMDCPropertyMap(request);
        List<KeyValuePair> kv = new ArrayList<>();
        kv.add(new KeyValuePair(Fields.RESPONSE_STATUS, 200));
        kv.add(new KeyValuePair(Fields.RESPONSE_DURATION, "978.896µs"));
        kv.add(new KeyValuePair(Fields.RESPONSE_WRITTEN, 2L));
        e.setKeyValuePairs(kv);
        return e;
    }

    private static String encode(LogOutput.Formatter formatter, ILoggingEvent event) {
        return new String(LogOutput.encoder(CONTEXT, formatter, STATIC).encode(event), StandardCharsets.UTF_8);
    }

    private static JsonNode json(LogOutput.Formatter formatter, ILoggingEvent event) throws Exception {
        String line = encode(formatter, event);
        assertThat(line).endsWith("\n").doesNotContain("\n\n");
        assertThat(line.strip()).doesNotContain("\n");
        return JSON.readTree(line);
    }

    private static List<String> keys(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void jsonIsLogrusJsonWithRegistryFieldNames() throws Exception {
        // {"go.version":…,"http.request.host":"127.0.0.1:5627","http.request.id":…,…,"http.response.duration":"1.5504ms",
        //  "http.response.status":200,"http.response.written":2,"level":"info","msg":"response completed","time":"…Z"}
        JsonNode line = json(LogOutput.Formatter.JSON, accessLine(Level.INFO, "response completed"));
        assertThat(keys(line)).containsExactlyInAnyOrder("time", "level", "msg", "service", "environment",
                "http.request.id", "http.request.method", "http.request.uri", "http.request.host", "http.request.useragent",
                "http.response.status", "http.response.duration", "http.response.written");
        assertThat(line.path("time").asText()).isEqualTo("2026-12-06T16:29:42.235209047Z");
        assertThat(line.path("level").asText()).isEqualTo("info");
        assertThat(line.path("msg").asText()).isEqualTo("response completed");
        assertThat(line.path("http.response.status").isInt()).isTrue();
        assertThat(line.path("http.response.status").asInt()).isEqualTo(200);
        assertThat(line.path("http.response.written").isNumber()).isTrue();
        assertThat(line.path("http.response.duration").asText()).isEqualTo("978.896µs");
        assertThat(line.path("service").asText()).isEqualTo("registry");
    }

    @Test
    void logstashHasTimestampVersionAndMessage() throws Exception {
        // {"@timestamp":"…Z","@version":"1",…,"level":"info","message":"response completed"}
        JsonNode line = json(LogOutput.Formatter.LOGSTASH, accessLine(Level.INFO, "response completed"));
        assertThat(keys(line)).contains("@timestamp", "@version", "level", "message", "http.request.id", "http.response.status")
                .doesNotContain("time", "msg");
        assertThat(line.path("@version").asText()).isEqualTo("1");
        assertThat(line.path("@timestamp").asText()).isEqualTo("2026-12-06T16:29:42.235209047Z");
        assertThat(line.path("message").asText()).isEqualTo("response completed");
    }

    @Test
    void levelsAreLogrusNames() throws Exception {
        assertThat(json(LogOutput.Formatter.JSON, accessLine(Level.WARN, "m")).path("level").asText()).isEqualTo("warning");
        assertThat(json(LogOutput.Formatter.JSON, accessLine(Level.ERROR, "m")).path("level").asText()).isEqualTo("error");
        assertThat(json(LogOutput.Formatter.LOGSTASH, accessLine(Level.DEBUG, "m")).path("level").asText()).isEqualTo("debug");
        assertThat(encode(LogOutput.Formatter.TEXT, accessLine(Level.WARN, "m"))).contains(" level=warning ");
    }

    @Test
    void textIsLogrusTextTimeLevelMsgThenFieldsByName() {
        // time="2026-12-06T16:29:42.235209047Z" level=info msg="response completed" go.version=go1.19.8
        //   http.request.host="127.0.0.1:5832" http.request.id=8676bc06-… http.request.method=GET …
        //   http.response.duration="978.896µs" http.response.status=200 http.response.written=2
        String line = encode(LogOutput.Formatter.TEXT, accessLine(Level.INFO, "response completed"));
        assertThat(line).isEqualTo("time=\"2026-12-06T16:29:42.235209047Z\" level=info msg=\"response completed\" environment=test"
                + " http.request.host=\"127.0.0.1:5832\" http.request.id=8676bc06-0854-48d8-8373-1d8081ef2bb2 http.request.method=GET"
                + " http.request.uri=/v2/ http.request.useragent=\"crane/v0.22.1 go-containerregistry/v0.22.1\""
                + " http.response.duration=\"978.896µs\" http.response.status=200 http.response.written=2 service=registry\n");
    }

    @Test
    void aClientsTextCannotEndItsFieldOrLine() throws Exception {
        ILoggingEvent e = accessLine(Level.INFO, "response completed", Map.of(Fields.REQUEST_USERAGENT, "evil\" level=error msg=\"forged\nsecond line"));
        String text = encode(LogOutput.Formatter.TEXT, e);
        assertThat(text).hasLineCount(1).contains("http.request.useragent=\"evil\\\" level=error msg=\\\"forged\\nsecond line\"");
        assertThat(json(LogOutput.Formatter.JSON, e).path(Fields.REQUEST_USERAGENT).asText()).isEqualTo("evil\" level=error msg=\"forged\nsecond line");
    }

    @Test
    void anExceptionIsTheErrorField() throws Exception {
        LoggingEvent e = new LoggingEvent("x", CONTEXT.getLogger("t"), Level.ERROR, "request failed", new IllegalStateException("boom"), null);
        e.setMDCPropertyMap(Map.of());
        JsonNode line = json(LogOutput.Formatter.JSON, e);
        assertThat(line.path("error").asText()).isEqualTo("java.lang.IllegalStateException: boom");
        assertThat(line.path("stack_trace").asText()).contains("IllegalStateException");
        assertThat(encode(LogOutput.Formatter.TEXT, e)).hasLineCount(1).contains(" error=\"java.lang.IllegalStateException: boom\"");
    }

    @Test
    void berthsOwnLinesEndWithTheirFieldsAndLinesWithoutFieldsAreUnchanged() {
        LogOutput.apply(null, Map.of("service", "registry"));
        try {
            assertThat(new FieldsConverter().convert(accessLine(Level.INFO, "response completed", Map.of(Fields.REQUEST_ID, "r-1"))))
                    .isEqualTo(" http.request.id=r-1 http.response.duration=\"978.896µs\" http.response.status=200 http.response.written=2 service=registry");
        } finally {
            LogOutput.apply(null, Map.of());
        }
        LoggingEvent plain = new LoggingEvent("x", CONTEXT.getLogger("t"), Level.INFO, "listening", null, null);
        plain.setMDCPropertyMap(Map.of());
        assertThat(new FieldsConverter().convert(plain)).isEmpty();
    }
}
