package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** registry:2's {@code proxy} section, and Berth's {@code berth.proxies} beside hosted repositories. */
class ProxyConfigTest {
    @TempDir
    Path dir;

    private RegistryConfig load(String yaml) {
        return ConfigLoader.load(ConfigFiles.write(dir, ConfigFiles.REGISTRY2_IMAGE + yaml), Map.of());
    }

    @Test
    void registry2sMirrorConfigMakesTheWholeRegistryACache() {
        RegistryConfig c = load("""
                proxy:
                  remoteurl: https://registry-1.docker.io/
                  username: mirror
                  password: s3cret
                  ttl: 10m
                """);
        assertThat(c.warnings()).noneMatch(w -> w.contains("proxy"));
        assertThat(c.proxies()).containsExactly(new RegistryConfig.Proxy("", URI.create("https://registry-1.docker.io"), "mirror", "s3cret",
                Duration.ofMinutes(10), Duration.ofSeconds(60)));
        assertThat(c.proxies().getFirst().toString()).doesNotContain("s3cret");
    }

    @Test
    void berthProxiesAreCachesByPrefixWithAPasswordFile() throws Exception {
        Files.writeString(dir.resolve("token"), "hub-token\n");
        RegistryConfig c = load("""
                berth:
                  proxy:
                    stallTimeout: 5s
                  proxies:
                    - prefix: /dockerhub/
                      remoteurl: https://registry-1.docker.io
                      username: mycorp
                      passwordFile: %s
                    - prefix: mirrors/quay
                      remoteurl: http://quay.internal:5000
                """.formatted(dir.resolve("token")));
        assertThat(c.proxies()).containsExactly(
                new RegistryConfig.Proxy("dockerhub", URI.create("https://registry-1.docker.io"), "mycorp", "hub-token", Duration.ZERO, Duration.ofSeconds(5)),
                new RegistryConfig.Proxy("mirrors/quay", URI.create("http://quay.internal:5000"), null, null, Duration.ZERO, Duration.ofSeconds(5)));
    }

    @Test
    void badProxySettingsAreRefusedByKey() {
        assertThatThrownBy(() -> load("proxy:\n  remoteurl: ftp://x\n")).hasMessageStartingWith("proxy.remoteurl:");
        assertThatThrownBy(() -> load("proxy:\n  remoteurl: https://x\n  username: a\n")).hasMessageContaining("give both or neither");
        assertThatThrownBy(() -> load("proxy:\n  remoteurl: https://x\nberth:\n  proxies:\n    - {prefix: a, remoteurl: https://y}\n"))
                .hasMessageStartingWith("berth.proxies:");
        assertThatThrownBy(() -> load("berth:\n  proxies:\n    - {prefix: a, remoteurl: https://y}\n    - {prefix: a/b, remoteurl: https://z}\n"))
                .hasMessageStartingWith("berth.proxies[1].prefix:").hasMessageContaining("overlaps");
        assertThatThrownBy(() -> load("berth:\n  proxies:\n    - {remoteurl: https://y}\n")).hasMessageStartingWith("berth.proxies[0].prefix:");
        assertThatThrownBy(() -> load("berth:\n  proxies:\n    - {prefix: a, remoteurl: https://y, password: p, passwordFile: /f}\n"))
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> load("berth:\n  proxies:\n    - {prefix: a, remoteurl: https://y, tls: true}\n"))
                .hasMessageStartingWith("berth.proxies[0].tls:");
    }
}
