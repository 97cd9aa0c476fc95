package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What the registry:2 round-trip tests push (with crane, and over HTTP where crane has no verb),
 * what they read back from a registry, and what they read straight off a volume.
 */
final class RoundTripContent {
    static final String V2 = "docker/registry/v2/";
    private static final Pattern DIGEST_REF = Pattern.compile("(?m)^\\S+@(sha256:[0-9a-f]{64})\\s*$");

    private RoundTripContent() {}

    /** An index with its children, all pushed by digest into one repository. */
    record MultiArch(String index, List<String> children) {}

    /** An image pushed and then deleted by digest, leaving its blobs as garbage. */
    record Garbage(String manifest, SortedSet<String> blobs) {}

    /**
     * One manifest as a registry served it.
     *
     * @param contentType the Content-Type header
     * @param digest the Docker-Content-Digest header
     * @param body the bytes, as ISO-8859-1 so that string equality is byte equality
     */
    record Served(String contentType, String digest, String body) {}

    /**
     * Everything a registry serves, read through its API: the catalog, each repository's tags, each
     * manifest by tag and by digest (index children followed), and every blob those manifests name
     * (each downloaded and sha256-verified while reading).
     *
     * @param catalog the catalog
     * @param tags tags per repository
     * @param manifests by "repo:tag" and "repo@digest"
     * @param blobs every config and layer digest, per repository
     */
    record Snapshot(List<String> catalog, SortedMap<String, List<String>> tags, SortedMap<String, Served> manifests,
            SortedMap<String, SortedSet<String>> blobs) {

        /** Every digest the registry serves: manifests, configs and layers. */
        SortedSet<String> liveDigests() {
            SortedSet<String> out = new TreeSet<>();
            manifests.values().forEach(m -> out.add(m.digest()));
            blobs.values().forEach(out::addAll);
            return out;
        }
    }

    // ---- crane

