/*
 * findings_view.h - what the rules of findings.c share (internal to
 * findings*.c): a function seen instruction by instruction, the run's
 * totals, and the helpers that word a finding.
 */
#ifndef OPPROF_FINDINGS_VIEW_H
#define OPPROF_FINDINGS_VIEW_H

#include <stdint.h>

#include "findings.h"
#include "model/disasm.h"

/* One function, instruction by instruction: dis's listing with what
 * the run measured on each. */
typedef struct view {
    const pf_function *f;
    dz_listing l;
    uint64_t *count;         /* per listing entry */
    uint64_t *time;
    uint64_t *samples;
    uint64_t loop_floor;     /* executed this often or more: in a loop */
} view;

typedef struct ctx {
    const pf_profile *p;
    fd_list *out;
    int failed;
    uint64_t run_instr, run_time;
    double fn_nsi;           /* function-local code's ns/instruction; 0: unknown */
} ctx;

/* 1 with v filled, 0 when f has no code to look at, -1 when out of memory;
 * fdv_close releases what fdv_open filled (on any result). */
int fdv_open(view *v, const pf_profile *p, const pf_function *f);
void fdv_close(view *v);
/* Instruction i runs in a loop: FD_MIN_COUNT times or more, and
 * FD_LOOP_FACTOR times per call. */
int fdv_hot(const view *v, size_t i);
const char *fdv_op(const view *v, size_t i);
/* The code concerned weighs enough (findings.h's floors); its weight. */
int fdv_weighs(const ctx *c, uint64_t instr, uint64_t time_ns);
double fdv_weight(const ctx *c, uint64_t instr, uint64_t time_ns);

/* Adds a finding that takes the three strings (NULL: out of memory,
 * which sets c->failed). */
void fdv_add(ctx *c, fd_kind kind, double weight, char *title, char *evidence, char *change);
/* A new string (NULL when out of memory). */
char *fdv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "name (file.py:12)" or "name (file.py:12-14)" in buf. */
const char *fdv_where(char *buf, size_t n, const pf_function *f, int lo, int hi);
/* An argrepr's name without dis's NULL markers ("NULL + len" -> "len"). */
void fdv_bare(const char *argrepr, char *buf, size_t n);
int fdv_starts(const char *s, const char *prefix);

/* The loop rules of findings_loops.c. */
void fdr_global_in_loop(ctx *c, const view *v);
void fdr_attribute_in_loop(ctx *c, const view *v);

#endif
