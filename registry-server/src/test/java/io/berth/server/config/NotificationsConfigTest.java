package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** registry:2's {@code notifications} section, from config.yml and {@code REGISTRY_NOTIFICATIONS_*}. */
class NotificationsConfigTest {
    @TempDir
    Path dir;

    @Test
    void noSectionMeansNoEndpoints() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of());

        assertThat(c.notifications()).isEqualTo(RegistryConfig.Notifications.NONE);
    }

    @Test
    void registry2DocumentedExampleIsReadWithEveryKeyAndNoWarning() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE + """
                notifications:
                  events:
                    includereferences: true
                  endpoints:
                    - name: alistener
                      disabled: false
                      url: https://my.listener.com/event
                      headers:
                        Authorization: [Bearer <your token>]
                      timeout: 500ms
                      threshold: 5
                      backoff: 1s
                      ignoredmediatypes:
                        - application/octet-stream
                      ignore:
                        mediatypes:
                          - application/octet-stream
                        actions:
                          - pull
                """, Map.of());

        assertThat(c.warnings()).noneMatch(w -> w.contains("notifications"));
        assertThat(c.notifications()).isEqualTo(new RegistryConfig.Notifications(true, List.of(new RegistryConfig.Endpoint(
                "alistener", URI.create("https://my.listener.com/event"),
                Map.of("Authorization", List.of("Bearer <your token>")),
                Duration.ofMillis(500), 5, Duration.ofSeconds(1),
                List.of("application/octet-stream"), List.of("application/octet-stream"), List.of("pull"), false)),
                RegistryConfig.Notifications.DEFAULT_SPOOL_MAX_BYTES));
    }

    @Test
    void timeoutThresholdAndBackoffDefaultAsInRegistry2AndZeroTakesTheDefault() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE + """
                notifications:
                  endpoints:
                    - name: a
                      url: http://127.0.0.1:9/
                    - name: b
                      url: http://127.0.0.1:9/
                      timeout: 0s
                      threshold: 0
                      backoff: 0
                """, Map.of());

        assertThat(c.notifications().endpoints()).allSatisfy(e -> {
            assertThat(e.timeout()).isEqualTo(Duration.ofSeconds(1));
            assertThat(e.threshold()).isEqualTo(10);
            assertThat(e.backoff()).isEqualTo(Duration.ofSeconds(1));
            assertThat(e.headers()).isEmpty();
            assertThat(e.disabled()).isFalse();
        });
        assertThat(c.notifications().includeReferences()).isFalse();
    }

    @Test
    void environmentOverridesTheEndpointListAndIncludeReferences() {
        RegistryConfig c = load(ConfigFiles.REGISTRY2_IMAGE, Map.of(
                "REGISTRY_NOTIFICATIONS_ENDPOINTS", "[{name: env, url: 'http://127.0.0.1:8080/events', threshold: 3}]",
                "REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES", "true"));

        assertThat(c.warnings()).noneMatch(w -> w.contains("notifications"));
        assertThat(c.notifications().includeReferences()).isTrue();
        assertThat(c.notifications().endpoints()).singleElement().satisfies(e -> {
            assertThat(e.name()).isEqualTo("env");
            assertThat(e.url()).isEqualTo(URI.create("http://127.0.0.1:8080/events"));
            assertThat(e.threshold()).isEqualTo(3);
        });
    }

    @Test
    void invalidEndpointsAreRefusedNamingTheKey() {
        assertRefused("[{url: 'http://127.0.0.1/'}]", "notifications.endpoints[0].name: required");
        assertRefused("[{name: a}]", "notifications.endpoints[0].url: required");
        assertRefused("[{name: a, url: 'ftp://h/'}]", "notifications.endpoints[0].url");
        assertRefused("[{name: a, url: 'http://h/', timeout: soon}]", "notifications.endpoints[0].timeout");
        assertRefused("[{name: a, url: 'http://h/', backoff: -1s}]", "notifications.endpoints[0].backoff");
        assertRefused("[{name: a, url: 'http://h/', threshold: many}]", "notifications.endpoints[0].threshold");
        assertRefused("[{name: a, url: 'http://h/', disabled: maybe}]", "notifications.endpoints[0].disabled");
        assertRefused("[{name: a, url: 'http://h/', ignore: {actions: [push, fetch]}}]", "notifications.endpoints[0].ignore.actions");
        assertRefused("[{name: a, url: 'http://h/', retries: 3}]", "notifications.endpoints[0].retries");
        assertRefused("[{name: a, url: 'http://h/'}, {name: a, url: 'http://g/'}]", "notifications.endpoints[1].name");
        assertRefused("[{name: ../x, url: 'http://h/'}]", "notifications.endpoints[0].name");
        assertRefused("{name: a}", "notifications.endpoints: expected a list");
    }

    private void assertRefused(String endpoints, String message) {
        assertThatThrownBy(() -> load(ConfigFiles.REGISTRY2_IMAGE, Map.of("REGISTRY_NOTIFICATIONS_ENDPOINTS", endpoints)))
                .isInstanceOf(ConfigException.class).hasMessageContaining(message);
    }

    private RegistryConfig load(String yaml, Map<String, String> env) {
        return ConfigLoader.load(ConfigFiles.write(dir, yaml), env);
    }
}