    /** Runs crane against plain-HTTP registries; returns its output (stderr and stdout). */
    static String crane(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Peers.tool("CRANE")));
        cmd.addAll(List.of(args));
        cmd.add("--insecure");
        return Proc.ok(cmd, Map.of(), Duration.ofMinutes(2)).output();
    }

    /** Runs crane and returns the digest of the {@code host/repo@sha256:…} line it prints. */
    static String craneDigest(String... args) {
        String out = crane(args);
        Matcher m = DIGEST_REF.matcher(out);
        String digest = null;
        while (m.find()) {
            digest = m.group(1);
        }
        assertThat(digest).as("crane %s printed no digest reference:%n%s", String.join(" ", args), out).isNotNull();
        return digest;
    }

    /** {@code crane append} of {@code layers} onto an empty base, tagged {@code ref}; returns the manifest digest. */
    static String pushImage(String ref, Path... layers) {
        List<String> args = new ArrayList<>(List.of("append", "-t", ref));
        for (Path layer : layers) {
            args.add("-f");
            args.add(layer.toString());
        }
        return craneDigest(args.toArray(String[]::new));
    }

    /**
     * A two-platform index tagged {@code host/repo:tag}: each child is {@code baseRef} re-platformed and
     * given one more layer by {@code crane mutate --repo}, so the children sit in {@code repo} by digest
     * only; {@code crane index append} then tags the index.
     */
    static MultiArch pushMultiArch(String host, String baseRef, String repo, String tag, Path amd64Layer, Path arm64Layer) {
        String amd64 = craneDigest("mutate", "--set-platform", "linux/amd64", "--append", amd64Layer.toString(), "--repo", host + "/" + repo, baseRef);
        String arm64 = craneDigest("mutate", "--set-platform", "linux/arm64", "--append", arm64Layer.toString(), "--repo", host + "/" + repo, baseRef);
        String index = craneDigest("index", "append", "-m", host + "/" + repo + "@" + amd64, "-m", host + "/" + repo + "@" + arm64,
                "-t", host + "/" + repo + ":" + tag);
        return new MultiArch(index, List.of(amd64, arm64));
    }

    /** An untagged copy of {@code sourceRef} with one more label, pushed by digest into {@code host/repo}. */
    static String pushUntagged(String host, String sourceRef, String repo) {
        return craneDigest("mutate", "--label", "berth.test=untagged", "--repo", host + "/" + repo, sourceRef);
    }

    /** Pushes an image with its own layer, then deletes its manifest by digest: its blobs become garbage. */
    static Garbage pushGarbage(RegistryHttp http, String host, String repo, Path uniqueLayer) {
        String digest = pushImage(host + "/" + repo + ":doomed", uniqueLayer);
        SortedSet<String> blobs = new TreeSet<>(referencedBlobs(http.requireManifest(repo, digest).json()));
        assertThat(http.deleteManifest(repo, digest)).as("DELETE %s@%s", repo, digest).isEqualTo(202);
        assertThat(http.manifest(repo, digest).status()).isEqualTo(404);
        blobs.add(digest);
        return new Garbage(digest, blobs);
    }

    /**
     * An OCI artifact (empty config, one text layer) whose {@code subject} is {@code repo@subject},
     * pushed by digest over HTTP since crane has no verb for it. Returns its digest.
     */
    static String pushReferrer(RegistryHttp http, String repo, String subject, String payload) {
        RegistryHttp.Response target = http.requireManifest(repo, subject);
        String config = http.pushBlob(repo, "{}".getBytes(StandardCharsets.UTF_8));
        byte[] data = payload.getBytes(StandardCharsets.UTF_8);
        String layer = http.pushBlob(repo, data);
        ObjectNode m = RegistryHttp.JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", RegistryHttp.OCI_MANIFEST);
        m.put("artifactType", "application/vnd.berth.test.sbom");
        m.putObject("config").put("mediaType", "application/vnd.oci.empty.v1+json").put("digest", config).put("size", 2).put("data", "e30=");
        m.putArray("layers").addObject().put("mediaType", "text/plain").put("digest", layer).put("size", data.length);
        m.putObject("subject").put("mediaType", target.contentType()).put("digest", subject).put("size", target.body().length);
        byte[] content = m.toString().getBytes(StandardCharsets.UTF_8);
        String digest = RegistryClient.sha256(content);
        assertThat(http.putManifest(repo, digest, RegistryHttp.OCI_MANIFEST, content)).isEqualTo(digest);
        return digest;
    }

    /** The config and layer digests of an image manifest; none for an index. */
    static List<String> referencedBlobs(JsonNode manifest) {
        List<String> out = new ArrayList<>();
        if (manifest.has("config")) {
            out.add(manifest.path("config").path("digest").asText());
        }
        manifest.path("layers").forEach(l -> out.add(l.path("digest").asText()));
        return out;
    }

    // ---- reading a registry

    /** Reads everything {@code http} serves; {@code untagged} adds "repo@digest" references no tag reaches. */
    static Snapshot read(RegistryHttp http, Collection<String> untagged) {
        List<String> catalog = http.catalog();
        SortedMap<String, List<String>> tags = new TreeMap<>();
        SortedMap<String, Served> manifests = new TreeMap<>();
        SortedMap<String, SortedSet<String>> blobs = new TreeMap<>();
        Deque<String> byDigest = new ArrayDeque<>(untagged);
        for (String repo : catalog) {
            // registry:2 2.8 lists tags in directory order, not lexically; compare them as sets.
            tags.put(repo, http.tags(repo).stream().sorted().toList());
            for (String tag : tags.get(repo)) {
                RegistryHttp.Response f = http.requireManifest(repo, tag);
                manifests.put(repo + ":" + tag, served(f));
                byDigest.add(repo + "@" + f.digest());
            }
        }
        while (!byDigest.isEmpty()) {
            String ref = byDigest.poll();
            if (manifests.containsKey(ref)) {
                continue;
            }
            String repo = ref.substring(0, ref.indexOf('@'));
            String digest = ref.substring(ref.indexOf('@') + 1);
            RegistryHttp.Response f = http.requireManifest(repo, digest);
            assertThat(f.digest()).as("Docker-Content-Digest of %s", ref).isEqualTo(digest);
            assertThat(RegistryClient.sha256(f.body())).as("sha256 of manifest %s", ref).isEqualTo(digest);
            manifests.put(ref, served(f));
            JsonNode json = f.json();
            json.path("manifests").forEach(c -> byDigest.add(repo + "@" + c.path("digest").asText()));
            if (json.has("config")) {
                http.requireBlob(repo, json.path("config").path("digest").asText(), json.path("config").path("size").asLong());
            }
            json.path("layers").forEach(l -> http.requireBlob(repo, l.path("digest").asText(), l.path("size").asLong()));
            blobs.computeIfAbsent(repo, r -> new TreeSet<>()).addAll(referencedBlobs(json));
        }
        return new Snapshot(catalog, tags, manifests, blobs);
    }

    /** Compares two snapshots part by part, so that a difference names the manifest it is in. */
    static void assertSameContent(Snapshot actual, Snapshot expected, String what) {
        assertThat(actual.catalog()).as("%s: catalog", what).isEqualTo(expected.catalog());
        assertThat(actual.tags()).as("%s: tags", what).isEqualTo(expected.tags());
        assertThat(actual.manifests().keySet()).as("%s: manifests by tag and digest", what).isEqualTo(expected.manifests().keySet());
        expected.manifests().forEach((ref, m) -> assertThat(actual.manifests().get(ref)).as("%s: manifest %s", what, ref).isEqualTo(m));
        assertThat(actual.blobs()).as("%s: blobs", what).isEqualTo(expected.blobs());
    }

    /** {@code crane pull --format oci} of every tag and digest reference {@code snapshot} lists, from {@code host}. */
    static void cranePullEverything(String host, Snapshot snapshot, Path work) {
        int n = 0;
        for (String ref : snapshot.manifests().keySet()) {
            Path dir = work.resolve("pull-" + n++);
            crane("pull", "--format", "oci", host + "/" + ref, dir.toString());
            assertThat(dir.resolve("index.json")).as("crane pull of %s/%s", host, ref).isRegularFile();
        }
    }

    private static Served served(RegistryHttp.Response f) {
        return new Served(f.contentType(), f.digest(), new String(f.body(), StandardCharsets.ISO_8859_1));
    }

    // ---- the volume

    /**
     * Every file under {@code root}, by path relative to it: a link file's content, or for any other
     * file the sha256 of its bytes.
     */
    static SortedMap<String, String> tree(Path root) {
        SortedMap<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                byte[] bytes = Files.readAllBytes(file);
                String rel = root.relativize(file).toString();
                out.put(rel, file.getFileName().toString().equals("link")
                        ? new String(bytes, StandardCharsets.ISO_8859_1) : RegistryClient.sha256(bytes));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** {@link #tree} without upload state and Berth's own {@code _berth} index. */
    static SortedMap<String, String> registry2Tree(Path root) {
        SortedMap<String, String> out = new TreeMap<>(tree(root));
        out.keySet().removeIf(p -> p.contains("/_uploads/") || p.contains("/_berth/"));
        return out;
    }

    /** The digests of the blobs a volume stores. */
    static SortedSet<String> storedBlobs(Path root) {
        SortedSet<String> out = new TreeSet<>();
        Pattern data = Pattern.compile(Pattern.quote(V2) + "blobs/sha256/[0-9a-f]{2}/([0-9a-f]{64})/data");
        for (String path : tree(root).keySet()) {
            Matcher m = data.matcher(path);
            if (m.matches()) {
                out.add("sha256:" + m.group(1));
            }
        }
        return out;
    }

    /** The path of a blob's data file, relative to the volume root. */
    static String blobPath(String digest) {
        String hex = digest.substring("sha256:".length());
        return V2 + "blobs/sha256/" + hex.substring(0, 2) + "/" + hex + "/data";
    }

    static void copyTree(Path from, Path to) {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
