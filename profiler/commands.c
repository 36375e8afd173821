/*
 * commands.c - diff, merge, report and annotate.
 */
#include "commands.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/annotate.h"
#include "../reports/diff.h"
#include "../reports/diff_render.h"
#include "../reports/merge.h"
#include "../reports/profile_json.h"
#include "../reports/profile_read.h"
#include "../reports/report_text.h"
#include "exitcode.h"

static int usage_error(const char *msg)
{
    fprintf(stderr, "opprof: %s\n", msg);
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
    pf_profile *base = NULL, *new_ = NULL;
    int rc = OPPROF_EXIT_BAD_INPUT;
    if (pf_read_file(o.base, &base, err, sizeof err) < 0 ||
        pf_read_file(o.new_, &new_, err, sizeof err) < 0) {
        usage_error(err);
        goto done;
    }
    int verdict = cmd_compare(base, new_, o.base, o.new_, &o.gate, stdout, err, sizeof err);
    if (verdict < 0)
        usage_error(err);
    else
        rc = verdict == DF_REGRESSION ? OPPROF_EXIT_REGRESSION : OPPROF_EXIT_OK;
done:
    pf_profile_release(base);
    pf_profile_release(new_);
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
    pf_profile **in = calloc((size_t)o.ninputs, sizeof *in), *out = NULL;
    if (!in) {
        usage_error("out of memory");
        goto done;
    }
    for (int i = 0; i < o.ninputs; i++) {
        if (pf_read_file(o.inputs[i], &in[i], err, sizeof err) < 0) {
            usage_error(err);
            goto done;
        }
    }
    if (pf_merge(in, (size_t)o.ninputs, &out, err, sizeof err) < 0) {
        usage_error(err);
        goto done;
    }
    if (pf_json_save(out, o.output) < 0) {
        fprintf(stderr, "opprof: cannot write %s: %s\n", o.output, strerror(errno));
        goto done;
    }
    rc = OPPROF_EXIT_OK;
done:
    for (int i = 0; in && i < o.ninputs; i++)
        pf_profile_release(in[i]);
    free(in);
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
    if (pf_read_file(o.profile, &p, err, sizeof err) < 0)
        return usage_error(err);
    int rc = OPPROF_EXIT_OK;
    size_t *idx = calloc(p->nfunctions + 1, sizeof *idx);
    size_t n = idx ? an_find(p, o.function, o.top ? o.top : 3, idx) : 0;
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
        if (an_render(p, &p->functions[idx[i]], stdout) < 0)
            rc = usage_error("cannot write the listing");
    }
    free(idx);
    pf_profile_release(p);
    return rc;
}

static const char *flame_label(const char *format)
{
    return strcmp(format, "folded") == 0     ? "folded stacks"
           : strcmp(format, "speedscope") == 0 ? "speedscope file" : "HTML report";
}

int cmd_write_flame(const pf_profile *p, const char *format, const char *path,
                    const fl_options *o, int quiet)
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
    const char *shown = strcmp(path, "-") == 0 ? "standard output" : path;
    if (note)
        fprintf(stderr, "opprof: note: %s: %s\n", shown, note);
    if (fl_save(f, p, o, path, err, sizeof err) < 0) {
        fprintf(stderr, "opprof: cannot write the %s to %s: %s\n", flame_label(format), shown,
                err);
        return -1;
    }
    if (!quiet && strcmp(path, "-") != 0)
        fprintf(stderr, "opprof: %s written to %s (weights: %s)\n", flame_label(format), path,
                m == FL_METRIC_TIME ? "ns of CPU time" : "instructions");
    return 0;
}

void cmd_run_report(const pf_profile *p, const cli_run *o, const char *profile_name)
{
    if (o->quiet && !o->report)
        return;
    FILE *out = o->report ? fopen(o->report, "w") : stderr;
    if (!out) {
        fprintf(stderr, "opprof: cannot write the report to %s: %s\n", o->report,
                strerror(errno));
        return;
    }
    rt_options ro;
    rt_options_init(&ro);
    rt_options_for_terminal(&ro, fileno(out));
    ro.sort_by_count = o->sort_by_count;
    if (o->gate.opts.top)
        ro.top = o->gate.opts.top;
    ro.profile_name = profile_name;
    if (rt_render(p, &ro, out) < 0 || (o->report && fclose(out) != 0))
        fprintf(stderr, "opprof: cannot write the report: %s\n", strerror(errno));
}

const char *const cmd_flame_format[CMD_NFLAME] = {"folded", "speedscope", "html"};

int cmd_run_flames(const pf_profile *p, const cli_run *o, char *const paths[CMD_NFLAME])
{
    fl_options fo;
    fl_options_init(&fo);
    if (o->metric_set)
        fo.metric = o->gate.opts.metric == DF_TIME ? FL_METRIC_TIME : FL_METRIC_INSTRUCTIONS;
    fo.opcodes = o->opcodes;
    int rc = 0;
    for (int i = 0; i < CMD_NFLAME; i++)
        if (paths[i] && cmd_write_flame(p, cmd_flame_format[i], paths[i], &fo, o->quiet) < 0)
            rc = -1;
    return rc;
}

static int report_text(const pf_profile *p, const cli_show *o)
{
    FILE *out = o->output && strcmp(o->output, "-") ? fopen(o->output, "w") : stdout;
    if (!out) {
        fprintf(stderr, "opprof: cannot write the report to %s: %s\n", o->output,
                strerror(errno));
        return OPPROF_EXIT_BAD_INPUT;
    }
    rt_options ro;
    rt_options_init(&ro);
    rt_options_for_terminal(&ro, fileno(out));
    if (o->top)
        ro.top = o->top;
    if (o->width)
        ro.width = o->width;
    ro.sort_by_count = o->sort_by_count;
    ro.profile_name = o->profile;
    int bad = rt_render(p, &ro, out) < 0 || fflush(out) != 0;
    if (out != stdout)
        bad |= fclose(out) != 0;
    return bad ? usage_error("cannot write the report") : OPPROF_EXIT_OK;
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
    if (!text && !fl_format_find(o.format)) {
        snprintf(err, sizeof err, "unknown format '%s' (one of: text, %s)", o.format,
                 fl_format_names);
        return usage_error(err);
    }
    pf_profile *p = NULL;
    if (pf_read_file(o.profile, &p, err, sizeof err) < 0)
        return usage_error(err);
    fl_options fo;
    fl_options_init(&fo);
    fo.opcodes = o.opcodes;
    fl_metric m;
    int rc = OPPROF_EXIT_OK;
    if (text)
        rc = report_text(p, &o);
    else if (o.metric && fl_metric_from_name(o.metric, &fo.metric) == 0 &&
             fl_metric_for(p, fo.metric, &m, err, sizeof err) < 0)
        rc = usage_error(err);   /* the profile lacks it: one line, before any output */
    else if (cmd_write_flame(p, o.format, o.output ? o.output : "-", &fo, 0) < 0)
        rc = OPPROF_EXIT_BAD_INPUT;
    pf_profile_release(p);
    return rc;
}
