package io.berth.server.http;

import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Query strings and form bodies read as registry:2 reads them (Go's {@code url.ParseQuery}): a pair whose percent
 * escapes do not decode ({@code %zz}, a lone {@code %}) is dropped, and the others are kept. Netty's decoder throws
 * for the whole string instead, which reached the client as a 500 (found by fuzzing, issue 11).
 */
final class QueryParameters {
    /** As many pairs as Netty's decoder reads by default; the rest are ignored. */
    private static final int MAX_PAIRS = 1024;

    private QueryParameters() {}

    /** The parameters of a request's query string. */
    static Map<String, List<String>> of(QueryStringDecoder query) {
        try {
            return query.parameters();
        } catch (IllegalArgumentException e) {
            return lenient(query.rawQuery());
        }
    }

    /** The fields of an {@code application/x-www-form-urlencoded} body. */
    static Map<String, List<String>> ofForm(String form) {
        try {
            return new QueryStringDecoder(form, false).parameters();
        } catch (IllegalArgumentException e) {
            return lenient(form);
        }
    }

    private static Map<String, List<String>> lenient(String raw) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        int pairs = 0;
        for (String pair : raw.split("[&;]")) {
            if (pair.isEmpty()) {
                continue;
            }
            if (++pairs > MAX_PAIRS) {
                break;
            }
            int eq = pair.indexOf('=');
            try {
                String name = QueryStringDecoder.decodeComponent(eq < 0 ? pair : pair.substring(0, eq));
                String value = eq < 0 ? "" : QueryStringDecoder.decodeComponent(pair.substring(eq + 1));
                if (!name.isEmpty()) {
                    out.computeIfAbsent(name, k -> new ArrayList<>(1)).add(value);
                }
            } catch (IllegalArgumentException e) {
                // a malformed escape: this pair is dropped, as Go drops it
            }
        }
        return out;
    }
}
