package io.berth.auth.trust;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What a valid signature artifact says about an image digest: that it is signed, or that an attestation of some
 * predicate type was made about it.
 *
 * @param kind a signature or an attestation
 * @param predicateType the attestation's in-toto predicate type; null for a signature
 */
public record Claim(Kind kind, @Nullable String predicateType) {
    /** The predicate type cosign v3 gives the in-toto statement that {@code cosign sign} signs. */
    public static final String COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

    private static final Claim SIGNATURE = new Claim(Kind.SIGNATURE, null);

    public enum Kind {
        SIGNATURE,
        ATTESTATION
    }

    /** Checks that exactly the attestations carry a predicate type. */
    public Claim {
        Objects.requireNonNull(kind, "kind");
        if ((kind == Kind.ATTESTATION) != (predicateType != null)) {
            throw new IllegalArgumentException(kind == Kind.ATTESTATION
                    ? "an attestation needs a predicate type"
                    : "a signature has no predicate type");
        }
    }

    public static Claim signature() {
        return SIGNATURE;
    }

    public static Claim attestation(String predicateType) {
        return new Claim(Kind.ATTESTATION, predicateType);
    }

    /**
     * The claim an in-toto statement of this predicate type makes: cosign v3 signs an image by signing a statement
     * of type {@value #COSIGN_SIGN_PREDICATE}, which is a signature; any other type is an attestation.
     */
    static Claim ofStatement(String predicateType) {
        return predicateType.equals(COSIGN_SIGN_PREDICATE) ? SIGNATURE : attestation(predicateType);
    }

    @Override
    public String toString() {
        return kind == Kind.SIGNATURE ? "signature" : "attestation " + predicateType;
    }
}
