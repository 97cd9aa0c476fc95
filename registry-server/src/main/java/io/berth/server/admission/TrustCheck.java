package io.berth.server.admission;

import io.berth.auth.trust.Artifact;
import io.berth.auth.trust.PolicyRule;
import io.berth.auth.trust.SignatureVerifier;
import io.berth.auth.trust.TrustPolicy;
import io.berth.auth.trust.Verdict;
import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One image's verdict under {@code berth.trust}, the same wherever the signatures are read from: its signatures are its
 * referrers (cosign v3's bundles, OCI 1.1) and the manifests of its {@code sha256-<hex>.sig} and {@code .att} tags
 * (cosign v2), checked by the {@link SignatureVerifier}. Thread-safe.
 */
final class TrustCheck {
    private final TrustPolicy policy;
    private final SignatureVerifier verifier = SignatureVerifier.create();

    TrustCheck(TrustPolicy policy) {
        this.policy = policy;
    }

    long generation() {
        return policy.generation();
    }

    /** Null when {@code repository@digest}, a manifest known to exist, is trusted; otherwise why not. */
    @Nullable String refusal(SignatureSource source, RepositoryName repository, Digest digest) throws IOException {
        PolicyRule rule = policy.rule(repository.value());
        if (rule == null) {
            return null;
        }
        List<Digest> found = new ArrayList<>(source.referrers(repository, digest));
        String legacy = digest.toString().replace(':', '-');
        for (String suffix : List.of(".sig", ".att")) {
            Digest tagged = source.tag(repository, legacy + suffix);
            if (tagged != null) {
                found.add(tagged);
            }
        }
        List<Artifact> artifacts = new ArrayList<>();
        for (Digest d : found) {
            byte[] manifest = source.manifest(repository, d);
            if (manifest != null) { // deleted meanwhile: it signs nothing now
                artifacts.add(Artifact.of(d.toString(), manifest));
            }
        }
        Verdict verdict = verifier.verify(digest.toString(), rule, artifacts, (blob, size) -> {
            Digest d;
            try {
                d = Digest.parse(blob);
            } catch (StorageException e) {
                return null;
            }
            return source.blob(repository, d, size);
        });
        return verdict.trusted() ? null : verdict.reason();
    }
}
