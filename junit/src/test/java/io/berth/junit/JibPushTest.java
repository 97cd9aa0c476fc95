package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.RegistryImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a Jib user does in their own tests: push an image with jib-core into the injected registry, then read it back. */
@BerthRegistry
class JibPushTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ACCEPT = "application/vnd.oci.image.manifest.v1+json,"
            + "application/vnd.docker.distribution.manifest.v2+json";

    @TempDir
    Path work;

    @Test
    void jibPushesAnImageThatReadsBackByTagWithItsDigestAndLayer(TestRegistry registry) throws Exception {
        JibContainer pushed = push(registry, "jib/hello", "1.0");

        HttpClient client = HttpClient.newHttpClient();
        assertPushed(client, registry, "jib/hello", "1.0", pushed);
    }

    @Test
    void jibPushesOverTlsToARegistryWithItsOwnCertificate(@BerthRegistry(tls = true) TestRegistry registry) throws Exception {
        assertThat(registry.url().getScheme()).isEqualTo("https");
        // Jib trusts the JVM's default trust store; a test registry's own CA is not in it, and insecure mode is how a
        // Jib user reaches it. The read-back below checks the certificate against the registry's CA.
        JibContainer pushed = push(registry, "jib/secure", "v1");

        HttpClient client = HttpClient.newBuilder().sslContext(registry.sslContext()).build();
        assertPushed(client, registry, "jib/secure", "v1", pushed);
    }

    private JibContainer push(TestRegistry registry, String repository, String tag) throws Exception {
        Path app = Files.writeString(work.resolve("hello.txt"), "hello from " + repository);
        return Jib.fromScratch()
                .addLayer(List.of(app), "/app")
                .setEntrypoint("/app/hello.txt")
                .containerize(Containerizer.to(RegistryImage.named(registry.imageReference(repository, tag)))
                        .setAllowInsecureRegistries(true)
                        .setBaseImageLayersCache(work.resolve("cache/base"))
                        .setApplicationLayersCache(work.resolve("cache/app")));
    }

    private static void assertPushed(HttpClient client, TestRegistry registry, String repository, String tag,
            JibContainer pushed) throws Exception {
        HttpResponse<byte[]> manifest = get(client, registry.url().resolve("/v2/" + repository + "/manifests/" + tag));
        assertThat(manifest.statusCode()).isEqualTo(200);
        assertThat(manifest.headers().firstValue("Docker-Content-Digest")).hasValue(pushed.getDigest().toString());
        assertThat(sha256(manifest.body())).isEqualTo(pushed.getDigest().toString());

        JsonNode layers = JSON.readTree(manifest.body()).path("layers");
        assertThat(layers).hasSize(1);
        String layerDigest = layers.get(0).path("digest").asText();
        HttpResponse<byte[]> layer = get(client, registry.url().resolve("/v2/" + repository + "/blobs/" + layerDigest));
        assertThat(layer.statusCode()).isEqualTo(200);
        assertThat(sha256(layer.body())).isEqualTo(layerDigest);
        assertThat(gunzip(layer.body())).contains("app/hello.txt", "hello from " + repository);
    }

    private static HttpResponse<byte[]> get(HttpClient client, URI uri) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri).header("Accept", ACCEPT).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static String sha256(byte[] bytes) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** The layer's tar, as text: enough to find a file's name and content in it. */
    private static String gunzip(byte[] gzip) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip))) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
