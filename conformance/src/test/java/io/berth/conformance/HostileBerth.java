package io.berth.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * Berth as the cluster runs it, for attacks: its own process, started from the built jar with the JVM options and
 * memory limit of {@code k8s/registry/statefulset.yaml} (so a heap exhaustion ends the process, as
 * {@code -XX:+ExitOnOutOfMemoryError} does in the pod), on 127.0.0.1. {@link #probe} measures what a normal client
 * sees meanwhile: {@code GET /v2/} from another loopback address, so that per-client caps aimed at the attacker
 * never count it.
 */
final class HostileBerth implements AutoCloseable {
    static final Path REPO_ROOT = Path.of("..").toAbsolutePath().normalize();
    /** The attacker's address; the probe uses {@link #PROBE}. */
    static final InetAddress ATTACKER = loopback("127.0.0.3");
    static final InetAddress PROBE = loopback("127.0.0.2");

    final int port;
    final int debugPort;
    final Path work;
    private final Process process;
    private final Path log;

    private HostileBerth(int port, int debugPort, Path work, Process process, Path log) {
        this.port = port;
        this.debugPort = debugPort;
        this.work = work;
        this.process = process;
        this.log = log;
    }

    private static InetAddress loopback(String a) {
        try {
            return InetAddress.getByName(a);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JVM options of the StatefulSet, with {@code -XX:MaxRAM} set to its memory limit. */
    static List<String> shippedJvmOptions() {
        try {
            ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
            JsonNode container = yaml.readTree(REPO_ROOT.resolve("k8s/registry/statefulset.yaml").toFile())
                    .path("spec").path("template").path("spec").path("containers").get(0);
            String opts = null;
            for (JsonNode env : container.path("env")) {
                if (env.path("name").asText().equals("BERTH_JAVA_OPTS")) {
                    opts = env.path("value").asText();
                }
            }
            String limit = container.path("resources").path("limits").path("memory").asText();
            if (opts == null || !limit.endsWith("Gi") && !limit.endsWith("Mi")) {
                throw new AssertionError("the StatefulSet has no BERTH_JAVA_OPTS or memory limit");
            }
            long mib = Long.parseLong(limit.substring(0, limit.length() - 2)) * (limit.endsWith("Gi") ? 1024 : 1);
            List<String> out = new ArrayList<>(Arrays.asList(opts.strip().split("\\s+")));
            out.add("-XX:MaxRAM=" + mib + "m");
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts Berth with {@code extraConfig} (YAML under a top-level key, e.g. {@code auth:} or {@code berth:}). */
    static HostileBerth start(Path work, String extraConfig) throws Exception {
        int port = BinBerthIT.freePort();
        int debugPort = BinBerthIT.freePort();
        String yaml = """
                version: 0.1
                log:
                  level: warn
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                  debug:
                    addr: 127.0.0.1:%d
                    prometheus:
                      enabled: true
                      path: /metrics
                """.formatted(work.resolve("data"), port, debugPort) + extraConfig;
        Path config = Files.writeString(work.resolve("config.yml"), yaml);
        Path log = work.resolve("berth.log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(shippedJvmOptions());
        // -Dberth.jar runs the attacks against another build, e.g. the code before a fix.
        String jar = System.getProperty("berth.jar", REPO_ROOT.resolve("registry-server/target/berth-server.jar").toString());
        command.addAll(List.of("-jar", jar, "serve", config.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HostileBerth b = new HostileBerth(port, debugPort, work, p, log);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            if (!p.isAlive()) {
                throw new AssertionError("Berth exited " + p.exitValue() + ":\n" + Proc.tailOf(log));
            }
            try {
                b.get(PROBE, "/v2/", Duration.ofSeconds(2));
                return b; // any answer: it serves
            } catch (IOException | RuntimeException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                b.close();
                throw new AssertionError("Berth did not start:\n" + Proc.tailOf(log));
            }
            Thread.sleep(100);
        }
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** A GET from {@code from} on a connection of its own (java.net.http cannot bind a local address). */
    HttpResult get(InetAddress from, String path, Duration timeout, String... headers) throws IOException {
        return request(from, port, "GET " + path, headers, new byte[0], timeout);
    }

    record HttpResult(int statusCode, String body) {}

    /** One HTTP/1.1 request with {@code Connection: close} over a socket bound to {@code from}. */
    static HttpResult request(InetAddress from, int port, String requestLine, String[] headers, byte[] body, Duration timeout) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), (int) timeout.toMillis());
            s.setSoTimeout((int) timeout.toMillis());
            StringBuilder head = new StringBuilder(requestLine).append(" HTTP/1.1\r\nHost: 127.0.0.1:").append(port)
                    .append("\r\nConnection: close\r\nContent-Length: ").append(body.length).append("\r\n");
            for (int i = 0; i < headers.length; i += 2) {
                head.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
            }
            s.getOutputStream().write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            if (response.isEmpty()) {
                throw new IOException("closed without a response");
            }
            int status = Integer.parseInt(response.substring(9, 12));
            int bodyAt = response.indexOf("\r\n\r\n");
            return new HttpResult(status, bodyAt < 0 ? "" : response.substring(bodyAt + 4));
        }
    }

    /** The Prometheus text of the debug listener. */
    String scrape() throws Exception {
        try (RegistryClient c = RegistryClient.of(URI.create("http://127.0.0.1:" + debugPort))) {
            return RegistryClient.text(RegistryClient.expect(c.get("/metrics"), 200));
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String logTail() {
        return Proc.tailOf(log);
    }

    /** Berth's open file descriptors. */
    long openFiles() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
            return fds.count();
        }
    }

    /** Berth's resident memory, in MiB. */
    long rssMib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        return -1;
    }

    /**
     * {@code GET /v2/} from {@link #PROBE} with {@code headers} (credentials), every 20 ms on a new connection, until
     * stopped: the latencies, and the failures (anything but 200, or no answer within 10 s).
     */
    final class Probe implements AutoCloseable {
        private final List<Long> nanos = new ArrayList<>();
        private final List<String> failures = new ArrayList<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        Probe(String... headers) {
            thread = Thread.ofPlatform().name("probe").start(() -> {
                while (running.get()) {
                    long t0 = System.nanoTime();
                    try {
                        int status = get(PROBE, "/v2/", Duration.ofSeconds(10), headers).statusCode();
                        synchronized (this) {
                            nanos.add(System.nanoTime() - t0);
                            if (status != 200) {
                                failures.add("status " + status);
                            }
                        }
                    } catch (IOException e) {
                        synchronized (this) {
                            failures.add(e.toString());
                        }
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        /** Stops probing and returns the summary. */
        Summary stop() throws InterruptedException {
            running.set(false);
            return summary();
        }

        private Summary summary() throws InterruptedException {
            thread.join();
            long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
            double p50 = sorted.length == 0 ? Double.NaN : sorted[(int) Math.floor(0.50 * (sorted.length - 1))] / 1e6;
            double p99 = sorted.length == 0 ? Double.NaN : sorted[(int) Math.floor(0.99 * (sorted.length - 1))] / 1e6;
            return new Summary(sorted.length, p50, p99, List.copyOf(failures));
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }

    /** What the probe saw: how many answers, their median and 99th percentile in milliseconds, and the failures. */
    record Summary(int requests, double p50Millis, double p99Millis, List<String> failures) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%d requests, p50 %.1f ms, p99 %.1f ms, %d failed", requests, p50Millis, p99Millis, failures.size());
        }
    }

    @Override
    public void close() {
        Proc.kill(process);
    }
}
