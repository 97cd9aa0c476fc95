package io.berth.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A filesystem mounted for one test under the build's {@code target/} directory: a ramfs (no {@code O_DIRECT}), or
 * a small ext4 image on a loop device (room for a few MiB, direct I/O as on a real volume). Only root may mount;
 * elsewhere the test is skipped with a message saying so. An eiofs volume fails reads or writes with EIO on demand. {@code mkfs.ext4} is Debian's e2fsprogs, which
 * {@code scripts/install-peers.sh} installs ({@code BERTH_MKFS_EXT4} in its env.sh names it).
 */
public final class ScratchVolume implements AutoCloseable {
    /** The block size of the volumes made here, and of Berth's direct writes. */
    public static final int BLOCK = 4096;

    private final Path mountPoint;
    private final @Nullable Path image;
    /** eiofs only: the directory behind the mount, and the one whose flag files make it fail. */
    private @Nullable Path backing;
    private @Nullable Path control;
    private boolean mounted;
    private int crumbs;

    private ScratchVolume(Path mountPoint, @Nullable Path image) {
        this.mountPoint = mountPoint;
        this.image = image;
    }

    /** A ramfs: every write works until memory runs out, and {@code O_DIRECT} opens fail with EINVAL. */
    public static ScratchVolume ramfs() throws IOException {
        assumeRoot();
        ScratchVolume v = new ScratchVolume(Files.createTempDirectory(target(), "ramfs-"), null);
        v.mount("-t", "ramfs", "ramfs");
        return v;
    }

