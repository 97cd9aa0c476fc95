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
import java.util.List;

/**
 * The route table: which endpoint serves each route and method. Each request gets a {@link BodySink}
 * from here as soon as its head arrives.
 *
 * <table>
 * <caption>Routes</caption>
 * <tr><th>route</th><th>method</th><th>success</th><th>spec</th></tr>
 * <tr><td>/</td><td>GET, HEAD</td><td>200</td><td>(registry:2's liveness probe)</td></tr>
 * <tr><td>/v2/</td><td>GET, HEAD</td><td>200</td><td>end-1</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</td><td>GET, HEAD</td><td>200, 206</td><td>end-2</td></tr>
 * <tr><td>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</td><td>GET, HEAD</td><td>200</td><td>end-3</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/</td><td>POST</td><td>202; 201 with digest or a mount</td><td>end-4a, end-4b, end-11</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>PATCH</td><td>202; 416 out of order</td><td>end-5</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>PUT</td><td>201</td><td>end-6</td></tr>
 * <tr><td>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</td><td>PUT</td><td>201</td><td>end-7</td></tr>
 * <tr><td>/v2/&lt;name&gt;/tags/list</td><td>GET</td><td>200</td><td>end-8a, end-8b</td></tr>
 * <tr><td>/v2/&lt;name&gt;/manifests/&lt;reference&gt;</td><td>DELETE</td><td>202</td><td>end-9</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/&lt;digest&gt;</td><td>DELETE</td><td>202</td><td>end-10</td></tr>
 * <tr><td>/v2/&lt;name&gt;/referrers/&lt;digest&gt;</td><td>GET</td><td>200</td><td>end-12a, end-12b</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>GET</td><td>204</td><td>end-13</td></tr>
 * <tr><td>/v2/&lt;name&gt;/blobs/uploads/&lt;id&gt;</td><td>DELETE</td><td>204</td><td>(cancel)</td></tr>
 * <tr><td>/v2/_catalog</td><td>GET</td><td>200, filtered by the access rules</td><td>(registry:2)</td></tr>
 * <tr><td>the path of {@code auth.token.realm}</td><td>GET, POST</td><td>200 with a token</td><td>(Docker token protocol, and its OAuth2 form)</td></tr>
 * </table>
 * Anything else is 404 NOT_FOUND; a known route with another method is 405 UNSUPPORTED.
 */
final class Endpoints {
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

    RegistryContext registry() {
        return registry;
    }

    BodySink open(Exchange ex) {
        HttpMethod m = ex.method();
        boolean read = m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD);
        return switch (ex.route().kind()) {
            case ROOT -> read ? BodySink.ignoring(() -> Reply.of(Responses.empty(HttpResponseStatus.OK))) : unsupported(ex);
            case BASE -> read ? BodySink.ignoring(() -> Reply.of(Responses.json(HttpResponseStatus.OK, Responses.JSON.createObjectNode())))
                    : unsupported(ex);
            case CATALOG -> m.equals(HttpMethod.GET) ? BodySink.ignoring(() -> catalog(ex)) : unsupported(ex);
            case TAGS -> m.equals(HttpMethod.GET) ? BodySink.ignoring(() -> tags(ex)) : unsupported(ex);
            case REFERRERS -> m.equals(HttpMethod.GET) ? BodySink.ignoring(() -> referrers(ex)) : unsupported(ex);
            case BLOB -> read ? BodySink.ignoring(() -> blobs.get(ex))
                    : m.equals(HttpMethod.DELETE) ? BodySink.ignoring(() -> blobs.delete(ex)) : unsupported(ex);
            case MANIFEST -> read ? BodySink.ignoring(() -> manifests.get(ex))
                    : m.equals(HttpMethod.PUT) ? manifests.put(ex)
                    : m.equals(HttpMethod.DELETE) ? BodySink.ignoring(() -> manifests.delete(ex)) : unsupported(ex);
            case UPLOADS -> m.equals(HttpMethod.POST) ? uploads.post(ex) : unsupported(ex);
            case UPLOAD -> uploads.open(ex);
            case TOKEN -> {
                TokenEndpoint tokens = registry.tokenEndpoint();
                if (tokens == null) {
                    throw new HttpError(ErrorCode.NOT_FOUND, "no token server here");
                }
                yield m.equals(HttpMethod.POST) ? tokens.post(ex, registry.bodyBudget()) : BodySink.ignoring(() -> tokens.get(ex));
            }
            case NONE -> throw new HttpError(ErrorCode.NOT_FOUND, "no such endpoint: " + ex.request().uri());
        };
    }

    static BodySink unsupported(Exchange ex) {
        throw new HttpError(ErrorCode.UNSUPPORTED, RegistryHandler.quote(ex.method().name(), 16) + " is not supported on this endpoint");
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
        List<String> tags = registry.storage().tags(name, Pagination.last(ex), n + 1).stream().map(Tag::value).toList();
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
