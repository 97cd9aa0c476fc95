package io.berth.storage;

import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.repoDir;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * What a SIGKILL can leave on disk in the middle of a write stays invisible: the states below are the ones CrashIT
 * found, laid out by hand.
 */
class CrashLeftoversTest extends StorageTestBase {
    @Test
    void aTagWhoseFirstPushWasCutBeforeItsCurrentLinkIsNotListed() throws Exception {
        Fixtures.Pushed image = pushImage(storage, REPO, "one", Tag.of("v1"));
        // A first push of v2 writes tags/v2/index/<digest>/link, then tags/v2/current/link; the kill fell between.
        Fixtures.writeRegistry2Link(repoDir(root, REPO).resolve("_manifests/tags/v2/index/sha256/" + image.digest().hex() + "/link"),
                image.digest());

        assertThat(storage.tags(REPO, null, 100)).containsExactly(Tag.of("v1"));
        assertThat(storage.tagTarget(REPO, Tag.of("v2"))).isNull();
    }

    @Test
    void aTagWhoseDeleteWasCutAfterItsCurrentLinkWentIsNotListed() throws Exception {
        pushImage(storage, REPO, "one", Tag.of("v1"), Tag.of("v2"));
        // Deleting tags/v2 removed current/link first; the kill left the directories, with a link writer's temp file.
        Path current = repoDir(root, REPO).resolve("_manifests/tags/v2/current");
        Files.delete(current.resolve("link"));
        Files.writeString(current.resolve(".link.5eed.tmp"), "sha256:");

        assertThat(storage.tags(REPO, null, 100)).containsExactly(Tag.of("v1"));
    }
}
