/*
 * eiofs: a passthrough FUSE filesystem that fails with EIO on demand, for Berth's disk-fault tests.
 *
 *   eiofs BACKING MOUNTPOINT CONTROL [fuse options]
 *
 * Every operation goes to the same path under BACKING. While the file CONTROL/fail-writes exists, writes, fsyncs
 * and every call that creates, renames or removes something fail with EIO; while CONTROL/fail-reads exists, reads
 * do. Files are opened with direct_io, so every read and write reaches this process rather than the page cache.
 * It daemonises once mounted; `umount MOUNTPOINT` ends it. Built by scripts/install-peers.sh against libfuse3.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <fuse.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char backing[PATH_MAX];
static char control[PATH_MAX];

static void real(char *out, const char *path) {
    snprintf(out, PATH_MAX, "%s%s", backing, path);
}

static int failing(const char *what) {
    char flag[PATH_MAX + 32];
    snprintf(flag, sizeof flag, "%s/%s", control, what);
    return access(flag, F_OK) == 0;
}

#define WRITES_FAIL() do { if (failing("fail-writes")) return -EIO; } while (0)
#define READS_FAIL() do { if (failing("fail-reads")) return -EIO; } while (0)

static void *eio_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
    (void) conn;
    cfg->use_ino = 1;
    cfg->attr_timeout = 0;
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    return NULL;
}

static int eio_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
    char p[PATH_MAX];
    int r = fi ? fstat((int) fi->fh, st) : (real(p, path), lstat(p, st));
    return r == -1 ? -errno : 0;
}

static int eio_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                       enum fuse_readdir_flags flags) {
    (void) off; (void) fi; (void) flags;
    char p[PATH_MAX];
    real(p, path);
    READS_FAIL();
    DIR *d = opendir(p);
    if (d == NULL) return -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st = {0};
        st.st_ino = e->d_ino;
        st.st_mode = (mode_t) e->d_type << 12;
        if (fill(buf, e->d_name, &st, 0, 0)) break;
    }
    closedir(d);
    return 0;
}

static int eio_mkdir(const char *path, mode_t mode) {
    char p[PATH_MAX];
    real(p, path);
    WRITES_FAIL();
    return mkdir(p, mode) == -1 ? -errno : 0;
}

static int eio_unlink(const char *path) {
    char p[PATH_MAX];
    real(p, path);
    WRITES_FAIL();
    return unlink(p) == -1 ? -errno : 0;
}

static int eio_rmdir(const char *path) {
    char p[PATH_MAX];
    real(p, path);
    WRITES_FAIL();
    return rmdir(p) == -1 ? -errno : 0;
}

static int eio_rename(const char *from, const char *to, unsigned int flags) {
    char a[PATH_MAX], b[PATH_MAX];
    real(a, from);
    real(b, to);
    WRITES_FAIL();
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) == -1 ? -errno : 0;
}

static int eio_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
    (void) fi;
    char p[PATH_MAX];
    real(p, path);
    return chmod(p, mode) == -1 ? -errno : 0;
}

static int eio_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
    char p[PATH_MAX];
    WRITES_FAIL();
    int r = fi ? ftruncate((int) fi->fh, size) : (real(p, path), truncate(p, size));
    return r == -1 ? -errno : 0;
}

static int eio_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
    char p[PATH_MAX];
    int r = fi ? futimens((int) fi->fh, tv) : (real(p, path), utimensat(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW));
    return r == -1 ? -errno : 0;
}

static int eio_open(const char *path, struct fuse_file_info *fi) {
    char p[PATH_MAX];
    real(p, path);
    int fd = open(p, fi->flags & ~O_DIRECT);
    if (fd == -1) return -errno;
    fi->fh = (uint64_t) fd;
    fi->direct_io = 1;
    return 0;
}

static int eio_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
    char p[PATH_MAX];
    real(p, path);
    WRITES_FAIL();
    int fd = open(p, fi->flags & ~O_DIRECT, mode);
    if (fd == -1) return -errno;
    fi->fh = (uint64_t) fd;
    fi->direct_io = 1;
    return 0;
}

static int eio_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) path;
    READS_FAIL();
    ssize_t n = pread((int) fi->fh, buf, size, off);
    return n == -1 ? -errno : (int) n;
}

static int eio_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
    (void) path;
    WRITES_FAIL();
    ssize_t n = pwrite((int) fi->fh, buf, size, off);
    return n == -1 ? -errno : (int) n;
}

static int eio_statfs(const char *path, struct statvfs *st) {
    char p[PATH_MAX];
    real(p, path);
    return statvfs(p, st) == -1 ? -errno : 0;
}

static int eio_release(const char *path, struct fuse_file_info *fi) {
    (void) path;
    close((int) fi->fh);
    return 0;
}

static int eio_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
    (void) path;
    WRITES_FAIL();
    int r = datasync ? fdatasync((int) fi->fh) : fsync((int) fi->fh);
    return r == -1 ? -errno : 0;
}

static const struct fuse_operations ops = {
    .init = eio_init,
    .getattr = eio_getattr,
    .readdir = eio_readdir,
    .mkdir = eio_mkdir,
    .unlink = eio_unlink,
    .rmdir = eio_rmdir,
    .rename = eio_rename,
    .chmod = eio_chmod,
    .truncate = eio_truncate,
    .utimens = eio_utimens,
    .open = eio_open,
    .create = eio_create,
    .read = eio_read,
    .write = eio_write,
    .statfs = eio_statfs,
    .release = eio_release,
    .fsync = eio_fsync,
};

int main(int argc, char *argv[]) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s BACKING MOUNTPOINT CONTROL [fuse options]\n", argv[0]);
        return 2;
    }
    if (realpath(argv[1], backing) == NULL || realpath(argv[3], control) == NULL) {
        perror("realpath");
        return 2;
    }
    /* fuse_main sees: program, mountpoint, the options given after CONTROL. */
    char **args = calloc((size_t) argc, sizeof *args);
    int n = 0;
    args[n++] = argv[0];
    args[n++] = argv[2];
    for (int i = 4; i < argc; i++) args[n++] = argv[i];
    return fuse_main(n, args, &ops, NULL);
}
