package io.berth.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.databind.MappingIterator;
import io.berth.conformance.Daemon;
import io.berth.conformance.Proc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Renders kustomizations with the real {@code kubectl kustomize} and reads the result. */
final class Manifests {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final List<JsonNode> objects;

    private Manifests(List<JsonNode> objects) {
        this.objects = objects;
    }

    static String renderText(Path kustomization) {
        return Proc.run(List.of(Tools.tool("KUBECTL"), "kustomize", kustomization.toString()), Map.of(), Duration.ofMinutes(1), null)
                .requireSuccess().output();
    }

    static Manifests render(Path kustomization) {
        return parse(renderText(kustomization));
    }

    /**
     * Renders the kustomization.yaml {@code kustomization} placed at {@code path} below a temporary root that holds
     * a symbolic link {@code link} to {@code target}. Kustomize refuses an overlay inside its base and absolute
     * paths, so overlays of k8s/ are written this way, next to a link to it.
     */
    static String renderOverlayText(String path, String kustomization, String link, Path target) {
        try {
            Path root = Files.createTempDirectory("berth-overlay-");
            try {
                Files.createSymbolicLink(root.resolve(link), target);
                Path dir = Files.createDirectories(root.resolve(path));
                Files.writeString(dir.resolve("kustomization.yaml"), kustomization);
                return renderText(dir);
            } finally {
                Daemon.deleteTree(root);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Manifests parse(String yaml) {
        List<JsonNode> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isEmpty()) {
                    out.add(n);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rendered manifests do not parse:\n" + yaml, e);
        }
        return new Manifests(out);
    }

    List<JsonNode> all() {
        return objects;
    }

    List<JsonNode> ofKind(String kind) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
    }

    Optional<JsonNode> find(String kind, String name) {
        return ofKind(kind).stream().filter(o -> o.path("metadata").path("name").asText().equals(name)).findFirst();
    }

    JsonNode get(String kind, String name) {
        return find(kind, name).orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + ids()));
    }

    List<String> ids() {
        return objects.stream().map(o -> o.path("kind").asText() + "/" + o.path("metadata").path("namespace").asText("")
                + "/" + o.path("metadata").path("name").asText()).toList();
    }

    /** Every value at any depth under a field named {@code field}, e.g. every {@code nodePort}. */
    static List<JsonNode> findAll(JsonNode root, String field) {
        List<JsonNode> out = new ArrayList<>();
        collect(root, field, out);
        return out;
    }

    private static void collect(JsonNode node, String field, List<JsonNode> out) {
        if (node.isObject()) {
            node.properties().forEach(e -> {
                if (e.getKey().equals(field)) {
                    out.add(e.getValue());
                }
                collect(e.getValue(), field, out);
            });
        } else if (node instanceof ArrayNode a) {
            a.forEach(n -> collect(n, field, out));
        }
    }

    /** The registry's config.yml, from the generated ConfigMap berth-config-<hash>. */
    String berthConfigYml() {
        return generated("berth-config-", "config.yml");
    }

    /** The standalone webhook's admission.yml, from the generated ConfigMap berth-admission-config-<hash>. */
    String standaloneConfigYml() {
        return generated("berth-admission-config-", "admission.yml");
    }

    private String generated(String prefix, String file) {
        return ofKind("ConfigMap").stream().filter(c -> c.path("metadata").path("name").asText().startsWith(prefix))
                .findFirst().orElseThrow(() -> new AssertionError("no " + prefix + "<hash> ConfigMap in " + ids()))
                .path("data").path(file).asText();
    }

    /** The environment the StatefulSet gives Berth's container. */
    Map<String, String> berthEnv() {
        return env("StatefulSet", "berth");
    }

    /** The environment of the first container of workload {@code kind}/{@code name}. */
    Map<String, String> env(String kind, String name) {
        Map<String, String> env = new java.util.HashMap<>();
        container(kind, name).path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
        return env;
    }

    /** The pod spec of workload {@code kind}/{@code name}. */
    JsonNode podSpec(String kind, String name) {
        return get(kind, name).path("spec").path("template").path("spec");
    }

    /** The first container of workload {@code kind}/{@code name}. */
    JsonNode container(String kind, String name) {
        return podSpec(kind, name).path("containers").get(0);
    }

    /** The number of the first container's port called {@code port}. */
    int containerPort(String kind, String name, String port) {
        for (JsonNode p : container(kind, name).path("ports")) {
            if (p.path("name").asText().equals(port)) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no container port " + port + " in " + kind + " " + name);
    }

    /** The first container's volumeMount at exactly {@code path}. */
    JsonNode mountAt(String kind, String name, String path) {
        for (JsonNode v : container(kind, name).path("volumeMounts")) {
            if (v.path("mountPath").asText().equals(path)) {
                return v;
            }
        }
        throw new AssertionError("nothing mounted at " + path + " in " + kind + " " + name);
    }

    /** The volume mounted at exactly {@code path} in the first container. */
    JsonNode volumeAt(String kind, String name, String path) {
        String volume = mountAt(kind, name, path).path("name").asText();
        for (JsonNode v : podSpec(kind, name).path("volumes")) {
            if (v.path("name").asText().equals(volume)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + volume + " in " + kind + " " + name);
    }

    /** The name of the Secret mounted at exactly {@code path} in the first container. */
    String secretAt(String kind, String name, String path) {
        JsonNode v = volumeAt(kind, name, path);
        if (!v.has("secret")) {
            throw new AssertionError("not a Secret at " + path + ": " + v);
        }
        return v.path("secret").path("secretName").asText();
    }

    /** The whole rendering as YAML text, for searching. */
    String text() {
        try {
            StringBuilder sb = new StringBuilder();
            for (JsonNode o : objects) {
                sb.append(YAML.writeValueAsString(o));
            }
            return sb.toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
