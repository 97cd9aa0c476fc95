package io.berth.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/** Shared helpers for storage tests: blob pushes, manifest JSON, a settable clock and a tree snapshot. */
final class Fixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
    static final String LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

    private Fixtures() {}

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static ByteBuffer[] buffers(byte[]... parts) {
        ByteBuffer[] out = new ByteBuffer[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = ByteBuffer.wrap(parts[i]);
        }
        return out;
    }

    /** A SHA-512 digest computed independently of the code under test. */
    static Digest sha512(byte[] content) {
        return Digest.parse("sha512:" + hex("SHA-512", content));
    }

    /** A SHA-256 digest computed independently of the code under test. */
    static Digest sha256(byte[] content) {
        return Digest.parse("sha256:" + hex("SHA-256", content));
    }

    private static String hex(String algorithm, byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Uploads {@code content} in one chunk and commits it into {@code repo}. */
    static Digest pushBlob(RegistryStorage storage, RepositoryName repo, byte[] content) {
        Digest digest = sha256(content);
        try (Upload upload = storage.startUpload(repo)) {
            upload.write(buffers(content), Long.MAX_VALUE);
            upload.commit(digest);
        }
        return digest;
    }

    /** Pushes {@code content} into {@code repo} and returns its descriptor. */
    static ObjectNode pushDescriptor(RegistryStorage storage, RepositoryName repo, String mediaType, String content) {
        byte[] bytes = utf8(content);
        return descriptor(mediaType, pushBlob(storage, repo, bytes), bytes.length);
    }

    static ObjectNode descriptor(String mediaType, Digest digest, long size) {
        ObjectNode d = JSON.createObjectNode();
        d.put("mediaType", mediaType);
        d.put("digest", digest.toString());
        d.put("size", size);
        return d;
    }

    static ObjectNode imageJson(ObjectNode config, ObjectNode... layers) {
        ObjectNode m = JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.set("config", config);
        m.putArray("layers").addAll(List.of(layers));
        return m;
    }

    static ObjectNode indexJson(ObjectNode... manifests) {
        ObjectNode m = JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_INDEX);
        m.putArray("manifests").addAll(List.of(manifests));
        return m;
    }

    static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A manifest that was pushed, with the blobs it refers to (empty for an index). */
    record Pushed(Digest digest, byte[] content, List<Digest> blobs) {
        ObjectNode descriptor() {
            return Fixtures.descriptor(MediaTypes.OCI_MANIFEST, digest, content.length);
        }

        Reference.ByDigest reference() {
            return new Reference.ByDigest(digest);
        }
    }

    /** Pushes a config and a layer unique to {@code seed}, then an image manifest tagged {@code tags}. */
    static Pushed pushImage(RegistryStorage storage, RepositoryName repo, String seed, Tag... tags) {
        return pushArtifact(storage, repo, seed, null, null, tags);
    }

    /** Like {@link #pushImage}, with an optional {@code subject} and {@code artifactType}. */
    static Pushed pushArtifact(RegistryStorage storage, RepositoryName repo, String seed, @Nullable Pushed subject,
            @Nullable String artifactType, Tag... tags) {
        byte[] config = utf8("{\"seed\":\"" + seed + "\"}");
        byte[] layer = utf8("layer of " + seed);
        Digest c = pushBlob(storage, repo, config);
        Digest l = pushBlob(storage, repo, layer);
        ObjectNode json = imageJson(descriptor(CONFIG_TYPE, c, config.length), descriptor(LAYER_TYPE, l, layer.length));
        if (subject != null) {
            json.set("subject", subject.descriptor());
        }
        if (artifactType != null) {
            json.put("artifactType", artifactType);
        }
        byte[] content = bytes(json);
        StoredManifest m = storage.putManifest(repo, content, MediaTypes.OCI_MANIFEST, null, List.of(tags));
        return new Pushed(m.digest(), content, List.of(c, l));
    }

    /** Pushes an OCI index over {@code children}, which must already be in {@code repo}. */
    static Pushed pushIndex(RegistryStorage storage, RepositoryName repo, List<Pushed> children, Tag... tags) {
        byte[] content = bytes(indexJson(children.stream().map(Pushed::descriptor).toArray(ObjectNode[]::new)));
        StoredManifest m = storage.putManifest(repo, content, MediaTypes.OCI_INDEX, null, List.of(tags));
        return new Pushed(m.digest(), content, List.of());
    }

    /** Writes a blob's data file as registry:2 lays it out, bypassing Berth, and returns its digest. */
    static Digest writeRegistry2Blob(Path root, byte[] content) throws IOException {
        Digest d = sha256(content);
        Path data = blobData(root, d);
        Files.createDirectories(data.getParent());
        Files.write(data, content);
        return d;
    }

    /** Writes a registry:2 link file holding {@code d}, bypassing Berth. */
    static void writeRegistry2Link(Path link, Digest d) throws IOException {
        Files.createDirectories(link.getParent());
        Files.write(link, d.toString().getBytes(StandardCharsets.US_ASCII));
    }

    static Path v2(Path root) {
        return root.resolve("docker/registry/v2");
    }

    static Path blobData(Path root, Digest digest) {
        return v2(root).resolve("blobs").resolve(digest.algorithm().prefix()).resolve(digest.hex().substring(0, 2))
                .resolve(digest.hex()).resolve("data");
    }

    static Path repoDir(Path root, RepositoryName repo) {
        return v2(root).resolve("repositories").resolve(repo.value());
    }

    static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every regular file under {@code dir}, relative path to content, for before/after comparisons. */
    static TreeMap<String, String> snapshot(Path dir) {
        TreeMap<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                try {
                    out.put(dir.relativize(f).toString(), HexFormat.of().formatHex(Files.readAllBytes(f)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** A clock the test moves by hand. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    /** Asserts that {@code call} fails with a StorageException carrying {@code problem}. */
    static void assertProblem(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Problem problem) {
        org.assertj.core.api.Assertions.assertThatThrownBy(call)
                .isInstanceOfSatisfying(StorageException.class, e -> org.assertj.core.api.Assertions.assertThat(e.problem()).isEqualTo(problem));
    }
}
