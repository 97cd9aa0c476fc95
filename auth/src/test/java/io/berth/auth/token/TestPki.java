package io.berth.auth.token;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
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
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A small PKI for tests: keys, a CA, intermediates and leaf certificates, made with BouncyCastle. */
final class TestPki {
    /** The instant tests run at; certificates are valid a day before it to thirty days after. */
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    private static final AtomicLong SERIAL = new AtomicLong(1000);

    private TestPki() {}

    static KeyPair rsa() {
        return generate("RSA", 2048);
    }

    static KeyPair ec() {
        return ec("secp256r1");
    }

    static KeyPair ec(String curve) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec(curve));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static KeyPair ed25519() {
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

    /** A certificate authority: its keys and its certificate. */
    record Ca(KeyPair keys, X509Certificate certificate, List<X509Certificate> path) {
        /** A self-signed root. */
        static Ca root(String name) {
            return root(name, ec());
        }

        static Ca root(String name, KeyPair keys) {
            X509Certificate cert = TestPki.certificate(name, keys.getPublic(), name, keys.getPrivate(), true,
                    NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
            return new Ca(keys, cert, List.of());
        }

        /** An intermediate CA signed by this one. */
        Ca intermediate(String name) {
            KeyPair intermediate = ec();
            X509Certificate cert = TestPki.certificate(name, intermediate.getPublic(), subject(), keys.getPrivate(),
                    true, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
            List<X509Certificate> path = new ArrayList<>();
            path.add(cert);
            path.addAll(this.path);
            return new Ca(intermediate, cert, List.copyOf(path));
        }

        /** A leaf certificate for {@code leafKeys}, valid around {@link #NOW}. */
        Identity leaf(String name, KeyPair leafKeys) {
            return leaf(name, leafKeys, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(30)));
        }

        Identity leaf(String name, KeyPair leafKeys, Instant notBefore, Instant notAfter) {
            X509Certificate cert = TestPki.certificate(name, leafKeys.getPublic(), subject(), keys.getPrivate(), false,
                    notBefore, notAfter);
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            chain.addAll(path);
            return new Identity(leafKeys, List.copyOf(chain));
        }

        /** The CA's own key, presented with its certificate as the (one-element) chain. */
        Identity self() {
            return new Identity(keys, List.of(certificate));
        }

        private String subject() {
            return certificate.getSubjectX500Principal().getName();
        }
    }

    /** A signing key and its certificate chain, leaf first (the root is not included). */
    record Identity(KeyPair keys, List<X509Certificate> chain) {
        X509Certificate leaf() {
            return chain.get(0);
        }

        PrivateKey privateKey() {
            return keys.getPrivate();
        }

        PublicKey publicKey() {
            return keys.getPublic();
        }
    }

    static X509Certificate certificate(String subject, PublicKey subjectKey, String issuer, PrivateKey issuerKey,
            boolean ca, Instant notBefore, Instant notAfter) {
        try {
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
                    new X500Name(dn(issuer)), BigInteger.valueOf(SERIAL.incrementAndGet()),
                    Date.from(notBefore), Date.from(notAfter), new X500Name(dn(subject)), subjectKey);
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(ca
                    ? KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature
                    : KeyUsage.digitalSignature));
            String algorithm = switch (issuerKey.getAlgorithm()) {
                case "RSA" -> "SHA256withRSA";
                case "EC" -> "SHA256withECDSA";
                default -> "Ed25519";
            };
            return new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)));
        } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String dn(String name) {
        return name.contains("=") ? name : "CN=" + name;
    }
}
