/*
 * commands.c - diff, merge, report and annotate.
 */
#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/annotate.h"
#include "../reports/findings.h"
#include "../reports/diff.h"
#include "../reports/diff_render.h"
#include "../reports/explorer.h"
#include "../reports/model/merge.h"
#include "../reports/outfile.h"
#include "../reports/model/profile_json.h"
#include "../reports/model/profile_read.h"
#include "../reports/model/sourcetext.h"
#include "../reports/report_text.h"
#include "exitcode.h"

static int usage_error(const char *msg)
{
    cmd_say("%s", msg);
    return OPPROF_EXIT_BAD_INPUT;
}

int cmd_check_format(const char *format, char *err, size_t errlen)
{
    if (df_renderer(format))
        return 0;
    snprintf(err, errlen, "unknown format '%s' (one of: %s)", format, df_formats);
    return -1;
}

int cmd_compare(const pf_profile *base, const pf_profile *new_, const char *base_name,
                const char *new_name, const cli_gate *g, FILE *out, char *err, size_t errlen)
{
    df_render_fn render = df_renderer(g->format);
    df_result *r;
    if (!render) {
        cmd_check_format(g->format, err, errlen);
        return -1;
    }
    if (df_compare(base, new_, base_name, new_name, &g->opts, &r, err, errlen) < 0)
        return -1;
    if (g->opts.metric == DF_TIME)
        fprintf(stderr, "opprof: warning: time varies from run to run; instructions are exact\n");
    int verdict = (int)r->verdict;
    if (render(r, out) < 0 || fflush(out) != 0) {
        snprintf(err, errlen, "cannot write the report: %s", strerror(errno));
        verdict = -1;
    }
    df_result_release(r);
    return verdict;
}

/* Plans a read-only command's output, refusing its inputs and opprof's own
 * program; a refusal is one line.  0, or -1. */
static int plan_output(const char *path, const char *const *inputs, size_t ninputs,
                       of_target **t)
{
    char err[512];
    of_guard *g = of_guard_new();
    int bad = !g || of_guard_add_self(g) < 0;
    for (size_t i = 0; !bad && i < ninputs; i++)
        bad = of_guard_add(g, inputs[i], "an input of this command") < 0;
    int rc = bad ? -1 : of_plan(path, g, t, err, sizeof err);
    of_guard_release(g);
    if (bad)
        usage_error("out of memory");
    else if (rc < 0)
        cmd_say("cannot write %s: %s", path, err);
    return rc;
}

typedef struct compare_ctx {
    pf_profile *base, *new_;
    const cli_diff *o;
    int verdict;
    char err[512];
} compare_ctx;

static int write_compare(void *ctx, FILE *out, char *err, size_t errlen)
{
    compare_ctx *c = ctx;
    c->verdict = cmd_compare(c->base, c->new_, c->o->base, c->o->new_, &c->o->gate, out, c->err,
                             sizeof c->err);
    if (c->verdict >= 0)
        return 0;
    snprintf(err, errlen, "%s", c->err);
    return -1;
}

