package io.berth.storage;

import org.jspecify.annotations.Nullable;

/**
 * Tag rules that the storage checks under its per-repository lock, in the same step as the change they rule on, so
 * that no other push or delete can come between the check and the write. The storage knows nothing of where the
 * rules come from; the server adapts its policy ({@code berth.immutableTags}, {@code berth.denyTags}) to this.
 *
 * <p>A <em>protected</em> tag cannot be deleted, cannot move to another digest, and protects what it reaches: the
 * manifest it points at, an index's child manifests (recursively), and their config and layer blobs. Neither a
 * manifest by digest nor a blob of those can be deleted while the tag stands. Referrers of those manifests (signatures,
 * SBOMs) are not reached: they point at the image, the image does not point at them.
 */
@FunctionalInterface
public interface TagGuard {
    /** No rules: every tag may move and be deleted, and so may everything. */
    TagGuard NONE = (repository, tag) -> null;

    /**
     * Why {@code tag} of {@code repository} is protected, naming the rule, e.g. {@code tag "v1" of "team/app" is
     * immutable (berth.immutableTags[0])}; null when it is not.
     */
    @Nullable String protection(RepositoryName repository, Tag tag);

    /**
     * Why {@code tag} may not be pointed at {@code next}, or null when it may. By default a protected tag that exists
     * may only be pushed again with the digest it has; a guard may refuse more (tag names nobody may push).
     *
     * @param current what the tag points at now, read under the lock, or null when it does not exist
     */
    default @Nullable String refusePush(RepositoryName repository, Tag tag, @Nullable Digest current, Digest next) {
        if (current == null || current.equals(next)) {
            return null;
        }
        String protection = protection(repository, tag);
        return protection == null ? null : protection + "; it already points at \"" + current + "\"";
    }
}
