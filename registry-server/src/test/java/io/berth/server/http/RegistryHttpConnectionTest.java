package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.awaitTrue;
import static io.berth.server.http.HttpFixture.closedByServer;
import static io.berth.server.http.HttpFixture.header;
import static io.berth.server.http.HttpFixture.json;
import static io.berth.server.http.HttpFixture.read;
import static io.berth.server.http.HttpFixture.utf8;
import static io.berth.server.http.HttpFixture.write;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** What java.net.http will not do: set Content-Length, send partial bodies, hang up mid-request. Raw sockets. */
class RegistryHttpConnectionTest extends SharedBerthTest {
    private static final int FOUR_MIB = 4 << 20;

    private static String newRepo() {
        return newRepo("raw/test");
    }

    @Test
    void disconnectMidMonolithicUploadLeavesNoBlobAndNoUpload() throws Exception {
        String repo = newRepo();
        byte[] content = new byte[1000];
        Arrays.fill(content, (byte) 'x');
        String digest = sha256(content);
        try (Socket s = http.socket()) {
            write(s, "POST /v2/" + repo + "/blobs/uploads/?digest=" + digest + " HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n");
            write(s, Arrays.copyOf(content, 500));
            awaitTrue("the server has started the upload", () -> uploadDirectories(repo).size() == 1);
        }

        awaitTrue("the aborted upload is cancelled", () -> uploadDirectories(repo).isEmpty());
        assertThat(http.head("/v2/" + repo + "/blobs/" + digest).statusCode()).isEqualTo(404);
        assertThat(Files.exists(http.blobData(digest))).isFalse();
        assertThat(http.get("/v2/").statusCode()).as("the server still serves").isEqualTo(200);
        assertThat(http.pushBlob(repo, content)).isEqualTo(digest);
    }

