package io.berth.server.http;

import io.berth.auth.token.TokenKeys;
import io.berth.server.config.RegistryConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.CipherSuiteFilter;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.KeyManagerFactoryWrapper;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS as registry:2 configures it, served by OpenSSL (BoringSSL) when it loads and by the JDK
 * otherwise. The certificate, key and client CAs are reloaded when their files change, checked at
 * most once a second as connections arrive, so a Secret rotated in place by cert-manager is picked
 * up without a restart; a broken new pair keeps the old one in service.
 *
 * <p>The key and chain go to Netty through a key manager that holds them as read, not through a key store: Netty's
 * own path stores the key in a PKCS#12 key store and reads it back, two PBKDF2 runs that were a large part of a TLS
 * start (and of each reload).
 */
final class TlsSupport {
    private static final Logger log = LoggerFactory.getLogger(TlsSupport.class);
    private static final byte[] PLAIN_HTTP_REFUSAL = plainHttpRefusal();

    private final RegistryConfig.Tls config;
    private final Clock clock;
    private final SslProvider provider;
    private volatile SslContext context;
    private volatile String fingerprint;
    private volatile long checkedAtMillis;
    /** The served certificate's notAfter, in Unix seconds. */
    private volatile long notAfterSeconds;

    TlsSupport(RegistryConfig.Tls config, Clock clock) {
        this(config, clock, OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK);
    }

    /** With a given provider, so that tests cover the JDK's TLS too where OpenSSL loads. */
    TlsSupport(RegistryConfig.Tls config, Clock clock, SslProvider provider) {
        this.config = config;
        this.clock = clock;
        this.provider = provider;
        this.fingerprint = fingerprint();
        this.context = build();
        this.checkedAtMillis = clock.millis();
        log.info("TLS enabled ({}, minimum {}{})", provider == SslProvider.OPENSSL ? "OpenSSL " + OpenSsl.versionString() : "JDK",
                config.minimumTls(), config.clientCas().isEmpty() ? "" : ", client certificates required");
    }

    /** The context for a new connection, rebuilt first if the files changed. */
    SslContext current() {
        long now = clock.millis();
        if (now - checkedAtMillis >= 1000) {
            checkedAtMillis = now;
            String latest = fingerprint();
            if (!latest.equals(fingerprint)) {
                try {
                    context = build();
                    fingerprint = latest;
                    log.info("TLS certificate reloaded from {}", config.certificate());
                } catch (RuntimeException e) {
                    log.warn("TLS certificate or key changed but cannot be loaded; keeping the previous pair: {}", e.getMessage());
                }
            }
        }
        return context;
    }

    /**
     * Publishes the served certificate's expiry as {@code berth.tls.certificate.expiry.timestamp} (Unix seconds) with
     * the tag {@code endpoint}. A scrape looks for a renewed certificate first, as a new connection does, so the
     * gauge follows a renewal even when no client connects.
     */
    void watchExpiry(MeterRegistry meters, String endpoint) {
        Gauge.builder("berth.tls.certificate.expiry.timestamp", this, t -> {
                    t.current();
                    return t.notAfterSeconds;
                })
                .baseUnit("seconds")
                .tag("endpoint", endpoint)
                .description("when the served TLS certificate expires, in Unix seconds")
                .register(meters);
    }

    /** A first handler that hands TLS connections to an SslHandler and answers plain HTTP with a 400. */
    ByteToMessageDecoder newDetector() {
        return new Detector();
    }

