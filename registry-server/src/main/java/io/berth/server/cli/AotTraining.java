package io.berth.server.cli;

import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.storage.FileTrees;
import io.berth.storage.RegistryStorage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.jspecify.annotations.Nullable;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/**
 * {@code berth aot-training}, hidden: the training run behind {@code bin/berth}'s start-up cache. Started with the
 * JDK's {@code -XX:AOTCacheOutput}, the JVM writes at exit the classes this run loaded and linked, and the method
 * profiles it gathered, for later starts to use.
 *
 * <p>It starts Berth as {@code serve} does (a {@code config.yml} read by {@link ConfigLoader}), on a temporary
 * directory at {@code 127.0.0.1:0} with htpasswd accounts, once over plain HTTP and once over TLS, and makes the
 * requests of a start, a push and a pull, then collects garbage on the volume as {@code garbage-collect} does. Any
 * unexpected status fails the run, so that a cache is only made from a run that worked. Nothing outside the temporary directory is touched, and the environment's {@code REGISTRY_*}
 * overrides are ignored (one harmless override of its own trains that path).
 */
final class AotTraining {
    private static final String USER = "training";
    private static final String REPOSITORY = "berth/training";
    private static final Option DIRECTORY = Option.builder().longOpt("directory").hasArg().argName("DIR")
            .desc("Where the temporary directory goes (default: java.io.tmpdir).").get();

    private final SecureRandom random = new SecureRandom();

    private AotTraining() {}

    static Options options() {
        return new Options().addOption(DIRECTORY);
    }

    /** Runs the training; returns the exit code. */
    static int run(CommandLine line, PrintWriter out) throws Exception {
        String parent = line.getOptionValue(DIRECTORY);
        return new AotTraining().train(parent != null ? Path.of(parent) : Path.of(System.getProperty("java.io.tmpdir")), out);
    }

    private int train(Path parent, PrintWriter out) throws Exception {
        Path dir = Files.createTempDirectory(parent, "berth-aot-training");
        try {
            byte[] secret = new byte[12];
            random.nextBytes(secret);
            String password = HexFormat.of().formatHex(secret);
            byte[] salt = new byte[16];
            random.nextBytes(salt);
            Files.writeString(dir.resolve("htpasswd"), USER + ":" + OpenBSDBCrypt.generate("2y", password.getBytes(StandardCharsets.UTF_8), salt, 5) + "\n");
            X509Certificate certificate = writeKeyPair(dir);
            int requests = 0;
            for (boolean tls : new boolean[] {false, true}) {
                Path file = dir.resolve(tls ? "tls.yml" : "plain.yml");
                Files.writeString(file, config(dir, tls));
                // A harmless override, so that serve's environment-override path is trained too.
                try (Berth berth = Berth.builder().config(ConfigLoader.load(file, Map.of("REGISTRY_LOG_LEVEL", "warn"))).build();
                        HttpClient client = client(certificate)) {
                    berth.start();
                    requests += new Session(client, berth.baseUri(), USER + ":" + password).pushAndPull();
                }
            }
            // What `berth garbage-collect` loads and runs: its mark and scan over the volume just pushed.
            RegistryStorage.open(dir.resolve("data-plain")).collectGarbage(false, false, Duration.ZERO);
            out.println("berth: training run done, " + requests + " requests over HTTP and HTTPS, and a garbage collection");
            return 0;
        } finally {
            FileTrees.delete(dir);
        }
    }

    private static String config(Path dir, boolean tls) {
        String yaml = "version: 0.1\n"
                + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve(tls ? "data-tls" : "data-plain") + "\n"
                + "  delete:\n    enabled: true\n"
                + "http:\n  addr: 127.0.0.1:0\n";
        if (tls) {
            yaml += "  tls:\n    certificate: " + dir.resolve("tls.crt") + "\n    key: " + dir.resolve("tls.key") + "\n";
        }
        return yaml + "auth:\n  htpasswd:\n    realm: berth-training\n    path: " + dir.resolve("htpasswd") + "\n";
    }

