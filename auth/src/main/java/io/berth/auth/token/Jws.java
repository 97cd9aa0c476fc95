package io.berth.auth.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.Ed25519Signer;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import io.berth.auth.token.InvalidTokenException.Reason;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.jspecify.annotations.Nullable;

/**
 * The JWS algorithms Berth accepts, and the bridge between JDK keys and nimbus signers and verifiers. Every algorithm
 * here is asymmetric: {@code none} and the HMAC family are never accepted, whatever the configuration says.
 */
final class Jws {
    /** distribution's signing algorithms without HS256/384/512: what an empty {@code signingalgorithms} allows. */
    static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(
            JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512,
            JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.ES512,
            JWSAlgorithm.EdDSA);

    private Jws() {}

    /** Resolves configured algorithm names; empty means {@link #ASYMMETRIC}. */
    static Set<JWSAlgorithm> algorithms(Set<String> names) {
        if (names.isEmpty()) {
            return ASYMMETRIC;
        }
        Set<JWSAlgorithm> out = new HashSet<>();
        for (String name : names) {
            JWSAlgorithm alg = ASYMMETRIC.stream().filter(a -> a.getName().equals(name)).findFirst().orElse(null);
            if (alg == null) {
                String upper = name.toUpperCase(Locale.ROOT);
                if (upper.equals("NONE") || upper.startsWith("HS")) {
                    throw new IllegalArgumentException("signing algorithm " + name + " is refused: tokens must be"
                            + " signed with a private key (RS*, PS*, ES* or EdDSA), never unsigned or with a shared"
                            + " secret");
                }
                throw new IllegalArgumentException("unsupported signing algorithm " + name
                        + "; expected RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA");
            }
            out.add(alg);
        }
        return Set.copyOf(out);
    }

