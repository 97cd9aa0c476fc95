package io.berth.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.MediaTypes;
import io.berth.storage.RepositoryName;
import io.berth.storage.Tag;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The route table: for each route and method, the endpoint that serves it and the access it needs. Dispatch
 * ({@link #open}), access control ({@link AccessControl}) and this javadoc all read {@link #ROUTES}; a test holds the
 * javadoc's rows to it. Each request gets a {@link BodySink} from here as soon as its head arrives.
 *
 * <table>
 * <caption>Routes</caption>
 * <tr><th>route</th><th>method</th><th>access</th><th>success</th><th>spec</th></tr>
 * <tr><td>/</td><td>GET, HEAD</td><td>public</td><td>200</td><td>(registry:2's liveness probe)</td></tr>
 * <tr><td>/v2/</td><td>GET, HEAD</td><td>authenticated</td><td>200</td><td>end-1</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</td><td>GET, HEAD</td><td>pull</td><td>200, 206</td><td>end-2</td></tr>
 * <tr><td>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</td><td>GET, HEAD</td><td>pull</td><td>200</td><td>end-3</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/</td><td>POST</td><td>push (and pull on a mount's source)</td><td>202; 201 with digest or a mount</td><td>end-4a, end-4b, end-11</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>PATCH</td><td>push</td><td>202; 416 out of order</td><td>end-5</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>PUT</td><td>push</td><td>201</td><td>end-6</td></tr>
 * <tr><td>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</td><td>PUT</td><td>push</td><td>201</td><td>end-7</td></tr>
 * <tr><td>/v2/&lt;name&gt;/tags/list</td><td>GET</td><td>pull</td><td>200</td><td>end-8a, end-8b</td></tr>
 * <tr><td>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</td><td>DELETE</td><td>delete</td><td>202</td><td>end-9</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</td><td>DELETE</td><td>delete</td><td>202</td><td>end-10</td></tr>
 * <tr><td>/v2/&lt;name&gt;/referrers/&lt;digest&gt;</td><td>GET</td><td>pull</td><td>200</td><td>end-12a, end-12b</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>GET</td><td>push</td><td>204</td><td>end-13</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>DELETE</td><td>push</td><td>204</td><td>(cancel)</td></tr>
 * <tr><td>/v2/_catalog</td><td>GET</td><td>catalog</td><td>200, filtered by the access rules</td><td>(registry:2)</td></tr>
 * <tr><td>the path of {@code auth.token.realm}</td><td>GET, POST</td><td>public</td><td>200 with a token</td><td>(Docker token protocol, and its OAuth2 form)</td></tr>
 * </table>
 * Anything else is 404 NOT_FOUND; a known route with another method is 405 UNSUPPORTED.
 */
final class Endpoints {
    /** What a route needs from the caller, in registry:2's terms. */
    enum Access {
        /** Anyone, even where authentication is configured. */
        PUBLIC,
        /** Credentials, unless the access rules let anonymous do something: the {@code /v2/} ping. */
        AUTHENTICATED,
        /** {@code registry:catalog:*}. */
        CATALOG,
        /** {@code pull} on the route's repository. */
        PULL,
        /** {@code pull} and {@code push} on the route's repository. */
        PUSH,
        /** {@code delete} on the route's repository. */
        DELETE
    }

    /** Opens a request's body sink with the endpoints of one server. */
    @FunctionalInterface
    interface Handler {
        BodySink open(Endpoints endpoints, Exchange ex);
    }

    /** One row of the table. */
    record Entry(Route.Kind kind, HttpMethod method, Access access, Handler handler) {}

    static final List<Entry> ROUTES = List.of(
            new Entry(Route.Kind.ROOT, HttpMethod.GET, Access.PUBLIC, (e, ex) -> e.ok()),
            new Entry(Route.Kind.ROOT, HttpMethod.HEAD, Access.PUBLIC, (e, ex) -> e.ok()),
            new Entry(Route.Kind.BASE, HttpMethod.GET, Access.AUTHENTICATED, (e, ex) -> e.base()),
            new Entry(Route.Kind.BASE, HttpMethod.HEAD, Access.AUTHENTICATED, (e, ex) -> e.base()),
            new Entry(Route.Kind.BLOB, HttpMethod.GET, Access.PULL, (e, ex) -> BodySink.ignoring(() -> e.blobs.get(ex))),
            new Entry(Route.Kind.BLOB, HttpMethod.HEAD, Access.PULL, (e, ex) -> BodySink.ignoring(() -> e.blobs.get(ex))),
            new Entry(Route.Kind.MANIFEST, HttpMethod.GET, Access.PULL, (e, ex) -> BodySink.ignoring(() -> e.manifests.get(ex))),
            new Entry(Route.Kind.MANIFEST, HttpMethod.HEAD, Access.PULL, (e, ex) -> BodySink.ignoring(() -> e.manifests.get(ex))),
            new Entry(Route.Kind.UPLOADS, HttpMethod.POST, Access.PUSH, (e, ex) -> e.uploads.post(ex)),
            new Entry(Route.Kind.UPLOAD, HttpMethod.PATCH, Access.PUSH, (e, ex) -> e.uploads.patch(ex)),
            new Entry(Route.Kind.UPLOAD, HttpMethod.PUT, Access.PUSH, (e, ex) -> e.uploads.put(ex)),
            new Entry(Route.Kind.MANIFEST, HttpMethod.PUT, Access.PUSH, (e, ex) -> e.manifests.put(ex)),
            new Entry(Route.Kind.TAGS, HttpMethod.GET, Access.PULL, (e, ex) -> BodySink.ignoring(() -> e.tags(ex))),
            new Entry(Route.Kind.MANIFEST, HttpMethod.DELETE, Access.DELETE, (e, ex) -> BodySink.ignoring(() -> e.manifests.delete(ex))),
            new Entry(Route.Kind.BLOB, HttpMethod.DELETE, Access.DELETE, (e, ex) -> BodySink.ignoring(() -> e.blobs.delete(ex))),
            new Entry(Route.Kind.REFERRERS, HttpMethod.GET, Access.PULL, (e, ex) -> BodySink.ignoring(() -> e.referrers(ex))),
            new Entry(Route.Kind.UPLOAD, HttpMethod.GET, Access.PUSH, (e, ex) -> e.uploads.status(ex)),
            new Entry(Route.Kind.UPLOAD, HttpMethod.DELETE, Access.PUSH, (e, ex) -> e.uploads.cancel(ex)),
            new Entry(Route.Kind.CATALOG, HttpMethod.GET, Access.CATALOG, (e, ex) -> BodySink.ignoring(() -> e.catalog(ex))),
            new Entry(Route.Kind.TOKEN, HttpMethod.GET, Access.PUBLIC, (e, ex) -> BodySink.ignoring(() -> e.tokens().get(ex))),
            new Entry(Route.Kind.TOKEN, HttpMethod.POST, Access.PUBLIC, (e, ex) -> e.tokens().post(ex, e.registry.bodyBudget())));

    private static final Map<Route.Kind, Map<HttpMethod, Entry>> BY_ROUTE = index(ROUTES);

    private final RegistryContext registry;
    private final BlobEndpoints blobs;
    private final UploadEndpoints uploads;
    private final ManifestEndpoints manifests;

    Endpoints(RegistryContext registry) {
        this.registry = registry;
        this.blobs = new BlobEndpoints(registry);
        this.uploads = new UploadEndpoints(registry);
        this.manifests = new ManifestEndpoints(registry);
    }

    private static Map<Route.Kind, Map<HttpMethod, Entry>> index(List<Entry> routes) {
        Map<Route.Kind, Map<HttpMethod, Entry>> byRoute = new EnumMap<>(Route.Kind.class);
        for (Entry e : routes) {
            if (byRoute.computeIfAbsent(e.kind(), k -> new HashMap<>()).put(e.method(), e) != null) {
                throw new IllegalStateException("two routes for " + e.method() + " " + e.kind());
            }
        }
        return byRoute;
    }

    /** The table's entry for {@code method} on {@code kind}, or null when there is none (404 or 405). */
    static @Nullable Entry find(Route.Kind kind, HttpMethod method) {
        Map<HttpMethod, Entry> methods = BY_ROUTE.get(kind);
        return methods == null ? null : methods.get(method);
    }

    RegistryContext registry() {
        return registry;
    }

    BodySink open(Exchange ex) {
        Entry entry = find(ex.route().kind(), ex.method());
        if (entry != null) {
            return entry.handler().open(this, ex);
        }
        if (!BY_ROUTE.containsKey(ex.route().kind())) {
            throw new HttpError(ErrorCode.NOT_FOUND, "no such endpoint: " + RegistryHandler.quote(ex.request().uri(), 200));
        }
        throw new HttpError(ErrorCode.UNSUPPORTED, RegistryHandler.quote(ex.method().name(), 16) + " is not supported on this endpoint");
    }

    private BodySink ok() {
        return BodySink.ignoring(() -> Reply.of(Responses.empty(HttpResponseStatus.OK)));
    }

    private BodySink base() {
        return BodySink.ignoring(() -> Reply.of(Responses.json(HttpResponseStatus.OK, Responses.JSON.createObjectNode())));
    }

    private TokenEndpoint tokens() {
        TokenEndpoint tokens = registry.tokenEndpoint();
        if (tokens == null) {
            throw new HttpError(ErrorCode.NOT_FOUND, "no token server here");
        }
        return tokens;
    }

    private Reply catalog(Exchange ex) {
        int max = registry.config().catalogMaxEntries();
        int n = Pagination.limit(ex, max, max);
        List<String> names = registry.storage().catalog(Pagination.last(ex), n + 1, repo -> registry.access().mayList(ex.principal(), repo))
                .stream().map(RepositoryName::value).toList();
        return listing(ex, "/v2/_catalog", n, names, body -> body.putArray("repositories"));
    }

    private Reply tags(Exchange ex) {
        RepositoryName name = ex.route().repository();
        int n = Pagination.limit(ex, Integer.MAX_VALUE, Integer.MAX_VALUE - 1);
        var proxy = registry.proxyFor(name);
        List<String> upstream = proxy == null ? null : proxy.tags(name);
        List<String> tags;
        if (upstream != null) {
            String last = Pagination.last(ex);
            tags = upstream.stream().filter(t -> last == null || t.compareTo(last) > 0).limit(n + 1L).toList();
        } else {
            tags = registry.storage().tags(name, Pagination.last(ex), n + 1).stream().map(Tag::value).toList();
        }
        return listing(ex, "/v2/" + name + "/tags/list", n, tags, body -> {
            body.put("name", name.value());
            return body.putArray("tags");
        });
    }

    /** A page of at most {@code n} of {@code oneMore} (fetched with one extra to tell whether a next page exists). */
    private Reply listing(Exchange ex, String path, int n, List<String> oneMore, java.util.function.Function<ObjectNode, ArrayNode> array) {
        List<String> page = oneMore.subList(0, Math.min(n, oneMore.size()));
        ObjectNode body = Responses.JSON.createObjectNode();
        page.forEach(array.apply(body)::add);
        FullHttpResponse r = Responses.json(HttpResponseStatus.OK, body);
        if (n > 0 && oneMore.size() > n) {
            r.headers().set("Link", Pagination.next(registry.url(ex, path), n, page.get(n - 1)));
        }
        return Reply.of(r);
    }

    private Reply referrers(Exchange ex) {
        RepositoryName name = ex.route().repository();
        Digest subject = Digest.parse(ex.route().reference());
        String artifactType = ex.param("artifactType");
        List<Descriptor> found = registry.storage().referrers(name, subject, artifactType);
        ObjectNode body = Responses.JSON.createObjectNode();
        body.put("schemaVersion", 2);
        body.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode manifests = body.putArray("manifests");
        for (Descriptor d : found) {
            ObjectNode o = manifests.addObject();
            o.put("mediaType", d.mediaType());
            o.put("digest", d.digest().toString());
            o.put("size", d.size());
            if (d.artifactType() != null) {
                o.put("artifactType", d.artifactType());
            }
            if (!d.annotations().isEmpty()) {
                ObjectNode a = o.putObject("annotations");
                d.annotations().forEach(a::put);
            }
        }
        FullHttpResponse r = Responses.json(HttpResponseStatus.OK, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, MediaTypes.OCI_INDEX);
        if (artifactType != null) {
            r.headers().set("OCI-Filters-Applied", "artifactType");
        }
        return Reply.of(r);
    }
}
