package io.berth.server.http;

import io.berth.storage.RepositoryName;
import org.jspecify.annotations.Nullable;

/**
 * A request path parsed at the edge: which endpoint, for which repository, with which reference.
 * The raw path is never percent-decoded, so an encoded slash or dot can only fail validation.
 *
 * @param kind the endpoint
 * @param name the repository, validated; null for {@link Kind#BASE} and {@link Kind#CATALOG}
 * @param reference the last path segment (tag, digest or upload id), still raw; empty when none
 */
record Route(Kind kind, @Nullable RepositoryName name, String reference) {

    /** The endpoints of the distribution API. */
    enum Kind { ROOT, BASE, CATALOG, TAGS, MANIFEST, BLOB, UPLOADS, UPLOAD, REFERRERS, TOKEN, NONE }

    private static final String UPLOADS_SUFFIX = "/blobs/uploads";

    /** The route of a path that is no endpoint. */
    static final Route NONE = new Route(Kind.NONE, null, "");
    /** The built-in token server's path. */
    static final Route TOKEN = new Route(Kind.TOKEN, null, "");

    /**
     * Parses {@code path} (no query, prefix already stripped). Returns {@link #NONE} for a path that is
     * no endpoint; throws NAME_INVALID for an endpoint with an invalid repository name.
     */
    static Route parse(String path) {
        Route r = parseOrNull(path);
        return r == null ? NONE : r;
    }

    private static @Nullable Route parseOrNull(String path) {
        if (path.equals("/")) {
            return new Route(Kind.ROOT, null, "");
        }
        if (path.equals("/v2/") || path.equals("/v2")) {
            return new Route(Kind.BASE, null, "");
        }
        if (!path.startsWith("/v2/")) {
            return null;
        }
        String rest = path.substring(4);
        if (rest.equals("_catalog")) {
            return new Route(Kind.CATALOG, null, "");
        }
        if (rest.endsWith(UPLOADS_SUFFIX) || rest.endsWith(UPLOADS_SUFFIX + "/")) {
            return named(Kind.UPLOADS, rest.substring(0, rest.lastIndexOf(UPLOADS_SUFFIX)), "");
        }
        int last = rest.lastIndexOf('/');
        if (last <= 0) {
            return null;
        }
        String ref = rest.substring(last + 1);
        String head = rest.substring(0, last);
        if (head.endsWith(UPLOADS_SUFFIX)) {
            return named(Kind.UPLOAD, head.substring(0, head.length() - UPLOADS_SUFFIX.length()), ref);
        }
        int second = head.lastIndexOf('/');
        if (second <= 0 || ref.isEmpty()) {
            return null;
        }
        String name = head.substring(0, second);
        return switch (head.substring(second + 1)) {
            case "manifests" -> named(Kind.MANIFEST, name, ref);
            case "blobs" -> named(Kind.BLOB, name, ref);
            case "referrers" -> named(Kind.REFERRERS, name, ref);
            case "tags" -> ref.equals("list") ? named(Kind.TAGS, name, "") : null;
            default -> null;
        };
    }

    private static Route named(Kind kind, String name, String reference) {
        try {
            return new Route(kind, RepositoryName.of(name), reference);
        } catch (io.berth.storage.StorageException e) {
            throw HttpError.from(e);
        }
    }

    RepositoryName repository() {
        if (name == null) {
            throw new IllegalStateException(kind + " has no repository");
        }
        return name;
    }
}
