package io.berth.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The files of k8s/components/monitoring, read as the tests need them: the alerts and the dashboard's queries. */
final class MonitoringKit {
    static final Path DIR = Tools.k8sDir().resolve("components/monitoring");
    static final Path RULES = DIR.resolve("berth-rules.yml");
    static final Path RULES_TEST = DIR.resolve("berth-rules.test.yml");
    static final Path DASHBOARD = DIR.resolve("berth-dashboard.json");

    /**
     * What the dashboard's variables stand for when its queries are evaluated outside Grafana: every instance, and a
     * rate window that holds several of the test's one-second scrapes.
     */
    static final Map<String, String> DASHBOARD_VARIABLES = Map.of("$instance", ".+", "$__rate_interval", "1m");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.*),\\s*[a-zA-Z_][a-zA-Z0-9_]*\\)", Pattern.DOTALL);

    private MonitoringKit() {}

    static JsonNode yaml(Path file) {
        try {
            return YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code text} parsed as YAML, e.g. a rendered config.yml. */
    static JsonNode yamlText(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An object of strings (labels, annotations) as a map. */
    static Map<String, String> stringMap(JsonNode object) {
        Map<String, String> out = new LinkedHashMap<>();
        object.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    static JsonNode dashboard() {
        try {
            return JSON.readTree(DASHBOARD.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Alert name to expression, for every alerting rule of berth-rules.yml, in file order. */
    static Map<String, String> alerts() {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonNode group : yaml(RULES).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.has("alert")) {
                    out.put(rule.path("alert").asText(), rule.path("expr").asText());
                }
            }
        }
        return out;
    }

    /** A dashboard query: where it is ({@code panel "title" A}) and its PromQL with the variables substituted. */
    record Query(String where, String promql) {}

    /** Every query of the dashboard: each panel's targets, and the expression inside each variable's label_values(). */
    static List<Query> dashboardQueries() {
        JsonNode dashboard = dashboard();
        List<Query> out = new ArrayList<>();
        collectPanels(dashboard.path("panels"), out);
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (variable.path("type").asText().equals("query")) {
                JsonNode q = variable.path("query");
                String text = q.isObject() ? q.path("query").asText() : q.asText();
                Matcher m = LABEL_VALUES.matcher(text.strip());
                if (!m.matches()) {
                    throw new AssertionError("variable " + variable.path("name").asText() + ": expected label_values(<query>, <label>), got " + text);
                }
                out.add(new Query("variable $" + variable.path("name").asText(), substitute(m.group(1))));
            }
        }
        return out;
    }

    private static void collectPanels(JsonNode panels, List<Query> out) {
        for (JsonNode panel : panels) {
            for (JsonNode target : panel.path("targets")) {
                out.add(new Query("panel \"" + panel.path("title").asText() + "\" " + target.path("refId").asText(),
                        substitute(target.path("expr").asText())));
            }
            collectPanels(panel.path("panels"), out); // collapsed rows hold their panels
        }
    }

    private static String substitute(String promql) {
        String out = promql;
        for (Map.Entry<String, String> v : DASHBOARD_VARIABLES.entrySet()) {
            out = out.replace(v.getKey(), v.getValue());
        }
        if (out.contains("$")) {
            throw new AssertionError("a dashboard variable the tests do not know (add it to DASHBOARD_VARIABLES): " + promql);
        }
        return out;
    }
}
