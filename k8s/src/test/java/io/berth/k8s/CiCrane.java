package io.berth.k8s;

import io.berth.conformance.Proc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** crane as CI runs it against a rendered Berth: trusting the registry's CA, logged in as ci under {@code work/ci}. */
final class CiCrane {
    private CiCrane() {}

    /** CI's environment: the registry's CA, and the docker config crane logged in to as ci. */
    static Map<String, String> env(Path work, Path ca) {
        return Map.of("SSL_CERT_FILE", ca.toString(), "DOCKER_CONFIG", work.resolve("ci").toString());
    }

    static Proc.Result run(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool("CRANE")));
        command.addAll(List.of(args));
        return Proc.run(command, env, Duration.ofMinutes(2), null);
    }

    /** Pushes a one-layer image (a file saying {@code label} and the reference) to {@code host}; returns its digest. */
    static String push(Path work, String host, Map<String, String> env, String repositoryAndTag, String label) throws IOException {
        Path dir = Files.createDirectories(work.resolve("layer-" + repositoryAndTag.replaceAll("[^a-z0-9]", "-")));
        Files.writeString(dir.resolve("content.txt"), label + " " + repositoryAndTag);
        Path layer = work.resolve(dir.getFileName() + ".tar");
        Proc.run(List.of("tar", "-C", dir.toString(), "-cf", layer.toString(), "content.txt"), Map.of(), Duration.ofMinutes(1), null).requireSuccess();
        String ref = host + "/" + repositoryAndTag;
        run(env, "append", "-f", layer.toString(), "-t", ref).requireSuccess();
        return run(env, "digest", ref).requireSuccess().output().strip();
    }
}
