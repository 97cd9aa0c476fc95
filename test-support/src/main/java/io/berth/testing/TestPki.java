package io.berth.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
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
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemGenerationException;

/**
 * The one certificate maker of Berth's tests: keys of each kind, CAs with intermediates, TLS server and client
 * certificates for 127.0.0.1 and localhost, signing certificates, and their PEM files, written atomically (temp
 * file, then rename) as a rotated Kubernetes Secret appears. Made with BouncyCastle; no openssl needed.
 */
public final class TestPki {
    private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

    private TestPki() {}

    public static KeyPair rsa() {
        return rsa(2048);
    }

    public static KeyPair rsa(int bits) {
        return generate("RSA", bits);
    }

    /** An EC P-256 key: ES256 for tokens, ECDSA for TLS. */
    public static KeyPair ec() {
        return ec("secp256r1");
    }

    public static KeyPair ec(String curve) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec(curve));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeyPair ed25519() {
        return generate("Ed25519", 0);
    }

    private static KeyPair generate(String algorithm, int bits) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
            if (bits > 0) {
                generator.initialize(bits);
            }
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Valid from an hour ago to a day from now: what a TLS test against the real clock needs. */
    public static Validity aroundNow() {
        Instant now = Instant.now();
        return new Validity(now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
    }

    /** A certificate's validity window. */
    public record Validity(Instant notBefore, Instant notAfter) {
        /** From a day before {@code at} to thirty days after it: for tests that run at a fixed instant. */
        public static Validity around(Instant at) {
            return new Validity(at.minus(Duration.ofDays(1)), at.plus(Duration.ofDays(30)));
        }
    }

    /** A certificate authority: its keys, its certificate, and the intermediates up to its root (root excluded). */
    public record Ca(KeyPair keys, X509Certificate certificate, List<X509Certificate> path, Validity validity) {
        /** A self-signed EC root valid {@link #aroundNow()}. */
        public static Ca root(String name) {
            return root(name, ec(), aroundNow());
        }

        public static Ca root(String name, KeyPair keys, Validity validity) {
            X509Certificate cert = TestPki.certificate(name, keys.getPublic(), name, keys.getPrivate(), true, validity, List.of());
            return new Ca(keys, cert, List.of(), validity);
        }

        /** An intermediate CA signed by this one, with the same validity. */
        public Ca intermediate(String name) {
            KeyPair intermediate = ec();
            X509Certificate cert = TestPki.certificate(name, intermediate.getPublic(), subject(), keys.getPrivate(), true, validity, List.of());
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            chain.addAll(path);
            return new Ca(intermediate, cert, List.copyOf(chain), validity);
        }

        /** A leaf certificate for {@code leafKeys} with this CA's validity and no subject alternative names. */
        public Identity leaf(String name, KeyPair leafKeys) {
            return leaf(name, leafKeys, validity);
        }

        public Identity leaf(String name, KeyPair leafKeys, Validity leafValidity) {
            return issue(name, leafKeys, leafValidity, List.of());
        }

        /** A TLS certificate (server and client use) for 127.0.0.1 and localhost, on a new EC key. */
        public Identity server(String name) {
            return issue(name, ec(), validity, List.of("127.0.0.1", "localhost"));
        }

        private Identity issue(String name, KeyPair leafKeys, Validity leafValidity, List<String> sans) {
            X509Certificate cert = TestPki.certificate(name, leafKeys.getPublic(), subject(), keys.getPrivate(), false, leafValidity, sans);
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            chain.addAll(path);
            return new Identity(leafKeys, List.copyOf(chain));
        }

        /** The CA's own key, presented with its certificate as the (one-element) chain. */
        public Identity self() {
            return new Identity(keys, List.of(certificate));
        }

        /** Writes the CA certificate as PEM; returns {@code pem}. */
        public Path writeCertificate(Path pem) {
            return writePem(pem, certificate);
        }

        /** A TLS client context that trusts this CA only. */
        public SSLContext trustingContext() {
            return trusting(certificate);
        }

        private String subject() {
            return certificate.getSubjectX500Principal().getName();
        }
    }

    /** A key and its certificate chain, leaf first (the root is not included). */
    public record Identity(KeyPair keys, List<X509Certificate> chain) {
        public X509Certificate leaf() {
            return chain.get(0);
        }

        public PrivateKey privateKey() {
            return keys.getPrivate();
        }

        public PublicKey publicKey() {
            return keys.getPublic();
        }

        /** Writes the chain and the PKCS#8 key as PEM, each atomically. */
        public void writeTo(Path certificatePem, Path keyPem) {
            writePem(certificatePem, chain.toArray());
            writePem(keyPem, pkcs8(keys.getPrivate()));
        }

        /** A TLS context that presents this identity and trusts {@code trusted} only: a client with a certificate. */
        public SSLContext clientContext(X509Certificate trusted) {
            return context(this, trusted);
        }
    }

    /** A self-signed certificate for {@code keys}, for 127.0.0.1 and localhost (a token signer, a one-off server). */
    public static Identity selfSigned(String name, KeyPair keys, Validity validity) {
        X509Certificate cert = certificate(name, keys.getPublic(), name, keys.getPrivate(), false, validity,
                List.of("127.0.0.1", "localhost"));
        return new Identity(keys, List.of(cert));
    }

    /**
     * One X.509 v3 certificate: basic constraints, key usage, and for a leaf with {@code sans} the TLS server and
     * client purposes. The signature algorithm follows the issuer's key (SHA256 with RSA or ECDSA, or Ed25519).
     */
    public static X509Certificate certificate(String subject, PublicKey subjectKey, String issuer, PrivateKey issuerKey,
            boolean ca, Validity validity, List<String> sans) {
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    new X500Name(dn(issuer)), BigInteger.valueOf(SERIAL.incrementAndGet()),
                    Date.from(validity.notBefore()), Date.from(validity.notAfter()), new X500Name(dn(subject)), subjectKey);
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                    ? KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature
                    : KeyUsage.digitalSignature | (subjectKey.getAlgorithm().equals("RSA") ? KeyUsage.keyEncipherment : 0)));
            if (!sans.isEmpty()) {
                GeneralName[] names = sans.stream()
                        .map(n -> new GeneralName(n.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, n))
                        .toArray(GeneralName[]::new);
                builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
                builder.addExtension(Extension.extendedKeyUsage, false,
                        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            }
            String algorithm = switch (issuerKey.getAlgorithm()) {
                case "RSA" -> "SHA256withRSA";
                case "EC" -> "SHA256withECDSA";
                default -> "Ed25519";
            };
            return new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The PKCS#8 PEM object of a private key, as Kubernetes and registry:2 read it. */
    public static Object pkcs8(PrivateKey key) {
        try {
            return new JcaPKCS8Generator(key, null).generate();
        } catch (PemGenerationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@code objects} (certificates, keys) as PEM to {@code file}, atomically, making its directory; returns {@code file}. */
    public static Path writePem(Path file, Object... objects) {
        try {
            StringWriter text = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(text)) {
                for (Object o : objects) {
                    w.writeObject(o);
                }
            }
            Path temp = file.resolveSibling(file.getFileName() + ".tmp");
            if (temp.getParent() != null) {
                Files.createDirectories(temp.getParent());
            }
            Files.writeString(temp, text.toString());
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A TLS client context that trusts {@code trusted} (a CA, or a self-signed server certificate) only. */
    public static SSLContext trusting(X509Certificate trusted) {
        return context(null, trusted);
    }

    /** A TLS client context that trusts the first certificate of a PEM file (a CA written by {@link Ca#writeCertificate}). */
    public static SSLContext trusting(Path pem) {
        try (java.io.InputStream in = Files.newInputStream(pem)) {
            return trusting((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("no certificate in " + pem, e);
        }
    }

    private static SSLContext context(@org.jspecify.annotations.Nullable Identity client, X509Certificate trusted) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", trusted);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (client != null) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("client", client.privateKey(), new char[0], client.chain().toArray(X509Certificate[]::new));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String dn(String name) {
        return name.contains("=") ? name : "CN=" + name;
    }
}
