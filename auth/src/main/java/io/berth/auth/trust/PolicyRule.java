package io.berth.auth.trust;

import java.util.List;

/**
 * The rule of {@code berth.trust} that applies to a repository, with the keys its files held at one generation of
 * the policy.
 *
 * @param index the rule's position in {@code berth.trust}, from 0
 * @param repositories the rule's repository globs
 * @param keys the public keys a signature or attestation may be made with; never empty
 * @param attestations the predicate types each of which needs a valid attestation besides the signature
 * @param generation the policy's generation these keys belong to (see {@link TrustPolicy#generation()})
 */
public record PolicyRule(int index, List<String> repositories, List<TrustKey> keys, List<String> attestations,
        long generation) {
    public PolicyRule {
        repositories = List.copyOf(repositories);
        keys = List.copyOf(keys);
        attestations = List.copyOf(attestations);
    }

    /** How the configuration names the rule: {@code berth.trust[0]}. */
    public String name() {
        return "berth.trust[" + index + "]";
    }

    @Override
    public String toString() {
        return name() + repositories + " with " + keys.size() + (keys.size() == 1 ? " key" : " keys")
                + (attestations.isEmpty() ? "" : ", attestations " + attestations) + ", generation " + generation;
    }
}
