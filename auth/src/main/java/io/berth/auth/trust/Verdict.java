package io.berth.auth.trust;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What the signature artifacts of one image digest prove under one rule: the claims verified, the artifacts
 * refused, and whether the rule is satisfied.
 *
 * <p>A digest is trusted when at least one valid signature by a key of the rule covers exactly that digest, and,
 * for each predicate type the rule lists, at least one valid attestation of that type by a key of the rule does
 * too. An attestation is not a signature.
 */
public final class Verdict {
    private final String subject;
    private final PolicyRule rule;
    private final List<VerifiedClaim> verified;
    private final List<Rejection> rejected;
    private final List<String> missing;

    Verdict(String subject, PolicyRule rule, List<VerifiedClaim> verified, List<Rejection> rejected) {
        this.subject = subject;
        this.rule = rule;
        this.verified = List.copyOf(verified);
        this.rejected = List.copyOf(rejected);
        Set<Claim> claims = claims();
        List<String> missing = new ArrayList<>();
        if (!claims.contains(Claim.signature())) {
            missing.add("a signature");
        }
        for (String type : rule.attestations()) {
            if (!claims.contains(Claim.attestation(type))) {
                missing.add("an attestation " + type);
            }
        }
        this.missing = List.copyOf(missing);
    }

    /** The image digest the verdict is about, as given. */
    public String subject() {
        return subject;
    }

    /** The rule the artifacts were checked against, with the keys of its generation. */
    public PolicyRule rule() {
        return rule;
    }

    /** Whether the rule is satisfied: a valid signature, and a valid attestation of each listed predicate type. */
    public boolean trusted() {
        return missing.isEmpty();
    }

    /** Each claim proved, with the key and the artifact that proved it, in the order the artifacts were given. */
    public List<VerifiedClaim> verified() {
        return verified;
    }

    /** The distinct claims proved. */
    public Set<Claim> claims() {
        Set<Claim> claims = new LinkedHashSet<>();
        for (VerifiedClaim claim : verified) {
            claims.add(claim.claim());
        }
        return claims;
    }

    /** Every manifest or layer that proved nothing, with the reason. */
    public List<Rejection> rejected() {
        return rejected;
    }

    /** What the rule needs that was not proved: "a signature", "an attestation https://slsa.dev/provenance/v1". */
    public List<String> missing() {
        return missing;
    }

    /**
     * Why the digest is not trusted, in one line for an admission message; empty when it is trusted. Names what is
     * missing, the rule, and the first refusal: {@code no valid signature by a key of berth.trust[0]; 1 artifact
     * refused: sha256:...: layer 0: the payload signs sha256:..., not sha256:...}.
     */
    public String reason() {
        if (trusted()) {
            return "";
        }
        StringBuilder out = new StringBuilder("no valid ").append(String.join(" and no valid ",
                missing.stream().map(m -> m.substring(m.indexOf(' ') + 1)).toList()));
        out.append(" by a key of ").append(rule.name()).append(" for ").append(subject);
        if (rejected.isEmpty()) {
            out.append(verified.isEmpty() ? "; none was found" : "");
        } else {
            out.append("; ").append(rejected.size()).append(rejected.size() == 1 ? " refused: " : " refused, first: ")
                    .append(rejected.get(0));
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return "Verdict[" + subject + " under " + rule.name() + ": " + (trusted() ? "trusted" : reason()) + "]";
    }
}
