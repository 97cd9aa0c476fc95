package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.conformance.Proc;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * k8s/components/monitoring without a running Berth: the rule file through Debian's promtool (check, and the unit
 * tests of berth-rules.test.yml, which must make every alert fire once and stay quiet once), the PrometheusRule and
 * the dashboard ConfigMap against their plain files, and the scrape settings against the Service, the StatefulSet,
 * the NetworkPolicy and config.yml they have to match. MonitoringScrapeIT runs the queries against a live Berth.
 */
class MonitoringKitIT {
    private static Manifests rendered() {
        return ManifestsIT.withComponents("monitoring");
    }

    private static Proc.Result promtool(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(Tools.tool("PROMTOOL")));
        command.addAll(List.of(args));
        return Proc.run(command, Map.of(), Duration.ofMinutes(2), null);
    }

    @Test
    void promtoolAcceptsTheRuleFile() {
        Proc.Result r = promtool("check", "rules", MonitoringKit.RULES.toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS: " + MonitoringKit.alerts().size() + " rules found");
    }

    @Test
    void promtoolUnitTestsPass() {
        // promtool resolves rule_files against the test file's directory.
        Proc.Result r = promtool("test", "rules", MonitoringKit.RULES_TEST.toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS");
    }

    @Test
    void everyAlertHasAUnitTestWhereItFiresAndOneWhereItStaysQuiet() {
        Set<String> fires = new HashSet<>();
        Set<String> quiet = new HashSet<>();
        JsonNode tests = MonitoringKit.yaml(MonitoringKit.RULES_TEST);
        assertThat(tests.path("rule_files")).extracting(JsonNode::asText).containsExactly("berth-rules.yml");
        for (JsonNode test : tests.path("tests")) {
            for (JsonNode check : test.path("alert_rule_test")) {
                (check.path("exp_alerts").isEmpty() ? quiet : fires).add(check.path("alertname").asText());
            }
        }
        assertThat(MonitoringKit.alerts()).hasSizeGreaterThanOrEqualTo(10);
        assertThat(fires).as("alerts with a test where they fire").containsAll(MonitoringKit.alerts().keySet());
        assertThat(quiet).as("alerts with a test where they stay quiet").containsAll(MonitoringKit.alerts().keySet());
    }

    @Test
    void everyAlertFollowsTheMeasureComparisonThresholdConvention() {
        MonitoringKit.alerts().forEach((name, expr) -> assertThat(Promql.asBool(expr)).as(name).contains(" bool "));
    }

    @Test
    void thePrometheusRuleCarriesExactlyTheGroupsOfTheRuleFile() {
        JsonNode rule = rendered().get("PrometheusRule", "berth");
        assertThat(rule.path("metadata").path("namespace").asText()).isEqualTo("berth-system");
        assertThat(rule.path("spec")).isEqualTo(MonitoringKit.yaml(MonitoringKit.RULES));
    }

    @Test
    void theDashboardConfigMapCarriesTheDashboardFileWithGrafanasSidecarLabel() throws IOException {
        JsonNode cm = rendered().get("ConfigMap", "berth-dashboard");
        assertThat(cm.path("metadata").path("labels").path("grafana_dashboard").asText()).isEqualTo("1");
        assertThat(cm.path("data").path("berth-dashboard.json").asText()).isEqualTo(Files.readString(MonitoringKit.DASHBOARD));
        assertThat(MonitoringKit.dashboard().path("uid").asText()).isEqualTo("berth-registry");
        assertThat(MonitoringKit.dashboardQueries()).hasSizeGreaterThan(20);
    }

    @Test
    void theServiceMonitorScrapesTheMetricsPortOfTheRegistrysServiceOnly() {
        Manifests m = rendered();
        JsonNode monitor = m.get("ServiceMonitor", "berth").path("spec");
        Map<String, String> selector = Map.copyOf(MonitoringKit.stringMap(monitor.path("selector").path("matchLabels")));
        assertThat(selector).isNotEmpty();
        List<JsonNode> selected = m.ofKind("Service").stream().filter(s -> {
            Map<String, String> labels = MonitoringKit.stringMap(s.path("metadata").path("labels"));
            return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
        }).toList();
        assertThat(selected).extracting(s -> s.path("metadata").path("name").asText()).containsExactly("berth");
        JsonNode service = selected.get(0);
        assertThat(monitor.path("namespaceSelector").path("matchNames")).extracting(JsonNode::asText)
                .containsExactly(service.path("metadata").path("namespace").asText());

        JsonNode endpoint = monitor.path("endpoints").get(0);
        JsonNode port = servicePort(service, endpoint.path("port").asText());
        // The Service's metrics port leads to the container port Berth's debug listener binds, which serves the path.
        int containerPort = m.containerPort("StatefulSet", "berth", port.path("targetPort").asText());
        assertThat(containerPort).isEqualTo(debugPort(m));
        assertThat(endpoint.path("path").asText()).isEqualTo(prometheusPath(m));
        assertThat(endpoint.path("scheme").asText()).isEqualTo("http");
        assertThat(endpoint.path("relabelings").toString()).contains("\"targetLabel\":\"job\"").contains("\"replacement\":\"berth\"");
        // Prometheus may reach it: the NetworkPolicy admits the monitoring namespace on that port.
        assertThat(m.get("NetworkPolicy", "berth").path("spec").path("ingress").toString())
                .contains("\"kubernetes.io/metadata.name\":\"monitoring\"").contains("\"port\":" + containerPort);
    }

    @Test
    void theScrapeAnnotationsNameTheDebugListenersPortAndPath() {
        Manifests m = rendered();
        JsonNode annotations = m.get("StatefulSet", "berth").path("spec").path("template").path("metadata").path("annotations");
        assertThat(annotations.path("prometheus.io/scrape").asText()).isEqualTo("true");
        assertThat(annotations.path("prometheus.io/port").asText()).isEqualTo(Integer.toString(debugPort(m)));
        assertThat(annotations.path("prometheus.io/port").asText())
                .isEqualTo(Integer.toString(m.containerPort("StatefulSet", "berth", servicePort(m.get("Service", "berth"), "metrics").path("targetPort").asText())));
        assertThat(annotations.path("prometheus.io/path").asText()).isEqualTo(prometheusPath(m));
    }

    @Test
    void withoutTheComponentNothingOfItIsRendered() {
        Manifests base = Manifests.render(Tools.k8sDir());
        assertThat(base.ofKind("ServiceMonitor")).isEmpty();
        assertThat(base.ofKind("PrometheusRule")).isEmpty();
        assertThat(base.find("ConfigMap", "berth-dashboard")).isEmpty();
    }

    private static JsonNode servicePort(JsonNode service, String name) {
        for (JsonNode p : service.path("spec").path("ports")) {
            if (p.path("name").asText().equals(name)) {
                return p;
            }
        }
        throw new AssertionError("Service " + service.path("metadata").path("name").asText() + " has no port " + name);
    }

    /** The port of http.debug.addr in the rendered config.yml. */
    private static int debugPort(Manifests m) {
        String addr = MonitoringKit.yamlText(m.berthConfigYml()).path("http").path("debug").path("addr").asText();
        return Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1));
    }

    /** http.debug.prometheus.path in the rendered config.yml, which must also be enabled. */
    private static String prometheusPath(Manifests m) {
        JsonNode prometheus = MonitoringKit.yamlText(m.berthConfigYml()).path("http").path("debug").path("prometheus");
        assertThat(prometheus.path("enabled").asBoolean()).as("http.debug.prometheus.enabled").isTrue();
        return prometheus.path("path").asText();
    }
}
