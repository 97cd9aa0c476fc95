package io.berth.conformance;

import static io.berth.conformance.RegistryHttp.DOCKER_MANIFEST;
import static io.berth.conformance.RegistryHttp.OCI_INDEX;
import static io.berth.conformance.RegistryHttp.OCI_MANIFEST;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.server.Berth;
import io.berth.testing.RegistryClient;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Manifests that registry:2 refuses, and that clients could not pull, sent by plain HTTP to Debian's
 * docker-registry 2.8.2 (registry:2) and to Berth: Berth must answer each as registry:2 does, 400 with
 * a JSON error for the hostile ones and 201 for the controls. A few cases Berth refuses on purpose
 * where registry:2 takes them are pinned apart, so that a change on either side shows.
 */
class StrictManifestsIT {
    private static final String REPO = "strict/app";
    private static final String MISSING = "sha256:" + "a".repeat(64);

    /**
     * One PUT of a manifest and what both registries answer.
     *
     * @param name what the case is
     * @param body the manifest bytes
     * @param contentType the request's Content-Type
     * @param status the status registry:2 answers
     */
    private record Case(String name, byte[] body, String contentType, int status) {}

    /** What a registry answered to one case. */
    private record Answer(int status, String code) {}

    /** What a test does with registry:2 and Berth side by side, each holding the same {@link Content}. */
    private interface SideBySide {
        void run(Registry2 r2, Berth berth, Content onBerth, SoftAssertions softly);
    }

    /** Starts registry:2 and Berth on {@code work}, pushes the same content to both, runs {@code test}, and asserts softly. */
    private static void sideBySide(Path work, SideBySide test) {
        SoftAssertions softly = new SoftAssertions();
        try (Registry2 r2 = Registry2.serve(work.resolve("registry2"), work);
                Berth berth = Berth.builder().storageDirectory(work.resolve("berth")).port(0).build()) {
            berth.start();
            Content onR2 = Content.push(r2.hostAndPort());
            Content onBerth = Content.push(berth.hostAndPort());
            assertThat(onBerth).as("the same blobs and child on both registries").isEqualTo(onR2);
            test.run(r2, berth, onBerth, softly);
        }
        softly.assertAll();
    }

    @Test
    void berthAnswersEveryManifestAsRegistry2Does(@TempDir Path work) {
        sideBySide(work, (r2, berth, onBerth, softly) -> {

            for (Case c : cases(onBerth)) {
                Answer fromR2 = put(r2.hostAndPort(), c);
                Answer fromBerth = put(berth.hostAndPort(), c);
                softly.assertThat(fromR2.status()).as("registry:2's answer to %s", c.name()).isEqualTo(c.status());
                softly.assertThat(fromBerth.status()).as("Berth's answer to %s (registry:2: %s)", c.name(), fromR2)
                        .isEqualTo(fromR2.status());
                if (c.status() == 400) {
                    softly.assertThat(fromBerth.code()).as("Berth's error code for %s", c.name())
                            .isIn("MANIFEST_INVALID", "MANIFEST_BLOB_UNKNOWN");
                }
            }

            byte[] disguised = disguisedIndex(onBerth);
            String digest = RegistryClient.sha256(disguised);
            for (String host : List.of(r2.hostAndPort(), berth.hostAndPort())) {
                softly.assertThat(new RegistryHttp(host).manifest(REPO, digest).status())
                        .as("GET of the refused index in disguise %s from %s", digest, host).isEqualTo(404);
            }
        });
    }

    @Test
    void berthRefusesWhatGoClientsCouldNotReadWhereRegistry2IsLenient(@TempDir Path work) {
        sideBySide(work, (r2, berth, content, softly) -> {
            // Go replaces malformed UTF-8 in a string; Berth reads strict UTF-8 only.
            byte[] overlong = replace(image(content).put("mediaType", OCI_MANIFEST).set("annotations",
                    RegistryHttp.JSON.createObjectNode().put("note", "XX")), "XX", new byte[] {(byte) 0xC0, (byte) 0xAF});
            // Go takes the last of repeated keys (here the pushed layer); Berth refuses a field repeated with different values.
            String layers = "\"layers\":[" + content.layer() + "]";
            byte[] repeated = with(json(image(content)), layers, "\"layers\":[" + descriptor("l", MISSING, 1) + "]," + layers);
            // registry:2 2.8 does not know artifactType; Go clients that do cannot read a number into it.
            byte[] numericArtifactType = bytes(image(content).put("artifactType", 5));
            for (Case c : List.of(new Case("malformed UTF-8 inside a string", overlong, OCI_MANIFEST, 201),
                    new Case("layers repeated, the last one pushed", repeated, OCI_MANIFEST, 201),
                    new Case("a number as artifactType", numericArtifactType, OCI_MANIFEST, 201))) {
                softly.assertThat(put(r2.hostAndPort(), c).status()).as("registry:2's answer to %s", c.name()).isEqualTo(c.status());
                softly.assertThat(put(berth.hostAndPort(), c)).as("Berth's answer to %s", c.name())
                        .isEqualTo(new Answer(400, "MANIFEST_INVALID"));
            }
        });
    }

