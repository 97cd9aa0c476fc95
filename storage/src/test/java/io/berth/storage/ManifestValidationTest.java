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
import java.nio.file.Path;
import java.util.List;
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

    private void assertInvalid(byte[] content, @Nullable String contentType, @Nullable String detail) {
        assertThatThrownBy(() -> storage.putManifest(REPO, content, contentType, null, List.of(Tag.of("bad"))))
                .isInstanceOfSatisfying(StorageException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.MANIFEST_INVALID);
                    if (detail != null) {
                        assertThat(e.getMessage()).contains(detail);
                    }
                });
        assertThat(Fixtures.repoDir(root, REPO).resolve("_manifests")).doesNotExist();
    }
}
