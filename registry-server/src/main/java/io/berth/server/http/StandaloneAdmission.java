package io.berth.server.http;

import io.berth.server.admission.AdmissionReviews;
import io.berth.server.admission.RemoteRegistry;
import io.berth.server.admission.RemoteVerdicts;
import io.berth.server.config.ConfigException;
import io.berth.server.config.RegistryConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * {@code berth admission}: the same webhook as Berth's, run alone for images kept in another registry (after a move
 * to Harbor or Nexus). It holds no storage: it reads manifests and signatures from {@code berth.admission.registry} with
 * pull credentials, and keeps verdicts per digest for {@code cacheTtl}. Stateless, so it runs as a Deployment of any size.
 */
public final class StandaloneAdmission implements AutoCloseable {
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final AdmissionServer server;

    private StandaloneAdmission(EventLoopGroup boss, EventLoopGroup workers, AdmissionServer server) {
        this.boss = boss;
        this.workers = workers;
        this.server = server;
    }

    /** Starts the webhook that {@code config}'s {@code berth.admission} (with its {@code registry}) describes. */
    public static StandaloneAdmission start(RegistryConfig config) throws InterruptedException {
        RegistryConfig.Admission admission = config.trust().admission();
        if (admission == null || admission.registry() == null) {
            throw new ConfigException("berth admission needs berth.admission with its registry (berth.admission.registry.url)");
        }
        RegistryConfig.RemoteRegistry remote = admission.registry();
        RemoteRegistry registry = new RemoteRegistry(remote.url(), client(remote), remote.username(), password(remote), Duration.ofSeconds(5));
        RemoteVerdicts verdicts = new RemoteVerdicts(registry, SecurityWiring.trustPolicy(config.trust()), remote.cacheTtl());
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, io);
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(0, io);
        try {
            // No metrics endpoint here (yet): the meters go nowhere.
            AdmissionServer server = AdmissionServer.start(admission, new AdmissionReviews(admission.hosts(), verdicts), boss, workers, channelType,
                    java.time.Clock.systemUTC(), new io.micrometer.core.instrument.composite.CompositeMeterRegistry());
            return new StandaloneAdmission(boss, workers, server);
        } catch (InterruptedException | RuntimeException e) {
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    public InetSocketAddress address() {
        return server.address();
    }

    private static HttpClient client(RegistryConfig.RemoteRegistry remote) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).followRedirects(HttpClient.Redirect.NORMAL);
        if ("http".equals(remote.url().getScheme())) {
            b.version(HttpClient.Version.HTTP_1_1); // no h2c upgrade offer on every request to a plain-HTTP registry
        }
        if (remote.ca() != null) {
            try (InputStream in = Files.newInputStream(remote.ca())) {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                int i = 0;
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    trust.setCertificateEntry("ca-" + i++, c);
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
                SSLContext ssl = SSLContext.getInstance("TLS");
                ssl.init(null, tmf.getTrustManagers(), null);
                b.sslContext(ssl);
            } catch (IOException | GeneralSecurityException e) {
                throw new ConfigException("berth.admission.registry.ca: cannot read " + remote.ca() + ": " + e.getMessage());
            }
        }
        return b.build();
    }

    private static @org.jspecify.annotations.Nullable String password(RegistryConfig.RemoteRegistry remote) {
        if (remote.passwordFile() == null) {
            return null;
        }
        try {
            return Files.readString(remote.passwordFile(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new ConfigException("berth.admission.registry.passwordFile: cannot read " + remote.passwordFile() + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        server.close();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
