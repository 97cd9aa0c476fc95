package io.berth.auth.token;

import io.berth.testing.TestPki;
import io.berth.auth.FakeTime;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import io.berth.testing.TestPki.Ca;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenKeysTest {
    // Vectors computed by docker/libtrust itself (PublicKey.KeyID() of libtrust.FromCryptoPublicKey).
    static final String EC_P256_PUBLIC = """
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjsTs0zeMjj1zjf5GeIxGGThFjy5u
            3FVXNkihjJixf038VNXn5tB/H7WvWn0eA7SEic9FEY4yTctRXQQX/lqYmg==""";
    static final String EC_P256_LIBTRUST_ID = "SVQK:SCK6:QETG:3RLK:FPIE:TJEV:TOTV:QCDL:XTWO:TZZE:7UJS:CCEL";
    static final String RSA_2048_PUBLIC = """
            MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwtAGFEy2ivmzHv8IFwie
            C/4FAR2vFoc+eYXDUSgv9XTnmx+blIRncLz0mlhLciYVnXuOD9uU8u58m1Ag1XHF
            JXOh+CVbI9Bxf55ZtqfSA+gVZ/7+jOgWfsGMiPiSLh2CLo5jCvYqR9h1Q0jg0jsw
            tj0lZybrfOKBC5d9Gbtt8n7FoVWwoon3WUU1wknkgaA//Iq05emd0MKpU7pWhcgR
            QifquJzfCP5DT8FSklHV88Fa9lgleYwdIP8qLZ/0q64ELEigowuLY42Ehbnr2niT
            /SO51kRBVd6XzhEhZnnNUYGTIwem+vWvd0sSxBL8y2SSyGOMAcRhWswGZo9f6Sgb
            4QIDAQAB""";
    static final String RSA_2048_LIBTRUST_ID = "QVKS:YPHQ:HUND:QPBP:F5LD:D6WR:XUT3:7XT2:RSSB:T773:CBCB:FKUL";

    @TempDir
    Path dir;

    @Test
    void libtrustKeyIdOfAnEcKeyMatchesLibtrust() throws Exception {
        assertThat(TokenKeys.libtrustKeyId(publicKey("EC", EC_P256_PUBLIC))).isEqualTo(EC_P256_LIBTRUST_ID);
    }

    @Test
    void libtrustKeyIdOfAnRsaKeyMatchesLibtrust() throws Exception {
        assertThat(TokenKeys.libtrustKeyId(publicKey("RSA", RSA_2048_PUBLIC))).isEqualTo(RSA_2048_LIBTRUST_ID);
    }

    @Test
    void libtrustKeyIdIsTwelveGroupsOfFourBase32Characters() {
        for (KeyPair keys : List.of(TestPki.ec(), TestPki.ed25519())) {
            assertThat(TokenKeys.libtrustKeyId(keys.getPublic())).matches("[A-Z2-7]{4}(:[A-Z2-7]{4}){11}");
        }
    }

    @Test
    void readsACertificateBundleSkippingOtherBlocksAndText() throws Exception {
        X509Certificate first = TokenPki.root("first root").certificate();
        X509Certificate second = TokenPki.root("second root").certificate();
        Path bundle = write("bundle.pem", "# token roots\n" + pem("CERTIFICATE", first.getEncoded())
                + "some commentary\n" + pem("PUBLIC KEY", first.getPublicKey().getEncoded())
                + pem("CERTIFICATE", second.getEncoded()));

        assertThat(TokenKeys.readCertificates(bundle)).containsExactly(first, second);
    }

    @Test
    void fileWithoutCertificatesGivesAnEmptyList() throws Exception {
        assertThat(TokenKeys.readCertificates(write("empty.pem", "nothing here\n"))).isEmpty();
    }

    @Test
    void brokenCertificateNamesTheFile() throws Exception {
        Path bundle = write("broken.pem", pem("CERTIFICATE", new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}));

        assertThatThrownBy(() -> TokenKeys.readCertificates(bundle))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith(bundle.toString())
                .hasMessageContaining("certificate 1 does not parse");
    }

    @Test
    void missingFileIsNamed() {
        Path missing = dir.resolve("missing.pem");

        assertThatThrownBy(() -> TokenKeys.readCertificates(missing))
                .isInstanceOf(IOException.class)
                .hasMessage(missing + ": no such file");
    }

    @Test
    void readsPkcs8Keys() throws Exception {
        for (KeyPair keys : List.of(TestPki.rsa(), TestPki.ec(), TestPki.ed25519())) {
            Path file = write("key.pem", pem("PRIVATE KEY", keys.getPrivate().getEncoded()));

            PrivateKey key = TokenKeys.readPrivateKey(file);

            assertThat(key.getEncoded()).isEqualTo(keys.getPrivate().getEncoded());
        }
    }

    @Test
    void readsPkcs1RsaKeys() throws Exception {
        KeyPair keys = TestPki.rsa();
        byte[] pkcs1 = PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded()).parsePrivateKey()
                .toASN1Primitive().getEncoded();
        Path file = write("rsa.pem", pem("RSA PRIVATE KEY", pkcs1));

        PrivateKey key = TokenKeys.readPrivateKey(file);

        assertThat(key.getAlgorithm()).isEqualTo("RSA");
        assertThat(key.getEncoded()).isEqualTo(keys.getPrivate().getEncoded());
    }

    @Test
    void readsSec1EcKeysAfterAnEcParametersBlock() throws Exception {
        // What `openssl ecparam -genkey` writes: EC PARAMETERS, then the SEC1 key.
        KeyPair keys = TestPki.ec();
        ASN1ObjectIdentifier prime256v1 = SECObjectIdentifiers.secp256r1;
        byte[] sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256,
                ((ECPrivateKey) keys.getPrivate()).getS(),
                SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded()).getPublicKeyData(),
                prime256v1).getEncoded();
        Path file = write("ec.pem", pem("EC PARAMETERS", prime256v1.getEncoded()) + pem("EC PRIVATE KEY", sec1));

        PrivateKey key = TokenKeys.readPrivateKey(file);

        assertThat(key.getAlgorithm()).isEqualTo("EC");
        // The signer built from it verifies with the original public key.
        TokenIssuer issuer = TokenIssuer.builder().issuer("i")
                .signingKey(key, List.of(TokenPki.root("ca").leaf("leaf", keys).leaf())).clock(new FakeTime(TokenPki.NOW))
                .build();
        assertThat(issuer.algorithm()).isEqualTo("ES256");
    }

    @Test
    void keyFileMayAlsoHoldTheCertificate() throws Exception {
        KeyPair keys = TestPki.ec();
        X509Certificate cert = TokenPki.root("ca").leaf("leaf", keys).leaf();
        Path file = write("combined.pem", pem("CERTIFICATE", cert.getEncoded())
                + pem("PRIVATE KEY", keys.getPrivate().getEncoded()));

        assertThat(TokenKeys.readPrivateKey(file).getEncoded()).isEqualTo(keys.getPrivate().getEncoded());
        assertThat(TokenKeys.readCertificates(file)).containsExactly(cert);
    }

    @Test
    void encryptedKeyIsRefused() throws Exception {
        Path file = write("encrypted.pem", pem("ENCRYPTED PRIVATE KEY",
                new org.bouncycastle.asn1.pkcs.EncryptedPrivateKeyInfo(
                        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                                org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.id_PBES2),
                        new byte[16]).getEncoded()));

        assertThatThrownBy(() -> TokenKeys.readPrivateKey(file))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("encrypted");
    }

    @Test
    void fileWithoutAKeyIsRefused() throws Exception {
        Path file = write("cert-only.pem", pem("CERTIFICATE", TokenPki.root("ca").certificate().getEncoded()));

        assertThatThrownBy(() -> TokenKeys.readPrivateKey(file))
                .isInstanceOf(IOException.class)
                .hasMessage(file + ": holds no private key");
    }

    @Test
    void fileWithTwoKeysIsRefused() throws Exception {
        Path file = write("two.pem", pem("PRIVATE KEY", TestPki.ec().getPrivate().getEncoded())
                + pem("PRIVATE KEY", TestPki.ec().getPrivate().getEncoded()));

        assertThatThrownBy(() -> TokenKeys.readPrivateKey(file))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("more than one private key");
    }

    @Test
    void readsAJwksKeepingOnlyPublicParts() throws Exception {
        RSAKey rsa = new RSAKey.Builder((java.security.interfaces.RSAPublicKey) TestPki.rsa().getPublic())
                .keyID("rsa-1").build();
        KeyPair ec = TestPki.ec();
        com.nimbusds.jose.jwk.ECKey privateEc = new com.nimbusds.jose.jwk.ECKey.Builder(
                        com.nimbusds.jose.jwk.Curve.P_256, (java.security.interfaces.ECPublicKey) ec.getPublic())
                .privateKey(ec.getPrivate()).keyID("ec-1").build();
        Path file = write("jwks.json", new JWKSet(List.of(rsa, privateEc)).toString(false));

        JWKSet jwks = TokenKeys.readJwks(file);

        assertThat(jwks.getKeys()).extracting(k -> k.getKeyID()).containsExactly("rsa-1", "ec-1");
        assertThat(jwks.containsNonPublicKeys()).isFalse();
    }

    @Test
    void sharedSecretInAJwksIsRefused() throws Exception {
        Path file = write("jwks.json", new JWKSet(new com.nimbusds.jose.jwk.OctetSequenceKey.Builder(new byte[32])
                .keyID("hmac-1").build()).toString(false));

        assertThatThrownBy(() -> TokenKeys.readJwks(file))
                .isInstanceOf(IOException.class)
                .hasMessage(file + ": key hmac-1 is a shared secret (kty oct); token signing keys must be RSA, EC or"
                        + " Ed25519 public keys");
    }

    @Test
    void brokenJwksNamesTheFile() throws Exception {
        Path file = write("jwks.json", "{\"keys\": 3}");

        assertThatThrownBy(() -> TokenKeys.readJwks(file))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith(file + ": not a JSON Web Key Set");
    }

    static PublicKey publicKey(String algorithm, String base64) throws Exception {
        return KeyFactory.getInstance(algorithm)
                .generatePublic(new X509EncodedKeySpec(Base64.getMimeDecoder().decode(base64)));
    }

    static PrivateKey privateKey(String algorithm, String base64) throws Exception {
        return KeyFactory.getInstance(algorithm)
                .generatePrivate(new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(base64)));
    }

    static String pem(String type, byte[] der) throws IOException {
        StringWriter out = new StringWriter();
        try (PemWriter writer = new PemWriter(out)) {
            writer.writeObject(new PemObject(type, der));
        }
        return out.toString();
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.US_ASCII);
    }
}
