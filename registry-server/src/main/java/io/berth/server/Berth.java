package io.berth.server;

import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import io.berth.server.http.RegistryServer;
import io.berth.storage.FileTrees;
import io.berth.storage.RegistryStorage;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A Berth registry running in this JVM, for tests of other projects or for embedding.
 *
 * <pre>{@code
 * try (Berth berth = Berth.builder().temporaryStorage().port(0).build()) {
 *     InetSocketAddress address = berth.start();
 *     // push and pull against http://127.0.0.1:<port>
 * }
 * }</pre>
 */
public final class Berth implements AutoCloseable {
    private final RegistryConfig config;
    private final Clock clock;
    private final @Nullable Path temporary;
    private @Nullable RegistryServer server;
    private @Nullable RegistryStorage storage;
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private Berth(RegistryConfig config, Clock clock, @Nullable Path temporary) {
        this.config = config;
        this.clock = clock;
        this.temporary = temporary;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds and starts serving; returns the bound address (the real port when 0 was asked for). */
    public synchronized InetSocketAddress start() {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        RegistryStorage opened = openStorage(config, clock);
        try {
            server = RegistryServer.start(config, opened, meters, clock);
        } catch (InterruptedException e) {
            opened.close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding", e);
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
        storage = opened;
        return server.address();
    }

    /** The bound address; only after {@link #start()}. */
    public synchronized InetSocketAddress address() {
        return requireStarted().address();
    }

    /** {@code host:port}, as image references and registry clients want it. */
    public String hostAndPort() {
        InetSocketAddress a = address();
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** The base URL, e.g. {@code http://127.0.0.1:5000}, or {@code https://…} with {@code http.tls}. */
    public URI baseUri() {
        return URI.create((config.http().tls() != null ? "https://" : "http://") + hostAndPort());
    }

    /** The debug listener's address, or null when {@code http.debug.addr} is not set. */
    public synchronized @Nullable InetSocketAddress debugAddress() {
        return requireStarted().debugAddress();
    }

    /** The admission webhook's address, or null when {@code berth.admission} is not set. */
    public synchronized @Nullable InetSocketAddress admissionAddress() {
        return requireStarted().admissionAddress();
    }

    /** The server's metrics, as the debug listener's Prometheus endpoint serves them. */
    public io.micrometer.core.instrument.MeterRegistry meters() {
        return meters;
    }

    /** The directory holding the registry's data ({@code storage.filesystem.rootdirectory}). */
    public Path storageDirectory() {
        return config.storage().rootDirectory();
    }

    private RegistryServer requireStarted() {
        if (server == null) {
            throw new IllegalStateException("not started");
        }
        return server;
    }

    /**
     * Opens the storage {@code config} names: the bucket of {@code storage.s3} when it is set, else the directory of
     * {@code storage.filesystem}. The caller closes it.
     */
    public static RegistryStorage openStorage(RegistryConfig config, Clock clock) {
        io.berth.storage.s3.S3Settings s3 = config.storage().s3();
        if (s3 != null) {
            return io.berth.storage.s3.S3Storage.open(s3, clock, RegistryStorage.DEFAULT_MANIFEST_CACHE_BYTES);
        }
        return RegistryStorage.open(config.storage().rootDirectory(), clock, RegistryStorage.DEFAULT_MANIFEST_CACHE_BYTES);
    }

    /** Stops serving; temporary storage is deleted. */
    @Override
    public synchronized void close() {
        if (server != null) {
            server.close();
            server = null;
        }
        if (storage != null) {
            storage.close();
            storage = null;
        }
        if (temporary != null) {
            FileTrees.delete(temporary);
        }
    }

    /** Configures a {@link Berth}: storage, listen address, and optionally a full registry:2 configuration. */
    public static final class Builder {
        private @Nullable Path storage;
        private boolean temporary;
        private @Nullable String host;
        private @Nullable Integer port;
        private @Nullable RegistryConfig config;
        private Clock clock = Clock.systemUTC();

        private Builder() {}

        /** The clock for everything the server and its storage time (tokens, login limits, uploads); default UTC. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Stores data under {@code directory}, which is kept on close. */
        public Builder storageDirectory(Path directory) {
            this.storage = Objects.requireNonNull(directory, "directory");
            this.temporary = false;
            return this;
        }

        /** Stores data in a new temporary directory, deleted on close. */
        public Builder temporaryStorage() {
            this.storage = null;
            this.temporary = true;
            return this;
        }

        /** The port to listen on; 0 picks a free one. Default 5000. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /** The address to listen on. Default 127.0.0.1. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /**
         * Starts from a full configuration (for example one read by
         * {@link io.berth.server.config.ConfigLoader}); host, port and storage set on this builder override it.
         */
        public Builder config(RegistryConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        public Berth build() {
            if (storage == null && !temporary && config == null) {
                throw new IllegalStateException("choose storageDirectory(dir) or temporaryStorage()");
            }
            Path tempDir = null;
            Path root = storage;
            if (temporary) {
                try {
                    tempDir = Files.createTempDirectory("berth-");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                root = tempDir;
            }
            RegistryConfig base = config != null ? config : ConfigLoader.loadDefaults(Objects.requireNonNull(root), Map.of());
            if (root != null) {
                base = base.withRootDirectory(root);
            }
            if (host != null || port != null || config == null) {
                InetSocketAddress configured = base.http().addr();
                base = base.withAddr(new InetSocketAddress(
                        host != null ? host : config == null ? "127.0.0.1" : configured.getHostString(),
                        port != null ? port : config == null ? 5000 : configured.getPort()));
            }
            return new Berth(base, clock, tempDir);
        }
    }
}
