package io.berth.storage;

import java.nio.file.Path;

/**
 * registry:2's on-disk layout ({@code registry/storage/paths.go} in distribution), so volumes move
 * between registry:2 and Berth in both directions. Every argument is an already validated value
 * type, so no raw request string is ever joined into a path.
 *
 * <pre>
 * &lt;root&gt;/docker/registry/v2/
 *   blobs/&lt;alg&gt;/&lt;hex[0:2]&gt;/&lt;hex&gt;/data
 *   blobs/&lt;alg&gt;/&lt;hex[0:2]&gt;/&lt;hex&gt;/data.berth-gc   (Berth's own: a blob a collection is deleting)
 *   _berth/gc-unfinished   (Berth's own: a collection is deleting, or stopped while it was)
 *   repositories/&lt;name&gt;/_layers/&lt;alg&gt;/&lt;hex&gt;/link
 *   repositories/&lt;name&gt;/_manifests/revisions/&lt;alg&gt;/&lt;hex&gt;/link
 *   repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;/current/link
 *   repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;/index/&lt;alg&gt;/&lt;hex&gt;/link
 *   repositories/&lt;name&gt;/_uploads/&lt;id&gt;/{data,startedat}
 *   repositories/&lt;name&gt;/_berth/referrers/&lt;alg&gt;/&lt;subject hex&gt;/&lt;alg&gt;/&lt;hex&gt;/link   (Berth's own)
 * </pre>
 *
 * registry:2 skips every directory under a repository whose name starts with an underscore and that it
 * does not know, so Berth's {@code _berth} index is invisible to its catalog and garbage collector.
 */
final class Layout {
    static final String LINK = "link";
    static final String DATA = "data";
    /** A blob an online collection is about to delete ({@link Blobs#bury}); registry:2 sees the blob as missing. */
    static final String TOMBSTONE = "data.berth-gc";
    static final String STARTED_AT = "startedat";
    static final String MANIFESTS = "_manifests";
    static final String LAYERS = "_layers";
    static final String UPLOADS = "_uploads";

    private final Path v2;

    Layout(Path rootDirectory) {
        this.v2 = rootDirectory.resolve("docker").resolve("registry").resolve("v2");
    }

    Path v2() {
        return v2;
    }

    Path blobsRoot() {
        return v2.resolve("blobs");
    }

    Path blobDir(Digest digest) {
        return blobsRoot().resolve(digest.algorithm().prefix()).resolve(digest.hex().substring(0, 2)).resolve(digest.hex());
    }

    Path blobData(Digest digest) {
        return blobDir(digest).resolve(DATA);
    }

    Path repositoriesRoot() {
        return v2.resolve("repositories");
    }

    Path repository(RepositoryName name) {
        return repositoriesRoot().resolve(name.value());
    }

    Path layerLink(RepositoryName name, Digest digest) {
        return digestDir(repository(name).resolve(LAYERS), digest).resolve(LINK);
    }

    Path revisionsRoot(RepositoryName name) {
        return repository(name).resolve(MANIFESTS).resolve("revisions");
    }

    Path revisionLink(RepositoryName name, Digest digest) {
        return digestDir(revisionsRoot(name), digest).resolve(LINK);
    }

    Path tagsRoot(RepositoryName name) {
        return repository(name).resolve(MANIFESTS).resolve("tags");
    }

    Path tagDir(RepositoryName name, Tag tag) {
        return tagsRoot(name).resolve(tag.value());
    }

    Path tagCurrentLink(RepositoryName name, Tag tag) {
        return tagDir(name, tag).resolve("current").resolve(LINK);
    }

    Path tagIndexLink(RepositoryName name, Tag tag, Digest digest) {
        return digestDir(tagDir(name, tag).resolve("index"), digest).resolve(LINK);
    }

    Path uploadsRoot(RepositoryName name) {
        return repository(name).resolve(UPLOADS);
    }

    Path uploadDir(RepositoryName name, String id) {
        return uploadsRoot(name).resolve(id);
    }

    Path referrersRoot(RepositoryName name, Digest subject) {
        return digestDir(repository(name).resolve("_berth").resolve("referrers"), subject);
    }

    Path referrerLink(RepositoryName name, Digest subject, Digest referrer) {
        return digestDir(referrersRoot(name, subject), referrer).resolve(LINK);
    }

    static Path digestDir(Path parent, Digest digest) {
        return parent.resolve(digest.algorithm().prefix()).resolve(digest.hex());
    }
}
