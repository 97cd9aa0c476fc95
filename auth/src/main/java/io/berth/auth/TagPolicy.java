package io.berth.auth;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Which tags may move or go: {@code berth.immutableTags} and {@code berth.denyTags}.
 *
 * <ul>
 *   <li>An immutable tag, once it exists, keeps its digest: pushing the same digest again is allowed (pushes are
 *       idempotent), pushing another is denied, and so is deleting the tag or anything it reaches. Storage checks
 *       this under its lock, together with the write: {@link #immutability} is what it asks.
 *   <li>A denied tag (say {@code latest}) cannot be pushed at all, whatever the digest.
 *   <li>Cosign's tags ({@code sha256-<64 hex>}, optionally followed by {@code .sig}, {@code .att} or
 *       {@code .sbom}) are exempt from immutability by default, since cosign rewrites them to add signatures;
 *       they are not exempt from {@code denyTags}.
 * </ul>
 *
 * <p>Repository patterns are globs as in {@link AccessRules}; tag patterns are globs whose {@code *} matches any run
 * of tag characters. Each denial names the rule behind it, e.g. {@code tag "v1" of "team/app" is immutable
 * (berth.immutableTags[0])}. Repository names and tags outside the distribution grammar are denied. Instances are
 * immutable and thread-safe.
 */
public final class TagPolicy {
    private static final Pattern COSIGN_TAG = Pattern.compile("sha256-[0-9a-f]{64}(?:\\.(?:sig|att|sbom))?");
    private static final TagPolicy NONE = new TagPolicy(List.of(), List.of(), true);

    /**
     * One entry of {@code berth.immutableTags}: tags matching {@code tags} in repositories matching
     * {@code repositories} are immutable.
     *
     * @param repositories repository globs
     * @param tags tag globs
     */
    public record ImmutableTags(List<String> repositories, List<String> tags) {
        /** Copies the lists, so that later changes to the caller's lists do not leak in. */
        public ImmutableTags {
            repositories = List.copyOf(repositories);
            tags = List.copyOf(tags);
        }
    }

    /** The outcome of a check: allowed, or denied with a message for the client that names the rule. */
    public sealed interface Decision {
        /** Whether the operation may go ahead. */
        boolean allowed();

        /** The operation may go ahead. */
        record Allowed() implements Decision {
            @Override
            public boolean allowed() {
                return true;
            }
        }

        /**
         * The operation is refused.
         *
         * @param message why, naming the tag, the repository and the rule, e.g.
         *     {@code tag "v1" of "team/app" is immutable (berth.immutableTags[0])}
         */
        record Denied(String message) implements Decision {
            @Override
            public boolean allowed() {
                return false;
            }
        }

        /** The one {@link Allowed} decision. */
        Decision ALLOWED = new Allowed();
    }

    private record ImmutableRule(int index, List<Glob> repositories, List<Glob> tags) {
        boolean covers(String repository, String tag) {
            return matchesAny(repositories, repository) && matchesAny(tags, tag);
        }
    }

    private record DenyRule(int index, Glob tag) {}

    private final List<ImmutableRule> immutable;
    private final List<DenyRule> deny;
    private final boolean cosignExemption;

    private TagPolicy(List<ImmutableRule> immutable, List<DenyRule> deny, boolean cosignExemption) {
        this.immutable = immutable;
        this.deny = deny;
        this.cosignExemption = cosignExemption;
    }

    /** No immutable and no denied tags: everything is allowed (to valid names). */
    public static TagPolicy none() {
        return NONE;
    }

    /** A policy with cosign's tags exempt from immutability. */
    public static TagPolicy of(List<ImmutableTags> immutableTags, List<String> denyTags) {
        return of(immutableTags, denyTags, true);
    }