    /** The config, layer and child image both registries hold before the cases, as descriptors. */
    private record Content(String config, String layer, String child) {
        static Content push(String host) {
            RegistryHttp http = new RegistryHttp(host);
            byte[] config = utf8("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
            byte[] layer = utf8("a layer, not really a tar");
            String c = descriptor("application/vnd.oci.image.config.v1+json", http.pushBlob(REPO, config), config.length);
            String l = descriptor("application/vnd.oci.image.layer.v1.tar", http.pushBlob(REPO, layer), layer.length);
            byte[] child = bytes(image(c, l).put("mediaType", OCI_MANIFEST));
            return new Content(c, l, descriptor(OCI_MANIFEST, http.putManifest(REPO, "child", OCI_MANIFEST, child), child.length));
        }
    }

    private static List<Case> cases(Content content) {
        String missingLayer = descriptor("application/vnd.oci.image.layer.v1.tar", MISSING, 5);
        String image = json(image(content).put("mediaType", OCI_MANIFEST));
        String untypedImage = json(image(content));
        String dockerImage = json(image(content).put("mediaType", DOCKER_MANIFEST));
        String index = "{\"schemaVersion\":2,\"mediaType\":\"" + OCI_INDEX + "\",\"manifests\":[" + content.child() + "]}";
        String untypedIndex = "{\"schemaVersion\":2,\"manifests\":[" + content.child() + "]}";
        String config = "\"config\":" + content.config();
        String layers = "\"layers\":[" + content.layer() + "]";
        String type = "\"mediaType\":\"" + OCI_MANIFEST + "\"";
        String manifestsEnd = "}]}";
        return List.of(
                new Case("an OCI image manifest", utf8(image), OCI_MANIFEST, 201),
                new Case("an OCI index of a pushed image", utf8(index), OCI_INDEX, 201),
                new Case("an OCI image manifest followed by whitespace", utf8(image + " \n\t\r\n"), OCI_MANIFEST, 201),
                new Case("an untyped OCI image manifest with null manifests",
                        with(untypedImage, config, "\"manifests\":null," + config), OCI_MANIFEST, 201),
                new Case("an untyped OCI index with null layers",
                        with(untypedIndex, manifestsEnd, "}],\"layers\":null}"), OCI_INDEX, 201),
                new Case("a Docker image manifest with manifests", with(dockerImage, config, "\"manifests\":[]," + config), DOCKER_MANIFEST, 201),
                new Case("layers repeated with the same value",
                        with(image, layers, layers + ",\"Layers\":[" + content.layer() + "]"), OCI_MANIFEST, 201),

                new Case("an index in disguise: OCI image Content-Type, no mediaType, manifests naming a missing digest",
                        disguisedIndex(content), OCI_MANIFEST, 400),
                new Case("an index in disguise naming a pushed image", utf8(untypedIndex), OCI_MANIFEST, 400),
                new Case("an OCI image manifest with manifests", with(image, config, "\"manifests\":[]," + config), OCI_MANIFEST, 400),
                new Case("an OCI image manifest with Manifests", with(untypedImage, config, "\"Manifests\":[]," + config), OCI_MANIFEST, 400),
                new Case("an OCI index with config", with(index, manifestsEnd, "}]," + config + "}"), OCI_INDEX, 400),
                new Case("an untyped OCI index with layers", with(untypedIndex, manifestsEnd, "}]," + layers + "}"), OCI_INDEX, 400),
                new Case("an index naming a missing child",
                        with(index, content.child(), descriptor(OCI_MANIFEST, MISSING, 300)), OCI_INDEX, 400),
                new Case("a mediaType that contradicts the Content-Type", utf8(image), OCI_INDEX, 400),
                new Case("a mediaType, then null: Go keeps the first", with(image, type, type + ",\"mediaType\":null"), OCI_INDEX, 400),
                new Case("a UTF-8 byte-order mark", concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, utf8(image)), OCI_MANIFEST, 400),
                new Case("UTF-16LE", image.getBytes(StandardCharsets.UTF_16LE), OCI_MANIFEST, 400),
                new Case("UTF-16 with a byte-order mark", image.getBytes(StandardCharsets.UTF_16), OCI_MANIFEST, 400),
                new Case("trailing garbage", utf8(image + "xyz"), OCI_MANIFEST, 400),
                new Case("a second JSON object", utf8(image + image), OCI_MANIFEST, 400),
                new Case("a NUL after the JSON value", utf8(image + "\u0000"), OCI_MANIFEST, 400),
                new Case("a layer size of 1.5", with(image, content.layer(), sized(content.layer(), "1.5")), OCI_MANIFEST, 400),
                new Case("a layer size of 25.0", with(image, content.layer(), sized(content.layer(), "25.0")), OCI_MANIFEST, 400),
                new Case("LAYERS naming a missing blob", with(image, layers, "\"LAYERS\":[" + missingLayer + "]"), OCI_MANIFEST, 400),
                new Case("layers, then LAYERS naming a missing blob",
                        with(image, layers, layers + ",\"LAYERS\":[" + missingLayer + "]"), OCI_MANIFEST, 400),
                new Case("layers repeated, the last naming a missing blob",
                        with(image, layers, layers + ",\"layers\":[" + missingLayer + "]"), OCI_MANIFEST, 400));
    }

