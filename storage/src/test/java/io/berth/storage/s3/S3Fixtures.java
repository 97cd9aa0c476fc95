package io.berth.storage.s3;

import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.StoredManifest;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import io.berth.testing.S3TestServer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** Storages on one versitygw bucket, and pushes of blobs and manifests for the S3 metadata tests. */
final class S3Fixtures {
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
    static final String LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

    private S3Fixtures() {}

    static S3Settings settings(S3TestServer s3, String root) {
        return S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey()).withRootDirectory(root);
    }

    /** A fresh root directory, so each test has a bucket of its own in effect. */
    static String freshRoot() {
        return "t-" + UUID.randomUUID();
    }

    /** A replica: its own client, caches and lock owner, on the bucket under {@code root}. */
    static S3Storage replica(S3TestServer s3, String root) {
        return replica(s3, root, Clock.systemUTC(), S3Locks.DEFAULT_MAX_WAIT);
    }

    static S3Storage replica(S3TestServer s3, String root, Clock clock, Duration lockWait) {
        return new S3Storage(ObjectStore.open(settings(s3, root)), clock, 1 << 20, S3Locks.DEFAULT_LEASE, lockWait);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Stores {@code content} whole at its blob key and links it into {@code repo}, as an upload's commit does. */
    static Digest pushBlob(S3Storage storage, RepositoryName repo, byte[] content) {
        Digest d = Digest.sha256(content);
        storage.blobs().putContent(d, content);
        storage.blobs().link(repo, d);
        return d;
    }

    static String descriptor(String mediaType, Digest digest, long size) {
        return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + digest + "\",\"size\":" + size + "}";
    }

    /** A manifest that was pushed, with the blobs it refers to (none for an index). */
    record Pushed(Digest digest, byte[] content, List<Digest> blobs) {
        String descriptor() {
            return S3Fixtures.descriptor(OCI_MANIFEST, digest, content.length);
        }
    }

    static Pushed pushImage(S3Storage storage, RepositoryName repo, String seed, Tag... tags) {
        return pushArtifact(storage, repo, seed, null, null, TagGuard.NONE, tags);
    }

    /** Pushes a config and a layer unique to {@code seed}, then an image manifest over them tagged {@code tags}. */
    static Pushed pushArtifact(S3Storage storage, RepositoryName repo, String seed, @Nullable Pushed subject,
            @Nullable String artifactType, TagGuard guard, Tag... tags) {
        byte[] content = imageManifest(storage, repo, seed, subject, artifactType);
        StoredManifest m = storage.putManifest(repo, content, OCI_MANIFEST, null, List.of(tags), guard);
        String json = new String(content, StandardCharsets.UTF_8);
        return new Pushed(m.digest(), content, List.of(Digest.parse(json.substring(json.indexOf("sha256:"), json.indexOf("sha256:") + 71)),
                Digest.parse(json.substring(json.lastIndexOf("sha256:"), json.lastIndexOf("sha256:") + 71))));
    }

    /** The bytes of an image manifest over a config and a layer unique to {@code seed}, both pushed into {@code repo}. */
    static byte[] imageManifest(S3Storage storage, RepositoryName repo, String seed, @Nullable Pushed subject,
            @Nullable String artifactType) {
        byte[] config = utf8("{\"seed\":\"" + seed + "\"}");
        byte[] layer = utf8("layer of " + seed);
        Digest c = pushBlob(storage, repo, config);
        Digest l = pushBlob(storage, repo, layer);
        return utf8("{\"schemaVersion\":2,\"mediaType\":\"" + OCI_MANIFEST + "\""
                + (artifactType == null ? "" : ",\"artifactType\":\"" + artifactType + "\"")
                + ",\"config\":" + descriptor(CONFIG_TYPE, c, config.length)
                + ",\"layers\":[" + descriptor(LAYER_TYPE, l, layer.length) + "]"
                + (subject == null ? "" : ",\"subject\":" + subject.descriptor()) + "}");
    }

    /** Pushes an OCI index over {@code children}, which must already be in {@code repo}. */
    static Pushed pushIndex(S3Storage storage, RepositoryName repo, List<Pushed> children, Tag... tags) {
        StringBuilder json = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"" + OCI_INDEX + "\",\"manifests\":[");
        for (int i = 0; i < children.size(); i++) {
            json.append(i == 0 ? "" : ",").append(children.get(i).descriptor());
        }
        byte[] content = utf8(json.append("]}").toString());
        StoredManifest m = storage.putManifest(repo, content, OCI_INDEX, null, List.of(tags));
        return new Pushed(m.digest(), content, List.of());
    }

    /** A guard that protects every tag named in {@code names}, as berth.immutableTags would. */
    static TagGuard immutable(String... names) {
        List<String> protectedNames = List.of(names);
        return (repo, tag) -> protectedNames.contains(tag.value()) ? "tag \"" + tag + "\" of \"" + repo + "\" is immutable" : null;
    }
}
