package io.berth.server.http;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One satisfiable byte range of a blob, inclusive at both ends, from a {@code Range} header.
 *
 * @param start the first byte
 * @param end the last byte
 */
record ByteRange(long start, long end) {
    /** A syntactically valid range that lies outside the blob: 416. */
    static final ByteRange UNSATISFIABLE = new ByteRange(-1, -1);

    private static final Pattern SINGLE = Pattern.compile("bytes=(\\d*)-(\\d*)");

    long length() {
        return end - start + 1;
    }

    /**
     * Parses {@code header} against a blob of {@code size} bytes. Returns null when the whole blob
     * should be sent (no header, or one this parser ignores as RFC 9110 allows: malformed, several
     * ranges, an empty blob), {@link #UNSATISFIABLE}, or the clamped range.
     */
    static @Nullable ByteRange parse(@Nullable String header, long size) {
        if (header == null || size == 0) {
            return null;
        }
        Matcher m = SINGLE.matcher(header.strip());
        if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
            return null;
        }
        try {
            if (m.group(1).isEmpty()) {
                long suffix = Long.parseLong(m.group(2));
                return suffix == 0 ? UNSATISFIABLE : new ByteRange(Math.max(0, size - suffix), size - 1);
            }
            long start = Long.parseLong(m.group(1));
            long end = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
            return start >= size || end < start ? UNSATISFIABLE : new ByteRange(start, end);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
