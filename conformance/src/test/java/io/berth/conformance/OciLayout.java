package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/** An OCI image layout on disk (a directory, or a tar of one unpacked), as clients write them when they pull. */
final class OciLayout {
    private final Path dir;

    private OciLayout(Path dir) {
        this.dir = dir;
    }

    static OciLayout at(Path dir) {
        assertThat(dir.resolve("oci-layout")).as("an OCI layout at %s", dir).isRegularFile();
        return new OciLayout(dir);
    }

    /** Unpacks {@code tar} into {@code dir} (created) and opens the layout there. */
    static OciLayout untar(Path tar, Path dir) {
        untarTo(tar, dir);
        return at(dir);
    }

    /** Unpacks {@code tar} into {@code dir} (created) with the system's tar. */
    static Path untarTo(Path tar, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Proc.ok(List.of("tar", "-xf", tar.toString(), "-C", dir.toString()), Map.of(), Duration.ofMinutes(1));
        return dir;
    }

    JsonNode index() {
        return RegistryHttp.json(dir.resolve("index.json"));
    }

    /** The digests of the manifests index.json lists, in order. */
    List<String> manifestDigests() {
        List<String> out = new ArrayList<>();
        index().path("manifests").forEach(m -> out.add(m.path("digest").asText()));
        return out;
    }

    /** The one manifest index.json lists. */
    String onlyManifestDigest() {
        List<String> digests = manifestDigests();
        assertThat(digests).as("manifests in %s/index.json", dir).hasSize(1);
        return digests.get(0);
    }

    Path blob(String digest) {
        return dir.resolve("blobs").resolve(digest.replace(':', '/'));
    }

    /** Every blob's digest, as named by its file. */
    TreeSet<String> blobDigests() {
        Path root = dir.resolve("blobs");
        try (Stream<Path> files = Files.walk(root)) {
            TreeSet<String> out = new TreeSet<>();
            files.filter(Files::isRegularFile)
                    .forEach(f -> out.add(root.relativize(f).getName(0) + ":" + f.getFileName()));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Checks that every blob's sha256 is the one its file name claims. */
    void assertBlobsMatchTheirNames() {
        for (String digest : blobDigests()) {
            assertThat(RegistryClient.sha256(blob(digest))).as("content of blob %s in %s", digest, dir).isEqualTo(digest);
        }
    }
}
