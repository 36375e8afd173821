/*
 * diff_markdown.c - the `markdown` format of `opprof diff`: a pull-request
 * comment in GitHub-flavoured markdown.  The verdict comes first because a
 * reviewer may read no further; details fold away.
 */
#include "diff_render.h"

#include <string.h>

static int is_word(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Text outside code: backslash-escapes what GFM would read as markup
 * (emphasis, links, HTML, math, table cells).  A '_' inside a word stays:
 * GFM reads no emphasis there, and LOAD_FAST stays readable.  A line
 * break would end a table row, so control characters become spaces. */
static void put_md(FILE *out, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if ((unsigned char)c < 0x20 || c == 0x7f) {
            fputc(' ', out);
            continue;
        }
        if (c == '_' ? !(i > 0 && is_word(s[i - 1]) && is_word(s[i + 1]))
                     : strchr("\\`*[]<>|&~$", c) != NULL)
            fputc('\\', out);
        fputc(c, out);
    }
}

/* A code span: its fence is one backtick longer than any run inside.  In a
 * table '|' still splits cells, even in code, so it is escaped there (GFM
 * drops the backslash). */
static void put_code(FILE *out, const char *s, int in_table)
{
    size_t run = 0, longest = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        run = s[i] == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    int pad = len == 0 || s[0] == '`' || s[len - 1] == '`';
    for (size_t i = 0; i <= longest; i++)
        fputc('`', out);
    if (pad)
        fputc(' ', out);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            fputc(' ', out);
        else if (s[i] == '|' && in_table)
            fputs("\\|", out);
        else
            fputc(s[i], out);
    }
    if (pad)
        fputc(' ', out);
    for (size_t i = 0; i <= longest; i++)
        fputc('`', out);
}

/* `Outer.work` (pkg/core.py:12) */
static void put_function(FILE *out, const df_function *f, int in_table)
{
    put_code(out, f->qualname, in_table);
    fputs(" (", out);
    put_md(out, f->file);
    fprintf(out, ":%d)", f->line);
}

static void write_row(FILE *out, const df_function *f)
{
    char a[DF_NUM_LEN];
    int64_t delta = f->after - f->before;
    fputs("| ", out);
    put_function(out, f, 1);
    if (!f->gated)
        fputs(" *(not gated)*", out);
    if (f->over_limit)
        fputs(" **over limit**", out);
    fprintf(out, " | %s", df_fmt_count(a, f->before, 0));
    fprintf(out, " | %s", df_fmt_count(a, f->after, 0));
    fprintf(out, " | %s", df_fmt_count(a, delta, 1));
    fprintf(out, " | %s |\n", df_fmt_pct(a, f->pct, delta));
}

/* The rows shown in full (full = 1) or the rest of the changed ones. */
static void write_table(FILE *out, const df_result *r, int full)
{
    size_t top = df_top(r), rank = 0;
    fputs("| Function | Before | After | Change | % |\n"
          "|:---|---:|---:|---:|---:|\n", out);
    for (size_t i = 0; i < r->nfunctions; i++) {
        const df_function *f = &r->functions[i];
        if (df_in_full(f, top, &rank) ? full : !full && f->status != DF_SAME)
            write_row(out, f);
    }
}

static void write_ops(FILE *out, const df_result *r)
{
    char a[DF_NUM_LEN];
    int first = 1;
    for (size_t i = 0; i < r->nfunctions; i++) {
        const df_function *f = &r->functions[i];
        if (!f->over_limit)
            continue;
        if (first)
            fputs("\nOpcode changes in functions over the limit:\n\n", out);
        first = 0;
        fputs("- ", out);
        put_function(out, f, 0);
        fputc(':', out);
        /* sorted by size, so the first zero ends the changes */
        for (size_t k = 0; k < f->nops && k < DF_MAX_OPS; k++) {
            int64_t delta = f->ops[k].after - f->ops[k].before;
            if (delta == 0)
                break;
            fprintf(out, "%s %s ", k ? "," : "", df_fmt_count(a, delta, 1));
            put_md(out, f->ops[k].opname);
        }
        fputc('\n', out);
    }
}

/* **opprof: regression** — instructions +3.1% (limit 2.0%): 1,000 → 1,031 */
static void write_summary(FILE *out, const df_result *r)
{
    char a[DF_NUM_LEN];
    int64_t delta = r->total_after - r->total_before;
    size_t over = 0;
    for (size_t i = 0; i < r->nfunctions; i++)
        over += r->functions[i].over_limit != 0;
    fprintf(out, "**opprof: %s** — %s ",
            r->verdict == DF_OK ? "no regression" : df_verdict_label(r->verdict),
            df_metric_label(r));
    fputs(delta ? df_fmt_pct(a, r->total_pct, delta) : "unchanged", out);
    if (r->opts.threshold >= 0)
        fprintf(out, " (limit %s)", df_fmt_limit(a, r->opts.threshold));
    fprintf(out, ": %s", df_fmt_count(a, r->total_before, 0));
    fprintf(out, " → %s", df_fmt_count(a, r->total_after, 0));
    if (over) {
        fprintf(out, "; %zu function%s over the ", over, over == 1 ? "" : "s");
        if (r->opts.function_threshold >= 0)
            fprintf(out, "%s ", df_fmt_limit(a, r->opts.function_threshold));
        fputs("limit", out);
    }
    fputc('\n', out);
}

int df_render_markdown(const df_result *r, FILE *out)
{
    char counts[128];
    size_t top = df_top(r), rank = 0, rows = 0;
    for (size_t i = 0; i < r->nfunctions; i++)
        rows += (size_t)df_in_full(&r->functions[i], top, &rank);
    size_t rest = rank - rows;

    write_summary(out, r);
    fputc('\n', out);
    put_code(out, r->base_name, 0);
    fputs(" → ", out);
    put_code(out, r->new_name, 0);
    fprintf(out, ": %s.\n", df_fmt_counts(counts, sizeof counts, r));
    for (size_t i = 0; i < r->nwarnings; i++) {
        fputs(i ? ">\n" : "\n", out);
        fputs("> **Warning:** ", out);
        put_md(out, r->warnings[i]);
        fputc('\n', out);
    }
    fputc('\n', out);
    if (rows)
        write_table(out, r, 1);
    else
        fputs("No function changed.\n", out);
    write_ops(out, r);
    if (r->ndespecialized) {
        fprintf(out, "\n%zu site%s stopped specializing (information only):\n\n",
                r->ndespecialized, r->ndespecialized == 1 ? "" : "s");
        for (size_t i = 0; i < r->ndespecialized && i < 20; i++) {
            fputs("- ", out);
            put_md(out, r->despecialized[i]);
            fputc('\n', out);
        }
    }
    if (rest) {
        fprintf(out, "\n<details><summary>%zu more function%s</summary>\n\n", rest,
                rest == 1 ? "" : "s");
        write_table(out, r, 0);
        fputs("\n</details>\n", out);
    }
    /* lets a CI job find and update its earlier comment */
    fputs("\n<!-- opprof-diff -->\n", out);
    return df_finish(out);
}
