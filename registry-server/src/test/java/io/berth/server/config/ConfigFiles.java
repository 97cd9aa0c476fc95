package io.berth.server.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** registry:2 configuration files as they ship, for loader tests. */
final class ConfigFiles {
    /** The config.yml inside the official registry:2 image ({@code /etc/docker/registry/config.yml}). */
    static final String REGISTRY2_IMAGE = """
            version: 0.1
            log:
              fields:
                service: registry
            storage:
              cache:
                blobdescriptor: inmemory
              filesystem:
                rootdirectory: /var/lib/registry
            http:
              addr: :5000
              headers:
                X-Content-Type-Options: [nosniff]
            health:
              storagedriver:
                enabled: true
                interval: 10s
                threshold: 3
            """;

    /** Debian's docker-registry package config, without its {@code auth} section (see {@link #DEBIAN_AUTH}). */
    static final String DEBIAN_WITHOUT_AUTH = """
            version: 0.1
            log:
              fields:
                service: registry
            storage:
              cache:
                blobdescriptor: inmemory
              filesystem:
                rootdirectory: /var/lib/docker-registry
              delete:
                enabled: true
            http:
              addr: :5000
              headers:
                X-Content-Type-Options: [nosniff]
            health:
              storagedriver:
                enabled: true
                interval: 10s
                threshold: 3
            """;

    /** The auth section Debian's config.yml ships with. */
    static final String DEBIAN_AUTH = """
            auth:
              htpasswd:
                realm: basic-realm
                path: /etc/docker/registry
            """;

    private ConfigFiles() {}

    static Path write(Path dir, String yaml) {
        try {
            Path file = Files.createTempFile(dir, "config", ".yml");
            Files.writeString(file, yaml);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
