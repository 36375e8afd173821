/*
 * outfile.c - planning and writing outputs (outfile.h).
 *
 * Descriptors opprof keeps open across the run are moved to numbers from
 * PARK_FD up, so the script's own open() calls get the numbers they get
 * under python.
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PARK_FD 100
#define MAX_LINKS 40

typedef struct guarded {
    dev_t dev;
    ino_t ino;
    char *what;
} guarded;

struct of_guard {
    guarded *v;
    size_t n, cap;
};

enum of_kind { OF_FD, OF_DISCARD, OF_DEVICE, OF_FIFO, OF_FILE };

struct of_target {
    enum of_kind kind;
    char *path;      /* as given */
    char *final;     /* OF_FILE: symlinks followed */
    char *went;      /* OF_FILE after a diverted write: final + ".opprof" */
    int fd;          /* OF_FD, OF_DEVICE, OF_FIFO: ours, close-on-exec */
    int source_fd;   /* OF_FD: the number the path named */
    int exists;      /* dev/ino are known (OF_FILE: the target existed at plan time) */
    dev_t dev;       /* the target's, else (OF_FILE to be created) its folder's */
    ino_t ino;
    int written;
};

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int fail_errno(char *err, size_t errlen)
{
    return fail(err, errlen, strerror(errno ? errno : EIO));
}

char *of_absolute(const char *path, const char *cwd)
{
    if (strcmp(path, "-") == 0 || path[0] == '/')
        return strdup(path);
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", cwd, path);
    return s;
}

/* ---- guards ------------------------------------------------------------- */

of_guard *of_guard_new(void)
{
    return calloc(1, sizeof(of_guard));
}

void of_guard_release(of_guard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].what);
    free(g->v);
    free(g);
}

int of_guard_add(of_guard *g, const char *path, const char *what)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0 || S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))
        return 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->v[i].dev == sb.st_dev && g->v[i].ino == sb.st_ino)
            return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        guarded *v = realloc(g->v, cap * sizeof *v);
        if (!v)
            return -1;
        g->v = v;
        g->cap = cap;
    }
    char *w = strdup(what);
    if (!w)
        return -1;
    g->v[g->n++] = (guarded){sb.st_dev, sb.st_ino, w};
    return 0;
}

int of_guard_add_self(of_guard *g)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 0;   /* no /proc: nothing to compare with */
    self[n] = 0;
    return of_guard_add(g, self, "opprof's own program");
}

static const char *guarded_as(const of_guard *g, const struct stat *sb)
{
    for (size_t i = 0; g && i < g->n; i++)
        if (g->v[i].dev == sb->st_dev && g->v[i].ino == sb->st_ino)
            return g->v[i].what;
    return NULL;
}

/* ---- what a path names ---------------------------------------------------- */

/* The descriptor a path names without opening anything: "-" and
 * /dev/stdout are 1, /dev/stderr 2, /dev/fd/N and /proc/self/fd/N are N;
 * -1 for any other path. */
static int fd_named(const char *p)
{
    if (strcmp(p, "-") == 0 || strcmp(p, "/dev/stdout") == 0)
        return 1;
    if (strcmp(p, "/dev/stderr") == 0)
        return 2;
    if (strcmp(p, "/dev/stdin") == 0)
        return 0;
    char self[48];
    snprintf(self, sizeof self, "/proc/%ld/fd/", (long)getpid());
    const char *prefixes[] = {"/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/", self};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(p, prefixes[i], n) != 0 || !p[n])
            continue;
        long v = 0;
        for (p += n; *p; p++) {
            if (*p < '0' || *p > '9' || v > INT_MAX / 10)
                return -1;
            v = v * 10 + (*p - '0');
        }
        return (int)v;
    }
    return -1;
}

/* The target of symlink `p` as a path usable from here; caller frees. */
static char *link_target(const char *p)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    if (n < 0)
        return NULL;
    buf[n] = 0;
    const char *slash = strrchr(p, '/');
    if (buf[0] == '/' || !slash)
        return strdup(buf);
    size_t dirlen = (size_t)(slash - p) + 1, len = dirlen + (size_t)n + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%.*s%s", (int)dirlen, p, buf);
    return s;
}

/* A close-on-exec duplicate of `fd` from PARK_FD up (any number when the
 * limit is lower); -1 with errno set. */
