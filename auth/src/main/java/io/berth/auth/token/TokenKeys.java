package io.berth.auth.token;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.encoders.Base32;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * The key material of token auth, read from the files registry:2's {@code auth.token} section names, and the key IDs
 * registry:2 uses to name keys. Keys and certificates come back as the JDK's own types, whatever the file's encoding.
 */
public final class TokenKeys {
    private TokenKeys() {}

    /**
     * Reads the {@code CERTIFICATE} blocks of a PEM file, in file order: a {@code rootcertbundle}, or the signing
     * certificate chain of a {@link TokenIssuer} (leaf first). Other blocks and text between blocks are skipped, as
     * distribution does; a file with no certificate gives an empty list.
     *
     * @throws IOException when the file cannot be read, or a certificate block does not parse; the message names the
     *     file
     */
    public static List<X509Certificate> readCertificates(Path pemFile) throws IOException {
        try (Reader reader = Files.newBufferedReader(pemFile, StandardCharsets.ISO_8859_1);
                PemReader pem = new PemReader(reader)) {
            CertificateFactory factory = x509Factory();
            List<X509Certificate> certificates = new ArrayList<>();
            for (PemObject block = pem.readPemObject(); block != null; block = pem.readPemObject()) {
                if (!block.getType().equals("CERTIFICATE")) {
                    continue;
                }
                try {
                    certificates.add((X509Certificate)
                            factory.generateCertificate(new ByteArrayInputStream(block.getContent())));
                } catch (CertificateException e) {
                    throw new IOException("certificate " + (certificates.size() + 1) + " does not parse: "
                            + e.getMessage(), e);
                }
            }
            return List.copyOf(certificates);
        } catch (IOException e) {
            throw naming(pemFile, e);
        }
    }

    /**
     * Reads the one private key of a PEM file: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 RSA ({@code RSA PRIVATE KEY}) or
     * SEC1 EC ({@code EC PRIVATE KEY}). RSA, EC and Ed25519 keys are supported. Certificates, public keys and
     * {@code EC PARAMETERS} blocks beside the key are skipped; an encrypted key, a second key or no key at all is
     * refused.
     *
     * @throws IOException when the file cannot be read or holds no single usable key; the message names the file
     */
    public static PrivateKey readPrivateKey(Path pemFile) throws IOException {
        try {
            return toJdkKey(readPrivateKeyInfo(pemFile));
        } catch (IOException e) {
            throw naming(pemFile, e);
        }
    }

    private static PrivateKeyInfo readPrivateKeyInfo(Path pemFile) throws IOException {
        PrivateKeyInfo found = null;
        try (Reader reader = Files.newBufferedReader(pemFile, StandardCharsets.ISO_8859_1);
                PEMParser pem = new PEMParser(reader)) {
            for (Object block = pem.readObject(); block != null; block = pem.readObject()) {
                PrivateKeyInfo info;
                if (block instanceof PrivateKeyInfo pkcs8) {
                    info = pkcs8;
                } else if (block instanceof PEMKeyPair pair) {
                    info = pair.getPrivateKeyInfo();
                } else if (block instanceof PKCS8EncryptedPrivateKeyInfo || block instanceof PEMEncryptedKeyPair) {
                    throw new IOException("the private key is encrypted; Berth reads only unencrypted keys");
                } else {
                    continue;
                }
                if (found != null) {
                    throw new IOException("holds more than one private key");
                }
                found = info;
            }
        }
        if (found == null) {
            throw new IOException("holds no private key");
        }
        return found;
    }

    /**
     * Reads a JSON Web Key Set file (distribution's {@code jwks} option). Only the public parts of its keys are kept;
     * a shared-secret ({@code oct}) key is refused. {@link TokenSettings} checks the rest (RSA, EC or Ed25519 only).
     *
     * @throws IOException when the file cannot be read or is not a JWK set; the message names the file
     */
    public static JWKSet readJwks(Path jsonFile) throws IOException {
        try {
            return publicKeys(JWKSet.parse(Files.readString(jsonFile, StandardCharsets.UTF_8)));
        } catch (ParseException e) {
            throw new IOException(jsonFile + ": not a JSON Web Key Set: " + e.getMessage(), e);
        } catch (IOException e) {
            throw naming(jsonFile, e);
        }
    }

    private static JWKSet publicKeys(JWKSet set) throws IOException {
        List<JWK> keys = new ArrayList<>();
        for (JWK key : set.getKeys()) {
            if (key instanceof OctetSequenceKey) {
                throw new IOException("key " + key.getKeyID() + " is a shared secret (kty oct); token signing keys"
                        + " must be RSA, EC or Ed25519 public keys");
            }
            keys.add(key.isPrivate() ? key.toPublicJWK() : key);
        }
        return new JWKSet(keys);
    }

    /**
     * The key ID docker's libtrust gives a public key, which registry:2 (2.x) looks up a token's {@code kid} header
     * by: the SHA-256 of the key's DER-encoded SubjectPublicKeyInfo, cut to its first 240 bits, in unpadded base32
     * and grouped by four characters, for example {@code SVQK:SCK6:QETG:3RLK:FPIE:TJEV:TOTV:QCDL:XTWO:TZZE:7UJS:CCEL}.
     */
    public static String libtrustKeyId(PublicKey key) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        String base32 = Base32.toBase32String(Arrays.copyOf(digest, 30)).replace("=", "");
        StringBuilder id = new StringBuilder(base32.length() + base32.length() / 4);
        for (int i = 0; i < base32.length(); i += 4) {
            if (i > 0) {
                id.append(':');
            }
            id.append(base32, i, Math.min(i + 4, base32.length()));
        }
        return id.toString();
    }

    private static IOException naming(Path file, IOException e) {
        String detail = e instanceof NoSuchFileException
                ? "no such file"
                : e instanceof AccessDeniedException ? "permission denied" : String.valueOf(e.getMessage());
        return new IOException(file + ": " + detail, e);
    }

    private static PrivateKey toJdkKey(PrivateKeyInfo info) throws IOException {
        ASN1ObjectIdentifier oid = info.getPrivateKeyAlgorithm().getAlgorithm();
        String algorithm;
        if (oid.equals(PKCSObjectIdentifiers.rsaEncryption)) {
            algorithm = "RSA";
        } else if (oid.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
            algorithm = "EC";
        } else if (oid.equals(EdECObjectIdentifiers.id_Ed25519)) {
            algorithm = "Ed25519";
        } else {
            throw new IOException("unsupported key algorithm " + oid.getId()
                    + "; token signing keys are RSA, EC or Ed25519");
        }
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
        } catch (GeneralSecurityException | IOException e) {
            throw new IOException("the " + algorithm + " private key does not parse: " + e.getMessage(), e);
        }
    }

    private static CertificateFactory x509Factory() {
        try {
            return CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
    }
}
