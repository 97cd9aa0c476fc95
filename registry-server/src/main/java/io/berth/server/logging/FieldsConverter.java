package io.berth.server.logging;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * {@code %fields} in Berth's own console pattern (no {@code log.formatter}): the line's fields, request id first
 * among them in name order, as {@code key=value} after the message, quoted as in the text formatter. Empty when a
 * line has none, so lines outside requests look as they always did.
 */
public final class FieldsConverter extends ClassicConverter {
    @Override
    public String convert(ILoggingEvent event) {
        var fields = EventFields.of(event, LogOutput.staticFields());
        fields.remove("error"); // the pattern writes the stack trace
        if (fields.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder(128);
        fields.forEach((k, v) -> EventFields.append(b.append(' '), k, v));
        return b.toString();
    }
}