    /** {@code json} with its first {@code target} replaced, as UTF-8. */
    private static byte[] with(String json, String target, String replacement) {
        assertThat(json).contains(target);
        return utf8(json.replaceFirst(Pattern.quote(target), Matcher.quoteReplacement(replacement)));
    }

    /**
     * The index in disguise of issue 13: no mediaType, the pushed config and layer, and manifests naming
     * a digest the registry does not hold. Checked as an image, it is then served as an index.
     */
    private static byte[] disguisedIndex(Content content) {
        ObjectNode m = image(content);
        m.putArray("manifests").add(RegistryHttp.json(descriptor(OCI_MANIFEST, MISSING, 300)));
        return bytes(m);
    }

    /** PUT {@code c} to {@code host} under a tag; the status, and the first error code of a 4xx or 5xx JSON body. */
    private static Answer put(String host, Case c) {
        HttpResponse<byte[]> r;
        try (RegistryClient client = RegistryClient.builder(URI.create("http://" + host)).timeout(Duration.ofMinutes(1)).build()) {
            r = client.send("PUT", "/v2/" + REPO + "/manifests/case", c.body(), "Content-Type", c.contentType());
        }
        if (r.statusCode() < 400) {
            return new Answer(r.statusCode(), "");
        }
        JsonNode errors = RegistryHttp.json(r.body()).path("errors");
        assertThat(errors.isArray() && !errors.isEmpty()).as("%s's JSON errors for %s: %s", host, c.name(), RegistryClient.text(r)).isTrue();
        return new Answer(r.statusCode(), errors.get(0).path("code").asText());
    }

    /** An image manifest of the pushed config and layer, without a mediaType. */
    private static ObjectNode image(Content content) {
        return image(content.config(), content.layer());
    }

    private static ObjectNode image(String config, String layer) {
        ObjectNode m = RegistryHttp.JSON.createObjectNode().put("schemaVersion", 2);
        m.set("config", RegistryHttp.json(config));
        m.putArray("layers").add(RegistryHttp.json(layer));
        return m;
    }

    private static String descriptor(String mediaType, String digest, long size) {
        return json(RegistryHttp.JSON.createObjectNode().put("mediaType", mediaType).put("digest", digest).put("size", size));
    }

    /** {@code descriptor} with its size written as {@code size}. */
    private static String sized(String descriptor, String size) {
        return descriptor.replaceFirst("\"size\":\\d+", "\"size\":" + size);
    }

    private static String json(JsonNode node) {
        return node.toString();
    }

    private static byte[] bytes(JsonNode node) {
        return utf8(json(node));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code content} with the first {@code target} (ASCII) replaced by {@code replacement}. */
    private static byte[] replace(JsonNode content, String target, byte[] replacement) {
        String s = json(content);
        int at = s.indexOf(target);
        assertThat(at).as("%s in %s", target, s).isNotNegative();
        return concat(utf8(s.substring(0, at)), replacement, utf8(s.substring(at + target.length())));
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] p : parts) {
            length += p.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
