package io.berth.storage.s3;

import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.Tag;

/**
 * registry:2's object keys ({@code registry/storage/paths.go} in distribution, as its s3 driver writes them), the S3
 * twin of {@code io.berth.storage.Layout}. Keys are relative to the registry's prefix
 * ({@link S3Settings#v2Prefix()}, which {@link ObjectStore} adds); a key ending with a slash is a "directory" for
 * listings. Every argument is an already validated value type, so no raw request string is ever joined into a key.
 *
 * <pre>
 * blobs/&lt;alg&gt;/&lt;hex[0:2]&gt;/&lt;hex&gt;/data
 * repositories/&lt;name&gt;/_layers/&lt;alg&gt;/&lt;hex&gt;/link
 * repositories/&lt;name&gt;/_manifests/revisions/&lt;alg&gt;/&lt;hex&gt;/link
 * repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;/current/link
 * repositories/&lt;name&gt;/_manifests/tags/&lt;tag&gt;/index/&lt;alg&gt;/&lt;hex&gt;/link
 * repositories/&lt;name&gt;/_uploads/&lt;id&gt;/{startedat,data}
 * repositories/&lt;name&gt;/_uploads/&lt;id&gt;/{berth-state,tail-&lt;writer&gt;}                (Berth's own)
 * repositories/&lt;name&gt;/_berth/referrers/&lt;alg&gt;/&lt;subject hex&gt;/&lt;alg&gt;/&lt;hex&gt;/link   (Berth's own)
 * repositories/&lt;name&gt;/_berth/{lock,generation}                                    (Berth's own)
 * </pre>
 *
 * A link object holds the digest's text ({@code sha256:<hex>}), as registry:2 writes it.
 */
final class S3Layout {
    static final String LINK = "link";
    static final String DATA = "data";
    static final String STARTED_AT = "startedat";
    static final String STATE = "berth-state";
    /** An upload's bytes past its last part, one object per writer: {@code tail-<lease token>}. */
    static final String TAIL = "tail-";
    static final String BLOBS = "blobs/";
    static final String REPOSITORIES = "repositories/";
    static final String LAYERS = "_layers/";
    static final String MANIFESTS = "_manifests/";
    static final String UPLOADS = "_uploads/";
    static final String BERTH = "_berth/";

    private S3Layout() {}

    static String blobDir(Digest digest) {
        return BLOBS + digest.algorithm().prefix() + "/" + digest.hex().substring(0, 2) + "/" + digest.hex() + "/";
    }

    static String blobData(Digest digest) {
        return blobDir(digest) + DATA;
    }

    static String repository(RepositoryName name) {
        return REPOSITORIES + name.value() + "/";
    }

    static String layersRoot(RepositoryName name) {
        return repository(name) + LAYERS;
    }

    static String layerLink(RepositoryName name, Digest digest) {
        return digestDir(layersRoot(name), digest) + LINK;
    }

    static String revisionsRoot(RepositoryName name) {
        return repository(name) + MANIFESTS + "revisions/";
    }

    static String revisionLink(RepositoryName name, Digest digest) {
        return digestDir(revisionsRoot(name), digest) + LINK;
    }

    static String tagsRoot(RepositoryName name) {
        return repository(name) + MANIFESTS + "tags/";
    }

    static String tagDir(RepositoryName name, Tag tag) {
        return tagsRoot(name) + tag.value() + "/";
    }

    static String tagCurrentLink(RepositoryName name, Tag tag) {
        return tagDir(name, tag) + "current/" + LINK;
    }

    static String tagIndexLink(RepositoryName name, Tag tag, Digest digest) {
        return digestDir(tagDir(name, tag) + "index/", digest) + LINK;
    }

    static String uploadsRoot(RepositoryName name) {
        return repository(name) + UPLOADS;
    }

    static String uploadDir(RepositoryName name, String id) {
        return uploadsRoot(name) + id + "/";
    }

    static String uploadData(RepositoryName name, String id) {
        return uploadDir(name, id) + DATA;
    }

    static String uploadStartedAt(RepositoryName name, String id) {
        return uploadDir(name, id) + STARTED_AT;
    }

    static String uploadState(RepositoryName name, String id) {
        return uploadDir(name, id) + STATE;
    }

    static String uploadTail(RepositoryName name, String id, String writer) {
        return uploadDir(name, id) + TAIL + writer;
    }

    static String berthDir(RepositoryName name) {
        return repository(name) + BERTH;
    }

    static String lock(RepositoryName name) {
        return berthDir(name) + "lock";
    }

    static String generation(RepositoryName name) {
        return berthDir(name) + "generation";
    }

    static String referrersRoot(RepositoryName name, Digest subject) {
        return digestDir(berthDir(name) + "referrers/", subject);
    }

    static String referrerLink(RepositoryName name, Digest subject, Digest referrer) {
        return digestDir(referrersRoot(name, subject), referrer) + LINK;
    }

    /** {@code <parent><alg>/<hex>/}; {@code parent} ends with a slash. */
    static String digestDir(String parent, Digest digest) {
        return parent + digest.algorithm().prefix() + "/" + digest.hex() + "/";
    }
}
