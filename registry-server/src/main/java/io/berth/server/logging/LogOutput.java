package io.berth.server.logging;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * Switches the console's line format to {@code log.formatter} once the configuration is read. Until then, and when
 * no formatter is set, lines are Berth's own ({@code logback.xml}: time, level, logger, message, then the fields).
 *
 * <p>The switch builds a second asynchronous appender with the new encoder beside the first, attaches it, then
 * detaches and stops the first, which writes out what it still holds: no line is lost or written twice.
 */
public final class LogOutput {
    private static volatile Map<String, String> staticFields = Map.of();

    private LogOutput() {}

    /** The formatters registry:2 knows. */
    public enum Formatter {
        TEXT, JSON, LOGSTASH;

        /** {@code log.formatter}'s value, or null when it names none of them. */
        public static @Nullable Formatter of(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "text" -> TEXT;
                case "json" -> JSON;
                case "logstash" -> LOGSTASH;
                default -> null;
            };
        }
    }

    /** The {@code log.fields} every line carries. */
    static Map<String, String> staticFields() {
        return staticFields;
    }

    /**
     * Writes every following line with {@code formatter} (null: Berth's own lines) and {@code fields}. Does nothing to
     * the format when logback is not configured by Berth's {@code logback.xml} (Berth embedded in another program).
     */
    public static synchronized void apply(@Nullable Formatter formatter, Map<String, String> fields) {
        staticFields = Map.copyOf(fields);
        if (formatter == null || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (!(root.getAppender("ASYNC") instanceof AsyncAppender old) || !(old.getAppender("STDERR") instanceof ConsoleAppender<ILoggingEvent> console)) {
            return;
        }
        ConsoleAppender<ILoggingEvent> out = new ConsoleAppender<>();
        out.setContext(context);
        out.setName("STDERR");
        out.setTarget(console.getTarget());
        out.setEncoder(encoder(context, formatter, fields));
        out.start();
        AsyncAppender async = new AsyncAppender();
        async.setContext(context);
        async.setName("ASYNC");
        async.setQueueSize(old.getQueueSize());
        async.setDiscardingThreshold(old.getDiscardingThreshold());
        async.setNeverBlock(old.isNeverBlock());
        async.setMaxFlushTime(old.getMaxFlushTime());
        async.addAppender(out);
        async.start();
        root.addAppender(async);
        root.detachAppender(old);
        old.stop();
    }

    static Encoder<ILoggingEvent> encoder(LoggerContext context, Formatter formatter, Map<String, String> fields) {
        Encoder<ILoggingEvent> encoder = switch (formatter) {
            case TEXT -> {
                LayoutWrappingEncoder<ILoggingEvent> e = new LayoutWrappingEncoder<>();
                LogrusTextLayout layout = new LogrusTextLayout(fields);
                layout.setContext(context);
                layout.start();
                e.setLayout(layout);
                e.setContext(context);
                e.setCharset(java.nio.charset.StandardCharsets.UTF_8);
                yield e;
            }
            case JSON -> JsonLines.encoder(context, false, fields);
            case LOGSTASH -> JsonLines.encoder(context, true, fields);
        };
        encoder.start();
        return encoder;
    }
}
