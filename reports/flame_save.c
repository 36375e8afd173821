/*
 * flame_save.c - the flame-graph formats (flame.h) and pprof's (pprof.h),
 * which draws the same call tree with both metrics: their table, the
 * options and metric they take, and writing one to a planned output
 * (outfile.h): atomically to a regular file, as the profile is.
 */
#include "flame.h"

#include <errno.h>
#include <string.h>

#include "pprof.h"

static const fl_format formats[] = {
    {"folded", fl_write_folded},
    {"speedscope", fl_write_speedscope},
    {"html", fl_write_html},
    {"pprof", pp_write},
};
const char fl_format_names[] = "folded, speedscope, html, pprof";

const fl_format *fl_format_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof formats / sizeof *formats; i++)
        if (strcmp(name, formats[i].name) == 0)
            return &formats[i];
    return NULL;
}

void fl_options_init(fl_options *o)
{
    memset(o, 0, sizeof *o);
    o->metric = FL_METRIC_AUTO;
}

int fl_metric_from_name(const char *name, fl_metric *m)
{
    if (strcmp(name, "instructions") == 0)
        *m = FL_METRIC_INSTRUCTIONS;
    else if (strcmp(name, "time") == 0)
        *m = FL_METRIC_TIME;
    else
        return -1;
    return 0;
}

const char *fl_metric_name(fl_metric m)
{
    return m == FL_METRIC_TIME ? "time" : m == FL_METRIC_INSTRUCTIONS ? "instructions" : "auto";
}

int fl_metric_for(const pf_profile *p, fl_metric asked, fl_metric *out, char *err,
                  size_t errlen)
{
    if (asked == FL_METRIC_AUTO)   /* a run too short for a sample still has counts */
        asked = p->timed && (p->time_ns || !p->counted) ? FL_METRIC_TIME
                : p->counted ? FL_METRIC_INSTRUCTIONS : FL_METRIC_TIME;
    if (asked == FL_METRIC_INSTRUCTIONS && !p->counted) {
        snprintf(err, errlen, "--metric instructions: the profile has no instruction counts "
                 "(made with --time-only); use --metric time");
        return -1;
    }
    if (asked == FL_METRIC_TIME && !p->timed) {
        snprintf(err, errlen, "--metric time: the profile has no times (made with --no-time); "
                 "use --metric instructions");
        return -1;
    }
    *out = asked;
    return 0;
}

const char *fl_note(const pf_profile *p, const fl_options *o)
{
    fl_metric m;
    char err[256];
    if (fl_metric_for(p, o->metric, &m, err, sizeof err) == 0 &&
        (m == FL_METRIC_TIME ? p->time_ns : p->instructions) == 0)
        return m == FL_METRIC_TIME ? "nothing to draw: no CPU-time sample was credited to an "
                                     "instruction (a run too short to sample?)"
                                   : "nothing to draw: no instruction was counted";
    if (!p->stacks_enabled)
        return "the profile has no call stacks (--no-stacks): each function is a root "
               "frame with its self weight";
    return NULL;
}


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
