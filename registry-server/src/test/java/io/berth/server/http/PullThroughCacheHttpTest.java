package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * registry:2's {@code proxy}: Berth as a pull-through cache of another registry (a second Berth here, with Basic or
 * token auth, or a hostile upstream), over real HTTP.
 */
class PullThroughCacheHttpTest {
    @TempDir
    Path dir;

    private static String proxyConfig(String upstream, String extra) {
        return """
                proxy:
                  remoteurl: %s
                %s""".formatted(upstream, extra);
    }

    private HttpFixture cacheOf(String upstream, String extra) throws Exception {
        return HttpFixture.startOn(Files.createDirectories(dir.resolve("cache")), proxyConfig(upstream, extra));
    }

    private static String url(HttpFixture f) {
        return "http://127.0.0.1:" + f.address.getPort();
    }

    @Test
    void aPullFetchesOnceStoresInRegistry2sLayoutAndServesFromTheCacheAfter() throws Exception {
        try (HttpFixture upstream = HttpFixture.startOn(Files.createDirectories(dir.resolve("upstream")), "");
                HttpFixture cache = cacheOf(url(upstream), "")) {
            HttpFixture.Manifest pushed = upstream.pushImage("library/nginx", "one", "1.27");
            var layers = HttpFixture.json(pushed.content()).path("layers");
            String layer = layers.get(0).path("digest").asText();

            HttpResponse<byte[]> manifest = cache.get("/v2/library/nginx/manifests/1.27", "Accept", HttpFixture.OCI_MANIFEST);
            assertThat(manifest.statusCode()).isEqualTo(200);
            assertThat(manifest.body()).isEqualTo(pushed.content());
            assertThat(HttpFixture.header(manifest, "Docker-Content-Digest")).isEqualTo(pushed.digest());
            HttpResponse<byte[]> blob = cache.get("/v2/library/nginx/blobs/" + layer);
            assertThat(blob.statusCode()).isEqualTo(200);
            assertThat(RegistryClient.sha256(blob.body())).isEqualTo(layer);

            assertThat(cache.blobData(layer)).as("stored as registry:2 stores it").exists();
            assertThat(cache.berth.storageDirectory().resolve("docker/registry/v2/repositories/library/nginx/_manifests/tags/1.27/current/link"))
                    .hasContent(pushed.digest());
            assertThat(cache.berth.storageDirectory().resolve("docker/registry/v2/repositories/library/nginx/_layers/"
                    + layer.replace(':', '/') + "/link")).hasContent(layer);

            HttpFixture.assertError(cache.get("/v2/library/elsewhere/blobs/" + layer), 404, "BLOB_UNKNOWN");
            assertThat(cache.head("/v2/library/elsewhere/blobs/" + layer).statusCode()).isEqualTo(404);
            assertThat(cache.berth.storageDirectory().resolve("docker/registry/v2/repositories/library/elsewhere"))
                    .as("a name the upstream does not have gets no content from the cache").doesNotExist();
            upstream.pushImage("library/copy", "one", "1.27");
            assertThat(cache.head("/v2/library/copy/blobs/" + layer).statusCode()).isEqualTo(200);
            assertThat(RegistryClient.sha256(cache.get("/v2/library/copy/blobs/" + layer).body())).isEqualTo(layer);
            assertThat(upstream.berth.meters().get("berth.http.requests").tag("route", "blob").tag("method", "GET").timer().count())
                    .as("a blob the cache holds is linked into another repository the upstream has it in, not fetched again").isEqualTo(1);

            upstream.pushImage("library/nginx", "two", "1.28");
            upstream.pushImage("library/nginx", "three", "1.26");
            assertThat(HttpFixture.json(cache.get("/v2/library/nginx/tags/list").body()).path("tags").toString())
                    .as("tags as the upstream has them").isEqualTo("[\"1.26\",\"1.27\",\"1.28\"]");
            HttpResponse<byte[]> page = cache.get("/v2/library/nginx/tags/list?n=1&last=1.26");
            assertThat(HttpFixture.json(page.body()).path("tags").toString()).isEqualTo("[\"1.27\"]");
            assertThat(HttpFixture.header(page, "Link")).contains("last=1.27");

            upstream.close();
            assertThat(HttpFixture.json(cache.get("/v2/library/nginx/tags/list").body()).path("tags").toString())
                    .as("the upstream is down: the cached tags").isEqualTo("[\"1.27\"]");
            assertThat(cache.get("/v2/library/nginx/manifests/1.27").body()).as("the upstream is down: the cache serves")
                    .isEqualTo(pushed.content());
            assertThat(cache.get("/v2/library/nginx/manifests/" + pushed.digest()).statusCode()).isEqualTo(200);
            assertThat(RegistryClient.sha256(cache.get("/v2/library/nginx/blobs/" + layer).body())).isEqualTo(layer);
            HttpFixture.assertError(cache.get("/v2/library/nginx/manifests/1.28"), 503, "UNAVAILABLE");
        }
    }

