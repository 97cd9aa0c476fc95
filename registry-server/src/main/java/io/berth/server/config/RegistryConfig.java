package io.berth.server.config;

import io.berth.storage.s3.S3Settings;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Berth's settings, as read from a registry:2 {@code config.yml} (see {@link ConfigLoader}).
 *
 * @param logLevel root log level: error, warn, info or debug
 * @param accessLog whether each request is logged
 * @param logOutput {@code log.formatter} and {@code log.fields}
 * @param storage the storage section
 * @param http the http section
 * @param health the storage health check
 * @param catalogMaxEntries the most repositories one catalog page returns
 * @param manifestMaxBytes the largest manifest accepted (Berth's own {@code berth.manifestmaxbytes})
 * @param security authentication, access rules and the tag policy
 * @param trust the signatures images need ({@code berth.trust}) and the admission webhook ({@code berth.admission})
 * @param limits what one client, and all clients together, may hold (Berth's own {@code berth.limits}, {@code berth.uploads}
 *     and {@code berth.trustedProxies})
 * @param gc online garbage collection ({@code berth.gc})
 * @param notifications registry:2's {@code notifications}: where push, pull, delete and mount events are sent
 * @param proxies pull-through caches: registry:2's {@code proxy} (prefix "": the whole registry is a read-only cache
 *     of that registry), or Berth's own {@code berth.proxies}, each for the repositories under its prefix
 * @param warnings one line for each configuration key Berth ignores
 */
