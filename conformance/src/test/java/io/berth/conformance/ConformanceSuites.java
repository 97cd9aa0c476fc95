package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The official OCI distribution-spec conformance suites, built by scripts/install-peers.sh from pinned commits: the
 * environment each needs with every workflow and toggle on, a run of each, the checks every run of it makes, and the
 * readers of their reports. Used by ConformanceIT (plain HTTP) and SecureConformanceIT (the secure example).
 */
final class ConformanceSuites {
    private ConformanceSuites() {}

    /** Test counts from a JUnit XML report. */
    record Counts(int passed, int failed, int skipped) {}

    /**
     * A finished run of the main-branch suite.
     *
     * @param result the suite's exit code and output
     * @param junit the counts of its junit.xml
     * @param passed the Pass count of its closing summary
     * @param failed the FAIL and Error counts of its closing summary, added
     */
    record MainRun(Proc.Result result, Counts junit, int passed, int failed) {}

    /**
     * The release suite v1.1.1's environment: every workflow on, reports into {@code reports}.
     *
     * @param rootUrl the registry, e.g. {@code http://127.0.0.1:5000}
     * @param automaticCrossmount whether the registry mounts a blob on a POST with {@code mount} but no {@code from}
     */
    static Map<String, String> v111Env(String rootUrl, boolean automaticCrossmount, Path reports) {
        Map<String, String> env = new HashMap<>();
        env.put("OCI_ROOT_URL", rootUrl);
        env.put("OCI_NAMESPACE", "conformance/v111");
        env.put("OCI_CROSSMOUNT_NAMESPACE", "conformance/v111-mount");
        env.put("OCI_TEST_PULL", "1");
        env.put("OCI_TEST_PUSH", "1");
        env.put("OCI_TEST_CONTENT_DISCOVERY", "1");
        env.put("OCI_TEST_CONTENT_MANAGEMENT", "1");
        env.put("OCI_AUTOMATIC_CROSSMOUNT", Boolean.toString(automaticCrossmount));
        env.put("OCI_DELETE_MANIFEST_BEFORE_BLOBS", "true");
        env.put("OCI_HIDE_SKIPPED_WORKFLOWS", "0");
        env.put("OCI_REPORT_DIR", reports.toString());
        return env;
    }

    /**
     * Runs the release suite v1.1.1 in {@code reports} with {@code env}, prints its counts after {@code label}, and
     * requires no failures, exit code 0 and at least 75 passes.
     */
    static void runV111(Map<String, String> env, Path reports, String label) throws Exception {
        Proc.Result r = Proc.runIn(List.of(Peers.tool("CONFORMANCE_V111")), env, Duration.ofMinutes(5), reports);
        Counts c = junit(reports.resolve("junit.xml"));
        System.out.println(label + " v1.1.1: " + c.passed() + " passed, " + c.failed() + " failed, " + c.skipped() + " skipped");
        assertThat(c.failed()).as("failures in the v1.1.1 suite:%n%s", Proc.tail(r.output())).isZero();
        assertThat(r.exitCode()).as(Proc.tail(r.output())).isZero();
        // The four skips are alternatives to paths that ran; see the README.
        assertThat(c.passed()).isGreaterThanOrEqualTo(75);
    }

    /**
     * The main-branch suite's environment: every data set on (SHA-512 included), results into {@code results}.
     *
     * @param registry the registry's {@code host:port}
     * @param tls {@code enabled} or {@code disabled}
     */
    static Map<String, String> mainEnv(String registry, String tls, Path results) {
        Map<String, String> env = new HashMap<>();
        env.put("OCI_REGISTRY", registry);
        env.put("OCI_TLS", tls);
        env.put("OCI_REPO1", "conformance/main");
        env.put("OCI_REPO2", "conformance/main-mount");
        env.put("OCI_VERSION", "dev");
        env.put("OCI_DATA_SHA512", "true");
        env.put("OCI_RESULTS_DIR", results.toString());
        return env;
    }

    /** Runs the main-branch suite in {@code results} with {@code env}; requires that it wrote its junit.xml. */
    static MainRun runMain(Map<String, String> env, Path results) throws Exception {
        Proc.Result r = Proc.runIn(List.of(Peers.tool("CONFORMANCE_MAIN")), env, Duration.ofMinutes(10), results);
        assertThat(results.resolve("junit.xml")).as("the suite wrote no results:%n%s", Proc.tail(r.output())).exists();
        Counts c = junit(results.resolve("junit.xml"));
        int passed = summaryCount(r.output(), "Pass");
        int failed = summaryCount(r.output(), "FAIL") + summaryCount(r.output(), "Error");
        return new MainRun(r, c, passed, failed);
    }

    /** The checks of every main-branch run: no failures (summary, junit.xml, results.yaml), exit code 0, a Pass result. */
    static void assertMainPassed(MainRun run, Path results) throws IOException {
        String summary = Files.readString(results.resolve("results.yaml"));
        assertThat(run.failed()).as("failures in the main-branch suite:%n%s", Proc.tail(run.result().output())).isZero();
        assertThat(run.junit().failed()).isZero();
        assertThat(run.result().exitCode()).isZero();
        assertThat(run.result().output()).contains("OCI Conformance Result: Pass");
        assertThat(summary).doesNotContain(": FAIL");
    }

    /** A count from the suite's closing "OCI Conformance Result" block, e.g. {@code Pass....: 986}. */
    static int summaryCount(String output, String label) {
        int block = output.lastIndexOf("OCI Conformance Result");
        Matcher m = Pattern.compile("(?m)^\\s*" + label + "\\.+:\\s+(\\d+)\\s*$").matcher(block < 0 ? "" : output.substring(block));
        if (!m.find()) {
            throw new AssertionError("no " + label + " count in the suite's summary:\n" + Proc.tail(output));
        }
        return Integer.parseInt(m.group(1));
    }

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
