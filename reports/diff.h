/*
 * diff.h - compares two profiles function by function: the computation
 * behind `opprof diff` and `opprof run --compare`.  Renderers for each
 * output format read the result (diff_render.h).
 *
 * Functions are matched by (file relative to the profile's root, qualname):
 * base and new runs usually live in different checkouts, and editing code
 * above a function must not break matching.  Files under the interpreter's
 * prefix are matched relative to it ("<python>/..."); where one profile has
 * several functions with the same key, they pair up in firstlineno order.
 *
 * Ownership: a df_result owns everything in it, including copies of the
 * strings it shows; it does not keep the profiles.
 */
#ifndef OPPROF_DIFF_H
#define OPPROF_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "model/profile.h"

typedef enum df_metric { DF_INSTRUCTIONS, DF_TIME } df_metric;

typedef struct df_options {
    df_metric metric;
    double threshold;            /* % on the gated total; < 0: none */
    double function_threshold;   /* % per function; < 0: none */
    int soft;                    /* limits only warn */
    uint64_t min_instructions;   /* functions below this in both runs are not gated */
    int include_imports;         /* gate <frozen importlib._bootstrap*> too */
    int allow_mismatch;          /* diff profiles of different interpreters */
    size_t top;                  /* rows the renderers show in full (0 = 20) */
} df_options;

/* Defaults: instructions, --threshold 0 (any growth of the gated total is a
 * regression: counts are exact), no per-function limit, hard. */
void df_options_init(df_options *o);

typedef enum df_status { DF_SAME, DF_CHANGED, DF_ADDED, DF_REMOVED } df_status;

typedef struct df_opdelta {
    char *opname;
    int64_t before, after;       /* counts (or ns for DF_TIME) */
} df_opdelta;

typedef struct df_function {
    char *key;                   /* "relative/file.py:Qual.name" */
    char *file;                  /* relative to the root (or "<python>/...") */
    char *qualname;
    int line;                    /* firstlineno in the new run (base if removed) */
    df_status status;
    int gated;                   /* counts towards totals and limits */
    int64_t before, after;
    double pct;                  /* change in %, of before; +inf when added */
    int over_limit;              /* past --function-threshold, or (without one)
                                    grew while the total is past --threshold */
    df_opdelta *ops;             /* largest |after - before| first */
    size_t nops;
} df_function;

typedef enum df_verdict { DF_OK, DF_WARNING, DF_REGRESSION } df_verdict;

typedef struct df_result {
    char *base_name, *new_name;  /* as given on the command line */
    df_options opts;
    df_function *functions;      /* by |after - before|, largest first; then by key */
    size_t nfunctions;
    int64_t total_before, total_after;   /* gated functions only */
    double total_pct;
    int total_over_limit;
    size_t regressions, improvements, added, removed;  /* gated functions */
    df_verdict verdict;
    char **warnings;             /* one line each */
    size_t nwarnings;
    char **despecialized;        /* sites that held a specialized form at the end
                                    of the base run and their generic form at the
                                    end of the new one, one line each
                                    (information: not part of the verdict) */
    size_t ndespecialized;
} df_result;

/* Compares; 0 with *out set, or -1 with a one-line reason in err (profiles
 * of different interpreters without allow_mismatch, no times for
 * DF_TIME, out of memory). */
int df_compare(const pf_profile *base, const pf_profile *new_, const char *base_name,
               const char *new_name, const df_options *o, df_result **out, char *err,
               size_t errlen);
void df_result_release(df_result *r);

const char *df_status_name(df_status s);
const char *df_verdict_name(df_verdict v);

#endif