static int dup_high(int fd)
{
    int high = fcntl(fd, F_DUPFD_CLOEXEC, PARK_FD);
    return high >= 0 ? high : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* Moves `fd` (ours) to a high, close-on-exec number; returns the new one. */
static int park(int fd)
{
    int high = dup_high(fd);
    int e = errno;
    close(fd);
    errno = e;
    return high;
}

static void identify(of_target *t)
{
    struct stat sb;
    if (t->fd >= 0 && fstat(t->fd, &sb) == 0) {
        t->exists = 1;
        t->dev = sb.st_dev;
        t->ino = sb.st_ino;
    }
}

static int plan_fd(of_target *t, int n, char *err, size_t errlen)
{
    int fl = fcntl(n, F_GETFL);
    if (fl < 0) {
        snprintf(err, errlen, "descriptor %d is not open", n);
        return -1;
    }
    if ((fl & O_ACCMODE) == O_RDONLY) {
        snprintf(err, errlen, "descriptor %d is not open for writing", n);
        return -1;
    }
    t->kind = OF_FD;
    t->source_fd = n;
    t->fd = dup_high(n);   /* the caller's stays theirs */
    return t->fd < 0 ? fail_errno(err, errlen) : 0;
}

static int plan_special(of_target *t, const struct stat *sb, char *err, size_t errlen)
{
    if (S_ISCHR(sb->st_mode) && sb->st_rdev == makedev(1, 3)) {
        t->kind = OF_DISCARD;
        return 0;
    }
    int fifo = S_ISFIFO(sb->st_mode);
    int fd = open(t->final, O_WRONLY | O_NOCTTY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0));
    if (fd < 0 && fifo && errno == ENXIO)
        return fail(err, errlen, "a FIFO with no reader (start the reader first)");
    if (fd < 0 || (t->fd = park(fd)) < 0)
        return fail_errno(err, errlen);
    t->kind = fifo ? OF_FIFO : OF_DEVICE;
    identify(t);
    return 0;
}

/* "<dir>/.<base>.tmp.<pid>" beside `path`; caller frees. */
static char *temp_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0, n = strlen(path) + 40;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%.*s.%s.tmp.%ld", (int)dirlen, path, path + dirlen, (long)getpid());
    return t;
}

/* Creates the temporary file beside `final`: a new file, never through a
 * symlink someone put at its name. */
static int open_temp(const char *tmp)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)   /* left by a killed run */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    return fd;
}

static int plan_file(of_target *t, char *err, size_t errlen)
{
    t->kind = OF_FILE;
    if (!t->exists) {   /* its folder, for of_same: "x.json" and "./x.json" */
        const char *slash = strrchr(t->final, '/');
        char *d = slash ? strndup(t->final, (size_t)(slash - t->final) + 1) : strdup(".");
        struct stat sb;
        if (d && stat(d, &sb) == 0) {
            t->dev = sb.st_dev;
            t->ino = sb.st_ino;
        }
        free(d);
    }
    char *tmp = temp_path(t->final);
    if (!tmp)
        return fail(err, errlen, "out of memory");
    int fd = open_temp(tmp);
    int e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    errno = e;
    return fd < 0 ? fail_errno(err, errlen) : 0;
}

int of_plan(const char *path, const of_guard *guard, of_target **out, char *err,
            size_t errlen)
{
    *out = NULL;
    of_target *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(path)) || !(t->final = strdup(path))) {
        of_release(t);
        return fail(err, errlen, "out of memory");
    }
    t->fd = -1;
    int rc = 0;
    for (int hops = 0;; hops++) {
        int n = fd_named(t->final);
        if (n >= 0) {
            rc = plan_fd(t, n, err, errlen);
            goto done;
        }
        struct stat lsb;
        if (lstat(t->final, &lsb) != 0 || !S_ISLNK(lsb.st_mode))
            break;
        char *next = hops < MAX_LINKS ? link_target(t->final) : NULL;
        if (!next) {
            if (hops >= MAX_LINKS)
                errno = ELOOP;
            rc = fail_errno(err, errlen);
            goto done;
        }
        free(t->final);
        t->final = next;
    }
    struct stat sb;
    if (stat(t->final, &sb) == 0) {
        const char *what = guarded_as(guard, &sb);
        if (what) {
            snprintf(err, errlen, "it is %s", what);
            rc = -1;
        } else if (S_ISDIR(sb.st_mode)) {
            errno = EISDIR;
            rc = fail_errno(err, errlen);
        } else if (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode)) {
            rc = plan_special(t, &sb, err, errlen);
        } else if (!S_ISREG(sb.st_mode)) {
            rc = fail(err, errlen, "not a regular file, FIFO or character device");
        } else {
            t->exists = 1;
            t->dev = sb.st_dev;
            t->ino = sb.st_ino;
            rc = plan_file(t, err, errlen);
        }
    } else if (errno != ENOENT) {
        rc = fail_errno(err, errlen);
    } else {
        rc = plan_file(t, err, errlen);
    }