    private SslContext build() {
        try {
            List<X509Certificate> chain = certificates(config.certificate());
            if (chain.isEmpty()) {
                throw new IllegalArgumentException("no certificate in " + config.certificate());
            }
            KeyManagerFactory keys = new KeyManagerFactoryWrapper(new PemKeyManager(privateKey(config.key()), chain));
            long notAfter = chain.getFirst().getNotAfter().toInstant().getEpochSecond();
            if (provider == SslProvider.OPENSSL) {
                // Lets OpenSSL convert the key once per context rather than once per handshake.
                keys = new OpenSslCachingX509KeyManagerFactory(keys);
            }
            SslContextBuilder b = SslContextBuilder.forServer(keys)
                    .sslProvider(provider)
                    .protocols(config.minimumTls().equals("tls1.3") ? new String[] {"TLSv1.3"} : new String[] {"TLSv1.3", "TLSv1.2"});
            if (config.cipherSuites().isEmpty()) {
                b.ciphers(null, EcdheAeadDefaults.INSTANCE);
            } else {
                b.ciphers(config.cipherSuites(), SupportedCipherSuiteFilter.INSTANCE);
            }
            if (!config.clientCas().isEmpty()) {
                List<X509Certificate> cas = new ArrayList<>();
                for (Path p : config.clientCas()) {
                    cas.addAll(certificates(p));
                }
                b.trustManager(cas).clientAuth(ClientAuth.REQUIRE);
            } else {
                // Without one, Netty and the JDK load the JDK's CA bundle, though no client certificate is asked for.
                b.trustManager(NoClientCertificates.INSTANCE);
            }
            SslContext built = b.build();
            notAfterSeconds = notAfter;
            return built;
        } catch (SSLException e) {
            throw new IllegalArgumentException("http.tls: " + e.getMessage(), e);
        }
    }

    private String fingerprint() {
        StringBuilder sb = new StringBuilder();
        List<Path> files = new ArrayList<>(List.of(config.certificate(), config.key()));
        files.addAll(config.clientCas());
        for (Path p : files) {
            try {
                Path real = p.toRealPath();
                sb.append(real).append('@').append(Files.getLastModifiedTime(real).toMillis()).append('/').append(Files.size(real)).append(';');
            } catch (IOException e) {
                sb.append(p).append("@missing;");
            }
        }
        return sb.toString();
    }

    /** The PEM readers of token auth serve TLS too: PKCS#8, PKCS#1 and SEC1 keys, certificate bundles. */
    private static List<X509Certificate> certificates(Path pem) {
        try {
            return TokenKeys.readCertificates(pem);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read certificates: " + e.getMessage(), e);
        }
    }

    private static PrivateKey privateKey(Path pem) {
        try {
            return TokenKeys.readPrivateKey(pem);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the private key: " + e.getMessage(), e);
        }
    }

    /**
     * The one key and chain of the PEM files, under one alias, offered for the key types the key fits: {@code EC} or
     * {@code RSA} by the key's algorithm, and {@code EC_EC} or {@code EC_RSA} also by the certificate's signature.
     */
    static final class PemKeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "berth";
        private final PrivateKey key;
        private final X509Certificate[] chain;

        PemKeyManager(PrivateKey key, List<X509Certificate> chain) {
            this.key = key;
            this.chain = chain.toArray(X509Certificate[]::new);
        }

        boolean fits(String keyType) {
            int underscore = keyType.indexOf('_');
            String algorithm = underscore < 0 ? keyType : keyType.substring(0, underscore);
            if (!algorithm.equals(key.getAlgorithm())) {
                return false;
            }
            return underscore < 0 || chain[0].getSigAlgName().toUpperCase(Locale.ROOT)
                    .contains("WITH" + keyType.substring(underscore + 1));
        }

        private String @Nullable [] aliases(@Nullable String keyType) {
            return keyType != null && fits(keyType) ? new String[] {ALIAS} : null;
        }

        private @Nullable String alias(@Nullable String keyType) {
            return keyType != null && fits(keyType) ? ALIAS : null;
        }

        @Override
        public String @Nullable [] getServerAliases(String keyType, Principal @Nullable [] issuers) {
            return aliases(keyType);
        }

        @Override
        public @Nullable String chooseServerAlias(String keyType, Principal @Nullable [] issuers, @Nullable Socket socket) {
            return alias(keyType);
        }

