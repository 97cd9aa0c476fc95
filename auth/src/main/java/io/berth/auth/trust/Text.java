package io.berth.auth.trust;

/** Renders text taken from an artifact safely inside a rejection reason or a log line. */
final class Text {
    static final int MAX_QUOTED = 128;

    private Text() {}

    /** The text in double quotes, control and format characters escaped, cut at 128 characters. */
    static String quote(String text) {
        return io.berth.auth.Messages.quote(text, MAX_QUOTED);
    }
}
