package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fuzzes the configuration loader: any {@code config.yml} text with any {@code REGISTRY_*} overrides is a
 * configuration or a {@link ConfigException} naming what is wrong, never another exception. Seeds:
 * {@code src/test/resources/io/berth/server/config/ConfigFuzzTestInputs/}.
 *
 * <p>Host names in a fuzzed {@code http.addr} are resolved by the loader: {@code scripts/fuzz.sh} runs this target
 * with {@code -Djdk.net.hosts.file} so that no lookup leaves the machine.
 */
class ConfigFuzzTest {
    private static final Path FILE = tempFile();
    /** Up to four overrides ({@code REGISTRY_} + a fuzzed suffix = a fuzzed value), then the YAML text. */
    @FuzzTest
    void anyYamlAndOverridesAreAConfigOrConfigException(FuzzedDataProvider data) throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        int overrides = data.consumeInt(0, 4);
        for (int i = 0; i < overrides; i++) {
            env.put("REGISTRY_" + data.consumeString(60), data.consumeString(200));
        }
        Files.write(FILE, data.consumeRemainingAsBytes());
        RegistryConfig config;
        try {
            config = ConfigLoader.load(FILE, env);
        } catch (ConfigException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        assertThat(config.http().prefix()).startsWith("/").endsWith("/");
        assertThat(config.limits().maxBlobBytes()).isPositive();
        assertThat(config.catalogMaxEntries()).isPositive();
        assertThat(config.storage().purging().age()).as("upload purging age").isGreaterThanOrEqualTo(java.time.Duration.ZERO);
        assertThat(config.storage().purging().interval()).as("upload purging interval").isGreaterThanOrEqualTo(java.time.Duration.ZERO);
        assertThat(config.health().interval()).as("health check interval").isGreaterThanOrEqualTo(java.time.Duration.ZERO);
    }

    private static Path tempFile() {
        try {
            Path file = Files.createTempFile("berth-fuzz-config", ".yml");
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
