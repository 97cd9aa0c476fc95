package io.berth.server.admission;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import org.jspecify.annotations.Nullable;

/**
 * Verdicts from Berth's own storage, answered from memory. A verdict is kept with the repository's
 * {@linkplain RegistryStorage#generation generation} and the trust policy's generation it was made at, and is made
 * anew on the first question after either moves: a pushed or deleted signature, or a rotated key, changes the
 * answer at once, and nothing is ever fetched over the network. On start nothing is rebuilt: each verdict is made
 * at its first question (or when its signature arrives, {@link #refresh}), so a large volume starts as fast as an empty one.
 *
 * <p>Several replicas on shared storage: the verdict is only as fresh as the generation it is checked against. Today
 * that generation counts this process's writes; with replicas it must come from the shared storage (a per-repository
 * change marker that every write bumps and each replica reads at most once a second), and then a signature pushed or
 * deleted through any replica changes the verdict on all of them within a second, with no other change here.
 * Thread-safe.
 */
public final class LocalVerdicts implements ImageVerdicts {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LocalVerdicts.class);
    private static final java.util.regex.Pattern COSIGN_TAG = java.util.regex.Pattern.compile("sha256-([0-9a-f]{64})\\.(?:sig|att)");

    /** The image a cosign v2 tag ({@code sha256-<hex>.sig} or {@code .att}) signs, or null for any other tag. */
    public static @Nullable Digest signedBy(io.berth.storage.Tag tag) {
        java.util.regex.Matcher m = COSIGN_TAG.matcher(tag.value());
        return m.matches() ? Digest.parse("sha256:" + m.group(1)) : null;
    }

    /** Decides whether a manifest that is in the registry is trusted. */
    public interface Trust {
        /** A number that changes whenever the policy (its rules or key files) changes. */
        long generation();

        /** Null when {@code repository@digest} is trusted; otherwise why not. */
        @Nullable String refusal(RegistryStorage storage, RepositoryName repository, Digest digest);
    }

    private record Key(RepositoryName repository, Digest digest) {}

    private record Verdict(long generation, long trustGeneration, @Nullable String refusal) {}

    private final RegistryStorage storage;
    private final Trust trust;
    private final Cache<Key, Verdict> verdicts = Caffeine.newBuilder().maximumSize(100_000).build();

    public LocalVerdicts(RegistryStorage storage, Trust trust) {
        this.storage = storage;
        this.trust = trust;
    }

    @Override
    public @Nullable String refusal(RepositoryName repository, Digest digest) {
        Key key = new Key(repository, digest);
        // Read before deciding: a change made while deciding leaves the verdict stale, never wrongly fresh.
        long generation = storage.generation(repository);
        long trustGeneration = trust.generation();
        Verdict v = verdicts.getIfPresent(key);
        if (v != null && v.generation() == generation && v.trustGeneration() == trustGeneration) {
            return v.refusal();
        }
        v = new Verdict(generation, trustGeneration, decide(repository, digest));
        verdicts.put(key, v);
        return v.refusal();
    }

    /**
     * Makes the verdict of {@code repository@digest} now, as its signature has just been pushed, so that admission
     * answers from memory; a failure is logged and left for the next question to meet.
     */
    public void refresh(RepositoryName repository, Digest digest) {
        try {
            refusal(repository, digest);
        } catch (RuntimeException e) {
            log.warn("cannot verify the signatures of {}@{} yet: {}", repository, digest, e.toString());
        }
    }

    private @Nullable String decide(RepositoryName repository, Digest digest) {
        try {
            storage.getManifest(repository, new Reference.ByDigest(digest));
        } catch (StorageException e) {
            if (e.problem() == Problem.MANIFEST_UNKNOWN || e.problem() == Problem.NAME_UNKNOWN) {
                return "manifest " + digest + " is not in the registry under " + repository;
            }
            throw e;
        }
        return trust.refusal(storage, repository, digest);
    }
}
