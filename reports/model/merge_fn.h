/*
 * merge_fn.h - internal to merge.c: functions by key (file, name,
 * qualname, first line, scope) and one function of an input added into
 * the sum's (merge_fn.c); an input's processes in the sum (merge_proc.c).
 */
#ifndef OPPROF_MERGE_FN_H
#define OPPROF_MERGE_FN_H

#include <stdint.h>

#include "profile.h"

/* Functions with one key form a chain, in order: `first` finds a key's
 * first function through a hash of its key, `next` links the others. */
typedef struct mf_index {
    uint32_t *slot;           /* first function of a key + 1; 0: empty */
    size_t cap, used;         /* cap: a power of two */
    uint32_t *next, *last;    /* per function: the next of its key; a chain's tail */
    size_t nfns;
} mf_index;

#define MF_NONE UINT32_MAX

void mf_index_release(mf_index *x);
/* The first function of f's key among fns (indexed by x), or MF_NONE;
 * x->next walks the others of that key, in order. */
uint32_t mf_first(const mf_index *x, const pf_function *fns, const pf_function *f);
/* Adds function i of fns (the newest) to the index.  0, or -1 on OOM. */
int mf_add(mf_index *x, const pf_function *fns, uint32_t i);
/* f (the rank-th of its key in its profile) into `out` as the rank-th
 * function of that key there, made when missing; *id: its index in out.
 * opmap takes f's opcode indices to out's.  own: f itself when its
 * input gives its arrays up: a function new to out takes them instead of
 * a copy.  0, or -1 when out of memory. */
int mf_merge_function(pf_profile *out, mf_index *x, const pf_function *f, pf_function *own,
                      size_t rank, uint32_t *id, const uint16_t *opmap);

/* Where an input's processes go in the sum.  An input of the sum's run
 * (the same run id: a child's own file, a part of --subprocesses) brings
 * its processes as new ones, or fills one the sum lists as pending; an
 * unrelated run's k-th process adds up with the sum's k-th (its first
 * when the sum has fewer), which is what merging runs always meant. */
typedef struct mp_map {
    uint32_t *to;             /* per input process: the sum's index */
    size_t n;
    int own_processes;        /* its threads stay apart from other processes' */
    int same_run;             /* a later input of the first input's run */
} mp_map;

/* Builds *m for `in` (its processes and run id read), adding processes
 * to `sum` as above; first: `in` is the sum's first input.  0, or -1
 * when out of memory. */
int mp_map_input(pf_profile *sum, const pf_profile *in, int first, mp_map *m);
void mp_map_release(mp_map *m);

#endif