public record RegistryConfig(
        String logLevel,
        boolean accessLog,
        LogOutputConfig logOutput,
        Storage storage,
        Http http,
        Health health,
        int catalogMaxEntries,
        long manifestMaxBytes,
        SecurityConfig security,
        Trust trust,
        Limits limits,
        Gc gc,
        Notifications notifications,
        List<Proxy> proxies,
        List<String> warnings) {

    /** The default largest manifest: 4 MiB, as distribution v3. */
    public static final long DEFAULT_MANIFEST_MAX_BYTES = 4L << 20;

    /**
     * @param formatter {@code log.formatter}: text, json or logstash as registry:2; null for Berth's own console lines
     * @param fields {@code log.fields}: static fields every line carries
     */
    public record LogOutputConfig(io.berth.server.logging.LogOutput.@Nullable Formatter formatter, Map<String, String> fields) {
        public LogOutputConfig {
            fields = Map.copyOf(fields);
        }
    }

    /**
     * @param rootDirectory {@code storage.filesystem.rootdirectory}; unused when {@code s3} is set
     * @param deleteEnabled {@code storage.delete.enabled}
     * @param readOnly {@code storage.maintenance.readonly.enabled}
     * @param purging {@code storage.maintenance.uploadpurging}
     * @param s3 {@code storage.s3} (with {@code storage.redirect} and {@code berth.s3}): Berth stores in this bucket;
     *     null to store under {@code rootDirectory}
     */
    public record Storage(Path rootDirectory, boolean deleteEnabled, boolean readOnly, UploadPurging purging,
            @Nullable S3Settings s3) {}

    /**
     * @param enabled whether stale uploads are purged
     * @param age how old an upload must be to be purged
     * @param interval how often to look
     * @param dryRun log instead of deleting
     */
    public record UploadPurging(boolean enabled, Duration age, Duration interval, boolean dryRun) {}

    /**
     * @param addr where to listen
     * @param host {@code http.host}: the external base URL for Location headers, or null to use the request's Host
     * @param prefix {@code http.prefix}, always starting and ending with a slash
     * @param relativeUrls {@code http.relativeurls}
     * @param headers {@code http.headers}, added to every response
     * @param debugAddr {@code http.debug.addr}, or null for no debug server
     * @param prometheusPath {@code http.debug.prometheus.path}, or null when disabled
     * @param tls {@code http.tls}, or null for plain HTTP
     */
    public record Http(
            InetSocketAddress addr,
            @Nullable String host,
            String prefix,
            boolean relativeUrls,
            Map<String, List<String>> headers,
            @Nullable InetSocketAddress debugAddr,
            @Nullable String prometheusPath,
            @Nullable Tls tls) {}

    /**
     * {@code http.tls}, as registry:2 configures it.
     *
     * @param certificate the PEM certificate chain
     * @param key the PEM private key (PKCS#8, PKCS#1 or SEC1)
     * @param clientCas PEM CA bundles; when present, clients must present a certificate they sign (mutual TLS)
     * @param minimumTls {@code tls1.2} or {@code tls1.3}
     * @param cipherSuites IANA cipher suite names, or empty for the provider's defaults
     */
    public record Tls(Path certificate, Path key, List<Path> clientCas, String minimumTls, List<String> cipherSuites) {}

    /**
     * Signed images ({@code berth.trust}) and the admission webhook ({@code berth.admission}).
     *
     * @param rules the trust rules, in order; the first whose repositories match applies, and a repository no rule
     *     matches needs no signature
     * @param admission the webhook's listener, or null for none
     */
    public record Trust(List<TrustRule> rules, @Nullable Admission admission) {
        public static final Trust NONE = new Trust(List.of(), null);

        public Trust {
            rules = List.copyOf(rules);
        }
    }

    /**
     * One {@code berth.trust} rule.
     *
     * @param repositories repository globs ({@code *} within a segment, {@code **} across)
     * @param keys PEM public key files (cosign's ECDSA P-256/P-384, Ed25519, RSA); a signature by any of them counts
     * @param attestations in-toto predicate types that also need a valid attestation by one of the keys
     */
    public record TrustRule(List<String> repositories, List<Path> keys, List<String> attestations) {
        public TrustRule {
            repositories = List.copyOf(repositories);
            keys = List.copyOf(keys);
            attestations = List.copyOf(attestations);
        }
    }

    /**
     * {@code berth.admission}: the AdmissionReview webhook's own TLS listener.
     *
     * @param addr where it listens
     * @param tls its certificate and key
     * @param hosts the registry host names images use ({@code registry.mycorp.local}, with the port if not 443)
     * @param registry for the standalone webhook ({@code berth admission}): the registry that holds the images, or null
     *     when Berth itself does
     */
    public record Admission(InetSocketAddress addr, Tls tls, List<String> hosts, @Nullable RemoteRegistry registry) {
        public Admission {
            hosts = List.copyOf(hosts);
        }
    }

    /**
     * {@code berth.admission.registry}: another registry the standalone webhook reads images and signatures from.
     *
     * @param url its base URL, e.g. {@code https://harbor.mycorp.local}
     * @param username a pull account, or null for anonymous pulls
     * @param passwordFile the file holding its password (a mounted Secret), or null
     * @param ca a PEM CA bundle to trust for it, or null for the JDK's
     * @param cacheTtl how long a verdict is kept: a deleted or new signature is seen within it
     */
    public record RemoteRegistry(java.net.URI url, @Nullable String username, @Nullable Path passwordFile, @Nullable Path ca,
            Duration cacheTtl) {}

    /**
     * Bounds on what clients may hold, so that no client, with or without credentials, can exhaust the heap, the
     * file descriptors or the connection slots. Each has a safe default, set in {@link ConfigLoader}.
     *
     * @param trustedProxies {@code berth.trustedProxies}: CIDRs (or single addresses) of proxies whose
     *     {@code X-Forwarded-For}, {@code X-Real-IP} and PROXY protocol headers name the real client
     * @param maxConnections {@code berth.limits.maxConnections}: open connections in all
     * @param maxConnectionsPerClient {@code berth.limits.maxConnectionsPerClient}: open connections from one client address
     * @param headerTimeout {@code berth.limits.headerTimeout}: how long a request head may take to arrive once begun
     * @param writeTimeout {@code berth.limits.writeTimeout}: how long a response may make no progress before the
     *     connection is dropped (a client that never reads)
     * @param bufferedBodyBytes {@code berth.limits.bufferedBodyBytes}: request bodies held in memory at once, over all
     *     connections (manifests and token forms); past it, 429
     * @param inFlightBytes {@code berth.limits.inFlightBytes}: request bytes read from sockets and not yet handled, over
     *     all connections; past it, connections with more than a few request heads waiting stop reading until there is room
     * @param requestThreads {@code berth.limits.requestThreads}: threads that handle requests (each connection's in order),
     *     started on demand; requests blocked on the disk at once past this many delay others
     * @param openBlobFiles {@code berth.limits.openBlobFiles}: blob files open for downloads at once; past it, 429
     * @param uploadsMaxOpen {@code berth.uploads.maxOpen}: unfinished uploads per repository, and per account
     * @param uploadsIdleTimeout {@code berth.uploads.idleTimeout}: an upload untouched this long is deleted
     * @param maxBlobBytes {@code berth.maxBlobBytes}: the largest blob an upload may reach; past it, 413 before the
     *     bytes are written ({@link Long#MAX_VALUE}, the default, for no limit, as registry:2)
     * @param minFreeBytes {@code berth.storage.minFreeBytes}: below this much free space on the volume, uploads are
     *     refused (507) while reads and deletes go on; 0 turns it off
     */
    public record Limits(
            List<String> trustedProxies,
            int maxConnections,
            int maxConnectionsPerClient,
            Duration headerTimeout,
            Duration writeTimeout,
            long bufferedBodyBytes,
            long inFlightBytes,
            int requestThreads,
            int openBlobFiles,
            int uploadsMaxOpen,
            Duration uploadsIdleTimeout,
            long maxBlobBytes,
            long minFreeBytes) {

        public Limits {
            trustedProxies = List.copyOf(trustedProxies);
        }
    }

    /**
     * @param enabled {@code health.storagedriver.enabled}
     * @param interval how often storage is checked
     * @param threshold how many failures in a row make the registry unhealthy
     */
    public record Health(boolean enabled, Duration interval, int threshold) {}

    /**
     * Online garbage collection, while the registry serves ({@code berth.gc}).
     *
     * @param enabled {@code berth.gc.enabled}: whether this Berth collects garbage on its own
     * @param interval {@code berth.gc.interval}: the time from the end of one collection to the start of the next
     * @param gracePeriod {@code berth.gc.gracePeriod}: blobs uploaded, mounted or linked this recently are kept (their
     *     manifest may still be coming), as are untagged manifests pushed this recently
     */
    public record Gc(boolean enabled, Duration interval, Duration gracePeriod) {}

    /**
     * registry:2's {@code notifications} section.
     *
     * @param includeReferences {@code notifications.events.includereferences}: whether a manifest event lists the
     *     descriptors the manifest refers to ({@code target.references})
     * @param endpoints {@code notifications.endpoints}, in the order given
     * @param spoolMaxBytes Berth's own {@code berth.notifications.spoolMaxBytes}: how much each endpoint's spool on
     *     disk may hold before the oldest events are dropped (default 64 MiB)
     */
    public record Notifications(boolean includeReferences, List<Endpoint> endpoints, long spoolMaxBytes) {
        public static final long DEFAULT_SPOOL_MAX_BYTES = 64L << 20;
        public static final Notifications NONE = new Notifications(false, List.of(), DEFAULT_SPOOL_MAX_BYTES);
    }

    /**
     * One {@code notifications.endpoints} entry; defaults as registry:2's.
     *
     * @param name {@code name}: names the endpoint in logs and metrics, and its spool directory
     * @param url {@code url}: where events are POSTed
     * @param headers {@code headers}: added to each POST
     * @param timeout {@code timeout}: how long one POST may take (default 1s)
     * @param threshold {@code threshold}: failures in a row before the endpoint is reported failing (default 10)
     * @param backoff {@code backoff}: the wait after a failed POST before it is retried (default 1s)
     * @param ignoredMediaTypes {@code ignoredmediatypes}: events whose target has one of these media types are not sent
     * @param ignoreMediaTypes {@code ignore.mediatypes}: the same, registry:2's newer spelling
     * @param ignoreActions {@code ignore.actions}: events with one of these actions are not sent
     * @param disabled {@code disabled}: the endpoint is configured but sent nothing
     */
    public record Endpoint(
            String name,
            java.net.URI url,
            Map<String, List<String>> headers,
            Duration timeout,
            int threshold,
            Duration backoff,
            List<String> ignoredMediaTypes,
            List<String> ignoreMediaTypes,
            List<String> ignoreActions,
            boolean disabled) {}

    /**
     * A pull-through cache of {@code remoteUrl}: registry:2's {@code proxy} section, or one of {@code berth.proxies}.
     *
     * @param prefix the repositories it serves: "" for all of them (registry:2's {@code proxy}), else those under
     *     {@code prefix/}, whose name upstream is the rest ({@code dockerhub/library/nginx} is the upstream's
     *     {@code library/nginx})
     * @param remoteUrl {@code proxy.remoteurl}: the upstream registry
     * @param username {@code proxy.username}, for the upstream's Basic auth or its token server
     * @param password {@code proxy.password}
     * @param ttl {@code proxy.ttl}: how long a tag's digest, once fetched, is served without asking the upstream again
     *     (default 0: asked on every pull, as registry:2 2.8 does; the cache answers when the upstream is down).
     *     Content named by digest never expires.
     * @param stallTimeout Berth's own {@code berth.proxy.stallTimeout}: a blob fetch that receives nothing this long is
     *     given up (default 60s)
     */
    public record Proxy(String prefix, java.net.URI remoteUrl, @Nullable String username, @Nullable String password, Duration ttl, Duration stallTimeout) {
        @Override
        public String toString() {
            return "Proxy[" + prefix + " -> " + remoteUrl + ", user " + username + "]"; // never the password
        }
    }

    public RegistryConfig withAddr(InetSocketAddress addr) {
        return new RegistryConfig(logLevel, accessLog, logOutput, storage,
                new Http(addr, http.host(), http.prefix(), http.relativeUrls(), http.headers(), http.debugAddr(), http.prometheusPath(), http.tls()),
                health, catalogMaxEntries, manifestMaxBytes, security, trust, limits, gc, notifications, proxies, warnings);
    }

    public RegistryConfig withLimits(Limits newLimits) {
        return new RegistryConfig(logLevel, accessLog, logOutput, storage, http, health, catalogMaxEntries, manifestMaxBytes, security, trust, newLimits, gc,
                notifications, proxies, warnings);
    }

    public RegistryConfig withRootDirectory(Path rootDirectory) {
        return new RegistryConfig(logLevel, accessLog, logOutput,
                new Storage(rootDirectory, storage.deleteEnabled(), storage.readOnly(), storage.purging(), storage.s3()),
                http, health, catalogMaxEntries, manifestMaxBytes, security, trust, limits, gc, notifications, proxies, warnings);
    }
}
