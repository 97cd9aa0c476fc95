package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.Berth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The official OCI distribution-spec conformance suites, built by scripts/install-peers.sh from pinned
 * commits, run against a fresh Berth with every workflow and toggle on.
 */
class ConformanceIT {
    private static Berth berth;

    @BeforeAll
    static void start() {
        berth = Berth.builder().temporaryStorage().port(0).build();
        berth.start();
    }

    @AfterAll
    static void stop() {
        berth.close();
    }

    @Test
    void releaseSuiteV111PassesWithEveryWorkflowOn(@TempDir Path reports) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("OCI_ROOT_URL", berth.baseUri().toString());
        env.put("OCI_NAMESPACE", "conformance/v111");
        env.put("OCI_CROSSMOUNT_NAMESPACE", "conformance/v111-mount");
        env.put("OCI_TEST_PULL", "1");
        env.put("OCI_TEST_PUSH", "1");
        env.put("OCI_TEST_CONTENT_DISCOVERY", "1");
        env.put("OCI_TEST_CONTENT_MANAGEMENT", "1");
        env.put("OCI_AUTOMATIC_CROSSMOUNT", "true");
        env.put("OCI_DELETE_MANIFEST_BEFORE_BLOBS", "true");
        env.put("OCI_HIDE_SKIPPED_WORKFLOWS", "0");
        env.put("OCI_REPORT_DIR", reports.toString());
        List<String> cmd = List.of(Peers.tool("CONFORMANCE_V111"));
        Proc.Result r = Proc.run(cmd, env, Duration.ofMinutes(5), reports);
        Counts c = junit(reports.resolve("junit.xml"));
        System.out.println("conformance v1.1.1: " + c.passed() + " passed, " + c.failed() + " failed, " + c.skipped() + " skipped");
        assertThat(c.failed()).as("failures in the v1.1.1 suite:%n%s", Proc.tail(r.output())).isZero();
        assertThat(r.exitCode()).as(Proc.tail(r.output())).isZero();
        // The four skips are alternatives to paths that ran; see the README.
        assertThat(c.passed()).isGreaterThanOrEqualTo(75);
    }

    @Test
    void mainBranchSuitePassesWithEveryToggleOn(@TempDir Path results) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("OCI_REGISTRY", berth.hostAndPort());
        env.put("OCI_TLS", "disabled");
        env.put("OCI_REPO1", "conformance/main");
        env.put("OCI_REPO2", "conformance/main-mount");
        env.put("OCI_VERSION", "dev");
        env.put("OCI_DATA_SHA512", "true");
        env.put("OCI_RESULTS_DIR", results.toString());
        List<String> cmd = List.of(Peers.tool("CONFORMANCE_MAIN"));
        Proc.Result r = Proc.run(cmd, env, Duration.ofMinutes(10), results);
        assertThat(results.resolve("junit.xml")).as("the suite wrote no results:%n%s", Proc.tail(r.output())).exists();
        Counts c = junit(results.resolve("junit.xml"));
        int passed = summaryCount(r.output(), "Pass");
        int failed = summaryCount(r.output(), "FAIL") + summaryCount(r.output(), "Error");
        System.out.println("conformance main: " + passed + " passed, " + failed + " failed (junit.xml: "
                + c.passed() + " cases passed, " + c.failed() + " failed)");
        String summary = Files.readString(results.resolve("results.yaml"));
        assertThat(failed).as("failures in the main-branch suite:%n%s", Proc.tail(r.output())).isZero();
        assertThat(c.failed()).isZero();
        assertThat(r.exitCode()).isZero();
        assertThat(r.output()).contains("OCI Conformance Result: Pass");
        assertThat(summary).doesNotContain(": FAIL");
        // Every data set but "sparse" (which Berth refuses by design; see the README) ran.
        assertThat(summaryCount(r.output(), "Disabled")).isZero();
        assertThat(passed).isGreaterThan(900);
    }

    /** A count from the suite's closing "OCI Conformance Result" block, e.g. {@code Pass....: 986}. */
    static int summaryCount(String output, String label) {
        int block = output.lastIndexOf("OCI Conformance Result");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^\\s*" + label + "\\.+:\\s+(\\d+)\\s*$")
                .matcher(block < 0 ? "" : output.substring(block));
        if (!m.find()) {
            throw new AssertionError("no " + label + " count in the suite's summary:\n" + Proc.tail(output));
        }
        return Integer.parseInt(m.group(1));
    }

    /** Test counts from a JUnit XML report. */
    record Counts(int passed, int failed, int skipped) {}

    static Counts junit(Path xml) throws Exception {
        if (!Files.exists(xml)) {
            throw new IOException("no report at " + xml);
        }
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(xml.toFile());
        NodeList cases = doc.getElementsByTagName("testcase");
        int failed = 0;
        int skipped = 0;
        for (int i = 0; i < cases.getLength(); i++) {
            Element tc = (Element) cases.item(i);
            if (tc.getElementsByTagName("failure").getLength() > 0 || tc.getElementsByTagName("error").getLength() > 0) {
                failed++;
            } else if (tc.getElementsByTagName("skipped").getLength() > 0) {
                skipped++;
            }
        }
        return new Counts(cases.getLength() - failed - skipped, failed, skipped);
    }
}