    /** An ext4 filesystem of {@code megabytes} on a loop device, with 4 KiB blocks as on a real volume and none reserved for root. */
    public static ScratchVolume ext4(int megabytes) throws IOException {
        assumeRoot();
        String mkfs = System.getenv().getOrDefault("BERTH_MKFS_EXT4", "/usr/sbin/mkfs.ext4");
        assumeTrue(Files.isExecutable(Path.of(mkfs)), mkfs + " is missing: run scripts/install-peers.sh (Debian e2fsprogs)");
        Path image = Files.createTempFile(target(), "ext4-", ".img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength((long) megabytes << 20);
        }
        run(mkfs, "-q", "-F", "-b", "4096", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0", image.toString());
        ScratchVolume v = new ScratchVolume(Files.createTempDirectory(target(), "ext4-"), image);
        v.mount("-o", "loop", image.toString());
        return v;
    }

    /**
     * eiofs ({@code scripts/eiofs/eiofs.c}, built by {@code scripts/install-peers.sh}): a FUSE passthrough to a
     * directory on the build's disk, whose reads or writes fail with EIO while {@link #failReads} or
     * {@link #failWrites} say so. Every read and write reaches it, none is answered from the page cache.
     */
    public static ScratchVolume eio() throws IOException {
        assumeRoot();
        String eiofs = System.getenv().getOrDefault("BERTH_EIOFS", "/var/cache/berth-tools/bin/eiofs");
        assumeTrue(Files.isExecutable(Path.of(eiofs)), eiofs + " is missing: run scripts/install-peers.sh (it compiles eiofs against libfuse3)");
        ScratchVolume v = new ScratchVolume(Files.createTempDirectory(target(), "eiofs-"), null);
        v.backing = Files.createTempDirectory(target(), "eiofs-backing-");
        v.control = Files.createTempDirectory(target(), "eiofs-control-");
        // eiofs returns once the filesystem is mounted, leaving its daemon serving it until the unmount.
        v.mount(eiofs, v.backing.toString(), v.mountPoint.toString(), v.control.toString());
        return v;
    }

    /** eiofs only: from now on, writes, fsyncs, creates, renames and deletes fail with EIO, or work again. */
    public void failWrites(boolean fail) throws IOException {
        flag("fail-writes", fail);
    }

    /** eiofs only: from now on, reads and directory listings fail with EIO, or work again. */
    public void failReads(boolean fail) throws IOException {
        flag("fail-reads", fail);
    }

    private void flag(String name, boolean on) throws IOException {
        if (control == null) {
            throw new IllegalStateException("not an eiofs volume");
        }
        if (on) {
            Files.writeString(control.resolve(name), "");
        } else {
            Files.deleteIfExists(control.resolve(name));
        }
    }

    public Path path() {
        return mountPoint;
    }

    /** {@code mount -o remount,<options>}, e.g. {@code ro} or {@code rw}. */
    public void remount(String options) throws IOException {
        run("mount", "-o", "remount," + options, mountPoint.toString());
    }

    /** Bytes the volume has left for a writer. */
    public long usable() throws IOException {
        return Files.getFileStore(mountPoint).getUsableSpace();
    }

    /** Writes a file of zeros until the volume has about {@code leave} bytes left; returns it. */
    public Path fill(long leave) throws IOException {
        Path filler = Files.createTempFile(mountPoint, "filler-", "");
        ByteBuffer block = ByteBuffer.allocate(1 << 16);
        try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.WRITE)) {
            while (usable() > leave + block.capacity()) {
                ch.write(block.clear());
            }
        }
        run("sync", "-f", filler.toString());
        return filler;
    }

    /**
     * Fills the volume to the last block (again: a failed write may have given back what it had taken). ext4 refuses a write while its delayed allocations might need the room,
     * and gives back what they did not need once they are written out: so it fills, syncs, and fills again until a
     * single block no longer fits, then writes one-block files until none fits.
     */
    public Path fillUp() throws IOException {
        Path filler = Files.createTempFile(mountPoint, "filler-", "");
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.WRITE)) {
            for (long before = -1; ch.size() != before; ) {
                before = ch.size();
                try {
                    while (true) {
                        ch.write(block.clear(), ch.size());
                    }
                } catch (IOException e) {
                    if (!String.valueOf(e.getMessage()).contains("No space left")) {
                        throw e;
                    }
                }
                ch.force(true);
                run("sync", "-f", filler.toString());
            }
        }
        // A big file's next block may need an extent block too; a small file's does not: fill those last blocks.
        for (int i = 0; i < 256; i++) {
            try {
                Files.write(mountPoint.resolve("crumb-" + crumbs++), new byte[BLOCK]);
            } catch (IOException e) {
                break;
            }
        }
        run("sync", "-f", mountPoint.toString());
        return filler;
    }

    /** Deletes {@code filler} and waits until its blocks can be written again (ext4 frees them when its journal commits). */
    public void free(Path filler) throws IOException {
        Files.delete(filler);
        run("sync", "-f", mountPoint.toString());
    }

    @Override
    public void close() throws IOException {
        if (mounted) {
            mounted = false;
            try {
                run("umount", mountPoint.toString());
            } catch (IOException e) {
                // Busy: a file is still open, such as the blob the storage's warmer is reading back after a commit.
                // Detached now, the filesystem goes (and eiofs ends) when that file closes.
                run("umount", "-l", mountPoint.toString());
            }
        }
        Files.deleteIfExists(mountPoint);
        if (image != null) {
            Files.deleteIfExists(image);
        }
        if (backing != null) {
            deleteTree(backing);
            deleteTree(control);
        }
    }

    private void mount(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        if (args[0].startsWith("/")) {
            command.addAll(List.of(args)); // a FUSE program, given its mount point among its arguments
        } else {
            command.add("mount");
            command.addAll(List.of(args));
            command.add(mountPoint.toString());
        }
        try {
            run(command.toArray(String[]::new));
        } catch (IOException e) {
            Files.deleteIfExists(mountPoint);
            throw e;
        }
        mounted = true;
    }

    private static void deleteTree(@Nullable Path dir) throws IOException {
        if (dir != null && Files.exists(dir)) {
            try (var all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    public static void assumeRoot() throws IOException {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assumeTrue(Integer.valueOf(0).equals(uid), "mounting a test filesystem needs root (uid 0), this is uid " + uid);
    }

    private static Path target() throws IOException {
        return Files.createDirectories(Path.of("target").toAbsolutePath());
    }

    public static void run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
    }
}
