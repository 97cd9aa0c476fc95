package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.berth.server.config.RegistryConfig;
import io.berth.testing.TestPki;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
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
    private final TestPki.Ca pki = TestPki.Ca.root("Berth Test CA");

    @TempDir
    Path dir;

    private TlsSupport tls(SslProvider provider, String... cipherSuites) {
        if (provider == SslProvider.OPENSSL) {
            assumeThat(OpenSsl.isAvailable()).as("OpenSSL loads here").isTrue();
        }
        RegistryConfig.Tls config = new RegistryConfig.Tls(dir.resolve("tls.crt"), dir.resolve("tls.key"), List.of(), "tls1.2", List.of(cipherSuites));
        return new TlsSupport(config, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC), provider);
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3", "JDK, TLSv1.2", "JDK, TLSv1.3"})
    void servesTheEcKeyAndCertificateOfThePemFiles(SslProvider provider, String protocol) throws Exception {
        TestPki.Identity issued = pki.server("127.0.0.1");
        issued.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));

        SSLEngine client = handshake(tls(provider), protocol, pki.trustingContext());

        assertThat(client.getSession().getProtocol()).isEqualTo(protocol);
        assertThat(client.getSession().getPeerCertificates()[0]).isEqualTo(issued.leaf());
    }

    @Test
    void theExpiryGaugeFollowsARenewedCertificateWithoutAConnection() throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        java.util.concurrent.atomic.AtomicReference<Instant> now = new java.util.concurrent.atomic.AtomicReference<>(Instant.EPOCH);
        Clock clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
        RegistryConfig.Tls config = new RegistryConfig.Tls(dir.resolve("tls.crt"), dir.resolve("tls.key"), List.of(), "tls1.2", List.of());
        var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        new TlsSupport(config, clock, SslProvider.JDK).watchExpiry(meters, "http");
        var gauge = meters.get("berth.tls.certificate.expiry.timestamp").tag("endpoint", "http").gauge();
        assertThat(gauge.value()).isEqualTo(pki.validity().notAfter().getEpochSecond());

        TestPki.Ca renewed = TestPki.Ca.root("Berth Renewed CA", TestPki.ec(),
                new TestPki.Validity(Instant.now().minusSeconds(60), Instant.now().plus(java.time.Duration.ofDays(90))));
        renewed.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        Files.setLastModifiedTime(dir.resolve("tls.crt"), java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(5)));
        now.set(Instant.EPOCH.plusSeconds(2));

        assertThat(gauge.value()).isEqualTo(renewed.validity().notAfter().getEpochSecond());
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3", "JDK, TLSv1.2", "JDK, TLSv1.3"})
    void servesAnRsaKeyToo(SslProvider provider, String protocol) throws Exception {
        KeyPair rsa = TestPki.rsa();
        X509Certificate certificate = selfSigned(rsa);
        TestPki.writePem(dir.resolve("tls.crt"), certificate);
        TestPki.writePem(dir.resolve("tls.key"), TestPki.pkcs8(rsa.getPrivate()));

        SSLEngine client = handshake(tls(provider), protocol, trusting(certificate));

        assertThat(client.getSession().getProtocol()).isEqualTo(protocol);
        assertThat(client.getSession().getPeerCertificates()[0]).isEqualTo(certificate);
    }

    @Test
    void theKeyIsOfferedOnlyForKeyTypesItFits() {
        KeyPair ec = TestPki.ec();
        TlsSupport.PemKeyManager ecSignedWithEc = new TlsSupport.PemKeyManager(ec.getPrivate(), List.of(selfSigned(ec)));

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
        KeyPair rsa = TestPki.rsa();
        TlsSupport.PemKeyManager manager = new TlsSupport.PemKeyManager(rsa.getPrivate(), List.of(selfSigned(rsa)));

        assertThat(manager.fits("RSA")).isTrue();
        assertThat(manager.fits("EC")).isFalse();
        assertThat(manager.fits("EC_RSA")).isFalse();
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL", "JDK"})
    void withoutClientCasNoClientCertificateIsAskedForOrTrusted(SslProvider provider) throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));

        SSLEngine client = handshake(tls(provider), "TLSv1.3", pki.server("ci-runner").clientContext(pki.certificate()));

        assertThat(client.getSession().getLocalCertificates()).isNull();
        TlsSupport.NoClientCertificates none = TlsSupport.NoClientCertificates.INSTANCE;
        assertThat(none.getAcceptedIssuers()).isEmpty();
        assertThatThrownBy(() -> none.checkClientTrusted(new X509Certificate[] {pki.certificate()}, "EC", (SSLEngine) null))
                .isInstanceOf(CertificateException.class);
    }

    // ---- cipher suites: TLS 1.2 as registry:2 negotiates it unless http.tls.ciphersuites says otherwise

    /** The TLS 1.2 suites Berth offers without http.tls.ciphersuites: ECDHE key exchange, AEAD ciphers. */
    private static final List<String> ECDHE_AEAD = List.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    @ParameterizedTest
    @CsvSource({
        "OPENSSL, TLS_RSA_WITH_AES_128_GCM_SHA256", "OPENSSL, TLS_RSA_WITH_AES_256_GCM_SHA384",
        "OPENSSL, TLS_RSA_WITH_AES_128_CBC_SHA", "OPENSSL, TLS_RSA_WITH_AES_256_CBC_SHA",
        "OPENSSL, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "OPENSSL, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "OPENSSL, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "OPENSSL, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "JDK, TLS_RSA_WITH_AES_128_GCM_SHA256", "JDK, TLS_RSA_WITH_AES_256_GCM_SHA384",
        "JDK, TLS_RSA_WITH_AES_128_CBC_SHA", "JDK, TLS_RSA_WITH_AES_256_CBC_SHA",
        "JDK, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "JDK, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "JDK, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "JDK, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "JDK, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "JDK, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"})
    void byDefaultTls12RefusesSuitesWithoutForwardSecrecyOrAead(SslProvider provider, String suite) throws Exception {
        X509Certificate certificate = writeKeyFor(suite);
        TlsSupport tls = tls(provider);

        // BoringSSL's client still offers the RSA key exchange that the JDK's own no longer does, the JDK's CBC with SHA-2.
        List<SslProvider> clients = clientProviders().stream().filter(c -> offers(c, suite)).toList();
        assumeThat(clients).as("clients here that offer %s", suite).isNotEmpty();
        for (SslProvider client : clients) {
            assertThat(handshakes(tls, tls12Client(client, suite, certificate)))
                    .as("%s client offering only %s", client, suite).isFalse();
        }
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL", "JDK"})
    void byDefaultTls12NegotiatesEachEcdheAeadSuite(SslProvider provider) throws Exception {
        for (String suite : ECDHE_AEAD) {
            X509Certificate certificate = writeKeyFor(suite);
            TlsSupport tls = tls(provider);
            for (SslProvider client : clientProviders()) {
                SSLEngine engine = handshake(tls, tls12Client(client, suite, certificate));

                assertThat(engine.getSession().getProtocol()).isEqualTo("TLSv1.2");
                assertThat(engine.getSession().getCipherSuite()).as("%s client", client).isIn(suite, "SSL" + suite.substring(3));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL", "JDK"})
    void byDefaultTls13SuitesAreTheProvidersOwn(SslProvider provider) throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        SslContext plain = SslContextBuilder.forServer(dir.resolve("tls.crt").toFile(), dir.resolve("tls.key").toFile())
                .sslProvider(provider).build();

        assertThat(tls13(tls(provider).current().cipherSuites())).isNotEmpty().isEqualTo(tls13(plain.cipherSuites()));
    }

    @ParameterizedTest
    @CsvSource({
        "OPENSSL, OPENSSL, TLS_RSA_WITH_AES_128_GCM_SHA256", "OPENSSL, OPENSSL, TLS_RSA_WITH_AES_256_CBC_SHA",
        "OPENSSL, OPENSSL, TLS_RSA_WITH_AES_128_CBC_SHA", "OPENSSL, OPENSSL, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "OPENSSL, JDK, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "OPENSSL, JDK, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "JDK, OPENSSL, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "JDK, JDK, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "JDK, JDK, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "JDK, JDK, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"})
    void configuredCipherSuitesWidenTls12Again(SslProvider provider, SslProvider client, String suite) throws Exception {
        assumeThat(client != SslProvider.OPENSSL || OpenSsl.isAvailable()).as("OpenSSL loads here").isTrue();
        X509Certificate certificate = writeKeyFor(suite);

        SSLEngine engine = handshake(tls(provider, suite), tls12Client(client, suite, certificate));

        assertThat(engine.getSession().getCipherSuite()).isIn(suite, "SSL" + suite.substring(3));
    }

    @ParameterizedTest
    @CsvSource({"OPENSSL", "JDK"})
    void configuredCipherSuitesNarrowTls12Too(SslProvider provider) throws Exception {
        X509Certificate certificate = writeKeyFor("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        TlsSupport tls = tls(provider, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");

        for (SslProvider client : clientProviders()) {
            assertThat(handshakes(tls, tls12Client(client, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", certificate))).isFalse();
            assertThat(handshake(tls, tls12Client(client, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", certificate))
                    .getSession().getCipherSuite()).isIn("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "SSL_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
        }
    }

    /** Writes the server's key and certificate: EC for ECDSA suites, RSA for the others; returns the certificate. */
    private X509Certificate writeKeyFor(String suite) throws Exception {
        if (suite.contains("_ECDSA_")) {
            TestPki.Identity issued = pki.server("127.0.0.1");
            issued.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
            return issued.leaf();
        }
        KeyPair rsa = TestPki.rsa();
        X509Certificate certificate = selfSigned(rsa);
        TestPki.writePem(dir.resolve("tls.crt"), certificate);
        TestPki.writePem(dir.resolve("tls.key"), TestPki.pkcs8(rsa.getPrivate()));
        return certificate;
    }

    /** BoringSSL where it loads, and the JDK. */
    private static List<SslProvider> clientProviders() {
        return OpenSsl.isAvailable() ? List.of(SslProvider.OPENSSL, SslProvider.JDK) : List.of(SslProvider.JDK);
    }

    /** Whether a client of {@code provider} can offer {@code suite} at all. */
    private static boolean offers(SslProvider provider, String suite) {
        try {
            SslContext context = SslContextBuilder.forClient().sslProvider(provider).build();
            return List.of(context.newEngine(ByteBufAllocator.DEFAULT).getSupportedCipherSuites()).contains(suite);
        } catch (SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A TLS 1.2 client of {@code provider} that offers {@code suite} alone and trusts the server's {@code certificate}
     * (its name is not checked: the RSA certificate has no subject alternative name).
     */
    private static SSLEngine tls12Client(SslProvider provider, String suite, X509Certificate certificate) throws SSLException {
        SslContext context = SslContextBuilder.forClient().sslProvider(provider).trustManager(certificate).endpointIdentificationAlgorithm(null)
                .protocols("TLSv1.2").ciphers(List.of(suite)).build();
        return context.newEngine(ByteBufAllocator.DEFAULT, "127.0.0.1", 443);
    }

    private static List<String> tls13(List<String> suites) {
        return suites.stream().filter(s -> !s.contains("_WITH_")).toList();
    }

    /** Runs a handshake in memory and returns the client's engine; fails unless both sides finish it. */
    private static SSLEngine handshake(TlsSupport tls, String protocol, SSLContext clientContext) throws Exception {
        SSLEngine client = clientContext.createSSLEngine("127.0.0.1", 443);
        client.setUseClientMode(true);
        client.setEnabledProtocols(new String[] {protocol});
        return handshake(tls, client);
    }

    private static SSLEngine handshake(TlsSupport tls, SSLEngine client) throws Exception {
        SSLEngine server = tls.current().newEngine(ByteBufAllocator.DEFAULT);
        run(server, client);
        assertThat(client.getHandshakeStatus()).isEqualTo(HandshakeStatus.NOT_HANDSHAKING);
        assertThat(server.getHandshakeStatus()).isEqualTo(HandshakeStatus.NOT_HANDSHAKING);
        return client;
    }

    /** Whether a handshake between a new server engine and {@code client} finishes on both sides. */
    private static boolean handshakes(TlsSupport tls, SSLEngine client) throws Exception {
        SSLEngine server = tls.current().newEngine(ByteBufAllocator.DEFAULT);
        try {
            run(server, client);
        } catch (SSLException refused) {
            return false;
        }
        return finished(client) && finished(server);
    }

    /** Passes the handshake's records between the two engines in memory until both finish, or one throws. */
    private static void run(SSLEngine server, SSLEngine client) throws SSLException {
        ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
        ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
        ByteBuffer plain = ByteBuffer.allocate(1 << 17);
        client.beginHandshake();
        server.beginHandshake();
        for (int i = 0; i < 50 && !(finished(client) && finished(server)); i++) {
            step(client, toClient, toServer, plain);
            step(server, toServer, toClient, plain);
        }
    }

    private static SSLContext trusting(X509Certificate certificate) {
        return TestPki.trusting(certificate);
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

    private static X509Certificate selfSigned(KeyPair key) {
        return TestPki.selfSigned("127.0.0.1", key, TestPki.aroundNow()).leaf();
    }
}
