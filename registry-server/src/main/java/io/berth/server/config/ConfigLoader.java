package io.berth.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.berth.server.logging.LogOutput;
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
    private static final Set<String> OTHER_DRIVERS = Set.of("inmemory", "azure", "gcs", "swift", "oss");
    private static final Set<String> STORAGE_SECTIONS = Set.of("filesystem", "s3", "cache", "delete", "maintenance", "redirect", "tag");

    private final ConfigTree t;

    private ConfigLoader(ObjectNode root) {
        this.t = new ConfigTree(root);
    }

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
        return new ConfigLoader(root).read();
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
        if (root.get("storage").has("s3")) {
            ((ObjectNode) root.get("storage")).remove("filesystem"); // REGISTRY_STORAGE_S3_*: the bucket replaces dataDir
        }
        return new ConfigLoader(root).read();
    }

    /**
     * Applies every {@code REGISTRY_A_B_C=value} as {@code a.b.c: value}, the value parsed as YAML; a number whose
     * YAML reading would change its text ({@code 0123}, a secret key) stays the string given.
     */
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
            if (n == null || n.isMissingNode() || n.isNumber() && !n.asText().equals(value.strip())) {
                return JsonNodeFactory.instance.textNode(value);
            }
            return n;
        } catch (IOException e) {
            return JsonNodeFactory.instance.textNode(value);
        }
    }

    /** Reads the whole configuration; a path no file system could hold (a NUL in it, say) is a ConfigException too. */
    private RegistryConfig read() {
        try {
            return readChecked();
        } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException("not a valid path: " + quote(e.getInput()) + " (" + e.getReason() + ")");
        }
    }

    private static String quote(String path) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : path.toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return b.append('"').toString();
    }

    private RegistryConfig readChecked() {
        JsonNode root = t.root();
        JsonNode storage = root.path("storage");
        for (String driver : OTHER_DRIVERS) {
            if (storage.has(driver)) {
                throw new ConfigException("storage." + driver + ": Berth stores on a filesystem (a PersistentVolume) or on S3; use storage.filesystem or storage.s3");
            }
        }
        if (storage.has("filesystem") && storage.has("s3")) {
            throw new ConfigException("storage: filesystem and s3 are both given; keep the one Berth should store on");
        }
        storage.fieldNames().forEachRemaining(name -> {
            if (!STORAGE_SECTIONS.contains(name)) {
                throw new ConfigException("storage." + name + ": unknown storage section");
            }
        });
        t.accept("version");
        String logLevel = t.string("log.level", "info").toLowerCase(Locale.ROOT);
        if (logLevel.equals("warning")) {
            logLevel = "warn"; // logrus's name
        }
        if (!Set.of("error", "warn", "info", "debug").contains(logLevel)) {
            throw new ConfigException("log.level: expected error, warn, info or debug, not " + logLevel);
        }
        boolean accessLog = !t.bool("log.accesslog.disabled", false);
        RegistryConfig.LogOutputConfig logOutput = logOutput();
        t.accept("storage.cache.blobdescriptor");
        RegistryConfig.UploadPurging purging = new RegistryConfig.UploadPurging(
                t.bool("storage.maintenance.uploadpurging.enabled", true),
                t.duration("storage.maintenance.uploadpurging.age", Duration.ofHours(168)),
                t.duration("storage.maintenance.uploadpurging.interval", Duration.ofHours(24)),
                t.bool("storage.maintenance.uploadpurging.dryrun", false));
        RegistryConfig.Storage st = new RegistryConfig.Storage(
                Path.of(t.string("storage.filesystem.rootdirectory", "/var/lib/registry")),
                t.bool("storage.delete.enabled", false),
                t.bool("storage.maintenance.readonly.enabled", false),
                purging,
                S3Section.read(t));
        String prefix = t.string("http.prefix", "/");
        if (!prefix.startsWith("/")) {
            prefix = "/" + prefix;
        }
        if (!prefix.endsWith("/")) {
            prefix = prefix + "/";
        }
        String prometheus = t.bool("http.debug.prometheus.enabled", false)
                ? t.string("http.debug.prometheus.path", "/metrics") : null;
        String debugAddr = t.optionalString("http.debug.addr");
        String net = t.string("http.net", "tcp");
        if (!net.equals("tcp")) {
            throw new ConfigException("http.net: only tcp is supported, not " + net);
        }
        t.accept("http.secret");
        String host = t.optionalString("http.host");
        RegistryConfig.Http http = new RegistryConfig.Http(
                address("http.addr", t.string("http.addr", ":5000")),
                host == null ? null : host.replaceAll("/+$", ""),
                prefix,
                t.bool("http.relativeurls", false),
                headers(),
                debugAddr == null ? null : address("http.debug.addr", debugAddr),
                prometheus,
                tls());
        RegistryConfig.Health health = new RegistryConfig.Health(
                t.bool("health.storagedriver.enabled", true),
                t.duration("health.storagedriver.interval", Duration.ofSeconds(10)),
                t.integer("health.storagedriver.threshold", 3));
        int maxEntries = t.integer("catalog.maxentries", 1000);
        if (maxEntries <= 0) {
            throw new ConfigException("catalog.maxentries: must be positive");
        }
        long manifestMax = t.integer("berth.manifestmaxbytes", (int) RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES);
        if (manifestMax < RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES) {
            throw new ConfigException("berth.manifestmaxbytes: must be at least " + RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES);
        }
        SecurityConfig security = SecuritySection.read(t);
        RegistryConfig.Trust trust = trust();
        RegistryConfig.Limits limits = limits();
        RegistryConfig.Gc gc = gc();
        RegistryConfig.Notifications notifications = NotificationsSection.read(t);
        List<RegistryConfig.Proxy> proxies = proxies();
        return new RegistryConfig(logLevel, accessLog, logOutput, st, http, health, maxEntries, manifestMax, security, trust, limits, gc,
                notifications, proxies, t.unusedKeyWarnings());
    }

    /** registry:2's {@code proxy} (the whole registry a cache), or Berth's own {@code berth.proxies}, by prefix. */
    private List<RegistryConfig.Proxy> proxies() {
        Duration stall = t.duration("berth.proxy.stalltimeout", Duration.ofSeconds(60));
        if (stall.compareTo(Duration.ofMillis(100)) < 0) {
            throw new ConfigException("berth.proxy.stallTimeout: at least 100ms");
        }
        String remote = t.optionalString("proxy.remoteurl");
        JsonNode list = t.use("berth.proxies");
        if (remote != null) {
            if (list != null) {
                throw new ConfigException("berth.proxies: with proxy.remoteurl the whole registry is already a cache");
            }
            return List.of(proxy("proxy", "", remote, t.optionalString("proxy.username"), t.optionalString("proxy.password"),
                    t.duration("proxy.ttl", Duration.ZERO), stall));
        }
        if (list == null) {
            return List.of();
        }
        if (!list.isArray()) {
            throw new ConfigException("berth.proxies: expected a list of {prefix, remoteurl, username, password | passwordFile, ttl}");
        }
        List<RegistryConfig.Proxy> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String where = "berth.proxies[" + i + "]";
            ConfigTree e = new ConfigTree(list.get(i));
            list.get(i).fieldNames().forEachRemaining(k -> {
                if (!Set.of("prefix", "remoteurl", "username", "password", "passwordfile", "ttl").contains(k.toLowerCase(Locale.ROOT))) {
                    throw new ConfigException(where + "." + k + ": unknown setting");
                }
            });
            String prefix = e.optionalString("prefix");
            if (prefix == null || prefix.isBlank()) {
                throw new ConfigException(where + ".prefix: required (the first path segments of the cached repositories)");
            }
            prefix = prefix.replaceAll("^/+|/+$", "");
            try {
                io.berth.storage.RepositoryName.of(prefix + "/x");
            } catch (RuntimeException ex) {
                throw new ConfigException(where + ".prefix: not a repository path: " + prefix);
            }
            String password = e.optionalString("password");
            String passwordFile = e.optionalString("passwordfile");
            if (password != null && passwordFile != null) {
                throw new ConfigException(where + ": password or passwordFile, not both");
            }
            if (passwordFile != null) {
                try {
                    password = Files.readString(Path.of(passwordFile)).strip();
                } catch (IOException | RuntimeException ex) {
                    throw new ConfigException(where + ".passwordFile: cannot read " + passwordFile);
                }
            }
            for (RegistryConfig.Proxy earlier : out) {
                if ((prefix + "/").startsWith(earlier.prefix() + "/") || (earlier.prefix() + "/").startsWith(prefix + "/")) {
                    throw new ConfigException(where + ".prefix: " + prefix + " overlaps " + earlier.prefix());
                }
            }
            out.add(proxy(where, prefix, e.optionalString("remoteurl"), e.optionalString("username"), password,
                    e.duration("ttl", Duration.ZERO), stall));
        }
        return List.copyOf(out);
    }

    private static RegistryConfig.Proxy proxy(String where, String prefix, @Nullable String remote, @Nullable String username,
            @Nullable String password, Duration ttl, Duration stall) {
        if (remote == null) {
            throw new ConfigException(where + ".remoteurl: required");
        }
        java.net.URI url;
        try {
            url = new java.net.URI(remote.replaceAll("/+$", ""));
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException(where + ".remoteurl: not a URL: " + remote);
        }
        if (!("http".equals(url.getScheme()) || "https".equals(url.getScheme())) || url.getHost() == null) {
            throw new ConfigException(where + ".remoteurl: expected http(s)://host[:port], not " + remote);
        }
        if ((username == null) != (password == null)) {
            throw new ConfigException(where + ".username and password: give both or neither");
        }
        if (ttl.isNegative()) {
            throw new ConfigException(where + ".ttl: must not be negative");
        }
        return new RegistryConfig.Proxy(prefix, url, username, password, ttl, stall);
    }

    private RegistryConfig.Trust trust() {
        JsonNode rules = t.at("berth.trust");
        t.accept("berth.trust");
        List<RegistryConfig.TrustRule> out = new ArrayList<>();
        if (rules != null && !rules.isNull()) {
            if (!rules.isArray()) {
                throw new ConfigException("berth.trust: expected a list of {repositories, keys, attestations}");
            }
            for (int i = 0; i < rules.size(); i++) {
                String where = "berth.trust[" + i + "]";
                JsonNode rule = rules.get(i);
                List<String> repositories = ConfigTree.texts(rule.get("repositories"), where + ".repositories");
                List<String> keys = ConfigTree.texts(rule.get("keys"), where + ".keys");
                if (repositories.isEmpty() || keys.isEmpty()) {
                    throw new ConfigException(where + ": needs repositories and at least one key");
                }
                out.add(new RegistryConfig.TrustRule(repositories, keys.stream().map(Path::of).toList(),
                        ConfigTree.texts(rule.get("attestations"), where + ".attestations")));
            }
        }
        RegistryConfig.Admission admission = null;
        String addr = t.optionalString("berth.admission.addr");
        if (addr != null) {
            String certificate = t.optionalString("berth.admission.tls.certificate");
            String key = t.optionalString("berth.admission.tls.key");
            List<String> hosts = t.stringList("berth.admission.hosts");
            if (certificate == null || key == null) {
                throw new ConfigException("berth.admission.tls: certificate and key are required (the API server calls webhooks over TLS)");
            }
            if (hosts.isEmpty()) {
                throw new ConfigException("berth.admission.hosts: name the registry host(s) images use");
            }
            RegistryConfig.RemoteRegistry remote = null;
            String url = t.optionalString("berth.admission.registry.url");
            if (url != null) {
                java.net.URI uri;
                try {
                    uri = java.net.URI.create(url);
                } catch (IllegalArgumentException e) {
                    throw new ConfigException("berth.admission.registry.url: not a URL: " + url);
                }
                if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme())) {
                    throw new ConfigException("berth.admission.registry.url: expected https://host[:port], not " + url);
                }
                String password = t.optionalString("berth.admission.registry.passwordFile");
                String ca = t.optionalString("berth.admission.registry.ca");
                remote = new RegistryConfig.RemoteRegistry(uri, t.optionalString("berth.admission.registry.username"),
                        password == null ? null : Path.of(password), ca == null ? null : Path.of(ca),
                        t.duration("berth.admission.registry.cacheTtl", Duration.ofSeconds(30)));
            }
            admission = new RegistryConfig.Admission(address("berth.admission.addr", addr),
                    new RegistryConfig.Tls(Path.of(certificate), Path.of(key), List.of(), "tls1.2", List.of()), hosts, remote);
        }
        return new RegistryConfig.Trust(out, admission);
    }

    /**
     * {@code berth.limits}, {@code berth.uploads}, {@code berth.maxBlobBytes} and {@code berth.storage.minFreeBytes},
     * with their defaults: no trusted proxies; 10000 connections, 200 per client; 30 s for a head; 60 s without write
     * progress; 64 MiB of buffered bodies; 128 MiB in flight; 256 request threads; 4096 open blobs; 256 open uploads;
     * 1 h idle uploads; no blob size limit; 256 MiB kept free.
     */
    private RegistryConfig.Limits limits() {
        List<String> proxies = t.stringList("berth.trustedProxies");
        for (String cidr : proxies) {
            try {
                Cidr.parse(cidr);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("berth.trustedProxies: " + e.getMessage());
            }
        }
        RegistryConfig.Limits limits = new RegistryConfig.Limits(proxies,
                positive("berth.limits.maxConnections", t.integer("berth.limits.maxConnections", 10_000)),
                positive("berth.limits.maxConnectionsPerClient", t.integer("berth.limits.maxConnectionsPerClient", 200)),
                positive("berth.limits.headerTimeout", t.duration("berth.limits.headerTimeout", Duration.ofSeconds(30))),
                positive("berth.limits.writeTimeout", t.duration("berth.limits.writeTimeout", Duration.ofSeconds(60))),
                t.longValue("berth.limits.bufferedBodyBytes", 64L << 20),
                t.longValue("berth.limits.inFlightBytes", 128L << 20),
                positive("berth.limits.requestThreads", t.integer("berth.limits.requestThreads", 256)),
                positive("berth.limits.openBlobFiles", t.integer("berth.limits.openBlobFiles", 4096)),
                positive("berth.uploads.maxOpen", t.integer("berth.uploads.maxOpen", 256)),
                positive("berth.uploads.idleTimeout", t.duration("berth.uploads.idleTimeout", Duration.ofHours(1))),
                t.longValue("berth.maxBlobBytes", Long.MAX_VALUE),
                t.longValue("berth.storage.minFreeBytes", 256L << 20));
        if (limits.minFreeBytes() < 0) {
            throw new ConfigException("berth.storage.minFreeBytes: must not be negative, not " + limits.minFreeBytes());
        }
        if (limits.maxBlobBytes() <= 0) {
            throw new ConfigException("berth.maxBlobBytes: must be positive, not " + limits.maxBlobBytes());
        }
        if (limits.inFlightBytes() < 1 << 20) {
            throw new ConfigException("berth.limits.inFlightBytes: must be at least 1 MiB, not " + limits.inFlightBytes());
        }
        if (limits.bufferedBodyBytes() < RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES) {
            throw new ConfigException("berth.limits.bufferedBodyBytes: must be at least " + RegistryConfig.DEFAULT_MANIFEST_MAX_BYTES
                    + " (one largest manifest)");
        }
        return limits;
    }

    /** {@code berth.gc}, with its defaults: off; every 24 h; a one-hour grace period. */
    private RegistryConfig.Gc gc() {
        RegistryConfig.Gc gc = new RegistryConfig.Gc(t.bool("berth.gc.enabled", false),
                positive("berth.gc.interval", t.duration("berth.gc.interval", Duration.ofHours(24))),
                t.duration("berth.gc.gracePeriod", Duration.ofHours(1)));
        if (gc.gracePeriod().isNegative()) {
            throw new ConfigException("berth.gc.gracePeriod: must not be negative, not " + gc.gracePeriod());
        }
        return gc;
    }

    private static int positive(String key, int value) {
        if (value <= 0) {
            throw new ConfigException(key + ": must be positive, not " + value);
        }
        return value;
    }

    private static Duration positive(String key, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new ConfigException(key + ": must be positive, not " + value);
        }
        return value;
    }

    private RegistryConfig.@Nullable Tls tls() {
        String certificate = t.optionalString("http.tls.certificate");
        String key = t.optionalString("http.tls.key");
        JsonNode letsencrypt = t.at("http.tls.letsencrypt");
        if (letsencrypt != null && !letsencrypt.isNull() && !(letsencrypt.isObject() && letsencrypt.isEmpty())) {
            throw new ConfigException("http.tls.letsencrypt: not supported; give http.tls.certificate and key (e.g. from cert-manager)");
        }
        if (certificate == null && key == null) {
            return null;
        }
        if (certificate == null || key == null) {
            throw new ConfigException("http.tls: certificate and key must both be set");
        }
        String minimum = t.string("http.tls.minimumtls", "tls1.2").toLowerCase(Locale.ROOT);
        if (!minimum.equals("tls1.2") && !minimum.equals("tls1.3")) {
            throw new ConfigException("http.tls.minimumtls: Berth accepts tls1.2 or tls1.3, not " + minimum);
        }
        return new RegistryConfig.Tls(Path.of(certificate), Path.of(key), t.stringList("http.tls.clientcas").stream().map(Path::of).toList(),
                minimum, t.stringList("http.tls.ciphersuites"));
    }

    /** {@code log.formatter} (text, json or logstash, as registry:2) and {@code log.fields} (a map of static fields). */
    private RegistryConfig.LogOutputConfig logOutput() {
        String name = t.optionalString("log.formatter");
        LogOutput.Formatter formatter = name == null || name.isBlank() ? null : LogOutput.Formatter.of(name);
        if (name != null && !name.isBlank() && formatter == null) {
            throw new ConfigException("log.formatter: expected text, json or logstash, not " + name);
        }
        JsonNode f = t.at("log.fields");
        t.accept("log.fields");
        Map<String, String> fields = new LinkedHashMap<>();
        if (f != null && !f.isNull()) {
            if (!f.isObject()) {
                throw new ConfigException("log.fields: expected a map of field name to value");
            }
            f.properties().forEach(e -> fields.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString()));
        }
        return new RegistryConfig.LogOutputConfig(formatter, fields);
    }

    private Map<String, List<String>> headers() {
        JsonNode h = t.at("http.headers");
        t.accept("http.headers");
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
}
