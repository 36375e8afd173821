/*
 * diff_text.c - the `text` (terminal) and `github` formats of `opprof diff`,
 * the table of formats, and the helpers all renderers share.
 */
#include "diff_render.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table of formats -------------------------------------------- */

static const struct {
    const char *name;
    df_render_fn fn;
} renderers[] = {
    {"text", df_render_text},
    {"markdown", df_render_markdown},
    {"json", df_render_json},
    {"junit", df_render_junit},
    {"github", df_render_github},
};

const char df_formats[] = "text, markdown, json, junit, github";

df_render_fn df_renderer(const char *format)
{
    for (size_t i = 0; i < sizeof renderers / sizeof renderers[0]; i++)
        if (strcmp(renderers[i].name, format) == 0)
            return renderers[i].fn;
    return NULL;
}

/* ---- shared helpers ---------------------------------------------------- */

/* Our own names, not diff.c's df_status_name(): these strings are part of
 * the output formats, and the renderers build without diff.c. */
const char *df_status_label(df_status s)
{
    static const char *const names[] = {"same", "changed", "added", "removed"};
    return (unsigned)s < 4 ? names[s] : "?";
}

const char *df_verdict_label(df_verdict v)
{
    static const char *const names[] = {"ok", "warning", "regression"};
    return (unsigned)v < 3 ? names[v] : "?";
}

const char *df_metric_label(const df_result *r)
{
    return r->opts.metric == DF_TIME ? "time (ns)" : "instructions";
}

const char *df_unit(const df_result *r)
{
    return r->opts.metric == DF_TIME ? "ns" : "instructions";
}

size_t df_top(const df_result *r)
{
    return r->opts.top ? r->opts.top : 20;
}

int df_in_full(const df_function *f, size_t top, size_t *rank)
{
    if (f->status == DF_SAME)
        return 0;
    return (*rank)++ < top || f->over_limit;
}