    @Test
    void theFirstPullerGetsTheBytesWhileTheyAreFetched() throws Exception {
        byte[] blob = new byte[6 << 20];
        new java.util.Random(11).nextBytes(blob);
        String digest = RegistryClient.sha256(blob);
        CountDownLatch firstHalfRead = new CountDownLatch(1);
        HttpServer slow = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        slow.createContext("/v2/team/slow/blobs/", exchange -> {
            exchange.sendResponseHeaders(200, blob.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(blob, 0, blob.length / 2);
                out.flush();
                firstHalfRead.await(); // the rest only once the client has had the first half
                out.write(blob, blob.length / 2, blob.length - blob.length / 2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        slow.setExecutor(Executors.newCachedThreadPool());
        slow.start();
        try (HttpFixture cache = cacheOf("http://127.0.0.1:" + slow.getAddress().getPort(), "");
                java.net.Socket socket = cache.socket()) {
            HttpFixture.write(socket, "GET /v2/team/slow/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n");
            java.io.InputStream in = socket.getInputStream();
            byte[] head = new byte[1];
            StringBuilder headers = new StringBuilder();
            while (!headers.toString().endsWith("\r\n\r\n") && in.read(head) == 1) {
                headers.append((char) head[0]);
            }
            assertThat(headers.toString()).startsWith("HTTP/1.1 200").contains("content-length: " + blob.length);
            byte[] first = in.readNBytes(2 << 20);
            assertThat(first).as("bytes before the upstream sent its second half").isEqualTo(java.util.Arrays.copyOf(blob, 2 << 20));
            firstHalfRead.countDown();
            byte[] rest = in.readNBytes(blob.length - first.length);
            assertThat(RegistryClient.sha256(concat(first, rest))).isEqualTo(digest);
        } finally {
            firstHalfRead.countDown();
            slow.stop(0);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void proxyRepositoriesUnderAPrefixSitBesideHostedOnesAndKeepTheAccessRules() throws Exception {
        HtpasswdFiles.write(dir.resolve("htpasswd"), "ci", "ci-secret", "cluster", "pull-secret");
        Files.writeString(dir.resolve("hub-password"), "hub-secret\n");
        HtpasswdFiles.write(dir.resolve("upstream-htpasswd"), "hub", "hub-secret");
        try (HttpFixture hub = HttpFixture.startOn(Files.createDirectories(dir.resolve("hub")), """
                auth:
                  htpasswd:
                    realm: hub
                    path: %s
                """.formatted(dir.resolve("upstream-htpasswd")));
                HttpFixture registry = HttpFixture.startOn(Files.createDirectories(dir.resolve("registry")), """
                        auth:
                          htpasswd:
                            realm: registry
                            path: %s
                        berth:
                          proxies:
                            - prefix: dockerhub
                              remoteurl: %s
                              username: hub
                              passwordFile: %s
                          access:
                            - account: ci
                              repositories: ["team/**"]
                              actions: [pull, push]
                            - account: cluster
                              repositories: ["team/**", "dockerhub/**"]
                              actions: [pull]
                        """.formatted(dir.resolve("htpasswd"), url(hub), dir.resolve("hub-password")))) {
            HttpFixture.Manifest nginx = hub.as("hub", "hub-secret").pushImage("library/nginx", "nginx", "1.27");
            HttpFixture cluster = registry.as("cluster", "pull-secret");

            HttpResponse<byte[]> proxied = cluster.get("/v2/dockerhub/library/nginx/manifests/" + nginx.digest());
            assertThat(proxied.statusCode()).isEqualTo(200);
            assertThat(proxied.body()).isEqualTo(nginx.content());
            assertThat(cluster.get("/v2/dockerhub/library/nginx/manifests/1.27").body()).isEqualTo(nginx.content());
            String layer = HttpFixture.json(nginx.content()).path("layers").get(0).path("digest").asText();
            assertThat(RegistryClient.sha256(cluster.get("/v2/dockerhub/library/nginx/blobs/" + layer).body())).isEqualTo(layer);
            assertThat(registry.berth.storageDirectory().resolve("docker/registry/v2/repositories/dockerhub/library/nginx/_manifests/tags/1.27/current/link"))
                    .hasContent(nginx.digest());

            HttpFixture ci = registry.as("ci", "ci-secret");
            HttpFixture.Manifest app = ci.pushImage("team/app", "app", "v1");
            assertThat(cluster.get("/v2/team/app/manifests/v1").body()).as("hosted beside the cache").isEqualTo(app.content());
            HttpFixture.assertError(ci.send("POST", "/v2/dockerhub/library/nginx/blobs/uploads/", new byte[0]), 403, "DENIED");
            HttpFixture.assertError(cluster.send("POST", "/v2/dockerhub/library/nginx/blobs/uploads/", new byte[0]), 403, "DENIED");
            HttpFixture.assertError(ci.get("/v2/dockerhub/library/nginx/manifests/1.27"), 403, "DENIED");
        }
        try (HttpFixture open = HttpFixture.startOn(Files.createDirectories(dir.resolve("open")), """
                berth:
                  proxies:
                    - prefix: mirror/hub
                      remoteurl: http://127.0.0.1:9
                """)) {
            HttpFixture.assertError(open.send("POST", "/v2/mirror/hub/x/blobs/uploads/", new byte[0]), 405, "UNSUPPORTED");
            assertThat(open.pushImage("mirror/other", "hosted", "v1").digest()).startsWith("sha256:");
        }
    }

    @Test
    void pushesAndDeletesAreRefusedAsRegistry2RefusesThem() throws Exception {
        try (HttpFixture upstream = HttpFixture.startOn(Files.createDirectories(dir.resolve("upstream")), "");
                HttpFixture cache = cacheOf(url(upstream), "")) {
            HttpFixture.assertError(cache.send("POST", "/v2/team/app/blobs/uploads/", new byte[0]), 405, "UNSUPPORTED");
            HttpFixture.assertError(cache.send("PUT", "/v2/team/app/manifests/v1", "{}".getBytes(), "Content-Type", HttpFixture.OCI_MANIFEST),
                    405, "UNSUPPORTED");
            HttpFixture.assertError(cache.send("DELETE", "/v2/team/app/manifests/sha256:" + "0".repeat(64), new byte[0]), 405, "UNSUPPORTED");
        }
    }

    @Test
    void aTagIsAskedAgainUnlessItWasAskedWithinTheTtl() throws Exception {
        try (HttpFixture upstream = HttpFixture.startOn(Files.createDirectories(dir.resolve("upstream")), "");
                HttpFixture always = cacheOf(url(upstream), "");
                HttpFixture hourly = HttpFixture.startOn(Files.createDirectories(dir.resolve("hourly")), proxyConfig(url(upstream), "  ttl: 1h\n"))) {
            HttpFixture.Manifest first = upstream.pushImage("team/app", "one", "latest");
            assertThat(HttpFixture.header(always.get("/v2/team/app/manifests/latest"), "Docker-Content-Digest")).isEqualTo(first.digest());
            assertThat(HttpFixture.header(hourly.get("/v2/team/app/manifests/latest"), "Docker-Content-Digest")).isEqualTo(first.digest());

            HttpFixture.Manifest second = upstream.pushImage("team/app", "two", "latest");

            assertThat(HttpFixture.header(always.get("/v2/team/app/manifests/latest"), "Docker-Content-Digest")).isEqualTo(second.digest());
            assertThat(HttpFixture.header(hourly.get("/v2/team/app/manifests/latest"), "Docker-Content-Digest"))
                    .as("within the ttl, the cached digest").isEqualTo(first.digest());
        }
    }

    @Test
    void manyFirstPullsOfOneBlobAtOnceFetchItFromTheUpstreamOnce() throws Exception {
        try (HttpFixture upstream = HttpFixture.startOn(Files.createDirectories(dir.resolve("upstream")), "");
                HttpFixture cache = cacheOf(url(upstream), "");
                ExecutorService pool = Executors.newFixedThreadPool(16)) {
            byte[] big = new byte[8 << 20];
            new java.util.Random(7).nextBytes(big);
            String digest = upstream.pushBlob("team/big", big);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<HttpResponse<byte[]>>> pulls = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                pulls.add(pool.submit(() -> {
                    start.await();
                    return cache.get("/v2/team/big/blobs/" + digest);
                }));
            }
            start.countDown();
            for (Future<HttpResponse<byte[]>> f : pulls) {
                HttpResponse<byte[]> r = f.get();
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(RegistryClient.sha256(r.body())).isEqualTo(digest);
            }
            assertThat(upstream.berth.meters().get("berth.http.requests").tag("route", "blob").tag("method", "GET").timer().count())
                    .as("GETs of the blob the upstream answered").isEqualTo(1);

            HttpFixture.Manifest image = upstream.pushImage("team/image", "many", "v1");
            CountDownLatch again = new CountDownLatch(1);
            List<Future<HttpResponse<byte[]>>> manifests = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                manifests.add(pool.submit(() -> {
                    again.await();
                    return cache.get("/v2/team/image/manifests/v1");
                }));
            }
            again.countDown();
            for (Future<HttpResponse<byte[]>> f : manifests) {
                assertThat(f.get().body()).as("first pulls of one tag at once").isEqualTo(image.content());
            }
            assertThat(cache.berth.storageDirectory().resolve("docker/registry/v2/repositories/team/image/_manifests/tags/v1/current/link"))
                    .hasContent(image.digest());
        }
    }

    @Test
    void basicAuthAndTheTokenFlowOfTheUpstreamAreFollowed() throws Exception {
        HtpasswdFiles.write(dir.resolve("htpasswd"), "mirror", "mirror-secret");
        try (HttpFixture basic = HttpFixture.startOn(Files.createDirectories(dir.resolve("basic")), """
                auth:
                  htpasswd:
                    realm: upstream
                    path: %s
                """.formatted(dir.resolve("htpasswd")));
                HttpFixture cache = cacheOf(url(basic), "  username: mirror\n  password: mirror-secret\n")) {
            HttpFixture.Manifest pushed = basic.as("mirror", "mirror-secret").pushImage("team/app", "basic", "v1");
            assertThat(cache.get("/v2/team/app/manifests/v1").body()).isEqualTo(pushed.content());
        }

        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        TestPki.Ca pki = TestPki.Ca.root("Berth Test CA");
        pki.server("berth token signer").writeTo(dir.resolve("token.crt"), dir.resolve("token.key"));
        try (HttpFixture tokens = HttpFixture.startWithConfig(Files.createDirectories(dir.resolve("tokens")), "127.0.0.1:" + port, """
                auth:
                  token:
                    realm: http://127.0.0.1:%d/auth/token
                    service: upstream.test
                    issuer: berth
                    rootcertbundle: %s
                berth:
                  tokenIssuer:
                    htpasswd: %s
                    key: %s
                  access:
                    - account: mirror
                      repositories: ["**"]
                      actions: [pull, push]
                """.formatted(port, dir.resolve("token.crt"), dir.resolve("htpasswd"), dir.resolve("token.key")));
                HttpFixture cache = HttpFixture.startOn(Files.createDirectories(dir.resolve("cache2")),
                        proxyConfig("http://127.0.0.1:" + port, "  username: mirror\n  password: mirror-secret\n"));
                HttpFixture anonymous = HttpFixture.startOn(Files.createDirectories(dir.resolve("cache3")),
                        proxyConfig("http://127.0.0.1:" + port, ""))) {
            String token = HttpFixture.json(tokens.as("mirror", "mirror-secret")
                    .get("/auth/token?service=upstream.test&scope=repository:library/app:pull,push").body()).path("token").asText();
            HttpFixture.Manifest pushed = tokens.with("Authorization", "Bearer " + token).pushImage("library/app", "token", "v1");
            String layer = HttpFixture.json(pushed.content()).path("layers").get(0).path("digest").asText();

            assertThat(cache.get("/v2/library/app/manifests/v1").body()).isEqualTo(pushed.content());
            assertThat(RegistryClient.sha256(cache.get("/v2/library/app/blobs/" + layer).body())).isEqualTo(layer);
            HttpFixture.assertError(anonymous.get("/v2/library/app/manifests/v1"), 503, "UNAVAILABLE");
        }
    }

    @Test
    void anUpstreamThatSendsOtherBytesOrStallsGetsNothingStored() throws Exception {
        byte[] real = "the real layer".getBytes();
        String digest = RegistryClient.sha256(real);
        HttpServer liar = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        liar.createContext("/v2/team/lie/blobs/", exchange -> {
            byte[] other = "some other bytes".getBytes();
            exchange.sendResponseHeaders(200, other.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(other);
            }
        });
        CountDownLatch released = new CountDownLatch(1);
        liar.createContext("/v2/team/stall/blobs/", exchange -> {
            exchange.sendResponseHeaders(200, real.length);
            OutputStream out = exchange.getResponseBody();
            out.write(real, 0, 4);
            out.flush();
            try {
                released.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        liar.setExecutor(Executors.newCachedThreadPool());
        liar.start();
        try (HttpFixture cache = cacheOf("http://127.0.0.1:" + liar.getAddress().getPort(), "berth:\n  proxy:\n    stallTimeout: 500ms\n")) {
            // The body streams while it is fetched, its last chunk held back until the digest checks out: a lie or a
            // stall cuts the response short of its Content-Length, so no client takes it for the blob.
            assertThatThrownBy(() -> cache.get("/v2/team/lie/blobs/" + digest)).hasRootCauseInstanceOf(java.io.EOFException.class);
            assertThat(cache.blobData(digest)).doesNotExist();
            assertThatThrownBy(() -> cache.get("/v2/team/stall/blobs/" + digest)).hasRootCauseInstanceOf(java.io.EOFException.class);
            assertThat(cache.blobData(digest)).doesNotExist();
            HttpFixture.assertError(cache.get("/v2/team/lie/blobs/" + digest, "Range", "bytes=0-3"), 503, "UNAVAILABLE");
            assertThat(cache.blobData(digest)).doesNotExist();
            assertThat(cache.berth.storageDirectory().resolve("docker/registry/v2/repositories/team/stall/_uploads")).isEmptyDirectory();
        } finally {
            released.countDown();
            liar.stop(0);
        }
    }
}
