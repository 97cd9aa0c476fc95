package io.berth.server.events;

import io.berth.server.config.RegistryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's {@code notifications}: each event goes to every endpoint that does not ignore its action or its
 * target's media type, through that endpoint's own spool and thread ({@link EndpointDelivery}). Publishing serializes
 * the event once and queues it; it never waits for the disk or the network.
 */
public final class Notifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Notifier.class);
    /** No endpoints: nothing is built or sent. */
    public static final Notifier NONE = new Notifier(false, List.of(), null);

    private record Target(EndpointDelivery delivery, Set<String> ignoredMediaTypes, Set<String> ignoredActions) {}

    private final boolean includeReferences;
    private final List<Target> targets;
    private final @Nullable HttpClient client;

    private Notifier(boolean includeReferences, List<Target> targets, @Nullable HttpClient client) {
        this.includeReferences = includeReferences;
        this.targets = targets;
        this.client = client;
    }

    /**
     * Starts delivery to {@code config}'s endpoints that are not disabled, each spooling under
     * {@code spoolRoot/endpoint-<name>}, where events left by an earlier run are delivered first.
     */
    public static Notifier start(RegistryConfig.Notifications config, Path spoolRoot, long spoolMaxBytes, MeterRegistry meters) {
        List<RegistryConfig.Endpoint> enabled = config.endpoints().stream().filter(e -> !e.disabled()).toList();
        if (enabled.isEmpty()) {
            return NONE;
        }
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(enabled.stream().map(RegistryConfig.Endpoint::timeout).max(Duration::compareTo).orElseThrow())
                .build();
        List<Target> targets = new ArrayList<>();
        try {
            for (RegistryConfig.Endpoint e : enabled) {
                Path dir = spoolRoot.resolve("endpoint-" + URLEncoder.encode(e.name(), StandardCharsets.UTF_8));
                Set<String> mediaTypes = new HashSet<>(e.ignoredMediaTypes());
                mediaTypes.addAll(e.ignoreMediaTypes());
                targets.add(new Target(new EndpointDelivery(e, dir, spoolMaxBytes, client, meters, System::nanoTime),
                        Set.copyOf(mediaTypes), Set.copyOf(e.ignoreActions())));
                log.info("notifications: sending events to {} ({})", e.name(), e.url());
            }
        } catch (IOException ex) {
            new Notifier(false, targets, client).close();
            throw new UncheckedIOException("cannot open the notification spools under " + spoolRoot, ex);
        }
        return new Notifier(config.includeReferences(), List.copyOf(targets), client);
    }

    /** Whether any endpoint takes events: when not, callers skip building them. */
    public boolean enabled() {
        return !targets.isEmpty();
    }

    /** {@code notifications.events.includereferences}. */
    public boolean includeReferences() {
        return includeReferences;
    }

    /** Queues {@code event} for every endpoint that takes it. */
    public void publish(Event event) {
        byte[] json = null;
        String mediaType = event.mediaType();
        for (Target t : targets) {
            if (t.ignoredActions().contains(event.action()) || (mediaType != null && t.ignoredMediaTypes().contains(mediaType))) {
                continue;
            }
            if (json == null) {
                json = event.toJson();
            }
            t.delivery().offer(json);
        }
    }

    /** Stops every endpoint's thread; events not yet delivered stay in the spools for the next start. */
    @Override
    public void close() {
        for (Target t : targets) {
            try {
                t.delivery().close();
            } catch (IOException e) {
                log.warn("notifications: could not close a spool: {}", e.toString());
            }
        }
        if (client != null) {
            client.close();
        }
    }
}
