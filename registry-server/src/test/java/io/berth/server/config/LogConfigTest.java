package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.server.logging.LogOutput;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** registry:2's {@code log} section: formatter, fields and level, from the file and from REGISTRY_LOG_* variables. */
class LogConfigTest {
    @TempDir
    Path dir;

    private RegistryConfig load(String log, Map<String, String> env) throws Exception {
        Path file = Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                log:
                %s
                storage:
                  filesystem:
                    rootdirectory: /data
                http:
                  addr: 127.0.0.1:5000
                """.formatted(log.indent(2).stripTrailing()));
        return ConfigLoader.load(file, env);
    }

    @Test
    void formatterAndFieldsAreReadAsRegistry2WritesThem() throws Exception {
        RegistryConfig c = load("""
                level: warning
                formatter: json
                fields:
                  service: registry
                  environment: staging
                """, Map.of());
        assertThat(c.logOutput().formatter()).isEqualTo(LogOutput.Formatter.JSON);
        assertThat(c.logOutput().fields()).containsExactlyInAnyOrderEntriesOf(Map.of("service", "registry", "environment", "staging"));
        assertThat(c.logLevel()).isEqualTo("warn");
        assertThat(c.warnings()).noneMatch(w -> w.contains("log."));
    }

    @Test
    void noFormatterKeepsBerthsOwnLines() throws Exception {
        RegistryConfig c = load("level: info", Map.of());
        assertThat(c.logOutput().formatter()).isNull();
        assertThat(c.logOutput().fields()).isEmpty();
    }

    @Test
    void theEnvironmentChoosesTheFormatter() throws Exception {
        assertThat(load("level: info", Map.of("REGISTRY_LOG_FORMATTER", "logstash")).logOutput().formatter()).isEqualTo(LogOutput.Formatter.LOGSTASH);
        assertThat(load("formatter: json", Map.of("REGISTRY_LOG_FORMATTER", "text")).logOutput().formatter()).isEqualTo(LogOutput.Formatter.TEXT);
    }

    @Test
    void anUnknownFormatterOrFieldsThatAreNoMapAreRefused() {
        assertThatThrownBy(() -> load("formatter: xml", Map.of())).isInstanceOf(ConfigException.class).hasMessageContaining("log.formatter");
        assertThatThrownBy(() -> load("fields: [a, b]", Map.of())).isInstanceOf(ConfigException.class).hasMessageContaining("log.fields");
    }
}
