package io.berth.server.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses Go's duration syntax ({@code 168h}, {@code 1h30m}, {@code 300ms}), which registry:2 configs use. */
final class GoDuration {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

    private GoDuration() {}

    static Duration parse(String text) {
        String s = text.strip();
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = PART.matcher(s);
        long nanos = 0;
        int end = 0;
        while (m.find() && m.start() == end) {
            double value = Double.parseDouble(m.group(1));
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            double part = value * unit;
            if (part >= Long.MAX_VALUE) {
                throw new IllegalArgumentException("duration too long: \"" + text + "\"");
            }
            try {
                nanos = Math.addExact(nanos, (long) part);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("duration too long: \"" + text + "\"");
            }
            end = m.end();
        }
        if (end == 0 || end != s.length()) {
            throw new IllegalArgumentException("not a duration: \"" + text + "\" (use Go syntax such as 168h, 10s, 1h30m)");
        }
        return Duration.ofNanos(nanos);
    }
}
