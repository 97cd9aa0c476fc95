package io.berth.conformance;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.Map;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Key material made for one test run, as an operator would make it for the secure example: a CA, a server
 * certificate it signs for 127.0.0.1 and localhost, a token-signing key with its self-signed certificate
 * (ES256, as registry:2's token auth verifies), and bcrypt htpasswd lines. Keys are written as PKCS#8 PEM.
 */
final class SecurePki {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final KeyPair caKey = ecKey();
    private final X500Name caName;
    private final X509Certificate ca;

    /** A new CA named {@code name}. */
    SecurePki(String name) {
        this.caName = new X500Name("CN=" + name);
        this.ca = sign(caName, caKey, true, false);
    }

    X509Certificate ca() {
        return ca;
    }

    /** Writes the CA certificate to {@code pem}; returns it. */
    Path writeCa(Path pem) {
        return writePem(pem, ca);
    }

    /** Issues a TLS server certificate for 127.0.0.1 and localhost, writing it and its PKCS#8 key. */
    void writeServerCertificate(Path certificate, Path key) {
        KeyPair pair = ecKey();
        writePem(certificate, sign(new X500Name("CN=127.0.0.1"), pair, false, true));
        writePem(key, pkcs8(pair));
    }

    /** A token-signing key (EC P-256, so ES256) and its self-signed certificate, for auth.token.rootcertbundle. */
    static void writeTokenSigner(Path certificate, Path key) {
        KeyPair pair = ecKey();
        X500Name name = new X500Name("CN=berth token signer");
        writePem(certificate, certificate(name, pair, name, pair, false, false));
        writePem(key, pkcs8(pair));
    }

    /** An htpasswd file of bcrypt entries (cost 4: fast, and still what {@code htpasswd -B} writes). */
    static Path writeHtpasswd(Path file, Map<String, String> passwords) {
        String lines = passwords.entrySet().stream()
                .map(e -> e.getKey() + ":" + OpenBSDBCrypt.generate("2y", e.getValue().toCharArray(), bytes(16), 4))
                .collect(Collectors.joining("\n", "", "\n"));
        try {
            return Files.writeString(file, lines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A password nobody could guess, with a readable prefix for logs. */
    static String password(String prefix) {
        return prefix + "-" + java.util.HexFormat.of().formatHex(bytes(12));
    }

    /** A TLS client context that trusts this CA only. */
    SSLContext clientContext() {
        try {
            java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private X509Certificate sign(X500Name subject, KeyPair key, boolean isCa, boolean server) {
        return certificate(subject, key, caName, caKey, isCa, server);
    }

    private static X509Certificate certificate(X500Name subject, KeyPair key, X500Name issuer, KeyPair issuerKey, boolean isCa, boolean server) {
        try {
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(64, RANDOM).abs().add(BigInteger.ONE),
                    Date.from(now.minus(1, ChronoUnit.HOURS)), Date.from(now.plus(2, ChronoUnit.DAYS)), subject, key.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerKey.getPublic()));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(isCa ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
            if (server) {
                b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
            }
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey.getPrivate())));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot make a certificate for " + subject, e);
        }
    }

    private static Object pkcs8(KeyPair pair) {
        try {
            return new JcaPKCS8Generator(pair.getPrivate(), null).generate();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path writePem(Path file, Object object) {
        try {
            StringWriter out = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(out)) {
                w.writeObject(object);
            }
            Files.createDirectories(file.toAbsolutePath().getParent());
            return Files.writeString(file, out.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
