package io.berth.k8s;

import io.berth.conformance.Proc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The real cosign v3 ({@code BERTH_COSIGN}), run as k8s/README.md's CI step runs it: a key pair from
 * {@code cosign generate-key-pair}, and signing air-gapped with an empty signing config and trusted root (no Fulcio,
 * Rekor, TSA or TUF); or v2 ({@code BERTH_COSIGN2}) with {@code --tlog-upload=false}. Its home and docker config are
 * its own, under {@code dir}, unless the caller's environment says otherwise.
 */
final class Cosign {
    private final Path dir;

    private Cosign(Path dir) {
        this.dir = dir;
    }

    /** A key pair ({@code cosign.key}, {@code cosign.pub}, empty password) and the air-gapped signing files, under {@code dir}. */
    static Cosign generate(Path dir) {
        try {
            Files.createDirectories(dir.resolve("home"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Cosign c = new Cosign(dir);
        c.run("generate-key-pair", "--output-key-prefix", dir.resolve("cosign").toString()).requireSuccess();
        c.run("signing-config", "create", "--out", dir.resolve("signing-config.json").toString()).requireSuccess();
        c.run("trusted-root", "create", "--out", dir.resolve("trusted-root.json").toString()).requireSuccess();
        return c;
    }

    /** The public key, PEM, as CI hands it to {@code bootstrap-secrets.sh --cosign-pub}. */
    Path publicKey() {
        return dir.resolve("cosign.pub");
    }

    Path privateKey() {
        return dir.resolve("cosign.key");
    }

    /** {@code cosign sign --key cosign.key --signing-config … --trusted-root … --yes <ref>}, the README's signing step. */
    Proc.Result sign(String ref, Map<String, String> env) {
        return run(env, "sign", "--key", privateKey().toString(), "--signing-config", dir.resolve("signing-config.json").toString(),
                "--trusted-root", dir.resolve("trusted-root.json").toString(), "--yes", ref);
    }

    /** {@code cosign attest --type slsaprovenance --predicate <file>}, air-gapped as {@link #sign}. */
    Proc.Result attest(String ref, Path predicate) {
        return run(Map.of(), "attest", "--key", privateKey().toString(), "--type", "slsaprovenance", "--predicate", predicate.toString(),
                "--signing-config", dir.resolve("signing-config.json").toString(), "--trusted-root", dir.resolve("trusted-root.json").toString(),
                "--yes", ref);
    }

    /** cosign v2's {@code cosign sign --key cosign.key --tlog-upload=false --yes <ref>}: the legacy {@code .sig} tag. */
    Proc.Result signV2(String ref, Map<String, String> env) {
        return run("COSIGN2", env, "sign", "--key", privateKey().toString(), "--tlog-upload=false", "--yes", ref);
    }

    Proc.Result run(String... args) {
        return run(Map.of(), args);
    }

    Proc.Result run(Map<String, String> env, String... args) {
        return run("COSIGN", env, args);
    }

    /**
     * The cosign build {@code BERTH_<build>} with {@code args}, its password empty, its home here, and {@code env} on top
     * (DOCKER_CONFIG, SSL_CERT_FILE).
     */
    private Proc.Result run(String build, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool(build)));
        command.addAll(List.of(args));
        Map<String, String> all = new HashMap<>();
        all.put("COSIGN_PASSWORD", "");
        all.put("HOME", dir.resolve("home").toString());
        all.put("DOCKER_CONFIG", dir.resolve("home").toString());
        all.putAll(env);
        return Proc.run(command, all, Duration.ofMinutes(2), null);
    }
}
