package io.berth.server.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** registry:2 configuration files as they ship, for loader tests. */
final class ConfigFiles {
    /** The config.yml inside the official registry:2 image ({@code /etc/docker/registry/config.yml}). */
    static final String REGISTRY2_IMAGE = shipped("/var/lib/registry", "");

    /** Debian's docker-registry package config, without its {@code auth} section (see {@link #DEBIAN_AUTH}). */
    static final String DEBIAN_WITHOUT_AUTH = shipped("/var/lib/docker-registry", """
              delete:
                enabled: true
            """);

    /** The auth section Debian's config.yml ships with. */
    static final String DEBIAN_AUTH = """
            auth:
              htpasswd:
                realm: basic-realm
                path: /etc/docker/registry
            """;

    private ConfigFiles() {}

    /**
     * The config.yml that registry:2 ships, which the image and Debian's package differ in only by the storage root
     * and further {@code storage} settings ({@code moreStorage}, indented as {@code storage}'s children, or "").
     */
    private static String shipped(String rootDirectory, String moreStorage) {
        return """
                version: 0.1
                log:
                  fields:
                    service: registry
                storage:
                  cache:
                    blobdescriptor: inmemory
                  filesystem:
                    rootdirectory: %s
                """.formatted(rootDirectory) + moreStorage + """
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
    }

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