    /** A verifier of {@code alg} with {@code key}, refusing an algorithm that does not fit the key's type or curve. */
    static JWSVerifier verifier(JWSAlgorithm alg, PublicKey key) throws InvalidTokenException {
        try {
            if (key instanceof RSAPublicKey rsa && JWSAlgorithm.Family.RSA.contains(alg)) {
                return new RSASSAVerifier(rsa);
            }
            if (key instanceof ECPublicKey ec && JWSAlgorithm.Family.EC.contains(alg) && alg.equals(ecAlgorithm(ec))) {
                return new ECDSAVerifier(ec);
            }
            if (alg.equals(JWSAlgorithm.EdDSA) && isEd25519(key)) {
                return new Ed25519Verifier(new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(ed25519Raw(key)))
                        .build());
            }
        } catch (JOSEException e) {
            throw new InvalidTokenException(Reason.UNTRUSTED_KEY, "the signing key is unusable: " + e.getMessage());
        }
        throw new InvalidTokenException(Reason.ALGORITHM_REFUSED,
                "algorithm " + alg + " does not fit the signing key (" + describe(key) + ")");
    }

    /** The algorithm a {@link TokenIssuer} signs with for this key: RS256, ES256/384/512 by curve, or EdDSA. */
    static JWSAlgorithm algorithmFor(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) {
            if (rsa.getModulus().bitLength() < 2048) {
                throw new IllegalArgumentException("the RSA signing key has " + rsa.getModulus().bitLength()
                        + " bits; at least 2048 are required");
            }
            return JWSAlgorithm.RS256;
        }
        if (key instanceof ECPublicKey ec) {
            JWSAlgorithm alg = ecAlgorithm(ec);
            if (alg == null) {
                throw new IllegalArgumentException("the EC signing key is not on P-256, P-384 or P-521");
            }
            return alg;
        }
        if (isEd25519(key)) {
            return JWSAlgorithm.EdDSA;
        }
        throw new IllegalArgumentException("unsupported signing key " + describe(key)
                + "; expected RSA, EC (P-256, P-384, P-521) or Ed25519");
    }

    /** A signer for {@code key}, whose public half is {@code publicKey} (needed for Ed25519). */
    static JWSSigner signer(PrivateKey key, PublicKey publicKey) {
        try {
            return switch (key.getAlgorithm()) {
                case "RSA" -> new RSASSASigner(key);
                case "EC" -> new ECDSASigner((ECPrivateKey) key);
                case "Ed25519", "EdDSA" -> new Ed25519Signer(new OctetKeyPair.Builder(
                                Curve.Ed25519, Base64URL.encode(ed25519Raw(publicKey)))
                        .d(Base64URL.encode(ed25519Seed(key)))
                        .build());
                default -> throw new IllegalArgumentException("unsupported private key " + key.getAlgorithm()
                        + "; expected RSA, EC or Ed25519");
            };
        } catch (JOSEException | ClassCastException e) {
            throw new IllegalArgumentException("unusable private key: " + e.getMessage(), e);
        }
    }

    /** The JDK public key of an RSA, EC or Ed25519 JWK; an exception for any other kind (oct, X25519, Ed448). */
    static PublicKey publicKey(JWK jwk) throws JOSEException {
        if (jwk instanceof RSAKey rsa) {
            return rsa.toRSAPublicKey();
        }
        if (jwk instanceof ECKey ec) {
            return ec.toECPublicKey();
        }
        if (jwk instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve())) {
            return ed25519PublicKey(okp.getX().decode());
        }
        throw new JOSEException("unsupported key type " + jwk.getKeyType()
                + (jwk instanceof OctetKeyPair okp ? " " + okp.getCurve() : "")
                + "; trusted keys are RSA, EC or Ed25519");
    }

    /** A JWK carrying the public key's parameters, for thumbprints. */
    static JWK jwk(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) {
            return new RSAKey.Builder(rsa).build();
        }
        if (key instanceof ECPublicKey ec) {
            return new ECKey.Builder(Curve.forECParameterSpec(ec.getParams()), ec).build();
        }
        if (isEd25519(key)) {
            return new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(ed25519Raw(key))).build();
        }
        throw new IllegalArgumentException("unsupported key " + describe(key));
    }

    static @Nullable JWSAlgorithm ecAlgorithm(ECPublicKey key) {
        Curve curve = Curve.forECParameterSpec(key.getParams());
        if (Curve.P_256.equals(curve)) {
            return JWSAlgorithm.ES256;
        }
        if (Curve.P_384.equals(curve)) {
            return JWSAlgorithm.ES384;
        }
        if (Curve.P_521.equals(curve)) {
            return JWSAlgorithm.ES512;
        }
        return null;
    }

    static boolean isEd25519(PublicKey key) {
        return SubjectPublicKeyInfo.getInstance(key.getEncoded())
                .getAlgorithm().getAlgorithm().equals(EdECObjectIdentifiers.id_Ed25519);
    }

    private static byte[] ed25519Raw(PublicKey key) {
        return SubjectPublicKeyInfo.getInstance(key.getEncoded()).getPublicKeyData().getOctets();
    }

    private static byte[] ed25519Seed(PrivateKey key) {
        try {
            return ASN1OctetString.getInstance(PrivateKeyInfo.getInstance(key.getEncoded()).parsePrivateKey())
                    .getOctets();
        } catch (IOException e) {
            throw new IllegalArgumentException("unreadable Ed25519 private key", e);
        }
    }

    private static PublicKey ed25519PublicKey(byte[] raw) throws JOSEException {
        try {
            byte[] spki = new SubjectPublicKeyInfo(new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519), raw)
                    .getEncoded();
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        } catch (IOException | GeneralSecurityException e) {
            throw new JOSEException("unusable Ed25519 key: " + e.getMessage(), e);
        }
    }

    private static String describe(PublicKey key) {
        if (key instanceof ECPublicKey ec) {
            Curve curve = Curve.forECParameterSpec(ec.getParams());
            return "EC " + (curve == null ? "on an unknown curve" : curve.getName());
        }
        if (key instanceof RSAPublicKey rsa) {
            return "RSA " + rsa.getModulus().bitLength();
        }
        return isEd25519(key) ? "Ed25519" : key.getAlgorithm();
    }
}
