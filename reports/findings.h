/*
 * findings.h - what a profile's numbers say about the code: the report's
 * "findings" section.  Each finding names the code (function, lines),
 * gives its evidence (exact counts, sampled time) and a change to try.
 *
 * Kinds and their rules (README "Findings" documents the same numbers):
 *   module-loop      dict-based name access (LOAD_NAME/STORE_NAME...) in
 *                    loops of module-level code;
 *   global-in-loop   LOAD_GLOBAL of a builtin or module (len, math.sqrt)
 *                    run on every iteration of a function's loop;
 *   exceptions       a function that handles exceptions as its normal
 *                    path (handlers entered per call);
 *   attribute-in-loop  the same attribute or method loaded on every
 *                    iteration from a local the loop does not change;
 *   generator        a generator (or generator expression) whose items
 *                    cost few instructions each: the per-item resume and
 *                    yield dominate.
 * A finding needs its instructions to run at least FD_MIN_COUNT times
 * (exceptions: FD_MIN_EXCEPTIONS handled), FD_LOOP_FACTOR times per call
 * of their function for "in a loop", and the code concerned to weigh at
 * least FD_MIN_SHARE of the run's instructions (counted profiles) and of
 * its sampled time (timed ones with FD_MIN_SAMPLES samples or more: fewer
 * say too little, and the counts alone decide).  module-loop also needs
 * FD_MIN_DICT_SHARE of its loops' instructions to be dict-based name
 * accesses.  Only the FD_TOP heaviest functions are looked at, so that a
 * fresh run and `opprof report` agree.
 *
 * Ownership: the list owns its strings; fd_list_release frees them.
 */
#ifndef OPPROF_FINDINGS_H
#define OPPROF_FINDINGS_H

#include <stddef.h>

#include "model/profile.h"

#define FD_MIN_COUNT 10000
#define FD_MIN_EXCEPTIONS 1000
#define FD_LOOP_FACTOR 10
#define FD_MIN_SHARE 0.02
#define FD_MIN_SAMPLES 200
#define FD_MIN_DICT_SHARE 0.2
#define FD_TOP 30

typedef enum {
    FD_MODULE_LOOP, FD_GLOBAL_IN_LOOP, FD_EXCEPTIONS, FD_ATTRIBUTE_IN_LOOP, FD_GENERATOR,
    FD_NKINDS
} fd_kind;

typedef struct fd_finding {
    fd_kind kind;
    double weight;           /* share of the run it concerns: the order */
    char *title;             /* "<module> (app.py:12-14): a hot loop at module level" */
    char *evidence;          /* counts and times, one paragraph */
    char *change;            /* what to try */
} fd_finding;

typedef struct fd_list {
    fd_finding *v;
    size_t n, cap;
} fd_list;

/* "module-loop", ... */
const char *fd_kind_name(fd_kind k);

/* The findings of p, heaviest first, into *out (which it overwrites).
 * Functions without code (not kept by the reader) are skipped.  0, or
 * -1 when out of memory (*out then empty). */
int fd_find(const pf_profile *p, fd_list *out);

void fd_list_release(fd_list *l);

#endif
