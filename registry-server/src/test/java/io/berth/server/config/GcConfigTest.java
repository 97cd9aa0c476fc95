package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code berth.gc}: online garbage collection's settings, from config.yml and {@code REGISTRY_BERTH_GC_*}. */
class GcConfigTest {
    @TempDir
    Path dir;

    @Test
    void onlineCollectionIsOffByDefaultWithADailyIntervalAndAnHourOfGrace() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of());

        assertThat(c.gc()).isEqualTo(new RegistryConfig.Gc(false, Duration.ofHours(24), Duration.ofHours(1)));
        assertThat(c.warnings()).noneMatch(w -> w.contains("gc"));
    }

    @Test
    void settingsAreReadFromTheFileAndEnvironmentOverridesThem() {
        String yaml = ConfigFiles.REGISTRY2_IMAGE + "berth:\n  gc:\n    enabled: true\n    interval: 6h\n    gracePeriod: 30m\n";

        RegistryConfig fromFile = load(yaml, Map.of());
        RegistryConfig overridden = load(yaml, Map.of("REGISTRY_BERTH_GC_GRACEPERIOD", "2h", "REGISTRY_BERTH_GC_ENABLED", "false"));

        assertThat(fromFile.gc()).isEqualTo(new RegistryConfig.Gc(true, Duration.ofHours(6), Duration.ofMinutes(30)));
        assertThat(fromFile.warnings()).noneMatch(w -> w.contains("gc"));
        assertThat(overridden.gc()).isEqualTo(new RegistryConfig.Gc(false, Duration.ofHours(6), Duration.ofHours(2)));
    }

    @Test
    void aZeroIntervalIsRefused() {
        assertThatThrownBy(() -> load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_BERTH_GC_INTERVAL", "0s")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("berth.gc.interval");
    }

    private RegistryConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(ConfigFiles.write(dir, yaml), env);
    }
}
