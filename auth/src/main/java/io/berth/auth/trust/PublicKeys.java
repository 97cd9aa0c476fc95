package io.berth.auth.trust;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/** Reads the public keys of a PEM key file of the trust policy. */
final class PublicKeys {
    /** Far more than any key file: an RSA 16384-bit key in PEM is under 3 KiB. */
    static final int MAX_FILE_BYTES = 64 * 1024;
    /** Enough for a rotation's overlap; more keys per file only multiply the work per signature. */
    static final int MAX_KEYS_PER_FILE = 16;
    static final int MIN_RSA_BITS = 2048;

    private PublicKeys() {}

    /**
     * The keys of a PEM file: one or more {@code PUBLIC KEY} blocks (DER SubjectPublicKeyInfo). Text around the
     * blocks is ignored; any other kind of block is refused, so that a private key or a certificate given by mistake
     * is named rather than skipped.
     *
     * @throws IOException naming the file, when it cannot be read, is larger than 64 KiB, or holds no usable key
     */
    static List<TrustKey> read(Path file) throws IOException {
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new IOException(file + ": permission denied", e);
        }
        if (content.length > MAX_FILE_BYTES) {
            throw new IOException(file + ": larger than " + MAX_FILE_BYTES
                    + " bytes; a public key file is a few hundred");
        }
        try {
            return parse(file, content);
        } catch (IOException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    static List<TrustKey> parse(Path file, byte[] content) throws IOException {
        List<TrustKey> keys = new ArrayList<>();
        try (PemReader pem = new PemReader(
                new InputStreamReader(new ByteArrayInputStream(content), StandardCharsets.ISO_8859_1))) {
            for (PemObject block = pem.readPemObject(); block != null; block = pem.readPemObject()) {
                if (!block.getType().equals("PUBLIC KEY")) {
                    throw new IOException("holds a \"" + block.getType() + "\" block; only public keys"
                            + " (-----BEGIN PUBLIC KEY-----, as in cosign.pub) are read");
                }
                if (keys.size() == MAX_KEYS_PER_FILE) {
                    throw new IOException("holds more than " + MAX_KEYS_PER_FILE + " keys");
                }
                keys.add(key(file, block.getContent(), keys.size() + 1));
            }
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException e) {
            // PemReader reports bad base64 inside a block this way
            throw new IOException("is not valid PEM: " + e.getMessage(), e);
        }
        if (keys.isEmpty()) {
            throw new IOException("holds no public key (-----BEGIN PUBLIC KEY-----)");
        }
        return List.copyOf(keys);
    }

    private static TrustKey key(Path file, byte[] der, int number) throws IOException {
        SubjectPublicKeyInfo info;
        try {
            info = SubjectPublicKeyInfo.getInstance(der);
        } catch (RuntimeException e) {
            throw new IOException("public key " + number + " is not a DER SubjectPublicKeyInfo", e);
        }
        ASN1ObjectIdentifier algorithm = info.getAlgorithm().getAlgorithm();
        KeyType type;
        String jcaKey;
        if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            type = curve(info.getAlgorithm().getParameters(), number);
            jcaKey = "EC";
        } else if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
            type = KeyType.RSA;
            jcaKey = "RSA";
        } else if (algorithm.equals(EdECObjectIdentifiers.id_Ed25519)) {
            type = KeyType.ED25519;
            jcaKey = "Ed25519";
        } else {
            throw new IOException("public key " + number + " has the algorithm " + algorithm.getId()
                    + "; cosign keys are ECDSA (P-256, P-384, P-521), Ed25519 or RSA");
        }
        PublicKey key;
        try {
            key = KeyFactory.getInstance(jcaKey).generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IOException("public key " + number + " (" + type.label() + ") does not parse: " + e.getMessage(),
                    e);
        }
        if (key instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
            throw new IOException("public key " + number + " is RSA of " + rsa.getModulus().bitLength()
                    + " bits; at least " + MIN_RSA_BITS + " are needed");
        }
        return new TrustKey(file, key, type, sha256(key.getEncoded()));
    }

    private static KeyType curve(ASN1Encodable parameters, int number) throws IOException {
        if (parameters instanceof ASN1ObjectIdentifier curve) {
            if (curve.equals(SECObjectIdentifiers.secp256r1)) {
                return KeyType.ECDSA_P256;
            }
            if (curve.equals(SECObjectIdentifiers.secp384r1)) {
                return KeyType.ECDSA_P384;
            }
            if (curve.equals(SECObjectIdentifiers.secp521r1)) {
                return KeyType.ECDSA_P521;
            }
            throw new IOException("public key " + number + " is on the curve " + curve.getId()
                    + "; cosign's ECDSA keys are on P-256, P-384 or P-521");
        }
        throw new IOException("public key " + number + " is an EC key without a named curve");
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
