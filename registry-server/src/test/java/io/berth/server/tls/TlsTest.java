package io.berth.server.tls;

import io.berth.testing.TestPki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.server.Berth;
import io.berth.server.config.ConfigException;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS as registry:2 configures it: served, plain HTTP refused, old protocols refused, rotation, mutual TLS. */
class TlsTest {
    private final TestPki.Ca pki = TestPki.Ca.root("Berth Test CA");

    private RegistryConfig config(Path dir, Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(Map.of(
                "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", dir.resolve("data").toString(),
                "REGISTRY_HTTP_ADDR", "127.0.0.1:0",
                "REGISTRY_HTTP_TLS_CERTIFICATE", dir.resolve("tls.crt").toString(),
                "REGISTRY_HTTP_TLS_KEY", dir.resolve("tls.key").toString(),
                "REGISTRY_LOG_ACCESSLOG_DISABLED", "true"));
        env.putAll(extra);
        return ConfigLoader.load(null, env);
    }

    private static String get(SSLContext ctx, InetSocketAddress addr, String protocol) throws Exception {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", addr.getPort())) {
            if (protocol != null) {
                s.setEnabledProtocols(new String[] {protocol});
            }
            return exchange(s);
        }
    }

    private static String exchange(Socket s) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    private static BigInteger servedSerial(SSLContext ctx, InetSocketAddress addr) throws Exception {
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", addr.getPort())) {
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    @Test
    void servesTheV2BaseOverTlsAndBuildsHttpsUrls(@TempDir Path dir) throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        try (Berth berth = Berth.builder().config(config(dir, Map.of())).build()) {
            InetSocketAddress addr = berth.start();
            assertThat(berth.baseUri().getScheme()).isEqualTo("https");
            String response = get(pki.trustingContext(), addr, "TLSv1.2");
            assertThat(response).startsWith("HTTP/1.1 200").contains("Docker-Distribution-API-Version: registry/2.0");
            assertThat(get(pki.trustingContext(), addr, "TLSv1.3")).startsWith("HTTP/1.1 200");
        }
    }

    @Test
    void plainHttpSentToTheTlsPortGetsA400WithTheSpecBody(@TempDir Path dir) throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        try (Berth berth = Berth.builder().config(config(dir, Map.of())).build()) {
            InetSocketAddress addr = berth.start();
            try (Socket plain = new Socket("127.0.0.1", addr.getPort())) {
                String response = exchange(plain);
                assertThat(response).startsWith("HTTP/1.1 400").contains("Client sent an HTTP request to an HTTPS server.")
                        .contains("\"errors\":[{\"code\":\"UNSUPPORTED\"");
            }
        }
    }

    @Test
    void tls11ClientsAreRefused(@TempDir Path dir) throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        try (Berth berth = Berth.builder().config(config(dir, Map.of())).build()) {
            InetSocketAddress addr = berth.start();
            SSLContext old = SSLContext.getInstance("TLSv1.1");
            old.init(null, null, null);
            assertThatThrownBy(() -> get(old, addr, "TLSv1.1")).isInstanceOf(SSLException.class);
        }
    }

    @Test
    void aRotatedCertificateIsServedWithoutARestart(@TempDir Path dir) throws Exception {
        TestPki.Identity first = pki.server("127.0.0.1");
        first.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        try (Berth berth = Berth.builder().config(config(dir, Map.of())).build()) {
            InetSocketAddress addr = berth.start();
            assertThat(servedSerial(pki.trustingContext(), addr)).isEqualTo(first.leaf().getSerialNumber());
            TestPki.Identity second = pki.server("127.0.0.1");
            second.writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
            long deadline = System.nanoTime() + 10_000_000_000L;
            BigInteger served;
            do {
                Thread.sleep(200);
                served = servedSerial(pki.trustingContext(), addr);
            } while (!served.equals(second.leaf().getSerialNumber()) && System.nanoTime() < deadline);
            assertThat(served).isEqualTo(second.leaf().getSerialNumber());
        }
    }

    @Test
    void clientCasRequireAClientCertificateTheyIssued(@TempDir Path dir) throws Exception {
        pki.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
        pki.writeCertificate(dir.resolve("clients.crt"));
        Map<String, String> mtls = Map.of("REGISTRY_HTTP_TLS_CLIENTCAS", "[" + dir.resolve("clients.crt") + "]");
        try (Berth berth = Berth.builder().config(config(dir, mtls)).build()) {
            InetSocketAddress addr = berth.start();
            assertThat(get(pki.server("ci-runner").clientContext(pki.certificate()), addr, null)).startsWith("HTTP/1.1 200");
            assertThatThrownBy(() -> get(pki.trustingContext(), addr, null)).isInstanceOfAny(SSLException.class, java.net.SocketException.class);
            TestPki.Ca stranger = TestPki.Ca.root("Stranger CA");
            assertThatThrownBy(() -> get(stranger.server("intruder").clientContext(pki.certificate()), addr, null))
                    .isInstanceOfAny(SSLException.class, java.net.SocketException.class);
        }
    }

    @Test
    void minimumTlsBelow12IsAConfigurationError(@TempDir Path dir) {
        assertThatThrownBy(() -> config(dir, Map.of("REGISTRY_HTTP_TLS_MINIMUMTLS", "tls1.0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("http.tls.minimumtls");
    }
}
