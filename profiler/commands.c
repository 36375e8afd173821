/*
 * commands.c - diff and merge.
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

int cmd_report(int argc, char **argv)
{
    cli_show o;
    char err[512];
    if (cli_parse_show(argc, argv, &o, 1, err, sizeof err) < 0)
        return usage_error(err);
    if (o.help) {
        fputs(cli_report_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    pf_profile *p = NULL;
    if (pf_read_file(o.profile, &p, err, sizeof err) < 0)
        return usage_error(err);
    rt_options ro;
    rt_options_init(&ro);
    rt_options_for_terminal(&ro, 1);
    if (o.top)
        ro.top = o.top;
    if (o.width)
        ro.width = o.width;
    ro.sort_by_count = o.sort_by_count;
    ro.profile_name = o.profile;
    int rc = rt_render(p, &ro, stdout) < 0 || fflush(stdout) != 0
                 ? usage_error("cannot write the report") : OPPROF_EXIT_OK;
    pf_profile_release(p);
    return rc;
}
