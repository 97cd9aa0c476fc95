package io.berth.server.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.Context;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;
import net.logstash.logback.composite.AbstractFieldJsonProvider;
import net.logstash.logback.composite.GlobalCustomFieldsJsonProvider;
import net.logstash.logback.composite.LogstashVersionJsonProvider;
import net.logstash.logback.composite.loggingevent.KeyValuePairsJsonProvider;
import net.logstash.logback.composite.loggingevent.LoggingEventFormattedTimestampJsonProvider;
import net.logstash.logback.composite.loggingevent.LoggingEventJsonProviders;
import net.logstash.logback.composite.loggingevent.MdcJsonProvider;
import net.logstash.logback.composite.loggingevent.MessageJsonProvider;
import net.logstash.logback.composite.loggingevent.StackTraceJsonProvider;
import net.logstash.logback.encoder.LoggingEventCompositeJsonEncoder;

/**
 * The JSON formatters, written by logstash-logback-encoder (Jackson), in registry:2's shapes:
 * <ul>
 *   <li>{@code json} (logrus's JSON formatter): {@code time}, {@code level}, {@code msg} and the fields;
 *   <li>{@code logstash} (logrus-logstash-hook): {@code @timestamp}, {@code @version} "1", {@code level},
 *       {@code message} and the fields.
 * </ul>
 * Levels are logrus's names ({@code warning}); times are RFC 3339 in UTC; status and byte counts are numbers.
 * An exception is the {@code error} field, its stack trace {@code stack_trace}.
 */
final class JsonLines {
    private JsonLines() {}

    static LoggingEventCompositeJsonEncoder encoder(Context context, boolean logstash, Map<String, String> staticFields) {
        LoggingEventJsonProviders providers = new LoggingEventJsonProviders();
        LoggingEventFormattedTimestampJsonProvider time = new LoggingEventFormattedTimestampJsonProvider();
        time.setFieldName(logstash ? "@timestamp" : "time");
        time.setPattern("[ISO_INSTANT]");
        time.setTimeZone("UTC");
        providers.addTimestamp(time);
        if (logstash) {
            LogstashVersionJsonProvider<ILoggingEvent> version = new LogstashVersionJsonProvider<>();
            version.setFieldName("@version");
            providers.addProvider(version);
        }
        providers.addProvider(new Level());
        MessageJsonProvider message = new MessageJsonProvider();
        message.setFieldName(logstash ? "message" : "msg");
        providers.addMessage(message);
        if (!staticFields.isEmpty()) {
            GlobalCustomFieldsJsonProvider<ILoggingEvent> fields = new GlobalCustomFieldsJsonProvider<>();
            fields.setCustomFields(json(staticFields));
            providers.addProvider(fields);
        }
        providers.addMdc(new MdcJsonProvider());
        providers.addKeyValuePairs(new KeyValuePairsJsonProvider());
        providers.addProvider(new Error());
        StackTraceJsonProvider stack = new StackTraceJsonProvider();
        stack.setFieldName("stack_trace");
        providers.addStackTrace(stack);
        LoggingEventCompositeJsonEncoder encoder = new LoggingEventCompositeJsonEncoder();
        encoder.setContext(context);
        encoder.setProviders(providers);
        return encoder;
    }

    private static String json(Map<String, String> fields) {
        try {
            return new ObjectMapper().writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code level} with logrus's names. */
    private static final class Level extends AbstractFieldJsonProvider<ILoggingEvent> {
        Level() {
            setFieldName("level");
        }

        @Override
        public void writeTo(JsonGenerator generator, ILoggingEvent event) throws IOException {
            generator.writeStringField(getFieldName(), EventFields.level(event.getLevel()));
        }
    }

    /** {@code error}: the exception's class and message, as logrus's {@code WithError}. */
    private static final class Error extends AbstractFieldJsonProvider<ILoggingEvent> {
        Error() {
            setFieldName("error");
        }

        @Override
        public void writeTo(JsonGenerator generator, ILoggingEvent event) throws IOException {
            IThrowableProxy thrown = event.getThrowableProxy();
            if (thrown != null) {
                generator.writeStringField(getFieldName(),
                        thrown.getMessage() == null ? thrown.getClassName() : thrown.getClassName() + ": " + thrown.getMessage());
            }
        }
    }
}
