package io.berth.server.http;

import org.jspecify.annotations.Nullable;

/** Reads the {@code n} and {@code last} parameters of tag and catalog listings. */
final class Pagination {
    private Pagination() {}

    /** The page size asked for: {@code fallback} when absent, capped at {@code max}. */
    static int limit(Exchange ex, int fallback, int max) {
        String n = ex.param("n");
        if (n == null || n.isEmpty()) {
            return Math.min(fallback, max);
        }
        try {
            int value = Integer.parseInt(n);
            if (value < 0) {
                throw new NumberFormatException();
            }
            return Math.min(value, max);
        } catch (NumberFormatException e) {
            throw new HttpError(ErrorCode.PAGINATION_NUMBER_INVALID, "n must be a non-negative integer, not " + n);
        }
    }

    static @Nullable String last(Exchange ex) {
        String last = ex.param("last");
        return last == null || last.isEmpty() ? null : last;
    }

    /** The {@code Link} header value pointing at the next page. */
    static String next(String path, int n, String last) {
        return "<" + path + "?n=" + n + "&last=" + java.net.URLEncoder.encode(last, java.nio.charset.StandardCharsets.UTF_8) + ">; rel=\"next\"";
    }
}
