package io.berth.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reads registry:2's {@code notifications} section. An endpoint's timeout, threshold and backoff default as
 * distribution's {@code notifications/endpoint.go} does: 1s, 10 and 1s, and a zero value takes the default too.
 */
final class NotificationsSection {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    static final int DEFAULT_THRESHOLD = 10;
    static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);
    private static final Set<String> ACTIONS = Set.of("push", "pull", "delete", "mount");
    private static final Set<String> ENDPOINT_KEYS = Set.of("name", "url", "headers", "timeout", "threshold", "backoff",
            "ignoredmediatypes", "ignore", "disabled");

    private NotificationsSection() {}

    static RegistryConfig.Notifications read(ConfigTree t) {
        boolean includeReferences = t.bool("notifications.events.includereferences", false);
        JsonNode list = t.use("notifications.endpoints");
        List<RegistryConfig.Endpoint> endpoints = new ArrayList<>();
        if (list != null) {
            if (!list.isArray()) {
                throw new ConfigException("notifications.endpoints: expected a list of endpoints");
            }
            Set<String> names = new HashSet<>();
            for (int i = 0; i < list.size(); i++) {
                RegistryConfig.Endpoint e = endpoint(list.get(i), "notifications.endpoints[" + i + "]");
                if (!names.add(e.name())) {
                    // Each endpoint has its own spool directory, named after it.
                    throw new ConfigException("notifications.endpoints[" + i + "].name: " + e.name() + " is used twice");
                }
                endpoints.add(e);
            }
        }
        long spoolMax = t.longValue("berth.notifications.spoolmaxbytes", RegistryConfig.Notifications.DEFAULT_SPOOL_MAX_BYTES);
        if (spoolMax < 1 << 20) {
            throw new ConfigException("berth.notifications.spoolMaxBytes: at least 1 MiB (1048576), not " + spoolMax);
        }
        return new RegistryConfig.Notifications(includeReferences, List.copyOf(endpoints), spoolMax);
    }

    private static RegistryConfig.Endpoint endpoint(JsonNode n, String path) {
        if (!n.isObject()) {
            throw new ConfigException(path + ": expected an endpoint with a name and a url");
        }
        ConfigTree e = new ConfigTree(n);
        n.fieldNames().forEachRemaining(k -> {
            if (!ENDPOINT_KEYS.contains(k.toLowerCase(Locale.ROOT))) {
                throw new ConfigException(path + "." + k + ": unknown endpoint setting");
            }
        });
        String name = required(e, "name", path);
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new ConfigException(path + ".name: letters, digits, '.', '_' and '-' only (it names the spool directory), not " + name);
        }
        String url = required(e, "url", path);
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException x) {
            throw new ConfigException(path + ".url: not a URL: " + url);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            throw new ConfigException(path + ".url: expected an http or https URL, not " + url);
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        JsonNode h = e.use("headers");
        if (h != null) {
            if (!h.isObject()) {
                throw new ConfigException(path + ".headers: expected a map of header names to lists of values");
            }
            h.properties().forEach(x -> headers.put(x.getKey(), List.copyOf(ConfigTree.texts(x.getValue(), path + ".headers." + x.getKey()))));
        }
        Duration timeout = orDefault(prefixed(path, () -> e.duration("timeout", Duration.ZERO)), DEFAULT_TIMEOUT);
        int threshold = prefixed(path, () -> e.integer("threshold", 0));
        Duration backoff = orDefault(prefixed(path, () -> e.duration("backoff", Duration.ZERO)), DEFAULT_BACKOFF);
        List<String> ignoredMediaTypes = List.copyOf(e.stringList("ignoredmediatypes"));
        List<String> ignoreMediaTypes = List.copyOf(e.stringList("ignore.mediatypes"));
        List<String> ignoreActions = List.copyOf(e.stringList("ignore.actions"));
        for (String a : ignoreActions) {
            if (!ACTIONS.contains(a)) {
                throw new ConfigException(path + ".ignore.actions: expected push, pull, delete or mount, not " + a);
            }
        }
        boolean disabled = prefixed(path, () -> e.bool("disabled", false));
        return new RegistryConfig.Endpoint(name, uri, Map.copyOf(headers), timeout,
                threshold <= 0 ? DEFAULT_THRESHOLD : threshold, backoff, ignoredMediaTypes, ignoreMediaTypes, ignoreActions, disabled);
    }

    private static <T extends @Nullable Object> T prefixed(String path, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (ConfigException x) {
            throw new ConfigException(path + "." + x.getMessage());
        }
    }

    private static Duration orDefault(Duration d, Duration fallback) {
        return d.isZero() ? fallback : d;
    }

    private static String required(ConfigTree e, String key, String path) {
        @Nullable String s = prefixed(path, () -> e.optionalString(key));
        if (s == null) {
            throw new ConfigException(path + "." + key + ": required");
        }
        return s;
    }
}
