package io.berth.server.events;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * One endpoint's queue on disk: records appended to {@code events.log}, each as a 4-byte length and its bytes, and the
 * offset of the first record not yet delivered in {@code committed}, replaced atomically (a temp file, then a rename).
 * A record is forced to disk before {@link #append} returns, so what was appended survives a crash; delivery starts
 * again from the committed offset, which makes it at least once and in order.
 */
final class Spool implements AutoCloseable {
    /** A record read back, and the offset just after it. */
    record Entry(byte[] bytes, long next) {}

    private final Path dir;
    private final FileChannel log;
    private long committed;

    Spool(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.log = FileChannel.open(dir.resolve("events.log"), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Path c = dir.resolve("committed");
        this.committed = Files.exists(c) ? Long.parseLong(Files.readString(c, StandardCharsets.US_ASCII).strip()) : 0;
        truncateTornTail();
    }

    /** Appends one record and forces it to disk. */
    synchronized void append(byte[] record) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 + record.length).putInt(record.length).put(record).flip();
        long at = log.size();
        while (b.hasRemaining()) {
            at += log.write(b, at);
        }
        log.force(false);
    }

    /** Up to {@code max} records from the committed offset on. */
    synchronized List<Entry> read(int max) throws IOException {
        List<Entry> out = new ArrayList<>();
        long at = committed;
        long size = log.size();
        ByteBuffer len = ByteBuffer.allocate(4);
        while (out.size() < max && at + 4 <= size) {
            len.clear();
            readFully(len, at);
            int n = len.flip().getInt();
            ByteBuffer body = ByteBuffer.allocate(n);
            readFully(body, at + 4);
            at += 4 + n;
            out.add(new Entry(body.array(), at));
        }
        return out;
    }

    /** Records everything before {@code offset} as delivered. */
    synchronized void commit(long offset) throws IOException {
        Path tmp = dir.resolve("committed.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(Long.toString(offset).getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, dir.resolve("committed"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        committed = offset;
    }

    /** A crash mid-append can leave a partial record at the end; it was never acknowledged, so it is cut off. */
    private void truncateTornTail() throws IOException {
        long at = committed;
        long size = log.size();
        ByteBuffer len = ByteBuffer.allocate(4);
        while (at + 4 <= size) {
            len.clear();
            readFully(len, at);
            int n = len.flip().getInt();
            if (n < 0 || at + 4 + n > size) {
                break;
            }
            at += 4 + n;
        }
        if (at < size) {
            log.truncate(at);
        }
    }

    private void readFully(ByteBuffer b, long at) throws IOException {
        long p = at;
        while (b.hasRemaining()) {
            int r = log.read(b, p);
            if (r < 0) {
                throw new IOException("spool truncated at " + p);
            }
            p += r;
        }
    }

    @Override
    public void close() throws IOException {
        log.close();
    }
}
