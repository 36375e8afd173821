/*
 * flame_save.c - writing a flame-graph format to a planned output
 * (flame.h, outfile.h): atomically to a regular file, as the profile is.
 */
#include "flame.h"

#include <errno.h>
#include <string.h>

int fl_write_error(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
}

typedef struct save_ctx {
    const fl_format *f;
    const pf_profile *p;
    const fl_options *o;
} save_ctx;

static int write_format(void *ctx, FILE *out, char *err, size_t errlen)
{
    const save_ctx *c = ctx;
    if (c->f->write(c->p, c->o, out, err, errlen) < 0)
        return -1;
    return fflush(out) != 0 ? fl_write_error(err, errlen) : 0;
}

int fl_save(const fl_format *f, const pf_profile *p, const fl_options *o, of_target *t,
            const of_guard *executed, char *err, size_t errlen)
{
    save_ctx c = {f, p, o};
    return of_write(t, executed, write_format, &c, err, errlen);
}
