package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The two cosign builds the tests drive, their key pairs ({@code ci} and {@code other} for each, cosign's own
 * generate-key-pair, empty password), and the flags that keep them off the network: what {@link CosignIT} and
 * {@link SignedAdmissionIT} share.
 */
final class CosignKit {
    /** A cosign build. */
    enum Version {
        /** cosign v2.6: {@code .sig}/{@code .att} tags. */
        V2("COSIGN2"),
        /** cosign v3: sigstore bundles as referrers. */
        V3("COSIGN");

        final String peer;

        Version(String peer) {
            this.peer = peer;
        }
    }

    static final String SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
    static final String SLSA_PREDICATE = "https://slsa.dev/provenance/v0.2";

    private final Path keys;

    private CosignKit(Path keys) {
        this.keys = keys;
    }

    /** Generates the key pairs of both versions, v3's empty signing config and trusted root, under {@code keys}. */
    static CosignKit generate(Path keys) throws IOException {
        Files.createDirectories(keys);
        CosignKit kit = new CosignKit(keys);
        for (Version v : Version.values()) {
            PeerCli cli = PeerCli.of(v.peer, keys.resolve("home-" + v), Map.of("COSIGN_PASSWORD", ""));
            for (String name : List.of("ci", "other")) {
                cli.ok("generate-key-pair", "--output-key-prefix", keys.resolve(v + "-" + name).toString());
                assertThat(Files.readString(Path.of(kit.publicKey(v, name)))).startsWith("-----BEGIN PUBLIC KEY-----");
            }
        }
        PeerCli v3 = PeerCli.of(Version.V3.peer, keys.resolve("home-V3"), Map.of("COSIGN_PASSWORD", ""));
        v3.ok("signing-config", "create", "--out", keys.resolve("signing-config.json").toString());
        v3.ok("trusted-root", "create", "--out", keys.resolve("trusted-root.json").toString());
        return kit;
    }

    /**
     * Signing without Fulcio, Rekor or a TSA. v2 takes {@code --tlog-upload=false}; v3 refuses that and takes an empty
     * signing config instead, and an empty trusted root so that it does not look for sigstore's TUF repository.
     */
    List<String> airGapped(Version v) {
        return v == Version.V2 ? List.of("--tlog-upload=false", "--yes")
                : List.of("--signing-config", keys.resolve("signing-config.json").toString(),
                        "--trusted-root", keys.resolve("trusted-root.json").toString(), "--yes");
    }

    /** Verifying a key-signed artifact that has no transparency-log entry and no signed timestamp. */
    List<String> offline(Version v) {
        return v == Version.V2 ? List.of("--insecure-ignore-tlog")
                : List.of("--insecure-ignore-tlog", "--use-signed-timestamps=false",
                        "--trusted-root", keys.resolve("trusted-root.json").toString());
    }

    /** The public key of the pair {@code v} generated ({@code name} is {@code ci} or {@code other}). */
    String publicKey(Version v, String name) {
        return keys.resolve(v + "-" + name + ".pub").toString();
    }

    String privateKey(Version v, String name) {
        return keys.resolve(v + "-" + name + ".key").toString();
    }

    /** cosign {@code v} with a home of its own under {@code home}, trusting {@code to}'s CA, logged in as {@code account}. */
    static PeerCli login(Version v, Path home, String account, SecureRegistry to) {
        Map<String, String> env = new HashMap<>(to.trustEnv(home));
        env.put("COSIGN_PASSWORD", "");
        PeerCli cli = PeerCli.of(v.peer, home, env);
        cli.ok("login", to.host(), "-u", account, "-p", to.password(account));
        return cli;
    }

    /** {@code first}, then each further argument: a String, or a List of them. */
    static String[] args(String first, Object... rest) {
        List<String> all = new ArrayList<>(List.of(first));
        for (Object o : rest) {
            if (o instanceof List<?> list) {
                list.forEach(e -> all.add((String) e));
            } else {
                all.add((String) o);
            }
        }
        return all.toArray(String[]::new);
    }

    /** Pushes a one-layer image (a few random bytes) as ci to {@code repoTag} of {@code to}; returns its digest. */
    static String image(SecureRegistry to, Path home, String repoTag, long seed) {
        PeerCli crane = to.crane(home.resolve("crane"), "ci");
        return CraneSeed.digestOf(crane.text("append", "-f", tinyLayer(home, seed).toString(), "-t", to.ref(repoTag)));
    }

    static Path tinyLayer(Path home, long seed) {
        try {
            return TestImages.randomLayer(Files.createDirectories(home.resolve("layers")), "tiny-" + seed, 1024, new Random(seed).nextLong());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code sha256-<hex>.<suffix>}: cosign's legacy tag for {@code digest}. */
    static String legacyTag(String digest, String suffix) {
        return digest.replace(':', '-') + "." + suffix;
    }
}
