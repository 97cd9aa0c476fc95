package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.Digest;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.testing.RegistryClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RegistryHandler} in an EmbeddedChannel: message by message, with every buffer accounted for. */
class RegistryHandlerTest {
    private static final byte[] CONTENT = "hello handler".getBytes(StandardCharsets.UTF_8);
    private static final String DIGEST = RegistryClient.sha256(CONTENT);

    @TempDir
    Path root;

    private RegistryStorage storage;
    private EmbeddedChannel channel;

    @BeforeEach
    void open() {
        storage = RegistryStorage.open(root);
        RegistryConfig config = io.berth.server.config.ConfigLoader.loadDefaults(root, java.util.Map.of());
        Endpoints endpoints = new Endpoints(new RegistryContext(storage, config, new ServerMetrics(new SimpleMeterRegistry()), java.time.Clock.systemUTC()));
        channel = new EmbeddedChannel(new RegistryHandler(endpoints, new ReadAhead(ReadAhead.Budget.unlimited())));
    }

    @Test
    void monolithicUploadInTwoChunksIsCreated() {
        channel.writeInbound(request(HttpMethod.POST, "/v2/app/blobs/uploads/?digest=" + DIGEST, CONTENT.length));
        ByteBuf first = Unpooled.copiedBuffer(CONTENT, 0, 5);
        ByteBuf last = Unpooled.copiedBuffer(CONTENT, 5, CONTENT.length - 5);
        channel.writeInbound(new DefaultHttpContent(first));
        assertThat((Object) channel.readOutbound()).as("no answer before the body is complete").isNull();
        channel.writeInbound(new DefaultLastHttpContent(last));

        FullHttpResponse r = channel.readOutbound();
        try {
            assertThat(r.status().code()).isEqualTo(201);
            assertThat(r.headers().get("Docker-Content-Digest")).isEqualTo(DIGEST);
            assertThat(r.headers().get("Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
        } finally {
            r.release();
        }
        assertThat(first.refCnt()).isZero();
        assertThat(last.refCnt()).isZero();
        assertThat(storage.blobSize(RepositoryName.of("app"), Digest.parse(DIGEST))).isEqualTo(CONTENT.length);
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void connectionLostMidUploadCancelsIt() throws IOException {
        channel.writeInbound(request(HttpMethod.POST, "/v2/app/blobs/uploads/?digest=" + DIGEST, CONTENT.length));
        channel.writeInbound(new DefaultHttpContent(Unpooled.copiedBuffer(CONTENT, 0, 5)));
        assertThat(uploadDirectories()).hasSize(1);

        channel.close();

        assertThat(uploadDirectories()).isEmpty();
        assertThat(storage.mountBlob(RepositoryName.of("other"), null, Digest.parse(DIGEST))).isEqualTo(-1);
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void connectionLostMidPatchKeepsTheUploadResumable() {
        String id;
        try (var upload = storage.startUpload(RepositoryName.of("app"))) {
            id = upload.id();
        }
        channel.writeInbound(request(HttpMethod.PATCH, "/v2/app/blobs/uploads/" + id, 100));
        channel.writeInbound(new DefaultHttpContent(Unpooled.copiedBuffer(CONTENT)));

        channel.close();

        try (var upload = storage.resumeUpload(RepositoryName.of("app"), id)) {
            assertThat(upload.size()).isEqualTo(CONTENT.length);
        }
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void unknownRouteIsTheJsonNotFoundError() {
        channel.writeInbound(request(HttpMethod.GET, "/nope", 0), LastHttpContent.EMPTY_LAST_CONTENT);

        FullHttpResponse r = channel.readOutbound();
        try {
            assertThat(r.status().code()).isEqualTo(404);
            JsonNode error = HttpFixture.json(ByteBufUtil.getBytes(r.content())).get("errors").get(0);
            assertThat(error.get("code").asText()).isEqualTo("NOT_FOUND");
            assertThat(r.headers().get(HttpHeaderNames.CONTENT_LENGTH)).isEqualTo(Integer.toString(r.content().readableBytes()));
        } finally {
            r.release();
        }
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void refusedRequestBodyIsAnsweredEarlyAndItsContentReleased() {
        channel.writeInbound(request(HttpMethod.POST, "/v2/Bad/blobs/uploads/?digest=" + DIGEST, CONTENT.length));
        FullHttpResponse r = channel.readOutbound();
        try {
            assertThat(r.status().code()).isEqualTo(400);
            assertThat(r.headers().get(HttpHeaderNames.CONNECTION)).isEqualToIgnoringCase("close");
        } finally {
            r.release();
        }
        ByteBuf body = Unpooled.copiedBuffer(CONTENT);

        channel.writeInbound(new DefaultLastHttpContent(body));

        assertThat(body.refCnt()).isZero();
        assertThat((Object) channel.readOutbound()).as("one answer per request").isNull();
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void twoRequestsInARowGetTwoAnswersInOrder() {
        channel.writeInbound(request(HttpMethod.GET, "/v2/", 0), LastHttpContent.EMPTY_LAST_CONTENT);
        channel.writeInbound(request(HttpMethod.GET, "/v2/nowhere/tags/list", 0), LastHttpContent.EMPTY_LAST_CONTENT);

        FullHttpResponse first = channel.readOutbound();
        FullHttpResponse second = channel.readOutbound();
        try {
            assertThat(first.status().code()).isEqualTo(200);
            assertThat(second.status().code()).isEqualTo(404);
        } finally {
            first.release();
            second.release();
        }
        assertFalse(channel.finishAndReleaseAll());
    }

    @Test
    void digestMismatchOnPutIsDigestInvalidAndTheUploadIsGone() {
        String id;
        try (var upload = storage.startUpload(RepositoryName.of("app"))) {
            id = upload.id();
        }
        channel.writeInbound(request(HttpMethod.PUT, "/v2/app/blobs/uploads/" + id + "?digest=" + RegistryClient.sha256(new byte[1]),
                CONTENT.length), new DefaultLastHttpContent(Unpooled.copiedBuffer(CONTENT)));

        FullHttpResponse r = channel.readOutbound();
        try {
            assertThat(r.status().code()).isEqualTo(400);
            assertThat(HttpFixture.json(ByteBufUtil.getBytes(r.content())).get("errors").get(0).get("code").asText())
                    .isEqualTo("DIGEST_INVALID");
        } finally {
            r.release();
        }
        String uploadId = id;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.resumeUpload(RepositoryName.of("app"), uploadId))
                .isInstanceOf(StorageException.class);
        assertFalse(channel.finishAndReleaseAll());
    }

    /** Found by fuzzing (issue 11): Netty's query decoder threw on a bad escape, and the client got a 500. */
    @Test
    void aQueryPairWithAMalformedEscapeIsDroppedAsRegistry2DropsIt() {
        channel.writeInbound(request(HttpMethod.GET, "/v2/_catalog?%=10&n=abc%zz&last=%", 0), LastHttpContent.EMPTY_LAST_CONTENT);

        FullHttpResponse r = channel.readOutbound();
        try {
            assertThat(r.status().code()).as(r.content().toString(StandardCharsets.UTF_8)).isEqualTo(200);
            assertThat(HttpFixture.json(ByteBufUtil.getBytes(r.content())).has("repositories")).isTrue();
        } finally {
            r.release();
        }
        assertFalse(channel.finishAndReleaseAll());
    }

    private static HttpRequest request(HttpMethod method, String uri, int contentLength) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
        r.headers().set(HttpHeaderNames.HOST, "localhost");
        if (contentLength > 0) {
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, contentLength);
        }
        return r;
    }

    private java.util.List<Path> uploadDirectories() {
        Path uploads = root.resolve("docker/registry/v2/repositories/app/_uploads");
        if (!Files.isDirectory(uploads)) {
            return java.util.List.of();
        }
        try (Stream<Path> s = Files.list(uploads)) {
            return s.toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
