package io.berth.auth.trust;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.security.Signature;
import java.security.spec.EdDSAParameterSpec;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.DigestInfo;
import org.jspecify.annotations.Nullable;

/** Checks signatures with the JDK's providers; nothing here does cryptography by hand. */
final class Signatures {
    private Signatures() {}

    /** The first key that made {@code signature} over {@code message}, or null. */
    static @Nullable TrustKey signerOf(List<TrustKey> keys, byte[] message, byte[] signature) {
        for (TrustKey key : keys) {
            if (verify(key, message, signature)) {
                return key;
            }
        }
        return null;
    }

    /**
     * Whether {@code signature} is the key's over {@code message}. ECDSA signatures are ASN.1 DER, as cosign writes
     * them. An Ed25519 key's signature may be pure Ed25519 (older cosign, and signatures not meant for a transparency
     * log) or Ed25519ph (cosign's default for Ed25519 keys since v2.5); both are made only by the key's holder, and
     * their domain separation keeps one from passing for the other.
     */
    static boolean verify(TrustKey key, byte[] message, byte[] signature) {
        if (key.type() == KeyType.ED25519) {
            return check(key, message, signature, false) || check(key, message, signature, true);
        }
        return check(key, message, signature, false);
    }

    private static boolean check(TrustKey key, byte[] message, byte[] signature, boolean prehashed) {
        try {
            Signature verifier = Signature.getInstance(key.type().jcaSignature());
            if (prehashed) {
                verifier.setParameter(new EdDSAParameterSpec(true));
            }
            verifier.initVerify(key.publicKey());
            verifier.update(message);
            return verifier.verify(signature);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no " + key.type().jcaSignature(), e);
        } catch (GeneralSecurityException | RuntimeException e) {
            // a signature that is not DER, or of the wrong length: not this key's
            return false;
        }
    }

    /**
     * The first key that signed a message known only by its digest, or null: a sigstore bundle's message signature
     * names the image by its digest. Only a key that signs exactly this digest algorithm can have made it; Ed25519
     * signs the message itself (or its SHA-512), so it never matches a SHA-256 image digest.
     *
     * @param digestAlgorithm the JCA digest name, {@code SHA-256}
     */
    static @Nullable TrustKey signerOfDigest(List<TrustKey> keys, String digestAlgorithm, byte[] digest,
            byte[] signature) {
        for (TrustKey key : keys) {
            if (key.type() != KeyType.ED25519 && key.type().digest().equals(digestAlgorithm)
                    && verifyDigest(key, digest, signature)) {
                return key;
            }
        }
        return null;
    }

    private static boolean verifyDigest(TrustKey key, byte[] digest, byte[] signature) {
        try {
            Signature verifier;
            byte[] signed;
            if (key.type() == KeyType.RSA) {
                // PKCS#1 v1.5 signs the DER DigestInfo; NONEwithRSA pads exactly what it is given
                verifier = Signature.getInstance("NONEwithRSA");
                signed = new DigestInfo(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256, DERNull.INSTANCE),
                        digest).getEncoded(ASN1Encoding.DER);
            } else {
                verifier = Signature.getInstance("NONEwithECDSA");
                signed = digest;
            }
            verifier.initVerify(key.publicKey());
            verifier.update(signed);
            return verifier.verify(signature);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK cannot check a signature over a digest", e);
        } catch (GeneralSecurityException | IOException | RuntimeException e) {
            return false;
        }
    }
}
