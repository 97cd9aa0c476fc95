package io.berth.server.http;

import io.berth.auth.TagPolicy;
import io.berth.server.config.RegistryConfig;
import io.berth.server.events.Event;
import io.berth.server.events.Notifier;
import io.berth.server.proxy.PullThroughCache;
import io.berth.storage.RegistryStorage;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.time.Clock;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** What every endpoint shares: the storage, the settings, the meters and the security decisions. */
final class RegistryContext {
    private final RegistryStorage storage;
    private final RegistryConfig config;
    private final ServerMetrics metrics;
    private final AccessControl access;
    private final TagPolicy tagPolicy;
    private final @Nullable TokenEndpoint tokenEndpoint;
    private final ClientAddresses clients;
    private final BufferedBody.Budget bodyBudget;
    private final java.util.concurrent.Semaphore openBlobs;
    private final io.berth.server.admission.LocalVerdicts verdicts;
    private final Notifier notifier;
    private final List<PullThroughCache> proxies;
    private final Clock clock;
    private volatile Event.Source source;

    RegistryContext(RegistryStorage storage, RegistryConfig config, ServerMetrics metrics, Clock clock) {
        this(storage, config, metrics, clock, Notifier.NONE);
    }

    RegistryContext(RegistryStorage storage, RegistryConfig config, ServerMetrics metrics, Clock clock, Notifier notifier) {
        this(storage, config, metrics, clock, notifier, List.of());
    }

    RegistryContext(RegistryStorage storage, RegistryConfig config, ServerMetrics metrics, Clock clock, Notifier notifier,
            List<PullThroughCache> proxies) {
        this.proxies = proxies;
        this.notifier = notifier;
        this.clock = clock;
        this.source = Event.Source.of(config.http().addr().getPort());
        this.storage = storage;
        this.config = config;
        this.metrics = metrics;
        this.access = SecurityWiring.accessControl(config.security(), clock);
        this.tagPolicy = SecurityWiring.tagPolicy(config.security());
        this.tokenEndpoint = SecurityWiring.tokenEndpoint(config.security(), clock);
        this.clients = new ClientAddresses(config.limits().trustedProxies());
        this.bodyBudget = new BufferedBody.Budget(config.limits().bufferedBodyBytes());
        this.openBlobs = new java.util.concurrent.Semaphore(config.limits().openBlobFiles());
        this.verdicts = new io.berth.server.admission.LocalVerdicts(storage, SecurityWiring.trust(config.trust()));
    }

    /** The port the registry listens on, once bound: events name it in {@code source.addr}, as registry:2 does. */
    void bound(int port) {
        source = new Event.Source(source.addr().substring(0, source.addr().lastIndexOf(':') + 1) + port, source.instanceId());
    }

    /** The pull-through cache that serves {@code repository} ({@code proxy.remoteurl} or {@code berth.proxies}), if any. */
    @Nullable PullThroughCache proxyFor(io.berth.storage.RepositoryName repository) {
        for (PullThroughCache p : proxies) {
            if (p.covers(repository)) {
                return p;
            }
        }
        return null;
    }

    /** Runs a pull-through cache step; an upstream that cannot answer (and no cached copy) is 503 UNAVAILABLE. */
    static <T> T fromUpstream(java.util.function.Supplier<T> step) {
        try {
            return step.get();
        } catch (PullThroughCache.UnavailableException e) {
            throw new HttpError(ErrorCode.UNAVAILABLE, String.valueOf(e.getMessage()));
        }
    }

    /** Whether events are sent at all; when not, endpoints build none. */
    boolean notifying() {
        return notifier.enabled();
    }

    /** {@code notifications.events.includereferences}. */
    boolean eventReferences() {
        return notifier.includeReferences();
    }

    /** A new event of {@code action}, now. */
    Event event(String action) {
        return Event.of(action, clock.instant());
    }

