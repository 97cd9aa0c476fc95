package io.berth.auth.trust;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.interfaces.EdECPrivateKey;
import java.util.Base64;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.DigestInfo;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519phSigner;

/**
 * A key pair of one of cosign's kinds, made with the JDK, that signs as cosign does (sigstore's algorithm for each
 * kind of key, spelled out here rather than taken from the code under test). Ed25519ph is signed with
 * BouncyCastle, to check the JDK's reading of it against another implementation.
 */
record TestKey(KeyType type, KeyPair pair, String algorithm, boolean ed25519ph) {
    static TestKey p256() {
        return ec(KeyType.ECDSA_P256, "secp256r1", "SHA256withECDSA");
    }

    static TestKey p384() {
        return ec(KeyType.ECDSA_P384, "secp384r1", "SHA384withECDSA");
    }

    static TestKey p521() {
        return ec(KeyType.ECDSA_P521, "secp521r1", "SHA512withECDSA");
    }

    static TestKey rsa() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return new TestKey(KeyType.RSA, generator.generateKeyPair(), "SHA256withRSA", false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An Ed25519 key that signs pure Ed25519, as cosign did before v2.5. */
    static TestKey ed25519() {
        try {
            return new TestKey(KeyType.ED25519, KeyPairGenerator.getInstance("Ed25519").generateKeyPair(), "Ed25519",
                    false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same key, signing Ed25519ph, as cosign does by default since v2.5. */
    TestKey prehashed() {
        return new TestKey(type, pair, algorithm, true);
    }

    private static TestKey ec(KeyType type, String curve, String algorithm) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec(curve));
            return new TestKey(type, generator.generateKeyPair(), algorithm, false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    PublicKey publicKey() {
        return pair.getPublic();
    }

    /** The signature cosign makes over a message with this key: DER ECDSA over the curve's SHA-2, and so on. */
    byte[] sign(byte[] message) {
        if (ed25519ph) {
            byte[] seed = ((EdECPrivateKey) pair.getPrivate()).getBytes().orElseThrow();
            Ed25519phSigner signer = new Ed25519phSigner(new byte[0]);
            signer.init(true, new Ed25519PrivateKeyParameters(seed));
            signer.update(message, 0, message.length);
            return signer.generateSignature();
        }
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(pair.getPrivate());
            signer.update(message);
            return signer.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A signature over a digest alone, as a sigstore message signature is (ECDSA and RSA only). */
    byte[] signDigest(byte[] digest) {
        try {
            Signature signer;
            byte[] signed = digest;
            if (type == KeyType.RSA) {
                signer = Signature.getInstance("NONEwithRSA");
                signed = new DigestInfo(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256, DERNull.INSTANCE),
                        digest).getEncoded("DER");
            } else {
                signer = Signature.getInstance("NONEwithECDSA");
            }
            signer.initSign(pair.getPrivate());
            signer.update(signed);
            return signer.sign();
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the public key as cosign.pub is written: one PUBLIC KEY block. */
    Path writePem(Path file) throws IOException {
        Files.writeString(file, pem(publicKey()), StandardCharsets.US_ASCII);
        return file;
    }

    static String pem(PublicKey key) {
        return "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }
}
