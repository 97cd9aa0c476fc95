package io.berth.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hidden training run of bin/berth's start-up cache: it pushes and pulls over HTTP and HTTPS, and cleans up. */
class AotTrainingTest {
    private static BerthCommand berth(StringWriter out) {
        return new BerthCommand(new PrintWriter(out, true), new PrintWriter(out, true));
    }

    @Test
    void pushesAndPullsOverHttpAndHttpsThenDeletesItsDirectory(@TempDir Path dir) throws Exception {
        StringWriter out = new StringWriter();

        int code = berth(out).execute("aot-training", "--directory", dir.toString());

        assertThat(code).isZero();
        assertThat(out.toString()).contains("training run done, 30 requests over HTTP and HTTPS");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void isHiddenFromTheUsageHelp() {
        StringWriter out = new StringWriter();

        assertThat(berth(out).execute("--help")).isZero();

        assertThat(out.toString()).contains("serve").doesNotContain("aot-training");
    }
}
