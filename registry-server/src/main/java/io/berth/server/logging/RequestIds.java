package io.berth.server.logging;

import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * The id of a request: the client's {@code X-Request-Id} when it is sane (at most {@value #MAX_LENGTH} characters of
 * letters, digits and {@code -._:+=/@}), else a random UUID, as registry:2 makes its {@code http.request.id}. A header
 * that fails the check is not logged, so a client cannot forge a field or a line through it.
 */
public final class RequestIds {
    /** The header a client or proxy sends, and the response carries back. */
    public static final String HEADER = "X-Request-Id";
    static final int MAX_LENGTH = 128;

    private RequestIds() {}

    /** The id for a request whose {@code X-Request-Id} is {@code sent} (null when absent). */
    public static String of(@Nullable String sent) {
        return sent != null && sane(sent) ? sent : random();
    }

    static boolean sane(String id) {
        if (id.isEmpty() || id.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._:+=/@".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** A version-4 UUID from the thread's generator: an id needs to be unique, not secret, and this never blocks. */
    static String random() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long hi = (r.nextLong() & ~0xF000L) | 0x4000L;
        long lo = (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new java.util.UUID(hi, lo).toString();
    }
}
