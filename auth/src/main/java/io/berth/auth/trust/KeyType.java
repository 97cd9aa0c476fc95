package io.berth.auth.trust;

/**
 * The kinds of public key cosign signs with, and the digest each signs: ECDSA signs the curve's own SHA-2 (as
 * sigstore does), RSA signs SHA-256 with PKCS#1 v1.5 padding, and Ed25519 signs the message itself.
 */
public enum KeyType {
    ECDSA_P256("ECDSA P-256", "SHA256withECDSA", "SHA-256"),
    ECDSA_P384("ECDSA P-384", "SHA384withECDSA", "SHA-384"),
    ECDSA_P521("ECDSA P-521", "SHA512withECDSA", "SHA-512"),
    RSA("RSA", "SHA256withRSA", "SHA-256"),
    ED25519("Ed25519", "Ed25519", "SHA-512");

    private final String label;
    private final String jcaSignature;
    private final String digest;

    KeyType(String label, String jcaSignature, String digest) {
        this.label = label;
        this.jcaSignature = jcaSignature;
        this.digest = digest;
    }

    /** A name for messages: {@code ECDSA P-256}. */
    public String label() {
        return label;
    }

    /** The JCA signature algorithm that checks a signature over a whole message. */
    String jcaSignature() {
        return jcaSignature;
    }

    /**
     * The JCA name of the digest the key signs; for Ed25519, the digest of its pre-hashed variant (Ed25519ph), which
     * cosign uses for Ed25519 keys by default since v2.5.
     */
    String digest() {
        return digest;
    }
}
