package io.berth.server.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * One registry:2 notification event, as distribution's {@code notifications.Event} marshals it: {@code id},
 * {@code timestamp}, {@code action}, {@code target}, {@code request}, {@code actor} and {@code source}, with the
 * target's fields in registry:2's order and the empty ones left out.
 */
public final class Event {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);

    /** What every event of one request shares: registry:2's {@code request} record. */
    public record Request(String id, String addr, String host, String method, String userAgent) {}

    /** registry:2's {@code source}: this registry's {@code hostname:port} and the id of this process's run. */
    public record Source(String addr, String instanceId) {
        public static Source of(int port) {
            String host;
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException e) {
                host = "localhost";
            }
            return new Source(host + ":" + port, UUID.randomUUID().toString());
        }
    }

    private final String action;
    private final ObjectNode target = JSON.createObjectNode();
    private final ObjectNode json = JSON.createObjectNode();

    private Event(String action, Instant at) {
        this.action = action;
        json.put("id", UUID.randomUUID().toString());
        json.put("timestamp", timestamp(at));
        json.put("action", action);
        json.set("target", target);
    }

    /** An event of {@code action} ({@code push}, {@code pull}, {@code delete} or {@code mount}) at {@code at}. */
    public static Event of(String action, Instant at) {
        return new Event(action, at);
    }

    /** A blob's or a manifest's descriptor: {@code mediaType}, {@code size}, {@code digest}, then {@code length}. */
    public Event descriptor(String mediaType, long size, String digest) {
        target.put("mediaType", mediaType);
        target.put("size", size);
        target.put("digest", digest);
        target.put("length", size);
        return this;
    }

    /** Only the digest, as a delete names it. */
    public Event digest(String digest) {
        target.put("digest", digest);
        return this;
    }

    public Event repository(String repository) {
        target.put("repository", repository);
        return this;
    }

    /** The repository a blob was mounted from. */
    public Event fromRepository(String repository) {
        target.put("fromRepository", repository);
        return this;
    }

    public Event url(String url) {
        target.put("url", url);
        return this;
    }

    public Event tag(@Nullable String tag) {
        if (tag != null) {
            target.put("tag", tag);
        }
        return this;
    }

    /**
     * {@code notifications.events.includereferences}: the descriptors a manifest refers to, read from its JSON (an
     * image manifest's config and layers, an index's manifests), each with its {@code mediaType}, {@code size},
     * {@code digest} and, where the manifest gives them, {@code urls}, {@code annotations} and {@code platform}.
     */
    public Event references(byte[] manifest) {
        JsonNode m;
        try {
            m = JSON.readTree(manifest);
        } catch (java.io.IOException e) {
            return this; // the manifest was validated when it was pushed; nothing to list otherwise
        }
        ArrayNode refs = JSON.createArrayNode();
        if (m.path("config").isObject()) {
            refs.add(reference(m.path("config")));
        }
        for (String list : new String[] {"layers", "manifests"}) {
            for (JsonNode d : m.path(list)) {
                refs.add(reference(d));
            }
        }
        if (!refs.isEmpty()) {
            target.set("references", refs);
        }
        return this;
    }

    private static ObjectNode reference(JsonNode d) {
        ObjectNode r = JSON.createObjectNode();
        r.set("mediaType", d.path("mediaType"));
        r.set("size", d.path("size"));
        r.set("digest", d.path("digest"));
        for (String optional : new String[] {"urls", "annotations", "platform"}) {
            if (d.has(optional)) {
                r.set(optional, d.get(optional));
            }
        }
        return r;
    }

    /** Fills {@code request}, {@code actor} (the account's name, or nothing for anonymous) and {@code source}. */
    public Event from(Request request, @Nullable String actor, Source source) {
        ObjectNode r = json.putObject("request");
        r.put("id", request.id());
        r.put("addr", request.addr());
        r.put("host", request.host());
        r.put("method", request.method());
        r.put("useragent", request.userAgent());
        ObjectNode a = json.putObject("actor");
        if (actor != null && !actor.isEmpty()) {
            a.put("name", actor);
        }
        ObjectNode s = json.putObject("source");
        s.put("addr", source.addr());
        s.put("instanceID", source.instanceId());
        return this;
    }

    String action() {
        return action;
    }

    @Nullable String mediaType() {
        JsonNode t = target.get("mediaType");
        return t == null ? null : t.asText();
    }

    byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Go's RFC 3339 with nanoseconds, trailing zeros of the fraction left out, as registry:2 writes timestamps. */
    static String timestamp(Instant at) {
        StringBuilder sb = new StringBuilder(SECONDS.format(at));
        int nanos = at.getNano();
        if (nanos != 0) {
            String fraction = String.format("%09d", nanos);
            int end = fraction.length();
            while (fraction.charAt(end - 1) == '0') {
                end--;
            }
            sb.append('.').append(fraction, 0, end);
        }
        return sb.append('Z').toString();
    }
}
