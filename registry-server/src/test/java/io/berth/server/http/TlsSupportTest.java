package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.berth.server.config.RegistryConfig;
import io.berth.server.tls.TestPki;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The key manager that hands the PEM key and chain to Netty: full handshakes against each provider, with EC and RSA
 * keys, TLS 1.2 and 1.3, run in memory between the server's engine and a JDK client.
 */
class TlsSupportTest {
    private final TestPki pki = new TestPki();

    @TempDir
    Path dir;

    private TlsSupport tls(SslProvider provider) {
        if (provider == SslProvider.OPENSSL) {
            assumeThat(OpenSsl.isAvailable()).as("OpenSSL loads here").isTrue();
        }
        RegistryConfig.Tls config = new RegistryConfig.Tls(dir.resolve("tls.crt"), dir.resolve("tls.key"), List.of(), "tls1.2", List.of());
        return new TlsSupport(config, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC), provider);
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3", "JDK, TLSv1.2", "JDK, TLSv1.3"})
    void servesTheEcKeyAndCertificateOfThePemFiles(SslProvider provider, String protocol) throws Exception {
        TestPki.Issued issued = pki.issue("127.0.0.1");
        issued.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));

        SSLEngine client = handshake(tls(provider), protocol, pki.trustingClient());

        assertThat(client.getSession().getProtocol()).isEqualTo(protocol);
        assertThat(client.getSession().getPeerCertificates()[0]).isEqualTo(issued.certificate());
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3", "JDK, TLSv1.2", "JDK, TLSv1.3"})
    void servesAnRsaKeyToo(SslProvider provider, String protocol) throws Exception {
        KeyPair rsa = keyPair("RSA", 2048);
        X509Certificate certificate = selfSigned(rsa, "SHA256withRSA");
        TestPki.writePem(dir.resolve("tls.crt"), certificate);
        TestPki.writePem(dir.resolve("tls.key"), new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(rsa.getPrivate(), null).generate());

        SSLEngine client = handshake(tls(provider), protocol, trusting(certificate));

        assertThat(client.getSession().getProtocol()).isEqualTo(protocol);
        assertThat(client.getSession().getPeerCertificates()[0]).isEqualTo(certificate);
    }

    @Test
    void theKeyIsOfferedOnlyForKeyTypesItFits() {
        KeyPair ec = keyPair("EC", 256);
        TlsSupport.PemKeyManager ecSignedWithEc = new TlsSupport.PemKeyManager(ec.getPrivate(), List.of(selfSigned(ec, "SHA256withECDSA")));

        assertThat(ecSignedWithEc.chooseEngineServerAlias("EC", null, null)).isNotNull();
        assertThat(ecSignedWithEc.chooseServerAlias("EC_EC", null, null)).isNotNull();
        assertThat(ecSignedWithEc.chooseEngineServerAlias("EC_RSA", null, null)).isNull();
        assertThat(ecSignedWithEc.chooseEngineServerAlias("RSA", null, null)).isNull();
        assertThat(ecSignedWithEc.chooseEngineServerAlias("RSASSA-PSS", null, null)).isNull();
        assertThat(ecSignedWithEc.getServerAliases("DH_RSA", null)).isNull();
        assertThat(ecSignedWithEc.chooseClientAlias(new String[] {"EC"}, null, null)).isNull();

        String alias = ecSignedWithEc.chooseEngineServerAlias("EC", null, null);
        assertThat(ecSignedWithEc.getPrivateKey(alias)).isSameAs(ec.getPrivate());
        assertThat(ecSignedWithEc.getPrivateKey("other")).isNull();
        assertThat(ecSignedWithEc.getCertificateChain("other")).isNull();
    }

    @Test
    void anRsaKeyFitsRsaKeyTypes() {
        KeyPair rsa = keyPair("RSA", 2048);
        TlsSupport.PemKeyManager manager = new TlsSupport.PemKeyManager(rsa.getPrivate(), List.of(selfSigned(rsa, "SHA256withRSA")));

        assertThat(manager.fits("RSA")).isTrue();
        assertThat(manager.fits("EC")).isFalse();
        assertThat(manager.fits("EC_RSA")).isFalse();
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL", "JDK"})
    void withoutClientCasNoClientCertificateIsAskedForOrTrusted(SslProvider provider) throws Exception {
        pki.issue("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));

        SSLEngine client = handshake(tls(provider), "TLSv1.3", withClientCertificate(pki.issue("ci-runner"), pki.ca));

        assertThat(client.getSession().getLocalCertificates()).isNull();
        TlsSupport.NoClientCertificates none = TlsSupport.NoClientCertificates.INSTANCE;
        assertThat(none.getAcceptedIssuers()).isEmpty();
        assertThatThrownBy(() -> none.checkClientTrusted(new X509Certificate[] {pki.ca}, "EC", (SSLEngine) null))
                .isInstanceOf(CertificateException.class);
    }

    /** Runs a handshake in memory and returns the client's engine; fails unless both sides finish it. */
    private static SSLEngine handshake(TlsSupport tls, String protocol, SSLContext clientContext) throws Exception {
        SSLEngine server = tls.current().newEngine(ByteBufAllocator.DEFAULT);
        SSLEngine client = clientContext.createSSLEngine("127.0.0.1", 443);
        client.setUseClientMode(true);
        client.setEnabledProtocols(new String[] {protocol});
        ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
        ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
        ByteBuffer plain = ByteBuffer.allocate(1 << 17);
        client.beginHandshake();
        server.beginHandshake();
        for (int i = 0; i < 50 && !(finished(client) && finished(server)); i++) {
            step(client, toClient, toServer, plain);
            step(server, toServer, toClient, plain);
        }
        assertThat(client.getHandshakeStatus()).isEqualTo(HandshakeStatus.NOT_HANDSHAKING);
        assertThat(server.getHandshakeStatus()).isEqualTo(HandshakeStatus.NOT_HANDSHAKING);
        return client;
    }

    private static SSLContext trusting(X509Certificate certificate) throws Exception {
        return withClientCertificate(null, certificate);
    }

    /** A client that trusts the given CA or certificate and, if given one, can present a client certificate. */
    private static SSLContext withClientCertificate(TestPki.@Nullable Issued client, X509Certificate trustedCertificate) throws Exception {
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("server", trustedCertificate);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        KeyManager[] keys = null;
        if (client != null) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("client", client.key().getPrivate(), new char[0], new X509Certificate[] {client.certificate()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, new char[0]);
            keys = kmf.getKeyManagers();
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(keys, tmf.getTrustManagers(), null);
        return ctx;
    }

    private static boolean finished(SSLEngine engine) {
        return engine.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING;
    }

    /** Reads what the peer sent, then writes what the engine has to send. */
    private static void step(SSLEngine engine, ByteBuffer in, ByteBuffer out, ByteBuffer plain) throws SSLException {
        in.flip();
        while (in.hasRemaining()) {
            int before = in.remaining();
            engine.unwrap(in, plain);
            runTasks(engine);
            plain.clear();
            if (in.remaining() == before) {
                break;
            }
        }
        in.compact();
        for (int i = 0; i < 8; i++) {
            int before = out.position();
            engine.wrap(ByteBuffer.allocate(0), out);
            runTasks(engine);
            if (out.position() == before && engine.getHandshakeStatus() != HandshakeStatus.NEED_WRAP) {
                break;
            }
        }
    }

    private static void runTasks(SSLEngine engine) {
        for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
            task.run();
        }
    }

    private static KeyPair keyPair(String algorithm, int size) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
            g.initialize(size);
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate selfSigned(KeyPair key, String signature) {
        try {
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=127.0.0.1");
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, Date.from(now.minus(1, ChronoUnit.HOURS)),
                    Date.from(now.plus(1, ChronoUnit.DAYS)), name, key.getPublic());
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(signature).build(key.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
