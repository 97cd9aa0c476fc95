package io.berth.server.http;

import io.berth.auth.token.TokenKeys;
import io.berth.server.config.RegistryConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS as registry:2 configures it, served by OpenSSL (BoringSSL) when it loads and by the JDK
 * otherwise. The certificate, key and client CAs are reloaded when their files change, checked at
 * most once a second as connections arrive, so a Secret rotated in place by cert-manager is picked
 * up without a restart; a broken new pair keeps the old one in service.
 */
final class TlsSupport {
    private static final Logger log = LoggerFactory.getLogger(TlsSupport.class);
    private static final byte[] PLAIN_HTTP_REFUSAL = plainHttpRefusal();

    private final RegistryConfig.Tls config;
    private final Clock clock;
    private volatile SslContext context;
    private volatile String fingerprint;
    private volatile long checkedAtMillis;

    TlsSupport(RegistryConfig.Tls config, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.fingerprint = fingerprint();
        this.context = build();
        this.checkedAtMillis = clock.millis();
        log.info("TLS enabled ({}, minimum {}{})", OpenSsl.isAvailable() ? "OpenSSL " + OpenSsl.versionString() : "JDK",
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
            SslContextBuilder b = SslContextBuilder.forServer(privateKey(config.key()), chain)
                    .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols(config.minimumTls().equals("tls1.3") ? new String[] {"TLSv1.3"} : new String[] {"TLSv1.3", "TLSv1.2"});
            if (!config.cipherSuites().isEmpty()) {
                b.ciphers(config.cipherSuites(), SupportedCipherSuiteFilter.INSTANCE);
            }
            if (!config.clientCas().isEmpty()) {
                List<X509Certificate> cas = new ArrayList<>();
                for (Path p : config.clientCas()) {
                    cas.addAll(certificates(p));
                }
                b.trustManager(cas).clientAuth(ClientAuth.REQUIRE);
            }
            return b.build();
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

    static @Nullable TlsSupport of(RegistryConfig.@Nullable Tls tls) {
        return tls == null ? null : new TlsSupport(tls, Clock.systemUTC());
    }
}
