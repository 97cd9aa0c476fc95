package io.berth.junit;

import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.FileTrees;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.jspecify.annotations.Nullable;

/**
 * One started registry and the temporary directory it owns ({@code data/}, and {@code tls/} with TLS), kept in an
 * {@link ExtensionContext.Store}: JUnit closes it when the scope it was stored in ends.
 */
@SuppressWarnings("deprecation") // CloseableResource: what JUnit before 5.13 closes; later ones close AutoCloseable
final class RunningRegistry implements ExtensionContext.Store.CloseableResource, AutoCloseable {
    private final TestRegistry registry;
    private final Path directory;
    private final AtomicBoolean closed = new AtomicBoolean();

    private RunningRegistry(TestRegistry registry, Path directory) {
        this.registry = registry;
        this.directory = directory;
    }

    /** Starts a Berth on 127.0.0.1:0 in a new temporary directory, with a new CA and certificate when {@code tls}. */
    static RunningRegistry start(boolean tls, @Nullable URI config) {
        Path directory;
        try {
            directory = Files.createTempDirectory("berth-junit-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Path data = Files.createDirectories(directory.resolve("data"));
            Map<String, String> env = new HashMap<>();
            env.put("REGISTRY_HTTP_ADDR", "127.0.0.1:0");
            env.put("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", data.toString());
            X509Certificate ca = null;
            Path caFile = null;
            if (tls) {
                TestPki.Ca authority = TestPki.Ca.root("Berth test registry CA");
                Path certificate = directory.resolve("tls/tls.crt");
                Path key = directory.resolve("tls/tls.key");
                authority.server("127.0.0.1").writeTo(certificate, key);
                ca = authority.certificate();
                caFile = authority.writeCertificate(directory.resolve("tls/ca.crt"));
                env.put("REGISTRY_HTTP_TLS_CERTIFICATE", certificate.toString());
                env.put("REGISTRY_HTTP_TLS_KEY", key.toString());
            }
            RegistryConfig settings = config == null
                    ? ConfigLoader.loadDefaults(data, env)
                    : ConfigLoader.load(copy(config, directory.resolve("config.yml")), env);
            Berth berth = Berth.builder().config(settings).build();
            try {
                berth.start();
            } catch (RuntimeException e) {
                berth.close();
                throw e;
            }
            return new RunningRegistry(new TestRegistry(berth, ca, caFile), directory);
        } catch (IOException e) {
            FileTrees.delete(directory);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            FileTrees.delete(directory);
            throw e;
        }
    }

    private static Path copy(URI resource, Path target) throws IOException {
        try (InputStream in = resource.toURL().openStream()) {
            Files.copy(in, target);
        }
        return target;
    }

    TestRegistry registry() {
        return registry;
    }

    /** Stops the server, then deletes the directory; once. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                registry.berth().close();
            } finally {
                FileTrees.delete(directory);
            }
        }
    }
}
