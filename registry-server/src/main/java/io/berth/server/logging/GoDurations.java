package io.berth.server.logging;

/** A duration written as Go's {@code time.Duration.String()} writes it ({@code 978.896µs}, {@code 9.060455ms}, {@code 1m2.5s}). */
final class GoDurations {
    private GoDurations() {}

    static String format(long nanos) {
        if (nanos == 0) {
            return "0s";
        }
        StringBuilder b = new StringBuilder(16);
        if (nanos < 0) {
            b.append('-');
            nanos = nanos == Long.MIN_VALUE ? Long.MAX_VALUE : -nanos;
        }
        if (nanos < 1_000) {
            return b.append(nanos).append("ns").toString();
        }
        if (nanos < 1_000_000) {
            return fraction(b, nanos, 1_000).append("µs").toString();
        }
        if (nanos < 1_000_000_000) {
            return fraction(b, nanos, 1_000_000).append("ms").toString();
        }
        long seconds = nanos / 1_000_000_000;
        long hours = seconds / 3600;
        long minutes = seconds / 60 % 60;
        if (hours > 0) {
            b.append(hours).append('h');
        }
        if (hours > 0 || minutes > 0) {
            b.append(minutes).append('m');
        }
        return fraction(b, nanos % 60_000_000_000L, 1_000_000_000).append('s').toString();
    }

    /** {@code value / unit} with the fraction's trailing zeros dropped, as Go's {@code fmtFrac}. */
    private static StringBuilder fraction(StringBuilder b, long value, long unit) {
        b.append(value / unit);
        long rest = value % unit;
        if (rest != 0) {
            String digits = Long.toString(rest + unit).substring(1); // zero-padded to the unit's width
            int end = digits.length();
            while (digits.charAt(end - 1) == '0') {
                end--;
            }
            b.append('.').append(digits, 0, end);
        }
        return b;
    }
}
