/*
 * flame_save.c - writing a flame-graph format to a file atomically
 * (flame.h), as the profile itself is written: a reader never sees half a
 * graph, and a failed write leaves no file behind.
 */
#include "flame.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fl_write_error(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
}

int fl_save(const fl_format *f, const pf_profile *p, const fl_options *o, const char *path,
            char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0) {
        if (f->write(p, o, stdout, err, errlen) < 0)
            return -1;
        return fflush(stdout) != 0 ? fl_write_error(err, errlen) : 0;
    }
    /* beside the target, so that rename() is atomic; the same name
     * pf_json_check_writable() tries before a run */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0, n = strlen(path) + 40;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, n, "%.*s.%s.tmp.%ld", (int)dirlen, path, path + dirlen, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *out = fd < 0 ? NULL : fdopen(fd, "w");
    if (!out) {
        snprintf(err, errlen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        free(tmp);
        return -1;
    }
    int rc = f->write(p, o, out, err, errlen);
    if (fclose(out) != 0 && rc == 0)
        rc = fl_write_error(err, errlen);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = fl_write_error(err, errlen);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
