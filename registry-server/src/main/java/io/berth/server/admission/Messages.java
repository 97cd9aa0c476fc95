package io.berth.server.admission;

/** Client text in admission messages: bounded, so a hostile object cannot make the answer huge. */
final class Messages {
    private static final int MAX = 256;

    private Messages() {}

    static String clip(String s) {
        return s.length() <= MAX ? s : s.substring(0, MAX) + "…";
    }
}