    /** A self-signed EC certificate for 127.0.0.1 and its PKCS#8 key, as tls.crt and tls.key. */
    private static X509Certificate writeKeyPair(Path dir) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(256);
        KeyPair key = generator.generateKeyPair();
        Instant now = Instant.now();
        X500Name name = new X500Name("CN=berth-aot-training");
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofHours(1))), name, key.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false,
                new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
        X509Certificate certificate = new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
        Files.writeString(dir.resolve("tls.crt"), pem(certificate));
        Files.writeString(dir.resolve("tls.key"), pem(new JcaPKCS8Generator(key.getPrivate(), null).generate()));
        return certificate;
    }

    private static String pem(Object object) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
            writer.writeObject(object);
        }
        return text.toString();
    }

    private static HttpClient client(X509Certificate trusted) throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("berth", trusted);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(tls)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** The requests of one client session against one server, each checked for its status. */
    private final class Session {
        private final HttpClient client;
        private final URI base;
        private final String authorization;
        private int requests;

        Session(HttpClient client, URI base, String credentials) {
            this.client = client;
            this.base = base;
            this.authorization = "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
        }

        int pushAndPull() throws Exception {
            expect(401, HttpRequest.newBuilder(base.resolve("/v2/")).timeout(Duration.ofSeconds(30)).GET().build());
            send(200, "GET", "/v2/", null);

            byte[] layer = new byte[256 * 1024];
            random.nextBytes(layer);
            String layerDigest = digest(layer);
            HttpResponse<byte[]> started = send(202, "POST", "/v2/" + REPOSITORY + "/blobs/uploads/", null);
            String location = started.headers().firstValue("Location").orElseThrow();
            HttpResponse<byte[]> patched = send(202, "PATCH", location, layer);
            location = patched.headers().firstValue("Location").orElseThrow();
            send(201, "PUT", location + (location.contains("?") ? "&" : "?") + "digest=" + layerDigest, null);

            byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
                    .getBytes(StandardCharsets.UTF_8);
            String configDigest = digest(config);
            send(201, "POST", "/v2/" + REPOSITORY + "/blobs/uploads/?digest=" + configDigest, config);

            byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + configDigest
                    + "\",\"size\":" + config.length + "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                    + "\"digest\":\"" + layerDigest + "\",\"size\":" + layer.length + "}]}").getBytes(StandardCharsets.UTF_8);
            send(201, "PUT", "/v2/" + REPOSITORY + "/manifests/v1", manifest);

            send(200, "HEAD", "/v2/" + REPOSITORY + "/manifests/v1", null);
            send(200, "GET", "/v2/" + REPOSITORY + "/manifests/" + digest(manifest), null);
            send(200, "HEAD", "/v2/" + REPOSITORY + "/blobs/" + layerDigest, null);
            send(200, "GET", "/v2/" + REPOSITORY + "/blobs/" + layerDigest, null);
            send(200, "GET", "/v2/" + REPOSITORY + "/blobs/" + configDigest, null);
            send(200, "GET", "/v2/" + REPOSITORY + "/tags/list", null);
            send(200, "GET", "/v2/_catalog", null);
            send(404, "GET", "/v2/" + REPOSITORY + "/manifests/v2", null);
            return requests;
        }

        private HttpResponse<byte[]> send(int status, String method, String target, byte @Nullable [] body) throws Exception {
            HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(target)).timeout(Duration.ofSeconds(30))
                    .header("Authorization", authorization)
                    .header("Accept", "application/vnd.oci.image.manifest.v1+json")
                    .method(method, body == null ? BodyPublishers.noBody() : BodyPublishers.ofByteArray(body));
            if (body != null) {
                request.header("Content-Type", target.contains("/manifests/") ? "application/vnd.oci.image.manifest.v1+json"
                        : "application/octet-stream");
            }
            return expect(status, request.build());
        }

        private HttpResponse<byte[]> expect(int status, HttpRequest request) throws Exception {
            HttpResponse<byte[]> response = client.send(request, BodyHandlers.ofByteArray());
            requests++;
            if (response.statusCode() != status) {
                throw new IllegalStateException(request.method() + " " + request.uri() + ": expected " + status + ", got "
                        + response.statusCode() + " " + new String(response.body(), StandardCharsets.UTF_8));
            }
            return response;
        }
    }

    private static String digest(byte[] content) throws GeneralSecurityException {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    }
}
