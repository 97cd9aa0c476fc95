package io.berth.storage;

import static io.berth.storage.Fixtures.CONFIG_TYPE;
import static io.berth.storage.Fixtures.LAYER_TYPE;
import static io.berth.storage.Fixtures.bytes;
import static io.berth.storage.Fixtures.descriptor;
import static io.berth.storage.Fixtures.imageJson;
import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.pushDescriptor;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bad manifests are MANIFEST_INVALID and leave nothing behind. */
class ManifestValidationTest extends StorageTestBase {
    private ObjectNode config;
    private ObjectNode layer;

    @BeforeEach
    void open() {
        config = pushDescriptor(storage, REPO, CONFIG_TYPE, "{}");
        layer = pushDescriptor(storage, REPO, LAYER_TYPE, "layer");
    }

    @Test
    void contentTypeThatContradictsTheBodyMediaTypeIsInvalid() {
        byte[] content = bytes(imageJson(config, layer));

        assertInvalid(content, MediaTypes.DOCKER_MANIFEST, "does not match");
        assertInvalid(content, MediaTypes.OCI_INDEX, "does not match");
    }

    @Test
    void dockerManifestsMustCarryTheirMediaType() {
        ObjectNode json = imageJson(config, layer);
        json.remove("mediaType");

        assertInvalid(bytes(json), MediaTypes.DOCKER_MANIFEST, "mediaType");
    }

