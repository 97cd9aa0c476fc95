package io.berth.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A parsed configuration with typed, dotted-key access. Every key read is remembered, so that
 * whatever Berth does not use can be named in one warning each.
 */
final class ConfigTree {
    private final JsonNode root;
    private final Set<String> consumed = new HashSet<>();
    private final List<String> warnings = new ArrayList<>();

    ConfigTree(JsonNode root) {
        this.root = root;
    }

    JsonNode root() {
        return root;
    }

    /** Marks {@code path} (and all below it) as understood, without reading it. */
    void accept(String path) {
        consumed.add(path.toLowerCase(Locale.ROOT));
    }

    /** One warning for each key nobody read. */
    List<String> unusedKeyWarnings() {
        warnings.clear();
        collectUnused(root, "");
        return List.copyOf(warnings);
    }

    List<String> stringList(String path) {
        return texts(use(path), path);
    }

    /** A list of strings, or one string as a list of one; empty when {@code n} is absent. */
    static List<String> texts(@Nullable JsonNode n, String path) {
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (n.isArray()) {
            n.forEach(v -> out.add(v.asText()));
        } else if (n.isValueNode()) {
            out.add(n.asText());
        } else {
            throw new ConfigException(path + ": expected a list of strings");
        }
        return out;
    }

    /** Looks a dotted key up; keys match without regard to case, as environment overrides do. */
    @Nullable JsonNode at(String path) {
        return at(root, path);
    }

    /** {@link #at(String)} below {@code node}. */
    static @Nullable JsonNode at(JsonNode node, String path) {
        JsonNode n = node;
        for (String part : path.split("\\.")) {
            JsonNode next = n.get(part);
            if (next == null && n.isObject()) {
                for (var it = n.properties().iterator(); it.hasNext() && next == null; ) {
                    var e = it.next();
                    if (e.getKey().equalsIgnoreCase(part)) {
                        next = e.getValue();
                    }
                }
            }
            if (next == null) {
                return null;
            }
            n = next;
        }
        return n;
    }

    @Nullable JsonNode use(String path) {
        consumed.add(path.toLowerCase(Locale.ROOT));
        JsonNode n = at(path);
        return n == null || n.isNull() ? null : n;
    }

    @Nullable String optionalString(String path) {
        JsonNode n = use(path);
        if (n == null) {
            return null;
        }
        if (!n.isValueNode()) {
            throw new ConfigException(path + ": expected a string");
        }
        String s = n.asText();
        return s.isEmpty() ? null : s;
    }

    String string(String path, String fallback) {
        String s = optionalString(path);
        return s == null ? fallback : s;
    }

    boolean bool(String path, boolean fallback) {
        JsonNode n = use(path);
        if (n == null) {
            return fallback;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        return switch (n.asText().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ConfigException(path + ": expected true or false, not " + n.asText());
        };
    }

    int integer(String path, int fallback) {
        JsonNode n = use(path);
        if (n == null) {
            return fallback;
        }
        if (n.canConvertToInt() && n.isIntegralNumber()) {
            return n.intValue();
        }
        try {
            return Integer.parseInt(n.asText().strip());
        } catch (NumberFormatException e) {
            throw new ConfigException(path + ": expected a whole number, not " + n.asText());
        }
    }

    long longValue(String path, long fallback) {
        JsonNode n = use(path);
        if (n == null) {
            return fallback;
        }
        if (n.canConvertToLong() && n.isIntegralNumber()) {
            return n.longValue();
        }
        try {
            return Long.parseLong(n.asText().strip());
        } catch (NumberFormatException e) {
            throw new ConfigException(path + ": expected a whole number, not " + n.asText());
        }
    }

    Duration duration(String path, Duration fallback) {
        JsonNode n = use(path);
        if (n == null) {
            return fallback;
        }
        Duration d;
        try {
            d = n.isIntegralNumber() ? Duration.ofNanos(n.longValue()) : GoDuration.parse(n.asText());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path + ": " + e.getMessage());
        }
        if (d.isNegative()) {
            // A negative purging age, say, would delete every upload not held by a request, resumable ones too.
            throw new ConfigException(path + ": must not be negative, not " + n.asText());
        }
        return d;
    }

    void collectUnused(JsonNode node, String path) {
        if (!path.isEmpty() && (consumed.contains(path) || consumed.contains(path.toLowerCase(Locale.ROOT)))) {
            return;
        }
        if (node.isObject() && !node.isEmpty()) {
            node.properties().forEach(e -> collectUnused(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey()));
        } else if (!path.isEmpty() && !(node.isObject() && node.isEmpty())) {
            warnings.add(path + " is not supported by Berth and is ignored");
        }
    }
}
