package io.berth.server.admission;

import io.berth.auth.trust.Artifact;
import io.berth.auth.trust.PolicyRule;
import io.berth.auth.trust.SignatureVerifier;
import io.berth.auth.trust.TrustPolicy;
import io.berth.auth.trust.Verdict;
import io.berth.storage.BlobContent;
import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.StoredManifest;
import io.berth.storage.Tag;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * {@code berth.trust} over Berth's own storage: the signatures of an image are its referrers (cosign v3's bundles,
 * OCI 1.1) and the manifests of its {@code sha256-<hex>.sig} and {@code .att} tags (cosign v2), all read from the
 * volume and checked by the {@link SignatureVerifier}. Nothing is fetched over the network. Thread-safe.
 */
public final class StoredSignatures implements LocalVerdicts.Trust {
    private final TrustPolicy policy;
    private final SignatureVerifier verifier = SignatureVerifier.create();

    public StoredSignatures(TrustPolicy policy) {
        this.policy = policy;
    }

    @Override
    public long generation() {
        return policy.generation();
    }

    @Override
    public @Nullable String refusal(RegistryStorage storage, RepositoryName repository, Digest digest) {
        PolicyRule rule = policy.rule(repository.value());
        if (rule == null) {
            return null;
        }
        List<Artifact> artifacts = new ArrayList<>();
        for (Descriptor d : storage.referrers(repository, digest, null)) {
            add(storage, repository, d.digest(), artifacts);
        }
        String legacy = digest.toString().replace(':', '-');
        for (String suffix : List.of(".sig", ".att")) {
            Digest tagged = tagTarget(storage, repository, legacy + suffix);
            if (tagged != null) {
                add(storage, repository, tagged, artifacts);
            }
        }
        try {
            Verdict verdict = verifier.verify(digest.toString(), rule, artifacts, (blob, size) -> read(storage, repository, blob, size));
            return verdict.trusted() ? null : verdict.reason();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the signatures of " + repository + "@" + digest, e);
        }
    }

    private static @Nullable Digest tagTarget(RegistryStorage storage, RepositoryName repository, String tag) {
        try {
            return storage.tagTarget(repository, Tag.of(tag));
        } catch (StorageException e) {
            return null;
        }
    }

    private static void add(RegistryStorage storage, RepositoryName repository, Digest manifest, List<Artifact> artifacts) {
        try {
            StoredManifest m = storage.getManifest(repository, new Reference.ByDigest(manifest));
            artifacts.add(Artifact.of(m.digest().toString(), m.content()));
        } catch (StorageException e) {
            if (e.problem() != Problem.MANIFEST_UNKNOWN) {
                throw e;
            }
            // deleted meanwhile: it signs nothing now
        }
    }

    /** A signature layer's bytes, at most {@code size} of them; null when the repository does not have it. */
    private static byte @Nullable [] read(RegistryStorage storage, RepositoryName repository, String blob, long size) throws IOException {
        Digest d;
        try {
            d = Digest.parse(blob);
        } catch (StorageException e) {
            return null;
        }
        BlobContent content;
        try {
            content = storage.openBlob(repository, d);
        } catch (StorageException e) {
            if (e.problem() == Problem.BLOB_UNKNOWN) {
                return null;
            }
            throw e;
        }
        try (content) {
            if (content.size() != size) {
                return null; // not what the descriptor says: the verifier refuses it as missing
            }
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining() && content.channel().read(buf, buf.position()) >= 0) {
                // positional reads until full or end of file
            }
            return buf.array();
        }
    }
}
