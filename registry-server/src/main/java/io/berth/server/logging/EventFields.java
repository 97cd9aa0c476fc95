package io.berth.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.event.KeyValuePair;

/** The fields of one line, for the text formatters: the static {@code log.fields}, the request's, the event's own. */
final class EventFields {
    private EventFields() {}

    /** Every field of {@code event} by name, sorted as logrus sorts them; the event's own win over the static ones. */
    static Map<String, Object> of(ILoggingEvent event, Map<String, String> staticFields) {
        Map<String, Object> all = new TreeMap<>(staticFields);
        all.putAll(event.getMDCPropertyMap());
        if (event.getKeyValuePairs() != null) {
            for (KeyValuePair kv : event.getKeyValuePairs()) {
                all.put(kv.key, String.valueOf(kv.value));
            }
        }
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            all.put("error", thrown.getMessage() == null ? thrown.getClassName() : thrown.getClassName() + ": " + thrown.getMessage());
        }
        return all;
    }

    /** logrus's name for a level: {@code warning}, not {@code warn}. */
    static String level(Level level) {
        return switch (level.toInt()) {
            case Level.ERROR_INT -> "error";
            case Level.WARN_INT -> "warning";
            case Level.INFO_INT -> "info";
            case Level.DEBUG_INT -> "debug";
            default -> "trace";
        };
    }

    /** Appends {@code key=value}, quoting the value as logrus's text formatter does when it holds more than {@code [A-Za-z0-9-._/@^+]}. */
    static void append(StringBuilder b, String key, Object value) {
        b.append(key).append('=');
        String s = String.valueOf(value);
        if (needsQuoting(s)) {
            quote(b, s);
        } else {
            b.append(s);
        }
    }

    private static boolean needsQuoting(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._/@^+".indexOf(c) >= 0)) {
                return true;
            }
        }
        return false;
    }

    /** Go's {@code %q}: backslash, quote and control characters escaped, so no value can end its field or its line. */
    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"', '\\' -> b.append('\\').append(c);
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == '\u0085') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
