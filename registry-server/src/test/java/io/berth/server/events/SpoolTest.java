package io.berth.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An endpoint's spool: in order, at least once across restarts, crash-torn tails cut, bounded by dropping the oldest. */
class SpoolTest {
    private static final long SEGMENT = 64;
    private static final long MAX = 4 * SEGMENT;

    @TempDir
    Path dir;

    private Spool open() throws Exception {
        return new Spool(dir, SEGMENT, MAX);
    }

    @Test
    void committedRecordsAreNotReadAgainAfterARestartAndTheRestAre() throws Exception {
        try (Spool s = open()) {
            s.append(bytes("a", "b", "c"));
            List<Spool.Entry> first = s.read(2);
            assertThat(texts(first)).containsExactly("a", "b");
            s.commit(first.get(0).next());
        }
        try (Spool s = open()) {
            assertThat(texts(s.read(10))).containsExactly("b", "c");
        }
    }

    @Test
    void aCommitNotYetSyncedIsDeliveredAgainAfterACrashButNeverLost() throws Exception {
        Spool crashed = open();
        crashed.append(bytes("a", "b"));
        crashed.commit(crashed.read(1).getFirst().next());
        assertThat(texts(crashed.read(10))).containsExactly("b");
        // no sync and no close: the process dies here (the file handle is simply abandoned)
        try (Spool s = open()) {
            assertThat(texts(s.read(10))).as("at least once").containsExactly("a", "b");
        }
    }

    @Test
    void aTornRecordAtTheEndIsCutOffOnRestartAndAppendingContinues() throws Exception {
        try (Spool s = open()) {
            s.append(bytes("whole"));
        }
        Files.write(onlySegment(), new byte[] {0, 0, 0, 9, 'h', 'a'}, StandardOpenOption.APPEND);
        try (Spool s = open()) {
            s.append(bytes("next"));
            assertThat(texts(s.read(10))).containsExactly("whole", "next");
        }
    }

    @Test
    void recordsSpanSegmentsInOrderAndDeliveredSegmentsAreDeleted() throws Exception {
        List<String> records = IntStream.range(0, 12).mapToObj(i -> "record-" + i).toList(); // 12 * 12 bytes: three segments
        try (Spool s = open()) {
            assertThat(s.append(bytes(records.toArray(String[]::new)))).as("nothing dropped").isZero();
            assertThat(segmentFiles()).hasSizeGreaterThan(1);
            List<Spool.Entry> all = s.read(100);
            assertThat(texts(all)).isEqualTo(records);

            s.commit(all.get(8).next());
            s.sync();
            assertThat(texts(s.read(100))).containsExactly("record-9", "record-10", "record-11");
            assertThat(segmentFiles()).as("segments wholly delivered are deleted").hasSizeLessThan(3);
        }
        try (Spool s = open()) {
            assertThat(texts(s.read(100))).containsExactly("record-9", "record-10", "record-11");
            s.commit(s.read(100).getLast().next());
            assertThat(s.read(100)).isEmpty();
            assertThat(s.pendingBytes()).isZero();
        }
    }

    @Test
    void pastTheBoundTheOldestRecordsAreDroppedAndCounted() throws Exception {
        List<String> records = IntStream.range(0, 40).mapToObj(i -> String.format("r-%05d", i)).toList(); // 11 bytes each
        int dropped = 0;
        try (Spool s = open()) {
            for (String r : records) {
                dropped += s.append(bytes(r));
            }
            long total = segmentFiles().stream().mapToLong(SpoolTest::size).sum();
            assertThat(total).as("the segments stay within the bound").isLessThanOrEqualTo(MAX);
            List<String> kept = texts(s.read(100));
            assertThat(dropped).as("every record is either kept or counted as dropped").isEqualTo(records.size() - kept.size()).isPositive();
            assertThat(kept).as("the newest are kept, in order").isEqualTo(records.subList(dropped, records.size()));
        }
        try (Spool s = open()) {
            assertThat(texts(s.read(100))).as("and so after a restart").isEqualTo(records.subList(dropped, records.size()));
        }
    }

    @Test
    void aPartlyDeliveredSegmentThatIsDroppedCountsOnlyItsUndeliveredRecords() throws Exception {
        try (Spool s = open()) {
            s.append(bytes("a-0001", "a-0002", "a-0003", "a-0004", "a-0005", "a-0006"));
            List<Spool.Entry> read = s.read(2);
            s.commit(read.get(1).next());
            int dropped = 0;
            List<String> later = IntStream.range(0, 30).mapToObj(i -> String.format("b-%04d", i)).toList();
            for (String r : later) {
                dropped += s.append(bytes(r));
            }
            List<String> kept = texts(s.read(100));
            List<String> undelivered = Stream.concat(Stream.of("a-0003", "a-0004", "a-0005", "a-0006"), later.stream()).toList();
            assertThat(dropped).isEqualTo(undelivered.size() - kept.size());
            assertThat(kept).isEqualTo(undelivered.subList(dropped, undelivered.size()));
        }
    }

    private List<Path> segmentFiles() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
        }
    }

    private Path onlySegment() throws Exception {
        List<Path> s = segmentFiles();
        assertThat(s).hasSize(1);
        return s.getFirst();
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<byte[]> bytes(String... s) {
        List<byte[]> out = new ArrayList<>();
        for (String x : s) {
            out.add(x.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private static List<String> texts(List<Spool.Entry> es) {
        return es.stream().map(e -> new String(e.bytes(), StandardCharsets.UTF_8)).toList();
    }
}
