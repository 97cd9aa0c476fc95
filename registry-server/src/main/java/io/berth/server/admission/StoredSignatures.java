package io.berth.server.admission;

import io.berth.auth.trust.TrustPolicy;
import io.berth.storage.BlobContent;
import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.Tag;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** {@code berth.trust} over Berth's own storage: every signature is read from the volume, nothing over the network. */
public final class StoredSignatures implements LocalVerdicts.Trust {
    private final TrustCheck check;

    public StoredSignatures(TrustPolicy policy) {
        this.check = new TrustCheck(policy);
    }

    @Override
    public long generation() {
        return check.generation();
    }

    @Override
    public @Nullable String refusal(RegistryStorage storage, RepositoryName repository, Digest digest) {
        try {
            return check.refusal(new Source(storage), repository, digest);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the signatures of " + repository + "@" + digest, e);
        }
    }

    /** The storage as a {@link SignatureSource}. */
    private record Source(RegistryStorage storage) implements SignatureSource {
        @Override
        public byte @Nullable [] manifest(RepositoryName repository, Digest digest) {
            try {
                return storage.getManifest(repository, new Reference.ByDigest(digest)).content();
            } catch (StorageException e) {
                if (e.problem() == Problem.MANIFEST_UNKNOWN || e.problem() == Problem.NAME_UNKNOWN) {
                    return null;
                }
                throw e;
            }
        }

        @Override
        public List<Digest> referrers(RepositoryName repository, Digest subject) {
            return storage.referrers(repository, subject, null).stream().map(Descriptor::digest).toList();
        }

        @Override
        public @Nullable Digest tag(RepositoryName repository, String tag) {
            try {
                return storage.tagTarget(repository, Tag.of(tag));
            } catch (StorageException e) {
                return null;
            }
        }

        @Override
        public byte @Nullable [] blob(RepositoryName repository, Digest digest, long size) throws IOException {
            BlobContent content;
            try {
                content = storage.openBlob(repository, digest);
            } catch (StorageException e) {
                if (e.problem() == Problem.BLOB_UNKNOWN) {
                    return null;
                }
                throw e;
            }
            try (content) {
                if (content.size() != size || size > Integer.MAX_VALUE) {
                    return null; // not what the descriptor says: the verifier refuses it as missing
                }
                try (java.io.InputStream in = content.stream()) {
                    byte[] bytes = in.readNBytes((int) size);
                    return bytes.length == size ? bytes : null;
                }
            }
        }
    }
}
