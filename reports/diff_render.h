/*
 * diff_render.h - the output formats of `opprof diff`.
 *
 * A renderer reads a finished df_result and writes one document to a
 * stream.  Renderers allocate nothing, so the only way they fail is a write
 * error.  The result arrives sorted (diff.h); renderers keep its order.
 *
 * Rows shown in full: the first opts.top changed functions (20 when top is
 * 0), plus every function over its limit wherever it ranks - a gate that
 * fails must show why.
 */
#ifndef OPPROF_DIFF_RENDER_H
#define OPPROF_DIFF_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include "diff.h"

/* 0, or -1 when writing failed. */
typedef int (*df_render_fn)(const df_result *r, FILE *out);

/* The renderer called `format`; NULL when there is none. */
df_render_fn df_renderer(const char *format);
/* The format names, for --help and error messages. */
extern const char df_formats[];

int df_render_text(const df_result *r, FILE *out);      /* terminal (default) */
int df_render_github(const df_result *r, FILE *out);    /* workflow commands */
int df_render_markdown(const df_result *r, FILE *out);  /* a PR comment */
int df_render_json(const df_result *r, FILE *out);      /* schema opprof-diff */
int df_render_junit(const df_result *r, FILE *out);     /* JUnit XML */

/* ---- shared by the renderers (diff_text.c) ----------------------------- */

#define DF_MAX_OPS 5          /* opcode deltas shown per function */
#define DF_NUM_LEN 40         /* room for any formatted number */

size_t df_top(const df_result *r);
/* Whether f gets a row of its own (see above); call it on every function
 * in order, with *rank starting at 0: it counts the changed ones. */
int df_in_full(const df_function *f, size_t top, size_t *rank);
const char *df_status_label(df_status s);      /* "same", "changed", ... */
const char *df_verdict_label(df_verdict v);    /* "ok", "warning", "regression" */
/* "instructions" or "time (ns)"; df_unit: what one count is. */
const char *df_metric_label(const df_result *r);
const char *df_unit(const df_result *r);

/* Each writes into buf (DF_NUM_LEN bytes) and returns it. */
/* 1,200,000; with sign: +1,200,000, -300, 0. */
const char *df_fmt_count(char *buf, int64_t v, int sign);
/* +25.0%, -100.0%, 0.0% (no change), new (added), n/a. */
const char *df_fmt_pct(char *buf, double pct, int64_t delta);
/* A limit in %: one decimal unless it has more (2.0%, 0.25%). */
const char *df_fmt_limit(char *buf, double limit);
/* "2 regressions, 1 improvement, 1 added, 1 removed" */
const char *df_fmt_counts(char *buf, size_t n, const df_result *r);

/* Writes text with a format's escaping. */
typedef void (*df_put_fn)(FILE *out, const char *s);
/* "Outer.work: +1,200 instructions (+25.0%, limit 10.0%)" */
void df_put_function_change(FILE *out, const df_result *r, const df_function *f,
                            df_put_fn put);
/* "total instructions +3.1% (limit 2.0%)" */
void df_put_total_change(FILE *out, const df_result *r, df_put_fn put);

/* Flushes; 0, or -1 when anything written to out failed. */
int df_finish(FILE *out);

#endif
