package io.berth.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds repositories the way registry:2 does: a directory holding {@code _layers} (registry:2 2.8)
 * or {@code _manifests} (distribution v3) is a repository, and directories whose names start with an
 * underscore are never descended into. Nested repositories ({@code a} and {@code a/b}) both count.
 */
final class RepositoryWalker {
    private static final Logger log = LoggerFactory.getLogger(RepositoryWalker.class);

    private RepositoryWalker() {}

    private static final Set<String> REPOSITORY_MARKERS = Set.of(Layout.MANIFESTS, Layout.LAYERS);

    static void forEachRepository(Layout layout, BiConsumer<RepositoryName, Path> action) {
        walk(layout.repositoriesRoot(), "", REPOSITORY_MARKERS, action);
    }

    /** Every repository directory holding uploads, including repositories where nothing was committed yet. */
    static void forEachWithUploads(Layout layout, BiConsumer<RepositoryName, Path> action) {
        walk(layout.repositoriesRoot(), "", Set.of(Layout.UPLOADS), action);
    }

    private static void walk(Path dir, String prefix, Set<String> markers, BiConsumer<RepositoryName, Path> action) {
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, Files::isDirectory)) {
            stream.forEach(children::add);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        children.sort(null);
        boolean isRepository = false;
        for (Path child : children) {
            String name = child.getFileName().toString();
            isRepository |= markers.contains(name);
        }
        if (isRepository && !prefix.isEmpty()) {
            RepositoryName repo = parse(prefix);
            if (repo != null) {
                action.accept(repo, dir);
            }
        }
        for (Path child : children) {
            String name = child.getFileName().toString();
            if (!name.startsWith("_")) {
                walk(child, prefix.isEmpty() ? name : prefix + "/" + name, markers, action);
            }
        }
    }

    private static @Nullable RepositoryName parse(String name) {
        try {
            return RepositoryName.of(name);
        } catch (StorageException e) {
            log.warn("skipping repository directory with an invalid name: {}", name);
            return null;
        }
    }
}