    @Test
    void ociManifestWithoutMediaTypeIsServedAsOci() {
        ObjectNode json = imageJson(config, layer);
        json.remove("mediaType");

        StoredManifest m = storage.putManifest(REPO, bytes(json), MediaTypes.OCI_MANIFEST, null, List.of());

        assertThat(m.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
    }

    @Test
    void bodyMediaTypeIsUsedWithoutContentType() {
        ObjectNode json = imageJson(config, layer);
        json.put("mediaType", MediaTypes.DOCKER_MANIFEST);

        assertThat(storage.putManifest(REPO, bytes(json), null, null, List.of()).mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
    }

    @Test
    void withNeitherTheShapeDecides() {
        ObjectNode json = imageJson(config, layer);
        json.remove("mediaType");

        assertThat(storage.putManifest(REPO, bytes(json), null, null, List.of()).mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
    }

    @ParameterizedTest
    @ValueSource(strings = {"application/vnd.docker.distribution.manifest.v1+prettyjws",
            "application/vnd.docker.distribution.manifest.v1+json", "application/json", "text/plain",
            "application/vnd.oci.artifact.manifest.v1+json", "application/vnd.oci.image.config.v1+json"})
    void unknownMediaTypesAreInvalid(String mediaType) {
        ObjectNode json = imageJson(config, layer);
        json.put("mediaType", mediaType);

        assertInvalid(bytes(json), null, "unsupported manifest media type");
        assertInvalid(bytes(json), mediaType, "unsupported manifest media type");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "not json", "[]", "null", "42", "\"string\"", "{\"schemaVersion\":2,}", "\u0000"})
    void malformedJsonIsInvalid(String body) {
        assertInvalid(utf8(body), MediaTypes.OCI_MANIFEST, null);
    }

    @Test
    void schemaVersionOtherThan2IsInvalid() {
        for (Object version : new Object[] {1, 3, "2", null}) {
            ObjectNode json = imageJson(config, layer);
            if (version == null) {
                json.remove("schemaVersion");
            } else if (version instanceof Integer i) {
                json.put("schemaVersion", i);
            } else {
                json.put("schemaVersion", (String) version);
            }
            assertInvalid(bytes(json), null, "schemaVersion");
        }
    }

    @Test
    void imageWithoutConfigOrLayersIsInvalid() {
        ObjectNode noConfig = imageJson(config, layer);
        noConfig.remove("config");
        ObjectNode noLayers = imageJson(config, layer);
        noLayers.remove("layers");
        ObjectNode layersNotArray = imageJson(config, layer);
        layersNotArray.put("layers", "nope");

        assertInvalid(bytes(noConfig), null, "config");
        assertInvalid(bytes(noLayers), null, "layers");
        assertInvalid(bytes(layersNotArray), null, "layers");
    }

    @Test
    void indexWithoutManifestsArrayIsInvalid() {
        ObjectNode index = Fixtures.indexJson();
        index.remove("manifests");

        assertInvalid(bytes(index), MediaTypes.OCI_INDEX, "manifests");
    }

    @Test
    void descriptorsMissingFieldsOrWithBadValuesAreInvalid() {
        ObjectNode noDigest = layer.deepCopy();
        noDigest.remove("digest");
        ObjectNode negativeSize = layer.deepCopy();
        negativeSize.put("size", -1);
        ObjectNode textSize = layer.deepCopy();
        textSize.put("size", "five");
        ObjectNode badDigest = layer.deepCopy();
        badDigest.put("digest", "sha256:ABC");
        ObjectNode unknownAlgorithm = layer.deepCopy();
        unknownAlgorithm.put("digest", "md5:d41d8cd98f00b204e9800998ecf8427e");
        ObjectNode noMediaType = layer.deepCopy();
        noMediaType.remove("mediaType");

        for (ObjectNode bad : List.of(noDigest, negativeSize, textSize, badDigest, unknownAlgorithm, noMediaType)) {
            assertInvalid(bytes(imageJson(config, bad)), null, null);
        }
        assertInvalid(bytes(imageJson(badDigest, layer)), null, "invalid digest");
    }

    @Test
    void layerThatIsNotAnObjectIsInvalid() {
        ObjectNode json = imageJson(config, layer);
        json.withArray("layers").add("sha256:" + "a".repeat(64));

        assertInvalid(bytes(json), null, "descriptor");
    }

    @Test
    void subjectThatIsNotADescriptorIsInvalid() {
        ObjectNode json = imageJson(config, layer);
        json.put("subject", "sha256:" + "a".repeat(64));

        assertInvalid(bytes(json), null, "subject");
    }

    @Test
    void nullSubjectMeansNoSubject() {
        ObjectNode json = imageJson(config, layer);
        json.putNull("subject");

        assertThat(storage.putManifest(REPO, bytes(json), null, null, List.of()).subject()).isNull();
    }

    @Test
    void byteOrderMarkIsInvalid() {
        byte[] json = bytes(imageJson(config, layer));
        byte[] withBom = new byte[json.length + 3];
        withBom[0] = (byte) 0xEF;
        withBom[1] = (byte) 0xBB;
        withBom[2] = (byte) 0xBF;
        System.arraycopy(json, 0, withBom, 3, json.length);

        assertInvalid(withBom, MediaTypes.OCI_MANIFEST, "byte-order mark");
        assertInvalid(withBom, null, "byte-order mark");
    }

    @ParameterizedTest
    @ValueSource(strings = {"UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32LE"})
    void otherEncodingsThanUtf8AreInvalid(String charset) {
        byte[] content = imageJson(config, layer).toString().getBytes(Charset.forName(charset));

        assertInvalid(content, MediaTypes.OCI_MANIFEST, null);
        assertInvalid(content, null, null);
    }

    @Test
    void malformedUtf8IsInvalidEvenInsideAString() {
        // An overlong '/', a UTF-8 encoded surrogate, and a truncated sequence, each as an annotation value.
        for (byte[] bad : List.of(new byte[] {(byte) 0xC0, (byte) 0xAF}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                new byte[] {(byte) 0xE2, (byte) 0x82})) {
            ObjectNode json = imageJson(config, layer);
            json.putObject("annotations").put("note", "XX");
            byte[] content = replace(bytes(json), "XX", bad);

            assertInvalid(content, MediaTypes.OCI_MANIFEST, "UTF-8");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"xyz", "}", "]", ",", "{}", "{\"schemaVersion\":2}", "null", "\u0000", "/* comment */"})
    void anythingButWhitespaceAfterTheJsonValueIsInvalid(String trailing) {
        byte[] content = concat(bytes(imageJson(config, layer)), utf8(" " + trailing));

        assertInvalid(content, MediaTypes.OCI_MANIFEST, null);
        assertInvalid(content, null, null);
    }

    @Test
    void whitespaceAfterTheJsonValueIsAllowed() {
        byte[] content = concat(bytes(imageJson(config, layer)), utf8(" \n\t\r\n"));

        assertThat(storage.putManifest(REPO, content, MediaTypes.OCI_MANIFEST, null, List.of()).mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.5", "5.0", "5e0", "0.5e1", "-1", "9223372036854775808", "1e400", "\"5\"", "true", "null"})
    void sizeMustBeANonNegativeIntegerThatFitsALong(String size) {
        ObjectNode json = imageJson(config, layer);
        byte[] content = replace(bytes(json), "\"size\":" + layer.get("size"), utf8("\"size\":" + size));

        assertInvalid(content, MediaTypes.OCI_MANIFEST, "size");
    }

    @Test
    void ociImageManifestWithManifestsIsInvalidWhateverTheyName() {
        ObjectNode disguised = Fixtures.JSON.createObjectNode();
        disguised.put("schemaVersion", 2);
        disguised.putArray("manifests").add(descriptor(MediaTypes.OCI_MANIFEST, Digest.parse("sha256:" + "a".repeat(64)), 100));
        ObjectNode imageWithManifests = imageJson(config, layer);
        imageWithManifests.putArray("manifests");
        ObjectNode untypedImageWithManifests = imageWithManifests.deepCopy();
        untypedImageWithManifests.remove("mediaType");

        assertInvalid(bytes(disguised), MediaTypes.OCI_MANIFEST, "manifests");
        assertInvalid(bytes(imageWithManifests), MediaTypes.OCI_MANIFEST, "manifests");
        assertInvalid(bytes(imageWithManifests), null, "manifests");
        assertInvalid(bytes(untypedImageWithManifests), MediaTypes.OCI_MANIFEST, "manifests");
    }

    @Test
    void ociImageManifestWithNullManifestsIsAnImage() {
        ObjectNode json = imageJson(config, layer);
        json.remove("mediaType");
        json.putNull("manifests");

        StoredManifest m = storage.putManifest(REPO, bytes(json), MediaTypes.OCI_MANIFEST, null, List.of());

        assertThat(m.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(ParsedManifest.parse(bytes(json), null).blobs()).extracting(Descriptor::digest)
                .containsExactly(Digest.parse(config.get("digest").asText()), Digest.parse(layer.get("digest").asText()));
    }

    @Test
    void ociIndexWithConfigOrLayersIsInvalid() {
        Fixtures.Pushed child = Fixtures.pushImage(storage, REPO, "child");
        for (String field : List.of("config", "layers")) {
            ObjectNode index = Fixtures.indexJson(child.descriptor());
            if (field.equals("config")) {
                index.set("config", config);
            } else {
                index.putArray("layers").add(layer);
            }
            ObjectNode untyped = index.deepCopy();
            untyped.remove("mediaType");

            assertInvalid(bytes(index), MediaTypes.OCI_INDEX, field);
            assertInvalid(bytes(index), null, field);
            assertInvalid(bytes(untyped), MediaTypes.OCI_INDEX, field);
            assertInvalid(bytes(untyped), null, field);
        }
    }

    @Test
    void dockerManifestsMayCarryTheOtherKindsFieldsAsRegistry2Allows() {
        Fixtures.Pushed child = Fixtures.pushImage(storage, REPO, "child");
        ObjectNode image = imageJson(config, layer);
        image.put("mediaType", MediaTypes.DOCKER_MANIFEST);
        image.putArray("manifests").add(child.descriptor());
        ObjectNode list = Fixtures.indexJson(child.descriptor());
        list.put("mediaType", MediaTypes.DOCKER_MANIFEST_LIST);
        list.set("config", config);
        list.putArray("layers").add(layer);

        assertThat(storage.putManifest(REPO, bytes(image), MediaTypes.DOCKER_MANIFEST, null, List.of()).mediaType())
                .isEqualTo(MediaTypes.DOCKER_MANIFEST);
        assertThat(storage.putManifest(REPO, bytes(list), MediaTypes.DOCKER_MANIFEST_LIST, null, List.of()).mediaType())
                .isEqualTo(MediaTypes.DOCKER_MANIFEST_LIST);
        assertThat(ParsedManifest.parse(bytes(image), null).children()).isEmpty();
        assertThat(ParsedManifest.parse(bytes(list), null).blobs()).isEmpty();
    }

    @Test
    void fieldNamesMatchIgnoringCaseAsGoClientsReadThem() {
        ObjectNode missing = descriptor(LAYER_TYPE, Digest.parse("sha256:" + "b".repeat(64)), 5);
        byte[] capitalised = replace(bytes(imageJson(config, layer)), "\"layers\"", utf8("\"Layers\""));
        // U+017F LATIN SMALL LETTER LONG S folds to 's' in Go's encoding/json.
        byte[] longS = replace(bytes(imageJson(config, layer)), "\"layers\"", utf8("\"layer\u017F\""));
        ObjectNode hiddenIndex = imageJson(config, layer);
        hiddenIndex.putArray("Manifests");

        byte[] hiddenLayer = replace(bytes(imageJson(config, missing)), "\"layers\"", utf8("\"LAYERS\""));

        assertBlobUnknown(hiddenLayer);
        assertThat(ParsedManifest.parse(capitalised, MediaTypes.OCI_MANIFEST).blobs()).hasSize(2);
        assertThat(ParsedManifest.parse(longS, MediaTypes.OCI_MANIFEST).blobs()).hasSize(2);
        assertInvalid(bytes(hiddenIndex), MediaTypes.OCI_MANIFEST, "manifests");
    }

    @Test
    void aFieldRepeatedWithDifferentValuesIsInvalid() {
        ObjectNode missing = descriptor(LAYER_TYPE, Digest.parse("sha256:" + "b".repeat(64)), 5);
        String type = "\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\"";
        byte[] typeThenNull = replace(bytes(imageJson(config, layer)), type, utf8(type + ",\"mediaType\":null"));
        ObjectNode layerTwice = Fixtures.JSON.createObjectNode();
        layerTwice.put("mediaType", LAYER_TYPE).put("digest", layer.get("digest").asText()).put("size", 5);
        byte[] sizeTwice = replace(bytes(imageJson(config, layerTwice)), "\"size\":5", utf8("\"size\":5,\"Size\":6"));

        assertInvalid(layersTwice("layers", layer, "layers", missing), MediaTypes.OCI_MANIFEST, "layers appears more than once");
        assertInvalid(layersTwice("layers", missing, "layers", layer), MediaTypes.OCI_MANIFEST, "layers appears more than once");
        assertInvalid(layersTwice("layers", layer, "LAYERS", missing), MediaTypes.OCI_MANIFEST, "layers appears more than once");
        assertInvalid(typeThenNull, MediaTypes.OCI_MANIFEST, "mediaType appears more than once");
        assertInvalid(sizeTwice, MediaTypes.OCI_MANIFEST, "size appears more than once");
    }

    @Test
    void aFieldRepeatedWithTheSameValueOrAnUnknownKeyRepeatedIsAccepted() {
        byte[] sameLayers = layersTwice("layers", layer, "Layers", layer);
        ObjectNode json = imageJson(config, layer);
        json.putObject("annotations").put("a", "1");
        byte[] unknownTwice = replace(bytes(json), "\"a\":\"1\"", utf8("\"a\":\"1\",\"a\":\"2\",\"A\":\"3\""));

        assertThat(storage.putManifest(REPO, sameLayers, MediaTypes.OCI_MANIFEST, null, List.of()).mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(ParsedManifest.parse(sameLayers, null).blobs()).hasSize(2);
        assertThat(ParsedManifest.parse(unknownTwice, null).annotations()).containsExactly(Map.entry("a", "2"), Map.entry("A", "3"));
    }

    /** An OCI image manifest of {@link #config} whose layers are given twice, under two keys. */
    private byte[] layersTwice(String firstKey, ObjectNode first, String secondKey, ObjectNode second) {
        return utf8("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":" + config
                + ",\"" + firstKey + "\":[" + first + "],\"" + secondKey + "\":[" + second + "]}");
    }

    private void assertBlobUnknown(byte[] content) {
        assertThatThrownBy(() -> storage.putManifest(REPO, content, MediaTypes.OCI_MANIFEST, null, List.of()))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.MANIFEST_BLOB_UNKNOWN));
    }

    @Test
    void fieldsBerthReadsMustHaveTheirJsonType() {
        ObjectNode numberType = imageJson(config, layer);
        numberType.put("mediaType", 5);
        ObjectNode numberArtifactType = imageJson(config, layer);
        numberArtifactType.put("artifactType", 5);
        ObjectNode numberAnnotation = imageJson(config, layer);
        numberAnnotation.putObject("annotations").put("a", 5);
        ObjectNode urlsNotArray = imageJson(config, layer.deepCopy().put("urls", "https://example.com/l"));

        assertInvalid(bytes(numberType), MediaTypes.OCI_MANIFEST, "mediaType");
        assertInvalid(bytes(numberArtifactType), MediaTypes.OCI_MANIFEST, "artifactType");
        assertInvalid(bytes(numberAnnotation), MediaTypes.OCI_MANIFEST, "annotations");
        assertInvalid(bytes(urlsNotArray), MediaTypes.OCI_MANIFEST, "urls");
    }

    /**
     * Storage verifies the references of the manifest parsed with the request's Content-Type and serves the
     * one parsed from the bytes alone, so the two must agree whenever the first is valid.
     */
    @Test
    void whatTheContentTypeAcceptsParsesTheSameFromTheBytesAlone() {
        ObjectNode child = descriptor(MediaTypes.OCI_MANIFEST, Digest.parse("sha256:" + "c".repeat(64)), 300);
        List<@Nullable String> types = new ArrayList<>();
        types.add(null);
        types.addAll(List.of(MediaTypes.OCI_MANIFEST, MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST));
        int acceptedWithContentType = 0;
        for (String bodyType : types) {
            for (int manifests = 0; manifests < 4; manifests++) {
                for (int configs = 0; configs < 3; configs++) {
                    for (int layers = 0; layers < 3; layers++) {
                        ObjectNode json = Fixtures.JSON.createObjectNode().put("schemaVersion", 2);
                        if (bodyType != null) {
                            json.put("mediaType", bodyType);
                        }
                        switch (manifests) {
                            case 1 -> json.putNull("manifests");
                            case 2 -> json.putArray("manifests");
                            case 3 -> json.putArray("manifests").add(child);
                            default -> { }
                        }
                        switch (configs) {
                            case 1 -> json.putNull("config");
                            case 2 -> json.set("config", config);
                            default -> { }
                        }
                        switch (layers) {
                            case 1 -> json.putNull("layers");
                            case 2 -> json.putArray("layers").add(layer);
                            default -> { }
                        }
                        byte[] content = bytes(json);
                        for (String contentType : types) {
                            ParsedManifest declared = tryParse(content, contentType);
                            if (declared == null || contentType == null) {
                                continue;
                            }
                            acceptedWithContentType++;
                            ParsedManifest served = tryParse(content, null);
                            assertThat(served).as("%s with Content-Type %s, parsed from the bytes alone", json, contentType).isNotNull();
                            String what = json + " with Content-Type " + contentType;
                            assertThat(served.mediaType()).as("media type of %s", what).isEqualTo(declared.mediaType());
                            assertThat(served.blobs()).as("blobs of %s", what).isEqualTo(declared.blobs());
                            assertThat(served.children()).as("children of %s", what).isEqualTo(declared.children());
                        }
                    }
                }
            }
        }
        assertThat(acceptedWithContentType).as("cases valid with a Content-Type").isGreaterThanOrEqualTo(10);
    }

    private static @Nullable ParsedManifest tryParse(byte[] content, @Nullable String contentType) {
        try {
            return ParsedManifest.parse(content, contentType);
        } catch (StorageException e) {
            assertThat(e.problem()).isEqualTo(Problem.MANIFEST_INVALID);
            return null;
        }
    }

    private static byte[] concat(byte[]... parts) {
        byte[] out = new byte[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** {@code content} with the first occurrence of {@code target} (ASCII) replaced by {@code replacement}. */
    private static byte[] replace(byte[] content, String target, byte[] replacement) {
        byte[] t = utf8(target);
        for (int i = 0; i + t.length <= content.length; i++) {
            if (Arrays.equals(content, i, i + t.length, t, 0, t.length)) {
                return concat(Arrays.copyOfRange(content, 0, i), replacement, Arrays.copyOfRange(content, i + t.length, content.length));
            }
        }
        throw new AssertionError(target + " not found in " + new String(content, StandardCharsets.UTF_8));
    }

    private void assertInvalid(byte[] content, @Nullable String contentType, @Nullable String detail) {
        Path manifests = Fixtures.repoDir(root, REPO).resolve("_manifests");
        TreeMap<String, String> before = Files.exists(manifests) ? Fixtures.snapshot(manifests) : null;
        assertThatThrownBy(() -> storage.putManifest(REPO, content, contentType, null, List.of(Tag.of("bad"))))
                .isInstanceOfSatisfying(StorageException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.MANIFEST_INVALID);
                    if (detail != null) {
                        assertThat(e.getMessage()).contains(detail);
                    }
                });
        if (before == null) {
            assertThat(manifests).doesNotExist();
        } else {
            assertThat(Fixtures.snapshot(manifests)).isEqualTo(before);
        }
    }
}
