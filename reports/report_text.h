/*
 * report_text.h - the terminal report of a profile: header, scope
 * comparison (module-level vs function code), top functions and the opcode
 * histogram, with bars.
 *
 * The report reads only what a profile JSON file keeps, so a fresh run and
 * a profile read back give the same text.  Opcodes are grouped by name, not
 * by index: a fresh run's opcode table has every opcode of the interpreter
 * (some unnamed), a read-back one only those that ran, in another order.
 * Ties are broken by name and function id for the same reason.
 *
 * Whatever the profile lacks (times with --no-time, counts with
 * --time-only, cumulative times without stacks) is shown as "-".  A time
 * made of fewer than RT_FEW_SAMPLES samples is prefixed with '~'.
 */
#ifndef OPPROF_REPORT_TEXT_H
#define OPPROF_REPORT_TEXT_H

#include <stdint.h>
#include <stdio.h>

#include "model/profile.h"

typedef struct rt_options {
    size_t top;          /* rows per table, 0 = 15 */
    int sort_by_count;   /* opcode histograms sorted by count instead of time */
    int width;           /* columns; 0 = 100 */
    int unicode;         /* block characters for bars, else ASCII '#' */
    int colour;          /* ANSI colour (callers decide: tty and no NO_COLOR) */
    const char *profile_name; /* for the "opprof annotate PROFILE FUNC" hints, may be NULL */
    int legend;          /* end with the meaning of each opcode shown (glossary.h) */
} rt_options;

/* top 15, width 100, unicode 1, colour 0, no profile name, legend 1. */
void rt_options_init(rt_options *o);

/* 0, or -1 on a write error or when out of memory.  o NULL: the defaults. */
int rt_render(const pf_profile *p, const rt_options *o, FILE *out);

/* Fills width (COLUMNS, else the terminal on fd, else 100), unicode (the
 * codeset of the current locale is UTF-8: the caller calls setlocale) and
 * colour (fd is a tty and NO_COLOR is unset or empty); the rest of *o is
 * left as it is. */
void rt_options_for_terminal(rt_options *o, int fd);

/* ---- shared by report_text.c and report_bars.c ------------------------ */

#define RT_FEW_SAMPLES 10     /* fewer samples than this: the time is rough */
#define RT_NUM_LEN 48         /* room for any formatted cell */
#define RT_MIN_WIDTH 40       /* narrower widths are treated as this */

/* One opcode name's totals over a set of functions. */
typedef struct rt_op {
    const char *name;
    uint64_t count, time_ns, samples;
} rt_op;

typedef struct rt_hist {
    rt_op *ops;              /* one per distinct name */
    size_t nops;
    size_t nonzero;          /* after rt_hist_sort: rows with a count or time */
    uint64_t count, time_ns, samples;   /* totals */
} rt_hist;

/* The opcode names the report's tables showed, in order, each once. */
typedef struct rt_legend {
    const char **names;      /* borrowed from the rt_ctx's names */
    size_t n, cap;
    int failed;              /* out of memory on the way: the report fails */
} rt_legend;

typedef struct rt_ctx {
    const pf_profile *p;
    const rt_options *o;
    FILE *out;
    int width;
    size_t top;
    int by_count;            /* histograms rank by count (else by time) */
    size_t *name_of;         /* opcode index -> index into names */
    const char **names;      /* distinct opcode names */
    size_t nnames;
    rt_legend *legend;       /* the opcodes the tables showed, for the legend */
} rt_ctx;

/* Sets up the opcode name table of c; 0 or -1 when out of memory. */
int rt_names_init(rt_ctx *c);
void rt_names_release(rt_ctx *c);

/* Totals by opcode name over the functions whose scope `want` accepts;
 * 0 or -1 when out of memory.  rt_hist_release frees h->ops. */
int rt_hist_build(const rt_ctx *c, int (*want)(pf_scope), rt_hist *h);
void rt_hist_sort(const rt_ctx *c, rt_hist *h);
void rt_hist_release(rt_hist *h);
/* Name-access group of an opcode: 1 dict-based, 2 array-based, else 0. */
int rt_name_group(const char *opname);

/* Cells: each writes into buf (RT_NUM_LEN bytes) and returns it. */
const char *rt_fmt_uint(char *buf, uint64_t v);                 /* 1,234,567 */
const char *rt_fmt_fixed(char *buf, double v);                  /* 1,234.5 */
const char *rt_cell_count(const rt_ctx *c, char *buf, uint64_t count);
const char *rt_cell_ms(const rt_ctx *c, char *buf, uint64_t ns, uint64_t samples);
const char *rt_cell_nsi(const rt_ctx *c, char *buf, uint64_t ns, uint64_t count,
                        uint64_t samples);
const char *rt_cell_pct(char *buf, uint64_t part, uint64_t whole, int known);

/* Output helpers; the report checks the stream's error flag once at the end. */
void rt_put_plain(FILE *out, const char *s);           /* control bytes as '?' */
void rt_put_shell_word(FILE *out, const char *s);      /* quoted when it must be */
void rt_heading(const rt_ctx *c, const char *text);    /* blank line, bold text */
void rt_sgr(const rt_ctx *c, const char *code);   /* ANSI SGR, with colour only */
void rt_dim(const rt_ctx *c, int on);
/* A bar of frac (0..1) of `cols` columns; returns the columns written. */
int rt_put_bar(const rt_ctx *c, double frac, int cols);
void rt_pad(FILE *out, int n);

/* The histogram sections (report_bars.c); each adds the opcodes it
 * shows to c->legend (when set). */
void rt_put_histogram(const rt_ctx *c, const rt_hist *h);
void rt_put_side_by_side(const rt_ctx *c, const rt_hist *mod, const rt_hist *fun);

/* The legend (report_legend.c): adds name to l (0, or -1 and l->failed
 * when out of memory), and prints one line per name with its meaning. */
int rt_legend_add(rt_legend *l, const char *name);
void rt_put_legend(const rt_ctx *c);
void rt_legend_release(rt_legend *l);

/* The findings section (report_findings.c): 0, or -1 when out of memory. */
int rt_put_findings(const rt_ctx *c);

/* The processes section (report_processes.c), with more than one
 * process only: 0, or -1 when out of memory. */
int rt_put_processes(const rt_ctx *c);

/* The specialization section (report_specialize.c): 0, or -1 when out of
 * memory. */
int rt_put_specialization(const rt_ctx *c);

#endif
