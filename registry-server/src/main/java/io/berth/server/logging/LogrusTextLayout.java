package io.berth.server.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.LayoutBase;
import java.time.format.DateTimeFormatter;
import java.util.Map;

/**
 * {@code log.formatter: text}: registry:2's line, logrus's text formatter with RFC 3339 times:
 * {@code time="…" level=info msg="response completed" http.request.id=… http.response.status=200}. The fields follow
 * {@code time}, {@code level} and {@code msg} in name order; a stack trace is not written, its exception is the
 * {@code error} field.
 */
final class LogrusTextLayout extends LayoutBase<ILoggingEvent> {
    private final Map<String, String> staticFields;

    LogrusTextLayout(Map<String, String> staticFields) {
        this.staticFields = Map.copyOf(staticFields);
    }

    @Override
    public String doLayout(ILoggingEvent event) {
        StringBuilder b = new StringBuilder(256);
        EventFields.append(b, "time", DateTimeFormatter.ISO_INSTANT.format(event.getInstant()));
        b.append(' ');
        EventFields.append(b, "level", EventFields.level(event.getLevel()));
        b.append(' ');
        EventFields.append(b, "msg", event.getFormattedMessage());
        EventFields.of(event, staticFields).forEach((k, v) -> EventFields.append(b.append(' '), k, v));
        return b.append('\n').toString();
    }
}
