package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.HtpasswdFiles;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Ingress path with a real nginx in front of Berth, as the shipped manifests set it up: nginx's HTTP proxy adds
 * {@code X-Forwarded-For} (as ingress-nginx and Traefik do) and its TCP proxy sends the PROXY protocol (as HAProxy
 * does with {@code send-proxy-protocol}). Clients come from different loopback addresses; Berth trusts only nginx
 * ({@code berth.trustedProxies: [127.0.0.1/32]}), so one client's failed logins or connections never count against
 * another. Before trusted proxies, every client here had nginx's address, and a guesser locked the account out for all.
 */
@Tag("hostile")
class NginxProxyIT {
    private static final InetAddress GUESSER = address("127.0.0.3");
    private static final InetAddress CLIENT = address("127.0.0.2");

    @TempDir
    static Path work;

    private static Berth berth;
    private static Daemon nginx;
    private static int httpPort;
    private static int streamPort;

    private static InetAddress address(String a) {
        try {
            return InetAddress.getByName(a);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        HtpasswdFiles.write(work.resolve("htpasswd"), Map.of("admin", "admin-secret"));
        int berthPort = BinBerthIT.freePort();
        Path config = Files.writeString(work.resolve("config.yml"), """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                auth:
                  htpasswd:
                    realm: berth
                    path: %s
                berth:
                  trustedProxies: [127.0.0.1/32]
                  limits:
                    maxConnectionsPerClient: 3
                """.formatted(work.resolve("data"), berthPort, work.resolve("htpasswd")));
        berth = Berth.builder().config(ConfigLoader.load(config, Map.of())).build();
        berth.start();
        httpPort = BinBerthIT.freePort();
        streamPort = BinBerthIT.freePort();
        Path prefix = Files.createDirectories(work.resolve("nginx"));
        Path conf = Files.writeString(prefix.resolve("nginx.conf"), """
                load_module /usr/lib/nginx/modules/ngx_stream_module.so;
                daemon off;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events {}
                http {
                    access_log off;
                    client_body_temp_path %1$s/body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    server {
                        listen 127.0.0.1:%2$d;
                        location / {
                            proxy_pass http://127.0.0.1:%4$d;
                            proxy_http_version 1.1;
                            proxy_set_header Host $http_host;
                            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                            proxy_set_header X-Real-IP $remote_addr;
                        }
                    }
                }
                stream {
                    server {
                        listen 127.0.0.1:%3$d;
                        proxy_pass 127.0.0.1:%4$d;
                        proxy_protocol on;
                    }
                }
                """.formatted(prefix, httpPort, streamPort, berthPort));
        nginx = Daemon.start(List.of(Peers.tool("NGINX"), "-p", prefix.toString(), "-c", conf.toString(), "-e", prefix.resolve("error.log").toString()),
                Map.of(), Duration.ofSeconds(30), () -> listening(httpPort) && listening(streamPort));
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @AfterAll
    static void stop() {
        try {
            if (nginx != null) {
                nginx.close();
            }
        } finally {
            if (berth != null) {
                berth.close();
            }
        }
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static int login(InetAddress from, int port, String password, String... extraHeaders) throws IOException {
        String[] headers = new String[2 + extraHeaders.length];
        headers[0] = "Authorization";
        headers[1] = basic("admin", password);
        System.arraycopy(extraHeaders, 0, headers, 2, extraHeaders.length);
        return HostileBerth.request(from, port, "GET /v2/", headers, new byte[0], Duration.ofSeconds(15)).statusCode();
    }

    @Test
    void throughNginxsHttpProxyAGuesserIsLimitedAloneEvenWhenItForgesXForwardedFor() throws Exception {
        int limited = 0;
        for (int i = 0; i < 12; i++) {
            // The guesser claims to be the client; nginx appends the real address, which Berth takes.
            int status = login(GUESSER, httpPort, "guess-" + i, "X-Forwarded-For", CLIENT.getHostAddress());
            assertThat(status).isIn(401, 429);
            limited += status == 429 ? 1 : 0;
        }
        assertThat(limited).as("the guesser is held to its budgets").isPositive();
        assertThat(login(CLIENT, httpPort, "admin-secret")).as("the account's owner, behind the same proxy").isEqualTo(200);
    }

    @Test
    void throughNginxsProxyProtocolConnectionsCountPerClient() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                held.add(openAndPing(GUESSER));
            }
            try (Socket fourth = connect(GUESSER)) {
                fourth.getOutputStream().write(ping());
                assertThat(fourth.getInputStream().read()).as("a fourth connection of the same client is closed").isNegative();
            }
            held.add(openAndPing(CLIENT));
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void throughNginxsProxyProtocolLoginBudgetsArePerClient() throws Exception {
        for (int i = 0; i < 12; i++) {
            login(address("127.0.0.4"), streamPort, "guess-" + i);
        }
        assertThat(login(address("127.0.0.4"), streamPort, "guess-x")).isEqualTo(429);
        assertThat(login(address("127.0.0.5"), streamPort, "admin-secret")).isEqualTo(200);
    }

    private static Socket connect(InetAddress from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", streamPort), 5000);
        s.setSoTimeout(15_000);
        return s;
    }

    private static byte[] ping() {
        return ("GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("admin", "admin-secret") + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    private static Socket openAndPing(InetAddress from) throws IOException {
        Socket s = connect(from);
        s.getOutputStream().write(ping());
        byte[] status = s.getInputStream().readNBytes(12);
        assertThat(new String(status, StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 200");
        return s;
    }
}