done:
    if (rc < 0) {
        of_release(t);
        return -1;
    }
    *out = t;
    return 0;
}

void of_release(of_target *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->path);
    free(t->final);
    free(t->went);
    free(t);
}

int of_same(const of_target *t, const of_target *u)
{
    if (t->kind == OF_DISCARD || u->kind == OF_DISCARD)
        return 0;
    if (t->kind == OF_FD || u->kind == OF_FD)
        return t->kind == u->kind && t->source_fd == u->source_fd;
    if (t->exists || u->exists)
        return t->exists == u->exists && t->dev == u->dev && t->ino == u->ino;
    /* two files to be created: the same name in the same folder */
    const char *a = strrchr(t->final, '/'), *b = strrchr(u->final, '/');
    return t->dev == u->dev && t->ino == u->ino &&
           strcmp(a ? a + 1 : t->final, b ? b + 1 : u->final) == 0;
}

int of_is_file(const of_target *t) { return t->kind == OF_FILE; }
int of_discards(const of_target *t) { return t->kind == OF_DISCARD; }
int of_is_std(const of_target *t)
{
    return t->kind == OF_FD && (t->source_fd == 1 || t->source_fd == 2);
}
const char *of_path(const of_target *t) { return t->path; }
const char *of_written_to(const of_target *t) { return t->went ? t->went : t->path; }
int of_diverted(const of_target *t) { return t->went != NULL; }

/* ---- writing ---------------------------------------------------------- */

static int write_stream(of_target *t, of_write_fn fn, void *ctx, char *err, size_t errlen)
{
    if (t->kind == OF_FIFO) {   /* non-blocking was for the open only */
        int fl = fcntl(t->fd, F_GETFL);
        if (fl >= 0)
            fcntl(t->fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    FILE *f = fdopen(t->fd, "w");
    if (!f)
        return fail_errno(err, errlen);
    t->fd = -1;   /* f has it now */
    int rc = fn(ctx, f, err, errlen);
    errno = 0;
    if (fclose(f) != 0 && rc == 0)
        rc = fail_errno(err, errlen);
    return rc;
}

static int write_file(of_target *t, const of_guard *executed, of_write_fn fn, void *ctx,
                      char *err, size_t errlen)
{
    struct stat sb;
    const char *final = t->final;
    int exists = stat(final, &sb) == 0;
    if (exists && guarded_as(executed, &sb)) {
        size_t n = strlen(t->final) + sizeof ".opprof";
        if (!(t->went = malloc(n)))
            return fail(err, errlen, "out of memory");
        snprintf(t->went, n, "%s.opprof", t->final);
        final = t->went;
        exists = stat(final, &sb) == 0;
    }
    if (exists && !S_ISREG(sb.st_mode))
        return fail(err, errlen, S_ISDIR(sb.st_mode) ? strerror(EISDIR)
                                                     : "no longer a regular file");
    char *tmp = temp_path(final);
    if (!tmp)
        return fail(err, errlen, "out of memory");
    int fd = open_temp(tmp);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        int rc = fail_errno(err, errlen);
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return rc;
    }
    if (exists) {   /* the replacement keeps what the user gave the file */
        if (fchmod(fd, sb.st_mode & 07777) != 0 || (geteuid() == 0 &&
            fchown(fd, sb.st_uid, sb.st_gid) != 0)) {
            /* best effort: the content matters more than its mode */
        }
    }
    int rc = fn(ctx, f, err, errlen);
    errno = 0;
    if (rc == 0 && (fflush(f) != 0 || fsync(fd) != 0))
        rc = fail_errno(err, errlen);
    if (fclose(f) != 0 && rc == 0)
        rc = fail_errno(err, errlen);
    if (rc == 0 && rename(tmp, final) != 0)
        rc = fail_errno(err, errlen);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int of_write(of_target *t, const of_guard *executed, of_write_fn fn, void *ctx, char *err,
             size_t errlen)
{
    if (t->written)
        return fail(err, errlen, "written already");
    t->written = 1;
    switch (t->kind) {
    case OF_DISCARD:
        return 0;
    case OF_FILE:
        return write_file(t, executed, fn, ctx, err, errlen);
    default:
        return write_stream(t, fn, ctx, err, errlen);
    }
}

char *of_pid_path(const char *path, long pid)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    size_t stem = dot && dot != slash + 1 ? (size_t)(dot - path) : strlen(path);
    size_t n = strlen(path) + 32;
    char *child = malloc(n);
    if (child)
        snprintf(child, n, "%.*s.%ld%s", (int)stem, path, pid, path + stem);
    return child;
}
