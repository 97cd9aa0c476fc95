package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import io.berth.conformance.CosignKit.Version;
import static io.berth.conformance.CosignKit.args;
import static io.berth.conformance.CosignKit.legacyTag;
import static io.berth.conformance.CosignKit.tinyLayer;
import static io.berth.conformance.CosignKit.SIGN_PREDICATE;
import static io.berth.conformance.CosignKit.SLSA_PREDICATE;

/**
 * The real cosign CLI against the README's secure example ({@code examples/secure/config.yml}: TLS, the built-in token
 * issuer, roles ci and cluster, immutable release tags), in both of its storage formats: cosign v3 (a sigstore bundle
 * pushed as an OCI 1.1 referrer with {@code subject}) and cosign v2.6 (the legacy {@code sha256-<hex>.sig} and
 * {@code .att} tags). CI signs and attests by digest, air-gapped (no Fulcio, Rekor or timestamp authority); the
 * pull-only cluster role verifies with the public key, as an admission check would.
 */
class CosignIT {
    private static final String BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";

    @TempDir
    static Path work;

    private static SecureRegistry registry;
    private static CosignKit kit;

    @BeforeAll
    static void start() throws IOException {
        kit = CosignKit.generate(work.resolve("keys"));
        registry = SecureRegistry.start(work.resolve("registry"), Map.of());
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(registry);
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void ciSignsByDigestAndTheClusterRoleVerifiesWithThePublicKeyButNotWithAnotherKey(Version cosign, @TempDir Path home) throws IOException {
        String repo = "cosign/sign-" + cosign.name().toLowerCase(Locale.ROOT);
        String digest = image(home, repo + ":build-1", 1);
        String ref = registry.ref(repo + "@" + digest);

        login(cosign, home.resolve("ci"), "ci").ok(args("sign", "--key", kit.privateKey(cosign, "ci"), kit.airGapped(cosign), ref));

        PeerCli cluster = login(cosign, home.resolve("cluster"), "cluster");
        String verified = cluster.text(args("verify", "--key", kit.publicKey(cosign, "ci"), kit.offline(cosign), ref));
        JsonNode payload = RegistryHttp.json(verified).get(0);
        assertThat(payload.path("critical").path("image").path("docker-manifest-digest").asText()).isEqualTo(digest);
        assertThat(cluster.fails(args("verify", "--key", kit.publicKey(cosign, "other"), kit.offline(cosign), ref)))
                .containsAnyOf("no matching signatures", "no matching attestations");

        if (cosign == Version.V2) {
            assertThat(tags(repo)).contains(legacyTag(digest, "sig"));
        } else {
            JsonNode referrer = onlyReferrer(repo, digest);
            assertThat(referrer.path("annotations").path("dev.sigstore.bundle.content").asText()).isEqualTo("dsse-envelope");
            assertThat(referrer.path("annotations").path("dev.sigstore.bundle.predicateType").asText()).isEqualTo(SIGN_PREDICATE);
            assertThat(tags(repo)).as("v3 uses the referrers API, not the fallback tag").containsExactly("build-1");
        }
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void signingAsThePullOnlyClusterRoleIsRefusedAndLeavesNoSignature(Version cosign, @TempDir Path home) throws IOException {
        String repo = "cosign/pull-only-" + cosign.name().toLowerCase(Locale.ROOT);
        String ref = registry.ref(repo + "@" + image(home, repo + ":build-1", 2));

        PeerCli cluster = login(cosign, home.resolve("cluster"), "cluster");
        String refused = cluster.fails(args("sign", "--key", kit.privateKey(cosign, "ci"), kit.airGapped(cosign), ref));

        assertThat(refused).contains("insufficient scope: repository:" + repo + ":pull,push");
        assertThat(tags(repo)).containsExactly("build-1");
        assertThat(referrers(repo, ref.substring(ref.indexOf('@') + 1)).path("manifests")).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void ciAttestsSlsaProvenanceAndTheClusterRoleVerifiesTheAttestationAndSeesItInTheTree(Version cosign, @TempDir Path home) throws IOException {
        String repo = "cosign/attest-" + cosign.name().toLowerCase(Locale.ROOT);
        String digest = image(home, repo + ":build-1", 3);
        String ref = registry.ref(repo + "@" + digest);
        Path predicate = Files.writeString(home.resolve("predicate.json"), """
                {"builder":{"id":"https://ci.mycorp.local/builder"},"buildType":"https://ci.mycorp.local/build@v1",\
                "materials":[{"uri":"git+https://git.mycorp.local/app","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]}""");

        PeerCli ci = login(cosign, home.resolve("ci"), "ci");
        ci.ok(args("sign", "--key", kit.privateKey(cosign, "ci"), kit.airGapped(cosign), ref));
        ci.ok(args("attest", "--key", kit.privateKey(cosign, "ci"), "--type", "slsaprovenance", "--predicate", predicate.toString(),
                kit.airGapped(cosign), ref));

        PeerCli cluster = login(cosign, home.resolve("cluster"), "cluster");
        String verified = cluster.text(args("verify-attestation", "--key", kit.publicKey(cosign, "ci"), "--type", "slsaprovenance",
                kit.offline(cosign), ref));
        JsonNode statement = RegistryHttp.json(new String(Base64.getDecoder().decode(
                RegistryHttp.json(verified.lines().findFirst().orElseThrow()).path("payload").asText()), StandardCharsets.UTF_8));
        assertThat(statement.path("predicateType").asText()).isEqualTo(SLSA_PREDICATE);
        assertThat(statement.path("subject").get(0).path("digest").path("sha256").asText()).isEqualTo(digest.substring("sha256:".length()));
        assertThat(statement.path("predicate").path("builder").path("id").asText()).isEqualTo("https://ci.mycorp.local/builder");
        assertThat(cluster.fails(args("verify-attestation", "--key", kit.publicKey(cosign, "other"), "--type", "slsaprovenance",
                kit.offline(cosign), ref))).contains("no matching attestations");

        String tree = cluster.text("tree", ref);
        if (cosign == Version.V2) {
            assertThat(tags(repo)).contains(legacyTag(digest, "sig"), legacyTag(digest, "att"));
            assertThat(tree).contains("Signatures for an image tag: " + registry.ref(repo + ":" + legacyTag(digest, "sig")),
                    "Attestations for an image tag: " + registry.ref(repo + ":" + legacyTag(digest, "att")));
        } else {
            JsonNode listing = referrers(repo, digest);
            assertThat(listing.path("manifests")).hasSize(2);
            List<String> predicates = new ArrayList<>();
            for (JsonNode d : listing.path("manifests")) {
                assertThat(d.path("artifactType").asText()).isEqualTo(BUNDLE);
                assertThat(d.path("annotations").path("dev.sigstore.bundle.content").asText()).isEqualTo("dsse-envelope");
                predicates.add(d.path("annotations").path("dev.sigstore.bundle.predicateType").asText());
                assertThat(tree).contains(d.path("annotations").path("dev.sigstore.bundle.predicateType").asText()
                        + " artifacts via OCI referrer: " + registry.ref(repo + "@" + d.path("digest").asText()));
            }
            assertThat(predicates).containsExactlyInAnyOrder(SIGN_PREDICATE, SLSA_PREDICATE);
        }
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void signingAnIndexAtItsDigestIsVerifiedAtThatDigestOnly(Version cosign, @TempDir Path home) throws IOException {
        String repo = "cosign/index-" + cosign.name().toLowerCase(Locale.ROOT);
        PeerCli crane = registry.crane(home.resolve("crane"), "ci");
        String amd64 = platformImage(crane, home, repo + ":amd64", "linux/amd64", 4);
        String arm64 = platformImage(crane, home, repo + ":arm64", "linux/arm64", 5);
        String index = CraneSeed.digestOf(crane.text("index", "append", "-m", registry.ref(repo + "@" + amd64),
                "-m", registry.ref(repo + "@" + arm64), "-t", registry.ref(repo + ":build-1")));
        assertThat(RegistryHttp.json(crane.bytes("manifest", registry.ref(repo + "@" + index))).path("manifests")).hasSize(2);

        login(cosign, home.resolve("ci"), "ci").ok(args("sign", "--key", kit.privateKey(cosign, "ci"), kit.airGapped(cosign),
                registry.ref(repo + "@" + index)));

        PeerCli cluster = login(cosign, home.resolve("cluster"), "cluster");
        String verified = cluster.text(args("verify", "--key", kit.publicKey(cosign, "ci"), kit.offline(cosign), registry.ref(repo + "@" + index)));
        assertThat(RegistryHttp.json(verified).get(0).path("critical").path("image").path("docker-manifest-digest").asText()).isEqualTo(index);
        assertThat(cluster.fails(args("verify", "--key", kit.publicKey(cosign, "ci"), kit.offline(cosign), registry.ref(repo + "@" + amd64))))
                .as("a child of the signed index carries no signature of its own").containsAnyOf("no signatures found", "no matching signatures");
        if (cosign == Version.V3) {
            assertThat(onlyReferrer(repo, index).path("annotations").path("dev.sigstore.bundle.predicateType").asText()).isEqualTo(SIGN_PREDICATE);
            assertThat(referrers(repo, amd64).path("manifests")).isEmpty();
        } else {
            assertThat(tags(repo)).contains(legacyTag(index, "sig")).doesNotContain(legacyTag(amd64, "sig"));
        }
    }

    /**
     * cosign v2 adds a signature by rewriting the {@code .sig} tag; with every tag immutable, cosign's tags stay exempt
     * (and another tag is still held), so a second key can sign the same digest and both keys then verify.
     */
    @Test
    void aSecondSignatureMovesTheLegacySigTagEvenWhereEveryTagIsImmutable(@TempDir Path home) throws IOException {
        try (SecureRegistry strict = SecureRegistry.start(home.resolve("registry"),
                Map.of("REGISTRY_BERTH_IMMUTABLETAGS", "[{repositories: ['**'], tags: ['*']}]"))) {
            Version cosign = Version.V2;
            String repo = "cosign/two-keys";
            PeerCli crane = strict.crane(home.resolve("crane"), "ci");
            String digest = CraneSeed.digestOf(crane.text("append", "-f", tinyLayer(home, 6).toString(), "-t", strict.ref(repo + ":build-1")));
            String ref = strict.ref(repo + "@" + digest);
            PeerCli ci = CosignKit.login(cosign, home.resolve("ci"), "ci", strict);
            ci.ok(args("sign", "--key", kit.privateKey(cosign, "ci"), kit.airGapped(cosign), ref));
            String sigTag = strict.ref(repo + ":" + legacyTag(digest, "sig"));
            String first = crane.text("digest", sigTag);

            ci.ok(args("sign", "--key", kit.privateKey(cosign, "other"), kit.airGapped(cosign), ref));

            assertThat(crane.text("digest", sigTag)).isNotEqualTo(first);
            assertThat(RegistryHttp.json(crane.bytes("manifest", sigTag)).path("layers")).hasSize(2);
            PeerCli cluster = CosignKit.login(cosign, home.resolve("cluster"), "cluster", strict);
            for (String key : List.of("ci", "other")) {
                assertThat(cluster.text(args("verify", "--key", kit.publicKey(cosign, key), kit.offline(cosign), ref))).contains(digest);
            }
            assertThat(crane.fails("tag", sigTag, "build-1")).as("other tags stay immutable").contains("is immutable");
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers -----

    private static PeerCli login(Version cosign, Path home, String account) {
        return CosignKit.login(cosign, home, account, registry);
    }

    private static String image(Path home, String repoTag, long seed) {
        return CosignKit.image(registry, home, repoTag, seed);
    }

    private static String platformImage(PeerCli crane, Path home, String repoTag, String platform, long seed) {
        crane.ok("append", "-f", tinyLayer(home, seed).toString(), "-t", registry.ref(repoTag));
        return CraneSeed.digestOf(crane.text("mutate", "--set-platform", platform, "-t", registry.ref(repoTag), registry.ref(repoTag)));
    }

    /** The tags of {@code repo}, read over HTTPS with a cluster (pull) token. */
    private static List<String> tags(String repo) {
        HttpResponse<byte[]> r = registry.request("GET", "/v2/" + repo + "/tags/list", registry.token("cluster", "repository:" + repo + ":pull"));
        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(200);
        List<String> tags = new ArrayList<>();
        RegistryHttp.json(r.body()).path("tags").forEach(t -> tags.add(t.asText()));
        return tags;
    }

    /** {@code GET /v2/<repo>/referrers/<digest>} with a cluster (pull) token: an OCI index. */
    private static JsonNode referrers(String repo, String digest) {
        return referrers(repo, digest, null);
    }

    private static JsonNode referrers(String repo, String digest, @Nullable String artifactType) {
        String path = "/v2/" + repo + "/referrers/" + digest
                + (artifactType == null ? "" : "?artifactType=" + URLEncoder.encode(artifactType, StandardCharsets.UTF_8));
        HttpResponse<byte[]> r = registry.request("GET", path, registry.token("cluster", "repository:" + repo + ":pull"));
        assertThat(r.statusCode()).as("GET %s: %s", path, RegistryClient.text(r)).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue(RegistryHttp.OCI_INDEX);
        if (artifactType != null) {
            assertThat(r.headers().firstValue("OCI-Filters-Applied")).hasValue("artifactType");
        }
        return RegistryHttp.json(r.body());
    }

    /**
     * The one referrer of {@code digest}: a sigstore bundle, listed with the artifactType and annotations cosign wrote
     * (verifiers filter on them), also when the listing is filtered by that artifactType; its manifest names
     * {@code digest} as subject.
     */
    private static JsonNode onlyReferrer(String repo, String digest) {
        JsonNode listing = referrers(repo, digest);
        assertThat(listing.path("manifests")).as("referrers of %s: %s", digest, listing).hasSize(1);
        JsonNode d = listing.path("manifests").get(0);
        assertThat(d.path("mediaType").asText()).isEqualTo(RegistryHttp.OCI_MANIFEST);
        assertThat(d.path("artifactType").asText()).isEqualTo(BUNDLE);
        assertThat(d.path("annotations").path("org.opencontainers.image.created").asText()).isNotEmpty();
        assertThat(referrers(repo, digest, BUNDLE).path("manifests")).isEqualTo(listing.path("manifests"));
        assertThat(referrers(repo, digest, "application/spdx+json").path("manifests")).isEmpty();

        HttpResponse<byte[]> m = registry.request("GET", "/v2/" + repo + "/manifests/" + d.path("digest").asText(),
                registry.token("cluster", "repository:" + repo + ":pull"));
        assertThat(m.statusCode()).isEqualTo(200);
        assertThat(RegistryClient.sha256(m.body())).isEqualTo(d.path("digest").asText());
        assertThat(m.body().length).isEqualTo(d.path("size").asInt());
        JsonNode manifest = RegistryHttp.json(m.body());
        assertThat(manifest.path("subject").path("digest").asText()).isEqualTo(digest);
        assertThat(manifest.path("artifactType").asText()).isEqualTo(BUNDLE);
        assertThat(manifest.path("annotations")).isEqualTo(d.path("annotations"));
        assertThat(manifest.path("layers").get(0).path("mediaType").asText()).isEqualTo(BUNDLE);
        return d;
    }
}
