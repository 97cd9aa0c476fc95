package io.berth.server.admission;

import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import java.io.IOException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Where an image's manifest, its signature manifests and their layers are read from: Berth's storage, or another registry. */
interface SignatureSource {
    /** The manifest's exact bytes, or null when the repository has no such manifest. */
    byte @Nullable [] manifest(RepositoryName repository, Digest digest) throws IOException;

    /** The digests of the manifests whose {@code subject} is {@code subject}. */
    List<Digest> referrers(RepositoryName repository, Digest subject) throws IOException;

    /** What {@code tag} points at, or null. */
    @Nullable Digest tag(RepositoryName repository, String tag) throws IOException;

    /** A blob's bytes if it is exactly {@code size} long, else null. */
    byte @Nullable [] blob(RepositoryName repository, Digest digest, long size) throws IOException;
}
