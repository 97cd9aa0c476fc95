package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code REGISTRY_*} environment variables override config.yml as in registry:2. */
class ConfigEnvironmentTest {
    @TempDir
    Path dir;

    @Test
    void rootDirectoryOverride() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/srv/registry"));

        assertThat(c.storage().rootDirectory()).isEqualTo(Path.of("/srv/registry"));
    }

    @Test
    void httpAddrOverrideWithHostAndPort() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_HTTP_ADDR", "127.0.0.1:6001"));

        assertThat(c.http().addr().getHostString()).isEqualTo("127.0.0.1");
        assertThat(c.http().addr().getPort()).isEqualTo(6001);
    }

    @Test
    void httpAddrOverrideWithPortOnly() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_HTTP_ADDR", ":5001"));

        assertThat(c.http().addr().getPort()).isEqualTo(5001);
        assertThat(c.http().addr().getAddress().isAnyLocalAddress()).isTrue();
    }

    @Test
    void deleteEnabledOverrideAddsASectionMissingFromTheFile() {
        RegistryConfig without = load(ConfigFiles.REGISTRY2_IMAGE, Map.of());
        RegistryConfig with = load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_STORAGE_DELETE_ENABLED", "true"));

        assertThat(without.storage().deleteEnabled()).isFalse();
        assertThat(with.storage().deleteEnabled()).isTrue();
    }

    @Test
    void overrideReplacesTheFileValue() {
        RegistryConfig c = load(ConfigFiles.DEBIAN_WITHOUT_AUTH, Map.of("REGISTRY_STORAGE_DELETE_ENABLED", "false",
                "REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL", "30s", "REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD", "7"));

        assertThat(c.storage().deleteEnabled()).isFalse();
        assertThat(c.health().interval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.health().threshold()).isEqualTo(7);
    }

    @Test
    void nestedOverridesCreateTheWholePath() {
        RegistryConfig c = load("", Map.of(
                "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE", "24h",
                "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", "true",
                "REGISTRY_LOG_LEVEL", "warn",
                "REGISTRY_HTTP_PREFIX", "/reg"));

        assertThat(c.storage().purging().age()).isEqualTo(Duration.ofHours(24));
        assertThat(c.storage().readOnly()).isTrue();
        assertThat(c.logLevel()).isEqualTo("warn");
        assertThat(c.http().prefix()).isEqualTo("/reg/");
    }

    @Test
    void environmentAloneWithoutAFileIsEnough() {
        RegistryConfig c = ConfigLoader.load(null, Map.of("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "/env-only"));

        assertThat(c.storage().rootDirectory()).isEqualTo(Path.of("/env-only"));
        assertThat(c.http().addr().getPort()).isEqualTo(5000);
    }

    @Test
    void s3CredentialsFromTheEnvironmentReplaceTheFiles() {
        RegistryConfig c = load("storage:\n  s3:\n    region: r\n    bucket: b\n    accesskey: fromfile\n    secretkey: fromfile\n",
                Map.of("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIAENV", "REGISTRY_STORAGE_S3_SECRETKEY", "wJalr/K7MDENG+bPxRfiCY"));

        assertThat(c.storage().s3().accessKey()).isEqualTo("AKIAENV");
        assertThat(c.storage().s3().secretKey()).isEqualTo("wJalr/K7MDENG+bPxRfiCY");
    }

    @Test
    void aSecretKeyThatLooksLikeANumberKeepsItsText() {
        RegistryConfig c = load("storage:\n  s3:\n    region: r\n    bucket: b\n",
                Map.of("REGISTRY_STORAGE_S3_ACCESSKEY", "00123", "REGISTRY_STORAGE_S3_SECRETKEY", "1e10"));

        assertThat(c.storage().s3().accessKey()).isEqualTo("00123");
        assertThat(c.storage().s3().secretKey()).isEqualTo("1e10");
    }

    @Test
    void theWholeS3SectionCanComeFromTheEnvironment() {
        RegistryConfig c = ConfigLoader.load(null, Map.of(
                "REGISTRY_STORAGE_S3_REGION", "us-east-1",
                "REGISTRY_STORAGE_S3_BUCKET", "registry",
                "REGISTRY_STORAGE_S3_REGIONENDPOINT", "http://127.0.0.1:7070",
                "REGISTRY_STORAGE_S3_CHUNKSIZE", "16777216",
                "REGISTRY_STORAGE_S3_ROOTDIRECTORY", "/r2root",
                "REGISTRY_STORAGE_REDIRECT_DISABLE", "true",
                "REGISTRY_BERTH_S3_CLIENT", "crt",
                "REGISTRY_BERTH_S3_PARTCONCURRENCY", "2"));

        assertThat(c.storage().s3().endpoint()).isEqualTo(java.net.URI.create("http://127.0.0.1:7070"));
        assertThat(c.storage().s3().chunkSize()).isEqualTo(16L << 20);
        assertThat(c.storage().s3().v2Prefix()).isEqualTo("r2root/docker/registry/v2/");
        assertThat(c.storage().s3().redirect()).isFalse();
        assertThat(c.storage().s3().client()).isEqualTo(io.berth.storage.s3.S3Settings.Client.CRT);
        assertThat(c.storage().s3().partConcurrency()).isEqualTo(2);
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void s3FromTheEnvironmentReplacesTheEmbeddedDataDirectory() {
        RegistryConfig c = ConfigLoader.loadDefaults(dir, Map.of("REGISTRY_STORAGE_S3_REGION", "r", "REGISTRY_STORAGE_S3_BUCKET", "b"));

        assertThat(c.storage().s3().bucket()).isEqualTo("b");
    }

    @Test
    void s3FromTheEnvironmentBesideAFilesystemInTheFileIsRefused() {
        assertThatThrownBy(() -> load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_STORAGE_S3_REGION", "r", "REGISTRY_STORAGE_S3_BUCKET", "b")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("storage: ");
    }

    @Test
    void overridesApplyToEmbeddedDefaultsToo() {
        RegistryConfig c = ConfigLoader.loadDefaults(dir, Map.of("REGISTRY_STORAGE_DELETE_ENABLED", "false", "REGISTRY_HTTP_ADDR", ":0"));

        assertThat(c.storage().deleteEnabled()).isFalse();
        assertThat(c.http().addr().getPort()).isZero();
    }

    @Test
    void otherVariablesAreIgnored() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of("PATH", "/usr/bin", "HOME", "/root",
                "REGISTRY_CONFIGURATION_PATH", "/etc/docker/registry/config.yml", "XREGISTRY_HTTP_ADDR", ":1"));

        assertThat(c.http().addr().getPort()).isEqualTo(5000);
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void unknownOverrideIsWarnedAboutByItsKey() {
        RegistryConfig c = load("", Map.of("REGISTRY_REDIS_DB", "1"));

        assertThat(c.warnings()).containsExactly("redis.db is not supported by Berth and is ignored");
    }

    @Test
    void invalidOverrideNamesTheKey() {
        assertThatThrownBy(() -> load("", Map.of("REGISTRY_STORAGE_DELETE_ENABLED", "maybe")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("storage.delete.enabled:");
        assertThatThrownBy(() -> load("", Map.of("REGISTRY_HTTP_ADDR", ":http")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("http.addr:");
    }

    @Test
    void authThroughTheEnvironmentIsApplied() {
        RegistryConfig c = load("", Map.of("REGISTRY_AUTH_HTPASSWD_PATH", "/auth/htpasswd", "REGISTRY_AUTH_HTPASSWD_REALM", "corp"));

        assertThat(c.security().basic()).isEqualTo(new SecurityConfig.Basic("corp", java.nio.file.Path.of("/auth/htpasswd")));
    }

    @Test
    void overrideSetsTheRealSettingEvenWhenTheFileMisspellsItsCase() {
        // registry:2 applies REGISTRY_HTTP_RELATIVEURLS to the relativeurls field; a miscased key in the file is just unknown.
        RegistryConfig c = load("http:\n  relativeURLs: false\n", Map.of("REGISTRY_HTTP_RELATIVEURLS", "true"));

        assertThat(c.http().relativeUrls()).isTrue();
    }

    private RegistryConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(ConfigFiles.write(dir, yaml), env);
    }
}