const char *df_fmt_count(char *buf, int64_t v, int sign)
{
    /* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, m);
    char *p = buf;
    if (v < 0)
        *p++ = '-';
    else if (sign && v > 0)
        *p++ = '+';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *p++ = ',';
        *p++ = digits[i];
    }
    *p = '\0';
    return buf;
}

const char *df_fmt_pct(char *buf, double pct, int64_t delta)
{
    if (!isfinite(pct))
        return strcpy(buf, pct > 0 ? "new" : "n/a");
    if (delta == 0)
        return strcpy(buf, "0.0%");
    snprintf(buf, DF_NUM_LEN, "%+.1f%%", pct);
    return buf;
}

const char *df_fmt_limit(char *buf, double limit)
{
    snprintf(buf, DF_NUM_LEN, "%.1f%%", limit);
    if (strtod(buf, NULL) != limit)
        snprintf(buf, DF_NUM_LEN, "%g%%", limit);
    return buf;
}

const char *df_fmt_counts(char *buf, size_t n, const df_result *r)
{
    snprintf(buf, n, "%zu regression%s, %zu improvement%s, %zu added, %zu removed",
             r->regressions, r->regressions == 1 ? "" : "s", r->improvements,
             r->improvements == 1 ? "" : "s", r->added, r->removed);
    return buf;
}

void df_put_function_change(FILE *out, const df_result *r, const df_function *f,
                            df_put_fn put)
{
    char d[DF_NUM_LEN], p[DF_NUM_LEN], l[DF_NUM_LEN], buf[3 * DF_NUM_LEN + 32];
    int64_t delta = f->after - f->before;
    put(out, f->qualname);
    snprintf(buf, sizeof buf, ": %s %s (%s", df_fmt_count(d, delta, 1), df_unit(r),
             df_fmt_pct(p, f->pct, delta));
    put(out, buf);
    if (r->opts.function_threshold >= 0) {
        snprintf(buf, sizeof buf, ", limit %s", df_fmt_limit(l, r->opts.function_threshold));
        put(out, buf);
    }
    put(out, ")");
}

void df_put_total_change(FILE *out, const df_result *r, df_put_fn put)
{
    char p[DF_NUM_LEN], l[DF_NUM_LEN], buf[2 * DF_NUM_LEN + 48];
    int n = snprintf(buf, sizeof buf, "total %s %s", df_metric_label(r),
                     df_fmt_pct(p, r->total_pct, r->total_after - r->total_before));
    if (r->opts.threshold >= 0)
        snprintf(buf + n, sizeof buf - (size_t)n, " (limit %s)",
                 df_fmt_limit(l, r->opts.threshold));
    put(out, buf);
}

int df_finish(FILE *out)
{
    return fflush(out) != 0 || ferror(out) ? -1 : 0;
}

/* ---- text ---------------------------------------------------------------- */

/* Names come from file systems and code: bytes a terminal would act on
 * are shown as '?'. */
static void put_plain(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

enum { C_DELTA, C_PCT, C_BEFORE, C_AFTER, NCOLS };
static const char *const col_names[NCOLS] = {"delta", "%", "before", "after"};

static void row_cells(const df_function *f, char cell[NCOLS][DF_NUM_LEN])
{
    int64_t delta = f->after - f->before;
    df_fmt_count(cell[C_DELTA], delta, 1);
    df_fmt_pct(cell[C_PCT], f->pct, delta);
    df_fmt_count(cell[C_BEFORE], f->before, 0);
    df_fmt_count(cell[C_AFTER], f->after, 0);
}

static void write_ops(FILE *out, const df_function *f)
{
    char d[DF_MAX_OPS][DF_NUM_LEN];
    size_t n = 0;
    int w = 0;
    /* sorted by size, so the first zero ends the changes */
    for (; n < f->nops && n < DF_MAX_OPS; n++) {
        int64_t delta = f->ops[n].after - f->ops[n].before;
        if (delta == 0)
            break;
        int len = (int)strlen(df_fmt_count(d[n], delta, 1));
        w = len > w ? len : w;
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "      %*s ", w, d[i]);
        put_plain(out, f->ops[i].opname);
        fputc('\n', out);
    }
}

static void write_row(FILE *out, const df_result *r, const df_function *f, const int *w)
{
    char cell[NCOLS][DF_NUM_LEN], l[DF_NUM_LEN];
    row_cells(f, cell);
    fprintf(out, "%-7s", df_status_label(f->status));
    for (int k = 0; k < NCOLS; k++)
        fprintf(out, "  %*s", w[k], cell[k]);
    fputs("  ", out);
    put_plain(out, f->qualname);
    fputs(" (", out);
    put_plain(out, f->file);
    fprintf(out, ":%d)", f->line);
    if (!f->gated)
        fputs("  (not gated)", out);
    if (f->over_limit && r->opts.function_threshold >= 0)
        fprintf(out, "  over the %s limit", df_fmt_limit(l, r->opts.function_threshold));
    else if (f->over_limit)
        fputs("  over the limit", out);
    fputc('\n', out);
    if (f->over_limit)
        write_ops(out, f);
}

static void write_table(FILE *out, const df_result *r)
{
    char cell[NCOLS][DF_NUM_LEN];
    int w[NCOLS];
    size_t top = df_top(r), rank = 0, rows = 0;
    for (int k = 0; k < NCOLS; k++)
        w[k] = (int)strlen(col_names[k]);
    /* two passes: the columns fit the widest number shown */
    for (size_t i = 0; i < r->nfunctions; i++) {
        if (!df_in_full(&r->functions[i], top, &rank))
            continue;
        rows++;
        row_cells(&r->functions[i], cell);
        for (int k = 0; k < NCOLS; k++) {
            int len = (int)strlen(cell[k]);
            w[k] = len > w[k] ? len : w[k];
        }
    }
    size_t changed = rank;
    if (rows == 0) {
        fputs("\nno function changed\n", out);
        return;
    }
    /* the status column fits "changed" and "removed" */
    fprintf(out, "\n%-7s", "status");
    for (int k = 0; k < NCOLS; k++)
        fprintf(out, "  %*s", w[k], col_names[k]);
    fputs("  function\n", out);
    rank = 0;
    for (size_t i = 0; i < r->nfunctions; i++)
        if (df_in_full(&r->functions[i], top, &rank))
            write_row(out, r, &r->functions[i], w);
    if (changed > rows)
        fprintf(out, "... %zu more changed function%s\n", changed - rows,
                changed - rows == 1 ? "" : "s");
}

int df_render_text(const df_result *r, FILE *out)
{
    char a[DF_NUM_LEN], b[DF_NUM_LEN], c[128];
    int64_t delta = r->total_after - r->total_before;
    fputs("opprof diff: ", out);
    put_plain(out, r->base_name);
    fputs(" -> ", out);
    put_plain(out, r->new_name);
    fprintf(out, " (%s)\n", df_metric_label(r));
    fprintf(out, "total: %s -> %s  ", df_fmt_count(a, r->total_before, 0),
            df_fmt_count(b, r->total_after, 0));
    if (delta == 0)
        fputs("no change", out);
    else
        fprintf(out, "%s (%s)", df_fmt_count(a, delta, 1), df_fmt_pct(b, r->total_pct, delta));
    if (r->opts.threshold >= 0)
        fprintf(out, "  limit %s%s", df_fmt_limit(a, r->opts.threshold),
                r->total_over_limit ? ", exceeded" : "");
    fputc('\n', out);
    for (size_t i = 0; i < r->nwarnings; i++) {
        fputs("warning: ", out);
        put_plain(out, r->warnings[i]);
        fputc('\n', out);
    }
    write_table(out, r);
    if (r->ndespecialized) {
        fprintf(out, "\nspecialization (information only, not in the verdict): %zu site%s "
                     "stopped specializing\n", r->ndespecialized, r->ndespecialized == 1 ? "" : "s");
        for (size_t i = 0; i < r->ndespecialized && i < 20; i++) {
            fputs("  ", out);
            put_plain(out, r->despecialized[i]);
            fputc('\n', out);
        }
        if (r->ndespecialized > 20)
            fprintf(out, "  ... %zu more\n", r->ndespecialized - 20);
    }
    fprintf(out, "\n%s\nverdict: %s\n", df_fmt_counts(c, sizeof c, r),
            df_verdict_label(r->verdict));
    return df_finish(out);
}

/* ---- github: workflow commands --------------------------------------- */

/* GitHub reads %, CR and LF in a command's message as syntax, and also ':'
 * and ',' in a property value, which they end. */
static void put_gh(FILE *out, const char *s, int property)
{
    for (; *s; s++) {
        const char *esc = *s == '%' ? "%25" : *s == '\r' ? "%0D" : *s == '\n' ? "%0A"
                        : !property ? NULL : *s == ':' ? "%3A" : *s == ',' ? "%2C" : NULL;
        if (esc)
            fputs(esc, out);
        else
            fputc(*s, out);
    }
}

static void put_gh_message(FILE *out, const char *s) { put_gh(out, s, 0); }

int df_render_github(const df_result *r, FILE *out)
{
    const char *level = r->opts.soft ? "warning" : "error";
    char a[DF_NUM_LEN], b[DF_NUM_LEN], c[128];
    for (size_t i = 0; i < r->nfunctions; i++) {
        const df_function *f = &r->functions[i];
        if (!f->gated || !f->over_limit)
            continue;
        fprintf(out, "::%s file=", level);
        put_gh(out, f->file, 1);
        if (f->line > 0)
            fprintf(out, ",line=%d", f->line);
        fputs(",title=opprof::", out);
        df_put_function_change(out, r, f, put_gh_message);
        fputc('\n', out);
    }
    if (r->total_over_limit) {
        fprintf(out, "::%s title=opprof::", level);
        df_put_total_change(out, r, put_gh_message);
        fputc('\n', out);
    }
    for (size_t i = 0; i < r->nwarnings; i++) {
        fputs("::warning title=opprof::", out);
        put_gh_message(out, r->warnings[i]);
        fputc('\n', out);
    }
    int64_t delta = r->total_after - r->total_before;
    fprintf(out, "::notice title=opprof::%s: ", df_verdict_label(r->verdict));
    put_gh_message(out, df_metric_label(r));
    fprintf(out, " %s -> %s (", df_fmt_count(a, r->total_before, 0),
            df_fmt_count(b, r->total_after, 0));
    put_gh_message(out, df_fmt_pct(b, r->total_pct, delta));
    fprintf(out, "); %s (", df_fmt_counts(c, sizeof c, r));
    put_gh_message(out, r->base_name);
    fputs(" -> ", out);
    put_gh_message(out, r->new_name);
    fputs(")\n", out);
    return df_finish(out);
}
