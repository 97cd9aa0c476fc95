package io.berth.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {
    @TempDir
    Path dir;

    @Test
    void manyThreadsAppendingAtOnceLoseAndDuplicateNothing() throws Exception {
        int threads = 8;
        int each = 200;
        try (Spool s = new Spool(dir); ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                fs.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < each; i++) {
                        s.append(bytes(id + ":" + i));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : fs) {
                f.get();
            }
            List<String> all = texts(s.read(Integer.MAX_VALUE));
            assertThat(all).hasSize(threads * each).doesNotHaveDuplicates();
            for (int t = 0; t < threads; t++) {
                String p = t + ":";
                assertThat(all.stream().filter(x -> x.startsWith(p)).toList())
                        .as("thread %d's records, in its order", t)
                        .containsExactly(java.util.stream.IntStream.range(0, each).mapToObj(i -> p + i).toArray(String[]::new));
            }
        }
    }

    @Test
    void committedRecordsAreNotReadAgainAfterARestartAndTheRestAre() throws Exception {
        try (Spool s = new Spool(dir)) {
            s.append(bytes("a"));
            s.append(bytes("b"));
            s.append(bytes("c"));
            List<Spool.Entry> first = s.read(2);
            assertThat(texts(first)).containsExactly("a", "b");
            s.commit(first.get(0).next());
        }
        try (Spool s = new Spool(dir)) {
            assertThat(texts(s.read(10))).containsExactly("b", "c");
        }
    }

    @Test
    void aTornRecordAtTheEndIsCutOffOnRestartAndAppendingContinues() throws Exception {
        try (Spool s = new Spool(dir)) {
            s.append(bytes("whole"));
        }
        Files.write(dir.resolve("events.log"), new byte[] {0, 0, 0, 9, 'h', 'a'}, StandardOpenOption.APPEND);
        try (Spool s = new Spool(dir)) {
            s.append(bytes("next"));
            assertThat(texts(s.read(10))).containsExactly("whole", "next");
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> texts(List<Spool.Entry> es) {
        return es.stream().map(e -> new String(e.bytes(), StandardCharsets.UTF_8)).toList();
    }
}