    /**
     * Checks and compiles a policy.
     *
     * @param cosignExemption whether cosign's {@code sha256-<hex>[.sig|.att|.sbom]} tags are exempt from immutability
     * @throws IllegalArgumentException naming the entry ({@code berth.immutableTags[1].tags[0]}) for an empty list
     *     or a pattern with characters a name or tag cannot have
     */
    public static TagPolicy of(List<ImmutableTags> immutableTags, List<String> denyTags, boolean cosignExemption) {
        List<ImmutableRule> immutable = new ArrayList<>(immutableTags.size());
        for (int i = 0; i < immutableTags.size(); i++) {
            ImmutableTags entry = immutableTags.get(i);
            String where = "berth.immutableTags[" + i + "]";
            if (entry.repositories().isEmpty()) {
                throw new IllegalArgumentException(where + ".repositories is empty; use \"**\" for all repositories");
            }
            if (entry.tags().isEmpty()) {
                throw new IllegalArgumentException(where + ".tags is empty; use \"*\" for all tags");
            }
            List<Glob> repositories = new ArrayList<>();
            for (int r = 0; r < entry.repositories().size(); r++) {
                repositories.add(compile(where + ".repositories[" + r + "]", entry.repositories().get(r), true));
            }
            List<Glob> tags = new ArrayList<>();
            for (int t = 0; t < entry.tags().size(); t++) {
                tags.add(compile(where + ".tags[" + t + "]", entry.tags().get(t), false));
            }
            immutable.add(new ImmutableRule(i, List.copyOf(repositories), List.copyOf(tags)));
        }
        List<DenyRule> deny = new ArrayList<>(denyTags.size());
        for (int i = 0; i < denyTags.size(); i++) {
            deny.add(new DenyRule(i, compile("berth.denyTags[" + i + "]", denyTags.get(i), false)));
        }
        return new TagPolicy(List.copyOf(immutable), List.copyOf(deny), cosignExemption);
    }

    /**
     * May {@code tag} of {@code repository} point at {@code newDigest}? Denied when the tag is in
     * {@code denyTags}, or when it is immutable and already points at another digest.
     *
     * @param currentDigest what the tag points at now, or null when it does not exist yet
     */
    public Decision checkPush(String repository, String tag, @Nullable String currentDigest, String newDigest) {
        Decision invalid = checkNames(repository, tag);
        if (invalid != null) {
            return invalid;
        }
        for (DenyRule rule : deny) {
            if (rule.tag().matches(tag)) {
                return new Decision.Denied("tag " + Messages.quote(tag) + " of " + Messages.quote(repository)
                        + " may not be pushed (berth.denyTags[" + rule.index() + "])");
            }
        }
        if (currentDigest == null || currentDigest.equals(newDigest)) {
            return Decision.ALLOWED;
        }
        ImmutableRule rule = immutableRule(repository, tag);
        if (rule != null) {
            return new Decision.Denied(immutable(repository, tag, rule) + "; it already points at "
                    + Messages.quote(currentDigest));
        }
        return Decision.ALLOWED;
    }

    /**
     * Why {@code tag} of {@code repository} is immutable, naming the rule, e.g. {@code tag "v1" of "team/app" is
     * immutable (berth.immutableTags[0])}; null when no rule covers it, or it is a cosign tag and those are exempt.
     * An immutable tag cannot be deleted, and neither can the manifests and blobs it reaches; the storage, which
     * knows what it reaches, asks this under its per-repository lock.
     */
    public @Nullable String immutability(String repository, String tag) {
        ImmutableRule rule = immutableRule(repository, tag);
        return rule == null ? null : immutable(repository, tag, rule);
    }

    private @Nullable ImmutableRule immutableRule(String repository, String tag) {
        if (cosignExemption && COSIGN_TAG.matcher(tag).matches()) {
            return null;
        }
        for (ImmutableRule rule : immutable) {
            if (rule.covers(repository, tag)) {
                return rule;
            }
        }
        return null;
    }

    private static String immutable(String repository, String tag, ImmutableRule rule) {
        return "tag " + Messages.quote(tag) + " of " + Messages.quote(repository) + " is immutable (berth.immutableTags["
                + rule.index() + "])";
    }

    private static @Nullable Decision checkNames(String repository, String tag) {
        if (!Glob.isRepositoryName(repository)) {
            return invalidRepository(repository);
        }
        if (!Glob.isTag(tag)) {
            return new Decision.Denied("invalid tag " + Messages.quote(tag));
        }
        return null;
    }

    private static Decision invalidRepository(String repository) {
        return new Decision.Denied("invalid repository name " + Messages.quote(repository));
    }

    private static Glob compile(String where, String pattern, boolean repository) {
        try {
            return repository ? Glob.repository(pattern) : Glob.tag(pattern);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    private static boolean matchesAny(List<Glob> globs, String text) {
        for (Glob glob : globs) {
            if (glob.matches(text)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "TagPolicy[" + immutable.size() + " immutable, " + deny.size() + " denied, cosign exemption "
                + (cosignExemption ? "on" : "off") + "]";
    }
}
