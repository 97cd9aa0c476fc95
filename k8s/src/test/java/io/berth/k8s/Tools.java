package io.berth.k8s;

import io.berth.conformance.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Where the real programs live: read from {@code env.sh} (scripts/install-peers.sh) and {@code k8s-env.sh}
 * (scripts/install-k8s.sh). A missing one fails the test with the command that installs it, never skips it.
 */
final class Tools {
    private static final Map<String, String> VALUES = load();

    private Tools() {}

    private static Map<String, String> load() {
        Map<String, String> out = new HashMap<>();
        for (String file : new String[] {"env.sh", "k8s-env.sh"}) {
            out.putAll(Peers.readExports(Peers.toolsDir().resolve(file)));
        }
        return out;
    }

    /** The program named by {@code BERTH_<name>}, e.g. {@code tool("KUBECTL")}. */
    static String tool(String name) {
        String v = VALUES.get("BERTH_" + name);
        if (v == null || v.isEmpty() || !Files.exists(Path.of(v))) {
            String script = name.equals("KUBECTL") || name.equals("KUBE_APISERVER") || name.equals("ETCD")
                    ? "scripts/install-k8s.sh" : "scripts/install-peers.sh (as root)";
            throw new IllegalStateException(name + " is not installed; run " + script + " first");
        }
        return v;
    }

    static String value(String name) {
        return VALUES.getOrDefault("BERTH_" + name, "");
    }

    /** This module's directory (k8s/), where the manifests are. */
    static Path k8sDir() {
        return Path.of(System.getProperty("berth.k8s.dir", ".")).toAbsolutePath().normalize();
    }
}