    @Test
    void disconnectMidPatchReleasesTheUploadForTheNextRequest() throws Exception {
        String repo = newRepo();
        String location = http.startUpload(repo);
        String path = location.substring(location.indexOf("/v2/"));
        try (Socket s = http.socket()) {
            write(s, "PATCH " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n");
            write(s, utf8("0123456789".repeat(4)));
            // A status GET needs the upload too: refused while the PATCH holds it.
            awaitTrue("the PATCH holds the upload", () -> http.get(location).statusCode() == 400);
        }

        awaitTrue("the upload is released with the bytes that arrived", () -> {
            HttpResponse<byte[]> status = http.get(location);
            return status.statusCode() == 204 && "0-39".equals(status.headers().firstValue("Range").orElse(null));
        });
        byte[] whole = utf8("0123456789".repeat(5));
        HttpResponse<byte[]> rest = http.send("PATCH", location, Arrays.copyOfRange(whole, 40, 50), "Content-Range", "40-49");
        assertThat(rest.statusCode()).isEqualTo(202);
        assertThat(http.send("PUT", location + "?digest=" + sha256(whole), null).statusCode()).isEqualTo(201);
        assertThat(http.get("/v2/" + repo + "/blobs/" + sha256(whole)).body()).isEqualTo(whole);
    }

    @Test
    void disconnectBeforeAnyBodyByteLeavesNoBlob() throws Exception {
        String repo = newRepo();
        String digest = sha256(utf8("never sent"));
        try (Socket s = http.socket()) {
            write(s, "POST /v2/" + repo + "/blobs/uploads/?digest=" + digest + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
            awaitTrue("the server has started the upload", () -> uploadDirectories(repo).size() == 1);
        }

        awaitTrue("the aborted upload is cancelled", () -> uploadDirectories(repo).isEmpty());
        assertThat(http.head("/v2/" + repo + "/blobs/" + digest).statusCode()).isEqualTo(404);
    }

    @Test
    void secondRequestOnAnUploadInUseIsRefusedUntilTheFirstEnds() throws Exception {
        String repo = newRepo();
        String location = http.startUpload(repo);
        String path = location.substring(location.indexOf("/v2/"));
        try (Socket s = http.socket()) {
            write(s, "PATCH " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
            write(s, utf8("01234"));
            // A status GET needs the upload too, so it tells without writing when the PATCH holds it.
            awaitTrue("the first PATCH holds the upload", () -> http.get(location).statusCode() == 400);

            assertError(http.send("PATCH", location, utf8("intruder")), 400, "BLOB_UPLOAD_INVALID");

            write(s, utf8("56789"));
            HttpFixture.RawResponse done = read(s);
            assertThat(done.status()).isEqualTo(202);
            assertThat(done.header("Range")).isEqualTo("0-9");
        }
        String digest = sha256(utf8("0123456789"));
        assertThat(http.send("PUT", location + "?digest=" + digest, null).statusCode()).isEqualTo(201);
    }

    @Test
    void keepAliveServesSeveralRequestsOnOneConnection() throws Exception {
        try (Socket s = http.socket()) {
            for (int i = 0; i < 3; i++) {
                write(s, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                HttpFixture.RawResponse r = read(s);
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.header("Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
            }
        }
    }

    @Test
    void errorWithoutABodyKeepsTheConnectionOpen() throws Exception {
        try (Socket s = http.socket()) {
            write(s, "GET /v2/nowhere/manifests/latest HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(read(s).status()).isEqualTo(404);
            write(s, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(read(s).status()).isEqualTo(200);
        }
    }

    @Test
    void manifestDeclaredLargerThan4MiBIs413BeforeTheBodyIsRead() throws Exception {
        String repo = newRepo();
        try (Socket s = http.socket()) {
            write(s, "PUT /v2/" + repo + "/manifests/big HTTP/1.1\r\nHost: x\r\nContent-Type: " + HttpFixture.OCI_MANIFEST
                    + "\r\nContent-Length: " + (FOUR_MIB + 1) + "\r\n\r\n");

            HttpFixture.RawResponse r = read(s);

            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
            assertThat(json(r.body()).get("errors").get(0).get("code").asText()).isEqualTo("SIZE_INVALID");
            assertThat(r.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(closedByServer(s)).isTrue();
        }
        assertError(http.get("/v2/" + repo + "/manifests/big"), 404, "MANIFEST_UNKNOWN");
    }

    @Test
    void chunkedManifestGrowingPast4MiBIs413() throws Exception {
        String repo = newRepo();
        try (Socket s = http.socket()) {
            write(s, "PUT /v2/" + repo + "/manifests/big HTTP/1.1\r\nHost: x\r\nContent-Type: " + HttpFixture.OCI_MANIFEST
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n");
            byte[] chunk = new byte[FOUR_MIB + 1];
            Arrays.fill(chunk, (byte) ' ');
            write(s, Integer.toHexString(chunk.length) + "\r\n");
            // No CRLF after the data: everything sent is read by the time the limit trips.
            write(s, chunk);

            HttpFixture.RawResponse r = read(s);

            assertThat(r.status()).isEqualTo(413);
            assertThat(json(r.body()).get("errors").get(0).get("code").asText()).isEqualTo("SIZE_INVALID");
        }
        assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
    }

    @Test
    void refusedUploadWithABodyIsAnsweredAtOnceAndTheConnectionClosed() throws Exception {
        try (Socket s = http.socket()) {
            write(s, "POST /v2/Bad/blobs/uploads/?digest=" + sha256(utf8("x")) + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");

            HttpFixture.RawResponse r = read(s);

            assertThat(r.status()).isEqualTo(400);
            assertThat(json(r.body()).get("errors").get(0).get("code").asText()).isEqualTo("NAME_INVALID");
            assertThat(closedByServer(s)).isTrue();
        }
    }

    @Test
    void malformedRequestLineIsBadRequest() throws Exception {
        try (Socket s = http.socket()) {
            write(s, "GARBAGE\r\n\r\n");

            HttpFixture.RawResponse r = read(s);

            assertThat(r.status()).isEqualTo(400);
            assertThat(json(r.body()).get("errors").isArray()).isTrue();
        }
        assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
    }

    @Test
    void locationUsesTheHostHeaderTheClientSent() throws Exception {
        try (Socket s = http.socket()) {
            write(s, "POST /v2/" + newRepo() + "/blobs/uploads/ HTTP/1.1\r\nHost: registry.example:8443\r\nContent-Length: 0\r\n\r\n");

            HttpFixture.RawResponse r = read(s);

            assertThat(r.status()).isEqualTo(202);
            assertThat(r.header("Location")).startsWith("http://registry.example:8443/v2/raw/test");
        }
    }

    private static List<Path> uploadDirectories(String repo) {
        Path uploads = http.berth.storageDirectory().resolve("docker/registry/v2/repositories/" + repo + "/_uploads");
        if (!Files.isDirectory(uploads)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(uploads)) {
            return s.toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }


}
