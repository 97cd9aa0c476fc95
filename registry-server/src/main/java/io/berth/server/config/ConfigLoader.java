package io.berth.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Reads a registry:2 {@code config.yml} unchanged, then applies {@code REGISTRY_*} environment
 * overrides as registry:2 does ({@code REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/data} sets
 * {@code storage.filesystem.rootdirectory}). A key Berth does not use yields one warning naming it;
 * an invalid value, or a setting whose absence would weaken security, fails with a clear message.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> OTHER_DRIVERS = Set.of("inmemory", "s3", "azure", "gcs", "swift", "oss");
    private static final Set<String> STORAGE_SECTIONS = Set.of("filesystem", "cache", "delete", "maintenance", "redirect", "tag");

    private final Set<String> consumed = new HashSet<>();
    private final List<String> warnings = new ArrayList<>();

    private ConfigLoader() {}

    /** Loads {@code file} with the overrides in {@code env}; {@code file} null means registry:2's config from env alone. */
    public static RegistryConfig load(@Nullable Path file, Map<String, String> env) {
        ObjectNode root;
        try {
            JsonNode tree = file == null ? null : YAML.readTree(Files.readAllBytes(file));
            root = tree instanceof ObjectNode o ? o : JsonNodeFactory.instance.objectNode();
        } catch (IOException e) {
            throw new ConfigException("cannot read " + file + ": " + e.getMessage());
        }
        applyEnvironment(root, env);
        return new ConfigLoader().read(root);
    }

    /**
     * Berth's embedded defaults (listen on 127.0.0.1:5000, data in {@code dataDir}, deletes enabled),
     * with the same environment overrides as a file.
     */
    public static RegistryConfig loadDefaults(Path dataDir, Map<String, String> env) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("version", "0.1");
        root.putObject("storage").putObject("filesystem").put("rootdirectory", dataDir.toString());
        ((ObjectNode) root.get("storage")).putObject("delete").put("enabled", true);
        root.putObject("http").put("addr", "127.0.0.1:5000");
        applyEnvironment(root, env);
        return new ConfigLoader().read(root);
    }

    /** Applies every {@code REGISTRY_A_B_C=value} as {@code a.b.c: value}, the value parsed as YAML. */
    static void applyEnvironment(ObjectNode root, Map<String, String> env) {
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("REGISTRY_") || key.equals("REGISTRY_CONFIGURATION_PATH")) {
                continue;
            }
            String[] parts = key.substring("REGISTRY_".length()).split("_");
            ObjectNode node = root;
            for (int i = 0; i < parts.length; i++) {
                String field = matchField(node, parts[i]);
                if (i == parts.length - 1) {
                    node.set(field, parseValue(e.getValue()));
                } else {
                    JsonNode child = node.get(field);
                    if (!(child instanceof ObjectNode)) {
                        child = node.putObject(field);
                    }
                    node = (ObjectNode) child;
                }
            }
        }
    }

    private static String matchField(ObjectNode node, String upper) {
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (f.toUpperCase(Locale.ROOT).equals(upper)) {
                return f;
            }
        }
        return upper.toLowerCase(Locale.ROOT);
    }

    private static JsonNode parseValue(String value) {
        try {
            JsonNode n = YAML.readTree(value);
            return n == null || n.isMissingNode() ? JsonNodeFactory.instance.textNode(value) : n;
        } catch (IOException e) {
            return JsonNodeFactory.instance.textNode(value);
        }
    }

    private RegistryConfig read(ObjectNode root) {
        refuse(root, "auth", "auth is not supported by this Berth build yet; refusing to start an open registry");
        JsonNode storage = root.path("storage");
        for (String driver : OTHER_DRIVERS) {
            if (storage.has(driver)) {
                throw new ConfigException("storage." + driver + ": Berth stores on a filesystem (a PersistentVolume); use storage.filesystem");
            }
        }
        storage.fieldNames().forEachRemaining(name -> {
            if (!STORAGE_SECTIONS.contains(name)) {
                throw new ConfigException("storage." + name + ": unknown storage section");
            }
        });
        consumed.add("version");
        String logLevel = string(root, "log.level", "info").toLowerCase(Locale.ROOT);
        if (!Set.of("error", "warn", "info", "debug").contains(logLevel)) {
            throw new ConfigException("log.level: expected error, warn, info or debug, not " + logLevel);
        }
        boolean accessLog = !bool(root, "log.accesslog.disabled", false);
        consumed.add("storage.cache.blobdescriptor");
        consumed.add("storage.redirect.disable");
        RegistryConfig.UploadPurging purging = new RegistryConfig.UploadPurging(
                bool(root, "storage.maintenance.uploadpurging.enabled", true),
                duration(root, "storage.maintenance.uploadpurging.age", Duration.ofHours(168)),
                duration(root, "storage.maintenance.uploadpurging.interval", Duration.ofHours(24)),
                bool(root, "storage.maintenance.uploadpurging.dryrun", false));
        RegistryConfig.Storage st = new RegistryConfig.Storage(
                Path.of(string(root, "storage.filesystem.rootdirectory", "/var/lib/registry")),
                bool(root, "storage.delete.enabled", false),
                bool(root, "storage.maintenance.readonly.enabled", false),
                purging);
        String prefix = string(root, "http.prefix", "/");
        if (!prefix.startsWith("/")) {
            prefix = "/" + prefix;
        }
        if (!prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        String prometheus = bool(root, "http.debug.prometheus.enabled", false)
                ? string(root, "http.debug.prometheus.path", "/metrics") : null;
        String debugAddr = optionalString(root, "http.debug.addr");
        String net = string(root, "http.net", "tcp");
        if (!net.equals("tcp")) {
            throw new ConfigException("http.net: only tcp is supported, not " + net);
        }
        consumed.add("http.secret");
        String host = optionalString(root, "http.host");
        RegistryConfig.Http http = new RegistryConfig.Http(
                address("http.addr", string(root, "http.addr", ":5000")),
                host == null ? null : host.replaceAll("/+$", ""),
                prefix,
                bool(root, "http.relativeurls", false),
                headers(root),
                debugAddr == null ? null : address("http.debug.addr", debugAddr),
                prometheus,
                tls(root));
        RegistryConfig.Health health = new RegistryConfig.Health(
                bool(root, "health.storagedriver.enabled", true),
                duration(root, "health.storagedriver.interval", Duration.ofSeconds(10)),
                integer(root, "health.storagedriver.threshold", 3));
        int maxEntries = integer(root, "catalog.maxentries", 1000);
        if (maxEntries <= 0) {
            throw new ConfigException("catalog.maxentries: must be positive");
        }
        long manifestMax = integer(root, "berth.manifestmaxbytes", (int) RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES);
        if (manifestMax < RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES) {
            throw new ConfigException("berth.manifestmaxbytes: must be at least " + RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES);
        }
        collectUnused(root, "");
        return new RegistryConfig(logLevel, accessLog, st, http, health, maxEntries, manifestMax, List.copyOf(warnings));
    }

    private RegistryConfig.@Nullable Tls tls(JsonNode root) {
        String certificate = optionalString(root, "http.tls.certificate");
        String key = optionalString(root, "http.tls.key");
        JsonNode letsencrypt = at(root, "http.tls.letsencrypt");
        if (letsencrypt != null && !letsencrypt.isNull() && !(letsencrypt.isObject() && letsencrypt.isEmpty())) {
            throw new ConfigException("http.tls.letsencrypt: not supported; give http.tls.certificate and key (e.g. from cert-manager)");
        }
        if (certificate == null && key == null) {
            return null;
        }
        if (certificate == null || key == null) {
            throw new ConfigException("http.tls: certificate and key must both be set");
        }
        String minimum = string(root, "http.tls.minimumtls", "tls1.2").toLowerCase(Locale.ROOT);
        if (!minimum.equals("tls1.2") && !minimum.equals("tls1.3")) {
            throw new ConfigException("http.tls.minimumtls: Berth accepts tls1.2 or tls1.3, not " + minimum);
        }
        return new RegistryConfig.Tls(Path.of(certificate), Path.of(key), stringList(root, "http.tls.clientcas").stream().map(Path::of).toList(),
                minimum, stringList(root, "http.tls.ciphersuites"));
    }

    private List<String> stringList(JsonNode root, String path) {
        JsonNode n = use(root, path);
        List<String> out = new ArrayList<>();
        if (n == null) {
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

    private void refuse(JsonNode root, String path, String message) {
        JsonNode n = at(root, path);
        if (n != null && !n.isNull() && !(n.isObject() && n.isEmpty())) {
            throw new ConfigException(message);
        }
    }

    private Map<String, List<String>> headers(JsonNode root) {
        JsonNode h = at(root, "http.headers");
        consumed.add("http.headers");
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (h == null || h.isNull()) {
            return out;
        }
        if (!h.isObject()) {
            throw new ConfigException("http.headers: expected a map of header name to list of values");
        }
        h.properties().forEach(e -> {
            List<String> values = new ArrayList<>();
            if (e.getValue().isArray()) {
                e.getValue().forEach(v -> values.add(v.asText()));
            } else {
                values.add(e.getValue().asText());
            }
            out.put(e.getKey(), values);
        });
        return out;
    }

    private static InetSocketAddress address(String key, String value) {
        int colon = value.lastIndexOf(':');
        if (colon < 0) {
            throw new ConfigException(key + ": expected host:port or :port, not " + value);
        }
        String host = value.substring(0, colon).replace("[", "").replace("]", "");
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ConfigException(key + ": invalid port in " + value);
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException(key + ": port out of range in " + value);
        }
        return host.isEmpty() ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }

    /** Looks a dotted key up; keys match without regard to case, as environment overrides do. */
    private @Nullable JsonNode at(JsonNode root, String path) {
        JsonNode n = root;
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

    private @Nullable JsonNode use(JsonNode root, String path) {
        consumed.add(path);
        JsonNode n = at(root, path);
        return n == null || n.isNull() ? null : n;
    }

    private @Nullable String optionalString(JsonNode root, String path) {
        JsonNode n = use(root, path);
        if (n == null) {
            return null;
        }
        if (!n.isValueNode()) {
            throw new ConfigException(path + ": expected a string");
        }
        String s = n.asText();
        return s.isEmpty() ? null : s;
    }

    private String string(JsonNode root, String path, String fallback) {
        String s = optionalString(root, path);
        return s == null ? fallback : s;
    }

    private boolean bool(JsonNode root, String path, boolean fallback) {
        JsonNode n = use(root, path);
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

    private int integer(JsonNode root, String path, int fallback) {
        JsonNode n = use(root, path);
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

    private Duration duration(JsonNode root, String path, Duration fallback) {
        JsonNode n = use(root, path);
        if (n == null) {
            return fallback;
        }
        try {
            return n.isIntegralNumber() ? Duration.ofNanos(n.longValue()) : GoDuration.parse(n.asText());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path + ": " + e.getMessage());
        }
    }

    private void collectUnused(JsonNode node, String path) {
        if (!path.isEmpty() && consumed.contains(path)) {
            return;
        }
        if (node.isObject() && !node.isEmpty()) {
            node.properties().forEach(e -> collectUnused(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey()));
        } else if (!path.isEmpty() && !(node.isObject() && node.isEmpty())) {
            warnings.add(path + " is not supported by Berth and is ignored");
        }
    }
}