    /**
     * Sends {@code event} on behalf of {@code ex}: registry:2's request record (the log's request id, the client's
     * {@code host:port}, the Host header, the method and the User-Agent), the account as the actor, and this registry
     * as the source.
     */
    void publish(Exchange ex, Event event) {
        String addr = ex.client();
        if (ex.ctx().channel().remoteAddress() instanceof java.net.InetSocketAddress peer && peer.getAddress() != null
                && peer.getAddress().getHostAddress().equals(addr)) {
            addr = addr.indexOf(':') >= 0 ? "[" + addr + "]:" + peer.getPort() : addr + ":" + peer.getPort();
        }
        // The request's id in the log (and its X-Request-Id): an event and the request's log lines carry the same one.
        String id = org.slf4j.MDC.get(io.berth.server.logging.Fields.REQUEST_ID);
        Event.Request request = new Event.Request(id == null ? java.util.UUID.randomUUID().toString() : id, addr,
                java.util.Objects.toString(ex.header(HttpHeaderNames.HOST), ""), ex.method().name(), java.util.Objects.toString(ex.header(HttpHeaderNames.USER_AGENT), ""));
        notifier.publish(event.from(request, ex.principal().anonymous() ? null : ex.principal().name(), source));
    }

    /** Whether images of this registry may run: what the admission webhook asks. */
    io.berth.server.admission.LocalVerdicts verdicts() {
        return verdicts;
    }

    /** Who clients are, behind the trusted proxies. */
    ClientAddresses clients() {
        return clients;
    }

    /** The heap that request bodies held in memory may use, over all connections. */
    BufferedBody.Budget bodyBudget() {
        return bodyBudget;
    }

    /** Permits for blob files open for downloads ({@code berth.limits.openBlobFiles}). */
    java.util.concurrent.Semaphore openBlobs() {
        return openBlobs;
    }

    RegistryStorage storage() {
        return storage;
    }

    RegistryConfig config() {
        return config;
    }

    ServerMetrics metrics() {
        return metrics;
    }

    AccessControl access() {
        return access;
    }

    TagPolicy tagPolicy() {
        return tagPolicy;
    }

    /** The built-in token server, when {@code berth.tokenIssuer} is configured. */
    @Nullable TokenEndpoint tokenEndpoint() {
        return tokenEndpoint;
    }

    /** Refuses writes in read-only mode ({@code storage.maintenance.readonly}), as registry:2 does. */
    void requireWritable(Exchange ex) {
        if (ex.route().repository() != null && proxyFor(ex.route().repository()) != null) {
            throw new HttpError(ErrorCode.UNSUPPORTED, "this registry is a pull-through cache (proxy.remoteurl): it takes no pushes");
        }
        if (config.storage().readOnly()) {
            throw new HttpError(ErrorCode.UNSUPPORTED, "the registry is in read-only mode");
        }
    }

    /** Refuses deletes of blobs and manifests unless {@code storage.delete.enabled}, as registry:2 does. */
    void requireDeletable(Exchange ex) {
        requireWritable(ex);
        if (!config.storage().deleteEnabled()) {
            throw new HttpError(ErrorCode.UNSUPPORTED, "deletes are disabled (storage.delete.enabled)");
        }
    }

    /** An absolute URL for {@code path} (which starts with {@code /v2/}), as registry:2 builds Location headers. */
    String url(Exchange ex, String path) {
        return config.http().relativeUrls() ? config.http().prefix() + path.substring(1) : absoluteUrl(ex, path);
    }

    /** Like {@link #url}, absolute even with {@code http.relativeurls}: events' target URLs, as registry:2 writes them. */
    String absoluteUrl(Exchange ex, String path) {
        String prefixed = config.http().prefix() + path.substring(1);
        String base = config.http().host();
        if (base == null) {
            String host = ex.header(HttpHeaderNames.HOST);
            if (host == null) {
                return prefixed;
            }
            String proto = ex.header("X-Forwarded-Proto");
            String scheme = config.http().tls() != null ? "https" : "http";
            String forwarded = proto == null ? "" : proto.split(",")[0].strip().toLowerCase(java.util.Locale.ROOT);
            base = (forwarded.equals("http") || forwarded.equals("https") ? forwarded : scheme) + "://" + host;
        }
        return base + prefixed;
    }
}
