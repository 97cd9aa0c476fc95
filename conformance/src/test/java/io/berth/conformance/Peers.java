package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the real peer programs live: read from the {@code env.sh} that {@code scripts/install-peers.sh}
 * writes. A missing peer fails the test with the command that installs it, never skips it. Shared with the k8s
 * module's tests through this module's test-jar.
 */
public final class Peers {
    private static final Pattern EXPORT = Pattern.compile("export (BERTH_[A-Z0-9_]+)='([^']*)'");
    private static final Map<String, String> VALUES = load();

    private Peers() {}

    private static Map<String, String> load() {
        return readExports(toolsDir().resolve("env.sh"));
    }

    /** Where the install scripts write their {@code *env.sh} files: {@code $BERTH_TOOLS}, else /var/cache/berth-tools. */
    public static Path toolsDir() {
        return Path.of(System.getenv().getOrDefault("BERTH_TOOLS", "/var/cache/berth-tools"));
    }

    /** The {@code export BERTH_…='…'} lines of {@code env}, by name; none when there is no such file. */
    public static Map<String, String> readExports(Path env) {
        Map<String, String> out = new HashMap<>();
        if (!Files.isRegularFile(env)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(env)) {
                Matcher m = EXPORT.matcher(line.strip());
                if (m.matches()) {
                    out.put(m.group(1), m.group(2));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The value of {@code BERTH_<name>} from env.sh, e.g. {@code tool("CRANE")}. */
    public static String tool(String name) {
        String v = VALUES.get("BERTH_" + name);
        if (v == null || v.isEmpty() || !Files.exists(Path.of(v))) {
            throw new IllegalStateException("peer " + name + " is not installed; run scripts/install-peers.sh (as root) first");
        }
        return v;
    }

    public static String value(String name) {
        String v = VALUES.get("BERTH_" + name);
        return v == null ? "" : v;
    }
}