        @Override
        public @Nullable String chooseEngineServerAlias(String keyType, Principal @Nullable [] issuers, @Nullable SSLEngine engine) {
            return alias(keyType);
        }

        @Override
        public String @Nullable [] getClientAliases(String keyType, Principal @Nullable [] issuers) {
            return null;
        }

        @Override
        public @Nullable String chooseClientAlias(String[] keyTypes, Principal @Nullable [] issuers, @Nullable Socket socket) {
            return null;
        }

        @Override
        public X509Certificate @Nullable [] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public @Nullable PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key : null;
        }
    }

    /**
     * The suites without {@code http.tls.ciphersuites}: for TLS 1.2 only ECDHE key exchange with an AEAD cipher, the
     * suites registry:2 (Go) negotiates, where Netty's defaults add RSA key exchange and CBC with SHA-1; for TLS 1.3
     * the provider's own defaults, as before.
     */
    static final class EcdheAeadDefaults implements CipherSuiteFilter {
        static final EcdheAeadDefaults INSTANCE = new EcdheAeadDefaults();
        static final List<String> TLS12 = List.of(
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

        @Override
        public String[] filterCipherSuites(@Nullable Iterable<String> ciphers, List<String> defaultCiphers, Set<String> supportedCiphers) {
            if (ciphers != null) {
                return SupportedCipherSuiteFilter.INSTANCE.filterCipherSuites(ciphers, defaultCiphers, supportedCiphers);
            }
            List<String> suites = new ArrayList<>();
            for (String suite : TLS12) {
                if (supportedCiphers.contains(suite)) {
                    suites.add(suite);
                }
            }
            for (String suite : defaultCiphers) {
                // TLS 1.3 names say no key exchange: TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, ...
                if (!suite.contains("_WITH_")) {
                    suites.add(suite);
                }
            }
            return suites.toArray(String[]::new);
        }
    }

    /** Trusts no client certificate: the trust manager when {@code clientcas} is not set, and none is asked for. */
    static final class NoClientCertificates extends X509ExtendedTrustManager {
        static final NoClientCertificates INSTANCE = new NoClientCertificates();

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, @Nullable Socket socket) throws CertificateException {
            refuse();
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, @Nullable SSLEngine engine) throws CertificateException {
            refuse();
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            refuse();
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, @Nullable Socket socket) throws CertificateException {
            refuse();
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, @Nullable SSLEngine engine) throws CertificateException {
            refuse();
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            refuse();
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }

        private static void refuse() throws CertificateException {
            throw new CertificateException("no client certificates are trusted without http.tls.clientcas");
        }
    }

    /** Sniffs the first bytes: a TLS record gets the SslHandler, anything else the registry:2-style 400. */
    private final class Detector extends ByteToMessageDecoder {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (in.readableBytes() < 5) {
                return;
            }
            if (SslHandler.isEncrypted(in, false)) {
                SslHandler ssl = current().newHandler(ctx.alloc());
                ctx.pipeline().replace(this, "tls", ssl);
            } else {
                in.skipBytes(in.readableBytes());
                ctx.writeAndFlush(Unpooled.wrappedBuffer(PLAIN_HTTP_REFUSAL)).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }

    @Override
    public String toString() {
        return "TlsSupport[" + Objects.toString(config.certificate()) + "]";
    }

    private static byte[] plainHttpRefusal() {
        String body = "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"Client sent an HTTP request to an HTTPS server.\","
                + "\"detail\":\"use https:// for this registry\"}]}";
        return ("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + "Docker-Distribution-API-Version: registry/2.0\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                .getBytes(StandardCharsets.US_ASCII);
    }

    static @Nullable TlsSupport of(RegistryConfig.@Nullable Tls tls, Clock clock) {
        return tls == null ? null : new TlsSupport(tls, clock);
    }
}
