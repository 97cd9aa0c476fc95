package io.berth.auth;

/** Renders untrusted text (names, tags, header fragments) safely inside error and log messages. */
public final class Messages {
    /** Longer text is cut, so that a hostile value cannot flood a log line or a response. */
    static final int MAX_QUOTED = 256;

    private Messages() {}

    /** The text in double quotes, with quotes, backslashes and control characters escaped, cut at 256 characters. */
    static String quote(String text) {
        return quote(text, MAX_QUOTED);
    }

    /** {@link #quote(String)}, cut at {@code max} characters. */
    public static String quote(String text, int max) {
        StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 8).append('"');
        int limit = Math.min(text.length(), max);
        for (int i = 0; i < limit; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                    || Character.isSurrogate(c) && !validSurrogateAt(text, i, limit)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
        if (text.length() > limit) {
            out.append("… (").append(text.length()).append(" characters)");
        }
        return out.toString();
    }

    /** One character for a message: {@code 'x'}, or its code point when it is not printable. */
    static String describe(char c) {
        if (c > ' ' && c < 0x7f && c != '\'') {
            return "'" + c + "'";
        }
        return String.format("U+%04X", (int) c);
    }

    private static boolean validSurrogateAt(String text, int i, int limit) {
        char c = text.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < limit && Character.isLowSurrogate(text.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
    }
}
