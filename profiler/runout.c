/*
 * runout.c - planning and writing the outputs of `opprof run` (runout.h).
 */
#include "runout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../reports/outfile.h"
#include "../reports/model/profile_json.h"
#include "commands.h"

enum { OUT_PROFILE, OUT_REPORT, OUT_FLAME, NOUT = OUT_FLAME + CMD_NFLAME };

static const char *const option_name[NOUT] = {"-o", "--report", "--folded", "--speedscope",
                                              "--html", "--pprof"};

struct ro_outputs {
    of_target *t[NOUT];   /* NULL: not asked (the report then goes to stderr) */
    int dropped[NOUT];    /* a forked child's share of a parent's stream */
    of_guard *executed;
};

/* One guard for what must never be replaced, whatever name it is given. */
static of_guard *protected_files(const char *script, const char *libpython)
{
    of_guard *g = of_guard_new();
    if (g && ((script && of_guard_add(g, script, "the script being profiled") < 0) ||
              of_guard_add_self(g) < 0 ||
              (libpython && of_guard_add(g, libpython, "the Python library opprof runs") < 0))) {
        of_guard_release(g);
        g = NULL;
    }
    return g;
}

int ro_plan(const cli_run *o, const char *cwd, const char *script, const char *libpython,
            ro_outputs **out)
{
    *out = NULL;
    const char *paths[NOUT] = {o->output, o->report, o->folded, o->speedscope, o->html,
                               o->pprof};
    ro_outputs *r = calloc(1, sizeof *r);
    of_guard *g = protected_files(script, libpython);
    if (!r || !g || !(r->executed = of_guard_new())) {
        cmd_say("out of memory");
        goto fail;
    }
    for (int i = 0; i < NOUT; i++) {
        if (!paths[i])
            continue;
        char err[256], *abs = of_absolute(paths[i], cwd);
        int rc = abs ? of_plan(abs, g, &r->t[i], err, sizeof err) : -1;
        if (!abs)
            snprintf(err, sizeof err, "out of memory");
        if (rc < 0)
            cmd_say("cannot write %s: %s", abs ? abs : paths[i], err);
        free(abs);
        if (rc < 0)
            goto fail;
        for (int j = 0; j < i; j++) {
            if (r->t[j] && of_same(r->t[j], r->t[i])) {
                cmd_say("%s and %s name the same file: give each output its own",
                    option_name[j], option_name[i]);
                goto fail;
            }
        }
    }
    of_guard_release(g);
    *out = r;
    return 0;
fail:
    of_guard_release(g);
    ro_release(r);
    return -1;
}

void ro_release(ro_outputs *r)
{
    if (!r)
        return;
    for (int i = 0; i < NOUT; i++)
        of_release(r->t[i]);
    of_guard_release(r->executed);
    free(r);
}

void ro_after_fork(ro_outputs *r)
{
    for (int i = 0; i < NOUT; i++) {
        if (!r->t[i])
            continue;
        char err[256];
        char *child = of_is_file(r->t[i]) ? of_pid_path(of_path(r->t[i]), (long)getpid()) : NULL;
        of_target *t = NULL;
        if (child && of_plan(child, NULL, &t, err, sizeof err) < 0)
            cmd_say("cannot write %s: %s", child, err);
        free(child);
        of_release(r->t[i]);
        r->t[i] = t;
        r->dropped[i] = !t;
    }
}

int ro_note_executed(ro_outputs *r, const char *path)
{
    return of_guard_add(r->executed, path, "a file the run executed");
}

const char *ro_profile_name(const ro_outputs *r)
{
    const of_target *t = r->t[OUT_PROFILE];
    return t && of_is_file(t) ? of_path(t) : NULL;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ro_result ro_write(ro_outputs *r, pf_profile *p, const cli_run *o, uint64_t end_ns)
{
    /* every file code was counted in, whether imported or exec'd */
    for (size_t i = 0; i < p->nfunctions; i++) {
        const char *f = p->functions[i].file, *prev = i ? p->functions[i - 1].file : NULL;
        if (f && f[0] == '/' && !(prev && strcmp(f, prev) == 0) && ro_note_executed(r, f) < 0)
            break;
    }
    char err[512];
    ro_result res = RO_OK;
    cmd_report_job job = {p, {0}, 0};
    rt_options_init(&job.ro);
    if (o->gate.opts.top)
        job.ro.top = o->gate.opts.top;
    job.ro.sort_by_count = o->sort_by_count;
    job.ro.legend = !o->no_legend;
    job.ro.profile_name = ro_profile_name(r);
    of_target *rep = r->t[OUT_REPORT];
    if (rep) {
        if (of_write(rep, r->executed, cmd_write_report, &job, err, sizeof err) < 0) {
            cmd_say("cannot write the report to %s: %s", of_path(rep), err);
            res = RO_OTHER_FAILED;
        } else if (of_diverted(rep)) {
            cmd_say_diverted(rep, "report");
            res = RO_OTHER_FAILED;
        }
    } else if (!o->quiet && !r->dropped[OUT_REPORT] &&
               cmd_write_report(&job, stderr, err, sizeof err) < 0) {
        cmd_say("%s", err);
    }
    fflush(stdout);
    fl_options fo;
    fl_options_init(&fo);
    if (o->metric_set)
        fo.metric = o->gate.opts.metric == DF_TIME ? FL_METRIC_TIME : FL_METRIC_INSTRUCTIONS;
    fo.opcodes = o->opcodes;
    for (int i = 0; i < CMD_NFLAME; i++) {
        of_target *t = r->t[OUT_FLAME + i];
        if (t && cmd_write_flame(p, cmd_flame_format[i], t, r->executed, &fo, o->quiet) < 0 &&
            res == RO_OK)
            res = RO_OTHER_FAILED;
    }
    /* last, so that the profile's exit_ns holds the rest of the end-of-run
     * work: the snapshot, the report and the flame graphs */
    of_target *prof = r->t[OUT_PROFILE];
    p->exit_ns = end_ns ? monotonic_ns() - end_ns : 0;
    of_write_fn writer = prof && pf_json_wants_gz(of_path(prof)) ? pf_json_write_gz_to
                                                                 : pf_json_write_to;
    if (prof) {
        if (of_write(prof, r->executed, writer, (void *)p, err, sizeof err) < 0) {
            cmd_say("cannot write profile to %s: %s", of_path(prof), err);
            res = RO_PROFILE_FAILED;
        } else if (of_diverted(prof)) {
            cmd_say_diverted(prof, "profile");
            res = RO_PROFILE_FAILED;
        } else if (!o->quiet && of_is_file(prof)) {
            cmd_say("profile written to %s", of_path(prof));
        }
    }
    if (!prof)
        return RO_NO_PROFILE;
    return res;
}
