package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.storage.s3.S3Settings;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void registry2ImageConfigLoads() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE);

        assertThat(c.storage().rootDirectory()).isEqualTo(Path.of("/var/lib/registry"));
        assertThat(c.storage().deleteEnabled()).isFalse();
        assertThat(c.http().addr().getPort()).isEqualTo(5000);
        assertThat(c.http().addr().getAddress().isAnyLocalAddress()).isTrue();
        assertThat(c.http().headers()).containsExactly(Map.entry("X-Content-Type-Options", List.of("nosniff")));
        assertThat(c.health()).isEqualTo(new RegistryConfig.Health(true, Duration.ofSeconds(10), 3));
        assertThat(c.warnings()).isEmpty();
        assertThat(c.logOutput().fields()).containsExactly(Map.entry("service", "registry"));
    }

    @Test
    void debianConfigWithoutItsAuthSectionLoads() {
        RegistryConfig c = load(ConfigFiles.DEBIAN_WITHOUT_AUTH);

        assertThat(c.storage().rootDirectory()).isEqualTo(Path.of("/var/lib/docker-registry"));
        assertThat(c.storage().deleteEnabled()).isTrue();
        assertThat(c.http().addr().getPort()).isEqualTo(5000);
        assertThat(c.warnings()).isEmpty();
        assertThat(c.logOutput().fields()).containsExactly(Map.entry("service", "registry"));
    }

    @Test
    void debianConfigAsShippedLoadsWithItsHtpasswdAuth() {
        RegistryConfig c = load(ConfigFiles.DEBIAN_WITHOUT_AUTH + ConfigFiles.DEBIAN_AUTH);

        assertThat(c.security().basic()).isNotNull();
        assertThat(c.security().basic().path()).isEqualTo(Path.of("/etc/docker/registry"));
        assertThat(c.security().token()).isNull();
    }

    @Test
    void installedDebianConfigLoadsUnchanged() throws Exception {
        Path installed = Path.of("/etc/docker/registry/config.yml");
        Assumptions.assumeTrue(Files.isReadable(installed), "docker-registry is not installed");

        RegistryConfig c = ConfigLoader.load(installed, Map.of());

        assertThat(c.storage().rootDirectory()).isEqualTo(Path.of("/var/lib/docker-registry"));
        assertThat(c.security().basic() != null).isEqualTo(Files.readString(installed).contains("htpasswd"));
    }


    @Test
    void emptyFileGivesRegistry2Defaults() {
        RegistryConfig c = load("");

        assertThat(c.storage().rootDirectory()).isEqualTo(Path.of("/var/lib/registry"));
        assertThat(c.storage().deleteEnabled()).isFalse();
        assertThat(c.storage().readOnly()).isFalse();
        assertThat(c.storage().purging()).isEqualTo(
                new RegistryConfig.UploadPurging(true, Duration.ofHours(168), Duration.ofHours(24), false));
        assertThat(c.http().addr().getPort()).isEqualTo(5000);
        assertThat(c.http().prefix()).isEqualTo("/");
        assertThat(c.http().host()).isNull();
        assertThat(c.http().debugAddr()).isNull();
        assertThat(c.http().prometheusPath()).isNull();
        assertThat(c.logLevel()).isEqualTo("info");
        assertThat(c.accessLog()).isTrue();
        assertThat(c.catalogMaxEntries()).isEqualTo(1000);
        assertThat(c.manifestMaxBytes()).isEqualTo(4L << 20);
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void readsEverySupportedSetting() {
        RegistryConfig c = load("""
                version: 0.1
                log:
                  level: DEBUG
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: /data
                  delete:
                    enabled: "true"
                  maintenance:
                    uploadpurging:
                      enabled: false
                      age: 1h30m
                      interval: 10m
                      dryrun: true
                    readonly:
                      enabled: true
                  redirect:
                    disable: true
                http:
                  addr: 127.0.0.1:6000
                  host: https://registry.example.com//
                  prefix: registry
                  relativeurls: true
                  secret: not-used
                  debug:
                    addr: localhost:5001
                    prometheus:
                      enabled: true
                      path: /prom
                health:
                  storagedriver:
                    enabled: false
                    interval: 300ms
                    threshold: 5
                catalog:
                  maxentries: 50
                berth:
                  manifestmaxbytes: 8388608
                """);

        assertThat(c.logLevel()).isEqualTo("debug");
        assertThat(c.accessLog()).isFalse();
        assertThat(c.storage()).isEqualTo(new RegistryConfig.Storage(Path.of("/data"), true, true,
                new RegistryConfig.UploadPurging(false, Duration.ofMinutes(90), Duration.ofMinutes(10), true), null));
        assertThat(c.http().addr().getHostString()).isEqualTo("127.0.0.1");
        assertThat(c.http().addr().getPort()).isEqualTo(6000);
        assertThat(c.http().host()).isEqualTo("https://registry.example.com");
        assertThat(c.http().prefix()).isEqualTo("/registry/");
        assertThat(c.http().relativeUrls()).isTrue();
        assertThat(c.http().debugAddr().getPort()).isEqualTo(5001);
        assertThat(c.http().prometheusPath()).isEqualTo("/prom");
        assertThat(c.health()).isEqualTo(new RegistryConfig.Health(false, Duration.ofMillis(300), 5));
        assertThat(c.catalogMaxEntries()).isEqualTo(50);
        assertThat(c.manifestMaxBytes()).isEqualTo(8L << 20);
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void durationGivenAsABareNumberIsNanosecondsAsInGo() {
        RegistryConfig c = load("health: {storagedriver: {interval: 1000000000}}");

        assertThat(c.health().interval()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void eachUnknownKeyGivesOneWarningNamingIt() {
        RegistryConfig c = load("""
                version: 0.1
                log:
                  formatter: text
                  hooks:
                    - type: mail
                storage:
                  filesystem:
                    rootdirectory: /data
                  tag:
                    concurrencylimit: 5
                http:
                  addr: :5000
                  http2:
                    disabled: false
                notifications:
                  endpoints:
                    - name: alistener
                      url: https://example.com/
                redis:
                  addr: localhost:6379
                  db: 0
                """);

        assertThat(c.warnings()).containsExactlyInAnyOrder(
                "log.hooks is not supported by Berth and is ignored",
                "storage.tag.concurrencylimit is not supported by Berth and is ignored",
                "http.http2.disabled is not supported by Berth and is ignored",
                "redis.addr is not supported by Berth and is ignored",
                "redis.db is not supported by Berth and is ignored");
    }

    @Test
    void emptySectionsAreNotWarnedAbout() {
        RegistryConfig c = load("notifications: {}\nauth: {}\nhttp: {tls: {}}\n");

        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void defaultsForEmbeddingListenOnLoopbackWithDeletesEnabled() {
        RegistryConfig c = ConfigLoader.loadDefaults(dir, Map.of());

        assertThat(c.storage().rootDirectory()).isEqualTo(dir);
        assertThat(c.storage().deleteEnabled()).isTrue();
        assertThat(c.http().addr().getAddress().isLoopbackAddress()).isTrue();
        assertThat(c.http().addr().getPort()).isEqualTo(5000);
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void missingFileIsAConfigExceptionNamingIt() {
        Path missing = dir.resolve("nope.yml");

        assertThatThrownBy(() -> ConfigLoader.load(missing, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(missing.toString());
    }

    @Test
    void malformedYamlIsAConfigException() {
        assertThatThrownBy(() -> load("http:\n  addr: [unclosed\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot read");
    }

    /** Found by fuzzing: a NUL in a path escaped the loader as InvalidPathException instead of a ConfigException. */
    @Test
    void aPathNoFileSystemCouldHoldIsAConfigError() {
        assertThatThrownBy(() -> load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: \"/var/lib/a\\0b\"\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("not a valid path").hasMessageContaining("\\x00");
        assertThatThrownBy(() -> ConfigLoader.loadDefaults(dir, Map.of("REGISTRY_AUTH_HTPASSWD_PATH", "/etc/a\0b",
                "REGISTRY_AUTH_HTPASSWD_REALM", "r")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("not a valid path");
    }

    /** Found by fuzzing: a negative whole number, or Go parts that overflow, loaded as a negative duration. */
    @Test
    void negativeAndOverflowingDurationsAreConfigErrors() {
        assertThatThrownBy(() -> load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/x\n  maintenance:\n"
                + "    uploadpurging:\n      enabled: true\n      age: -1\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("storage.maintenance.uploadpurging.age").hasMessageContaining("negative");
        assertThatThrownBy(() -> load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/x\n  maintenance:\n"
                + "    uploadpurging:\n      enabled: true\n      age: 9223372036s9223372036s\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("too long");
        assertThatThrownBy(() -> load("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /tmp/x\nhealth:\n"
                + "  storagedriver:\n    interval: 99999999999h\n"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("too long");
    }

    @Test
    void readsEveryKeyOfRegistry2sS3Section() {
        RegistryConfig c = load("""
                version: 0.1
                storage:
                  s3:
                    region: eu-west-3
                    regionendpoint: https://s3.gra.io.cloud.ovh.net/
                    forcepathstyle: false
                    bucket: registry
                    rootdirectory: /r2root/
                    accesskey: AKIA0123
                    secretkey: s3cr3t
                    secure: true
                    skipverify: true
                    v4auth: true
                    chunksize: 16777216
                    multipartcopychunksize: "67108864"
                    multipartcopymaxconcurrency: "10"
                    multipartcopythresholdsize: 134217728
                    storageclass: standard_ia
                    encrypt: "true"
                    keyid: arn:aws:kms:eu-west-3:1:key/k
                  redirect:
                    disable: true
                  delete:
                    enabled: true
                berth:
                  s3:
                    client: crt
                    partConcurrency: 8
                """);

        assertThat(c.storage().s3()).isEqualTo(new S3Settings("eu-west-3", URI.create("https://s3.gra.io.cloud.ovh.net"), false,
                "registry", "r2root", "AKIA0123", "s3cr3t", true, true, true, 16L << 20, 64L << 20, 10, 128L << 20,
                "STANDARD_IA", true, "arn:aws:kms:eu-west-3:1:key/k", false, S3Settings.Client.CRT, 8));
        assertThat(c.storage().deleteEnabled()).isTrue();
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void s3SectionTakesRegistry2sDefaults() {
        RegistryConfig c = load("storage:\n  s3:\n    region: us-east-1\n    bucket: registry\n");

        assertThat(c.storage().s3()).isEqualTo(new S3Settings("us-east-1", null, false, "registry", "", null, null, true, false,
                true, 10L << 20, 32L << 20, 100, 32L << 20, "STANDARD", false, null, true, S3Settings.Client.NETTY, 4));
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void anEndpointWithoutSchemeTakesItFromSecureAndForcesPathStyleAsInRegistry2() {
        S3Settings plain = load("storage:\n  s3:\n    region: r\n    bucket: b\n    regionendpoint: 127.0.0.1:7070\n    secure: false\n")
                .storage().s3();
        S3Settings tls = load("storage:\n  s3:\n    region: r\n    bucket: b\n    regionendpoint: minio.local:9000\n").storage().s3();

        assertThat(plain.endpoint()).isEqualTo(URI.create("http://127.0.0.1:7070"));
        assertThat(plain.forcePathStyle()).isTrue();
        assertThat(tls.endpoint()).isEqualTo(URI.create("https://minio.local:9000"));
    }

    @Test
    void storageClassNoneSendsNone() {
        S3Settings s = load("storage:\n  s3:\n    region: r\n    bucket: b\n    storageclass: NONE\n").storage().s3();

        assertThat(s.storageClass()).isNull();
    }

    @Test
    void aFilesystemConfigHasNoS3Settings() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE);

        assertThat(c.storage().s3()).isNull();
    }

    @Test
    void s3SettingsNeverPrintTheSecretKey() {
        RegistryConfig c = load("storage:\n  s3:\n    region: r\n    bucket: b\n    accesskey: AK\n    secretkey: hunter2-secret\n");

        assertThat(c.toString()).doesNotContain("hunter2-secret");
    }

    private RegistryConfig load(String yaml) {
        return ConfigLoader.load(ConfigFiles.write(dir, yaml), Map.of());
    }

    @Test
    void theReadmesSecureExampleLoadsWithoutAWarning() {
        RegistryConfig c = ConfigLoader.load(Path.of("..", "examples", "secure", "config.yml"), Map.of());

        assertThat(c.warnings()).isEmpty();
        assertThat(c.security().issuer()).isNotNull();
        assertThat(c.security().access()).hasSize(3);
        assertThat(c.security().immutableTags()).hasSize(1);
        assertThat(c.security().denyTags()).containsExactly("latest");
    }
}