int cmd_diff(int argc, char **argv)
{
    cli_diff o;
    char err[512];
    if (cli_parse_diff(argc, argv, &o, err, sizeof err) < 0)
        return usage_error(err);
    if (o.help) {
        fputs(cli_diff_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    if (cmd_check_format(o.gate.format, err, sizeof err) < 0)
        return usage_error(err);
    const char *inputs[] = {o.base, o.new_};
    of_target *t = NULL;
    if (plan_output(o.output ? o.output : "-", inputs, 2, &t) < 0)
        return OPPROF_EXIT_BAD_INPUT;
    compare_ctx c = {NULL, NULL, &o, -1, ""};
    int rc = OPPROF_EXIT_BAD_INPUT;
    /* per-instruction counts are what diff compares: no code, no node opcodes */
    if (pf_read_file_keep(o.base, 0, &c.base, err, sizeof err) < 0 ||
        pf_read_file_keep(o.new_, 0, &c.new_, err, sizeof err) < 0) {
        usage_error(err);
        goto done;
    }
    if (of_write(t, NULL, write_compare, &c, err, sizeof err) < 0 || c.verdict < 0)
        usage_error(c.verdict < 0 && c.err[0] ? c.err : err);
    else
        rc = c.verdict == DF_REGRESSION ? OPPROF_EXIT_REGRESSION : OPPROF_EXIT_OK;
done:
    of_release(t);
    pf_profile_release(c.base);
    pf_profile_release(c.new_);
    return rc;
}

int cmd_merge(int argc, char **argv)
{
    cli_merge o;
    char err[512];
    if (cli_parse_merge(argc, argv, &o, err, sizeof err) < 0) {
        free(o.inputs);
        return usage_error(err);
    }
    if (o.help) {
        free(o.inputs);
        fputs(cli_merge_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    int rc = OPPROF_EXIT_BAD_INPUT;
    of_target *t = NULL;
    /* the inputs are not protected: merge -o all.json all.json new.json
     * accumulates, and reads every input before it writes */
    if (plan_output(o.output, NULL, 0, &t) < 0) {
        free(o.inputs);
        return rc;
    }
    /* one input at a time, each added as it is read: memory for the sum */
    pf_profile *out = NULL;
    pf_merger *m = pf_merger_new();
    if (!m) {
        usage_error("out of memory");
        goto done;
    }
    for (int i = 0; i < o.ninputs; i++)
        if (pf_merger_read(m, o.inputs[i], err, sizeof err) < 0) {
            usage_error(err);
            goto done;
        }
    if (pf_merger_finish(m, &out, err, sizeof err) < 0) {
        usage_error(err);
        goto done;
    }
    if (of_write(t, NULL, pf_json_wants_gz(o.output) ? pf_json_write_gz_to : pf_json_write_to,
                 out, err, sizeof err) < 0) {
        cmd_say("cannot write %s: %s", o.output, err);
        goto done;
    }
    rc = OPPROF_EXIT_OK;
done:
    of_release(t);
    pf_merger_release(m);
    pf_profile_release(out);
    free(o.inputs);
    return rc;
}

int cmd_annotate(int argc, char **argv)
{
    cli_show o;
    char err[512];
    if (cli_parse_show(argc, argv, &o, 2, err, sizeof err) < 0)
        return usage_error(err);
    if (o.help) {
        fputs(cli_annotate_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    pf_profile *p = NULL;
    size_t top = o.top ? (size_t)o.top : 3;
    if (an_read(o.profile, o.function, top, PF_KEEP_SOURCES, &p, err, sizeof err) < 0)
        return usage_error(err);
    int rc = OPPROF_EXIT_OK;
    size_t *idx = calloc(p->nfunctions + 1, sizeof *idx);
    size_t n = idx ? an_find(p, o.function, top, idx) : 0;
    if (!idx) {
        rc = usage_error("out of memory");
    } else if (n == 0) {
        snprintf(err, sizeof err, "no function %s in %s", o.function ? o.function : "at all",
                 o.profile);
        rc = usage_error(err);
    }
    for (size_t i = 0; rc == OPPROF_EXIT_OK && i < n; i++) {
        if (i)
            fputc('\n', stdout);
        if (an_render(p, &p->functions[idx[i]], o.explain, stdout) < 0)
            rc = usage_error("cannot write the listing");
    }
    free(idx);
    pf_profile_release(p);
    return rc;
}

static const char *flame_label(const char *format)
{
    return strcmp(format, "folded") == 0       ? "folded stacks"
           : strcmp(format, "speedscope") == 0 ? "speedscope file"
           : strcmp(format, "pprof") == 0      ? "pprof profile" : "HTML report";
}

void cmd_say_diverted(const of_target *t, const char *what)
{
    cmd_say("%s is a file the run executed: not overwritten, the %s is in %s", of_path(t), what,
            of_written_to(t));
}

int cmd_write_flame(const pf_profile *p, const char *format, of_target *t,
                    const of_guard *executed, const fl_options *o, int quiet)
{
    char err[512];
    const fl_format *f = fl_format_find(format);
    fl_metric m;
    if (!f || fl_metric_for(p, o->metric, &m, err, sizeof err) < 0) {
        fprintf(stderr, "opprof: cannot write the %s: %s\n", f ? flame_label(format) : format,
                f ? err : "no such format");
        return -1;
    }
    const char *note = fl_note(p, o);
    const char *shown = strcmp(of_path(t), "-") == 0 ? "standard output" : of_path(t);
    if (note)
        fprintf(stderr, "opprof: note: %s: %s\n", shown, note);
    if (fl_save(f, p, o, t, executed, err, sizeof err) < 0) {
        fprintf(stderr, "opprof: cannot write the %s to %s: %s\n", flame_label(format), shown,
                err);
        return -1;
    }
    if (of_diverted(t)) {
        cmd_say_diverted(t, flame_label(format));
        return -1;
    }
    if (!quiet && of_is_file(t) && strcmp(format, "pprof") == 0)
        /* both metrics are there: the default is what a viewer shows first */
        fprintf(stderr, "opprof: %s written to %s (sample types: %s%s%s)\n", flame_label(format),
                shown, p->counted ? "instructions" : "", p->counted && p->timed ? ", " : "",
                p->timed ? "cpu" : "");
    else if (!quiet && of_is_file(t))
        fprintf(stderr, "opprof: %s written to %s (weights: %s)\n", flame_label(format), shown,
                m == FL_METRIC_TIME ? "ns of CPU time" : "instructions");
    return 0;
}

const char *const cmd_flame_format[CMD_NFLAME] = {"folded", "speedscope", "html", "pprof"};

int cmd_write_report(void *job, FILE *out, char *err, size_t errlen)
{
    const cmd_report_job *j = job;
    rt_options ro = j->ro;
    rt_options_for_terminal(&ro, fileno(out));
    if (j->width)
        ro.width = j->width;
    if (rt_render(j->p, &ro, out) == 0 && fflush(out) == 0)
        return 0;
    snprintf(err, errlen, "cannot write the report: %s", strerror(errno ? errno : EIO));
    return -1;
}

void cmd_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cmd_vsay(fmt, ap);
    va_end(ap);
}

void cmd_vsay(const char *fmt, va_list ap)
{
    fputs("opprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cmd_report(int argc, char **argv)
{
    cli_show o;
    char err[512];
    if (cli_parse_report(argc, argv, &o, err, sizeof err) < 0)
        return usage_error(err);
    if (o.help) {
        fputs(cli_report_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    int text = strcmp(o.format, "text") == 0;
    /* the profile itself, in v2 (plain or .gz by name) or v1's layout */
    int json = strcmp(o.format, "json") == 0 ? 2 : strcmp(o.format, "json-v1") == 0 ? 1 : 0;
    if (!text && !json && !fl_format_find(o.format)) {
        snprintf(err, sizeof err, "unknown format '%s' (one of: text, json, json-v1, %s)",
                 o.format, fl_format_names);
        return usage_error(err);
    }
    /* before reading: a refused output costs no work */
    of_target *t = NULL;
    const char *inputs[] = {o.profile};
    if (plan_output(o.output ? o.output : "-", inputs, 1, &t) < 0)
        return OPPROF_EXIT_BAD_INPUT;
    pf_profile *p = NULL;
    /* pprof: a call's line is looked up in its function's code */
    unsigned keep = json || strcmp(o.format, "pprof") == 0 ? PF_KEEP_ALL
                    : text ? 0 : o.opcodes ? PF_KEEP_NODE_OPS : PF_KEEP_NODES;
    /* the text report's findings (in the HTML page too) look at the code
     * of the heaviest functions; the page's explorer at every function's,
     * which it takes as they are read, and at the source text */
    int html = strcmp(o.format, "html") == 0;
    fl_options fo;
    fl_options_init(&fo);
    if (html && !(fo.explorer = hx_new())) {
        of_release(t);
        return usage_error("out of memory");
    }
    pf_read_hooks explore = {.function = hx_read_hook, .ctx = fo.explorer};
    if (html)
        keep |= PF_KEEP_SOURCES;
    if (text || html ? an_read_hooked(o.profile, NULL, FD_TOP, keep | AN_KEEP_COUNTS,
                                      html ? &explore : NULL, &p, err, sizeof err) < 0
                     : pf_read_file_keep(o.profile, keep, &p, err, sizeof err) < 0) {
        hx_release(fo.explorer);
        of_release(t);
        return usage_error(err);
    }
    if (html && hx_finish(fo.explorer, p) < 0) {
        hx_release(fo.explorer);
        pf_profile_release(p);
        of_release(t);
        return usage_error("the HTML explorer: out of memory, or its temporary file failed");
    }
    if (html)
        stx_drop(p);   /* in the explorer's chunks now */
    fo.opcodes = o.opcodes;
    fl_metric m;
    int rc = OPPROF_EXIT_OK;
    cmd_report_job job = {p, {0}, o.width};
    rt_options_init(&job.ro);
    if (o.top)
        job.ro.top = o.top;
    job.ro.sort_by_count = o.sort_by_count;
    job.ro.legend = !o.no_legend;
    job.ro.profile_name = o.profile;
    if (text) {
        if (of_write(t, NULL, cmd_write_report, &job, err, sizeof err) < 0)
            rc = usage_error(err);
    } else if (json) {
        of_write_fn fn = json == 1 ? pf_json_write_v1_to
                         : pf_json_wants_gz(o.output) ? pf_json_write_gz_to : pf_json_write_to;
        if (of_write(t, NULL, fn, p, err, sizeof err) < 0) {
            cmd_say("cannot write %s: %s", o.output ? o.output : "-", err);
            rc = OPPROF_EXIT_BAD_INPUT;
        }
    } else if (o.metric && fl_metric_from_name(o.metric, &fo.metric) == 0 &&
             fl_metric_for(p, fo.metric, &m, err, sizeof err) < 0)
        rc = usage_error(err);   /* the profile lacks it: one line, before any output */
    else if (cmd_write_flame(p, o.format, t, NULL, &fo, 0) < 0)
        rc = OPPROF_EXIT_BAD_INPUT;
    of_release(t);
    hx_release(fo.explorer);
    pf_profile_release(p);
    return rc;
}
