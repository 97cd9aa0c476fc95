package io.berth.server.events;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * One endpoint's queue on disk, bounded. Records go into numbered segment files ({@code 0000000000000001.seg}, …), each
 * record a 4-byte length and its bytes; a segment is closed once it passes {@code segmentBytes}. The position of the
 * first record not yet delivered is kept in {@code cursor} ({@code <segment> <offset>}), replaced atomically (a temp
 * file, forced, then a rename) by {@link #sync}, and segments wholly before it are deleted.
 *
 * <p>{@link #append} forces the records to disk before it returns, so what was appended survives a crash; delivery
 * starts again at the cursor, which makes it at least once and in order. A crash mid-append leaves a partial record at
 * the end of the last segment; it was never acknowledged, and is cut off when the spool opens.
 *
 * <p>When the segments pass {@code maxBytes}, the oldest segments are deleted, undelivered or not, and
 * {@link #append} reports how many records went with them: the oldest events are the ones dropped.
 *
 * <p>Not thread-safe: one endpoint's delivery thread owns its spool.
 */
final class Spool implements AutoCloseable {
    /** A record read back, and the position just after it. */
    record Entry(byte[] bytes, Position next) {}

    /** A place in the spool: a segment and an offset in it. */
    record Position(long segment, long offset) {}

    private final Path dir;
    private final long segmentBytes;
    private final long maxBytes;
    /** Segment number to its size in bytes, oldest first; the last one is written to. */
    private final TreeMap<Long, Long> segments = new TreeMap<>();
    private @Nullable FileChannel tail;
    private Position cursor;
    private boolean dirty;

    /**
     * Opens (or creates) the spool in {@code dir}. {@code maxBytes} is the most the segments may hold together; it must
     * be at least two segments.
     */
    Spool(Path dir, long segmentBytes, long maxBytes) throws IOException {
        if (segmentBytes < 64 || maxBytes < 2 * segmentBytes) {
            throw new IllegalArgumentException("a spool holds at least two segments of at least 64 bytes");
        }
        this.dir = Files.createDirectories(dir);
        this.segmentBytes = segmentBytes;
        this.maxBytes = maxBytes;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.seg")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                try {
                    segments.put(Long.parseLong(name.substring(0, name.length() - 4)), Files.size(f));
                } catch (NumberFormatException e) {
                    // not one of ours
                }
            }
        }
        this.cursor = readCursor();
        if (segments.isEmpty()) {
            segments.put(Math.max(1, cursor.segment()), 0L);
        }
        if (cursor.segment() < segments.firstKey()) {
            cursor = new Position(segments.firstKey(), 0); // the cursor's segment was dropped or delivered
        }
        cutTornTail();
    }

    private Position readCursor() throws IOException {
        try {
            String[] parts = Files.readString(dir.resolve("cursor"), StandardCharsets.US_ASCII).strip().split(" ");
            return new Position(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
        } catch (NoSuchFileException e) {
            return new Position(1, 0);
        } catch (RuntimeException e) {
            throw new IOException("unreadable spool cursor in " + dir, e);
        }
    }

    /** Appends {@code records} and forces them to disk; returns how many old records were dropped to stay in bounds. */
    int append(List<byte[]> records) throws IOException {
        if (records.isEmpty()) {
            return 0;
        }
        FileChannel out = tail();
        long size = segments.lastEntry().getValue();
        for (byte[] r : records) {
            if (size >= segmentBytes) {
                out.force(false);
                out = roll();
                size = 0;
            }
            ByteBuffer b = ByteBuffer.allocate(4 + r.length).putInt(r.length).put(r).flip();
            while (b.hasRemaining()) {
                size += out.write(b, size);
            }
            segments.put(segments.lastKey(), size);
        }
        out.force(false);
        return dropOverflow();
    }

    /** Up to {@code max} records from the cursor on. */
    List<Entry> read(int max) throws IOException {
        List<Entry> out = new ArrayList<>();
        Position at = cursor;
        while (out.size() < max) {
            Long size = segments.get(at.segment());
            if (size == null) {
                break;
            }
            if (at.offset() + 4 > size) {
                Long next = segments.higherKey(at.segment());
                if (next == null) {
                    break;
                }
                at = new Position(next, 0);
                continue;
            }
            try (FileChannel ch = FileChannel.open(segment(at.segment()), StandardOpenOption.READ)) {
                while (out.size() < max && at.offset() + 4 <= size) {
                    ByteBuffer len = ByteBuffer.allocate(4);
                    readFully(ch, len, at.offset());
                    ByteBuffer body = ByteBuffer.allocate(len.flip().getInt());
                    readFully(ch, body, at.offset() + 4);
                    at = new Position(at.segment(), at.offset() + 4 + body.capacity());
                    out.add(new Entry(body.array(), at));
                }
            }
        }
        return out;
    }

    /**
     * Marks everything before {@code next} as delivered, in memory: {@link #sync} makes it durable. Until then a
     * restart delivers those records again, which at-least-once allows, and one fsync covers many deliveries.
     */
    void commit(Position next) {
        cursor = next;
        dirty = true;
    }

    /** Writes the cursor (a temp file, forced, renamed) if it moved, and deletes the segments wholly delivered. */
    void sync() throws IOException {
        if (!dirty) {
            return;
        }
        Path tmp = dir.resolve("cursor.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap((cursor.segment() + " " + cursor.offset()).getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, dir.resolve("cursor"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        dirty = false;
        while (segments.firstKey() < cursor.segment()) {
            Files.deleteIfExists(segment(segments.pollFirstEntry().getKey()));
        }
    }

    /** The records appended and not yet committed: read by the metrics, so it walks the segments' lengths only. */
    long pendingBytes() {
        long n = 0;
        for (var e : segments.tailMap(cursor.segment(), true).entrySet()) {
            n += e.getKey() == cursor.segment() ? Math.max(0, e.getValue() - cursor.offset()) : e.getValue();
        }
        return n;
    }

    private int dropOverflow() throws IOException {
        int dropped = 0;
        while (total() > maxBytes) {
            if (segments.size() == 1) {
                roll();
            }
            var oldest = segments.pollFirstEntry();
            if (cursor.segment() <= oldest.getKey()) {
                dropped += countRecords(oldest.getKey(), cursor.segment() == oldest.getKey() ? cursor.offset() : 0, oldest.getValue());
                commit(new Position(segments.firstKey(), 0));
                sync();
            }
            Files.deleteIfExists(segment(oldest.getKey()));
        }
        return dropped;
    }

    private long total() {
        long n = 0;
        for (long size : segments.values()) {
            n += size;
        }
        return n;
    }

    private int countRecords(long segment, long from, long size) throws IOException {
        int n = 0;
        try (FileChannel ch = FileChannel.open(segment(segment), StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(4);
            for (long at = from; at + 4 <= size; n++) {
                len.clear();
                readFully(ch, len, at);
                at += 4 + len.flip().getInt();
            }
        }
        return n;
    }

    private FileChannel tail() throws IOException {
        if (tail == null) {
            tail = FileChannel.open(segment(segments.lastKey()), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        return tail;
    }

    private FileChannel roll() throws IOException {
        if (tail != null) {
            tail.close();
            tail = null;
        }
        segments.put(segments.lastKey() + 1, 0L);
        FileChannel ch = tail();
        forceDirectory();
        return ch;
    }

    /** A crash mid-append can leave a partial record at the end of the last segment: it is cut off. */
    private void cutTornTail() throws IOException {
        var lastEntry = segments.lastEntry();
        long last = lastEntry.getKey();
        long size = lastEntry.getValue();
        long at = 0;
        try (FileChannel ch = FileChannel.open(segment(last), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer len = ByteBuffer.allocate(4);
            while (at + 4 <= size) {
                len.clear();
                readFully(ch, len, at);
                int n = len.flip().getInt();
                if (n < 0 || at + 4 + n > size) {
                    break;
                }
                at += 4 + n;
            }
            if (at < size) {
                ch.truncate(at);
                ch.force(false);
                segments.put(last, at);
            }
        }
        if (cursor.segment() == last && cursor.offset() > at) {
            cursor = new Position(last, at);
        }
    }

    private void forceDirectory() throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private Path segment(long n) {
        return dir.resolve(String.format("%016d.seg", n));
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        long p = at;
        while (b.hasRemaining()) {
            int r = ch.read(b, p);
            if (r < 0) {
                throw new IOException("spool segment truncated at " + p);
            }
            p += r;
        }
    }

    @Override
    public void close() throws IOException {
        sync();
        if (tail != null) {
            tail.close();
            tail = null;
        }
    }
}
