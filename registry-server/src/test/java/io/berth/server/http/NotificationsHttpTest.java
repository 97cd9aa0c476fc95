package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.berth.testing.HtpasswdFiles;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An event names who pushed (the account) and which request did (the id of its log lines and X-Request-Id). */
class NotificationsHttpTest {
    @TempDir
    Path dir;

    @Test
    void aPushEventCarriesTheAccountAndTheRequestIdOfTheLog() throws Exception {
        List<JsonNode> events = Collections.synchronizedList(new ArrayList<>());
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/", exchange -> {
            for (JsonNode e : HttpFixture.json(exchange.getRequestBody().readAllBytes()).path("events")) {
                events.add(e);
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.start();
        HtpasswdFiles.write(dir.resolve("htpasswd"), "ci", "ci-secret");
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", """
                auth:
                  htpasswd:
                    realm: test
                    path: %s
                notifications:
                  endpoints:
                    - name: hook
                      url: http://127.0.0.1:%d/events
                      ignore:
                        mediatypes: [application/octet-stream]
                """.formatted(dir.resolve("htpasswd"), receiver.getAddress().getPort()))) {
            HttpFixture ci = http.as("ci", "ci-secret");
            var json = ci.imageJson("team/app", "one");
            var put = ci.with("X-Request-Id", "push-42").send("PUT", "/v2/team/app/manifests/v1", HttpFixture.bytes(json),
                    "Content-Type", HttpFixture.OCI_MANIFEST);
            assertThat(put.statusCode()).isEqualTo(201);
            assertThat(HttpFixture.header(put, "X-Request-Id")).isEqualTo("push-42");
            for (int i = 0; i < 200 && events.isEmpty(); i++) {
                Thread.sleep(50);
            }
        } finally {
            receiver.stop(0);
        }
        assertThat(events).hasSize(1);
        JsonNode push = events.getFirst();
        assertThat(push.path("action").asText()).isEqualTo("push");
        assertThat(push.path("target").path("tag").asText()).isEqualTo("v1");
        assertThat(push.path("actor").path("name").asText()).isEqualTo("ci");
        assertThat(push.path("request").path("id").asText()).isEqualTo("push-42");
        assertThat(push.path("request").path("method").asText()).isEqualTo("PUT");
    }
}
