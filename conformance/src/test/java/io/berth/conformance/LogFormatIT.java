package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * registry:2 (Debian's 2.8.2 binary) and Berth, each started on the same config.yml with {@code log.formatter} json,
 * logstash or text, get the same crane session (push, pull, a missing tag). Every log line Berth writes is then in
 * that format, and each of Berth's access lines carries every field registry:2's line for the same request carries
 * (matched by message, method, status and endpoint), apart from registry:2's build fields. What registry:2 writes is
 * read from its output in the test, not from a fixture.
 */
class LogFormatIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** registry:2's own build and instance fields, which Berth has no reason to copy. */
    private static final Set<String> REGISTRY2_ONLY = Set.of("go.version", "instance.id", "version");
    /** logrus's text formatter: {@code key=value} or {@code key="quoted \" value"}. */
    private static final Pattern TEXT_FIELD = Pattern.compile("([^\\s=]+)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S*)");

    @ParameterizedTest
    @ValueSource(strings = {"json", "logstash", "text"})
    void berthWritesRegistry2sLines(String formatter, @TempDir Path work) throws Exception {
        List<String> registry2 = run("registry2", formatter, work);
        List<String> berth = run("berth", formatter, work);

        List<Map<String, String>> theirs = parse(formatter, registry2.stream().filter(l -> l.startsWith(formatter.equals("text") ? "time=" : "{")).toList());
        // Not log lines: the JVM's own warnings (a block ending in a blank line) and what `berth serve` prints on stdout.
        List<String> ours = berth.stream().filter(l -> !l.isBlank() && !l.startsWith("WARNING: ") && !l.startsWith("berth: ")).toList();
        assertThat(ours).as("Berth's log lines").isNotEmpty()
                .allSatisfy(l -> assertThat(l).startsWith(formatter.equals("text") ? "time=\"" : "{"));
        List<Map<String, String>> mine = parse(formatter, ours);
        String time = formatter.equals("logstash") ? "@timestamp" : "time";
        String msg = formatter.equals("logstash") ? "message" : "msg";
        assertThat(mine).allSatisfy(line -> {
            assertThat(line).containsKeys(time, "level", msg).containsEntry("service", "registry");
            assertThat(Instant.parse(line.get(time))).isNotNull();
            assertThat(line.get("level")).isIn("debug", "info", "warning", "error");
        });

        Map<String, Map<String, String>> berthBySignature = bySignature(mine, msg);
        Map<String, Map<String, String>> registry2BySignature = bySignature(theirs, msg);
        Set<String> compared = new TreeSet<>(registry2BySignature.keySet());
        compared.retainAll(berthBySignature.keySet());
        assertThat(compared).as("access lines of both for the same requests").contains(
                "response completed GET 200 base", "response completed PUT 201 manifests", "response completed GET 200 manifests",
                "response completed with error GET 404 manifests", "response completed POST 202 uploads");
        for (String signature : compared) {
            Set<String> expected = new TreeSet<>(registry2BySignature.get(signature).keySet());
            expected.removeAll(REGISTRY2_ONLY);
            assertThat(berthBySignature.get(signature).keySet()).as("fields of Berth's \"%s\" line", signature).containsAll(expected);
        }
        Map<String, String> missing = berthBySignature.get("response completed with error GET 404 manifests");
        assertThat(missing).containsEntry("err.code", "manifest unknown").containsEntry("vars.name", "logs/app")
                .containsEntry("vars.reference", "nope").containsEntry("http.response.status", "404");
    }

    /** Starts {@code which} on a config with {@code formatter}, runs the crane session against it, stops it; its lines. */
    private static List<String> run(String which, String formatter, Path work) throws IOException {
        Path dir = Files.createDirectories(work.resolve(which));
        int port = Registry2.freePort();
        Path config = Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                log:
                  level: info
                  formatter: %s
                  fields:
                    service: registry
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                  secret: log-format-it
                """.formatted(formatter, dir.resolve("data"), port));
        Path log = dir.resolve("registry.log");
        try (LoggedProcess registry = which.equals("berth") ? LoggedProcess.berth(config, Map.of(), port, log) : LoggedProcess.registry2(config, port, log)) {
            String ref = "127.0.0.1:" + port + "/logs/app";
            PeerCli crane = PeerCli.of("CRANE", dir.resolve("home"));
            crane.ok("append", "--insecure", "-f", TestImages.randomLayer(dir, "layer", 4096, 1).toString(), "-t", ref + ":v1");
            crane.ok("manifest", "--insecure", ref + ":v1");
            assertThat(crane.run("manifest", "--insecure", ref + ":nope").exitCode()).isNotZero();
            return registry.stopAndReadLines();
        }
    }

    private static List<Map<String, String>> parse(String formatter, List<String> lines) {
        return lines.stream().map(l -> formatter.equals("text") ? text(l) : json(l)).toList();
    }

    private static Map<String, String> json(String line) {
        try {
            Map<String, String> out = new LinkedHashMap<>();
            JsonNode node = JSON.readTree(line);
            node.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("not a JSON line: " + line, e);
        }
    }

    private static Map<String, String> text(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = TEXT_FIELD.matcher(line);
        while (m.find()) {
            String v = m.group(2);
            out.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\") : v);
        }
        return out;
    }

    /** The access lines by message, method, status and endpoint; the last of each. */
    private static Map<String, Map<String, String>> bySignature(List<Map<String, String>> lines, String msg) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (Map<String, String> line : lines) {
            String message = line.getOrDefault(msg, "");
            if (message.startsWith("response completed") && line.containsKey("http.request.uri")) {
                out.put(message + " " + line.get("http.request.method") + " " + line.get("http.response.status") + " " + endpoint(line.get("http.request.uri")), line);
            }
        }
        return out;
    }

    private static String endpoint(String uri) {
        if (uri.equals("/v2/")) {
            return "base";
        }
        if (uri.contains("/manifests/")) {
            return "manifests";
        }
        if (uri.contains("/blobs/uploads")) {
            return "uploads";
        }
        return uri.contains("/blobs/") ? "blobs" : "other";
    }
}
