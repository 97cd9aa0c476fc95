package io.berth.auth.trust;

/** Renders text taken from an artifact safely inside a rejection reason or a log line. */
final class Text {
    static final int MAX_QUOTED = 128;

    private Text() {}

    /** The text in double quotes, control and format characters escaped, cut at 128 characters. */
    static String quote(String text) {
        int limit = Math.min(text.length(), MAX_QUOTED);
        StringBuilder out = new StringBuilder(limit + 16).append('"');
        for (int i = 0; i < limit; i++) {
            char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < ' ' || c == 0x7f || Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                    || Character.isSurrogate(c)) {
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
}
