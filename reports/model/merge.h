/*
 * merge.h - sums profiles of the same interpreter: for benchmarks split
 * across processes.  Counts, times, calls and stacks add up; functions
 * are the same when file, name, qualname, first line and scope agree (the
 * k-th of several such in one profile is the k-th in the other).  Associative: the order of first appearance is kept,
 * so merge(a, merge(b, c)) and merge(merge(a, b), c) are the same file.
 */
#ifndef OPPROF_MERGE_H
#define OPPROF_MERGE_H

#include <stddef.h>

#include "profile.h"

/* *out owns a new profile; 0, or -1 with a one-line reason (different
 * interpreters, out of memory). */
int pf_merge(pf_profile *const *in, size_t n, pf_profile **out, char *err, size_t errlen);

/* The same one profile at a time, so that a caller can read, add and
 * release each input in turn: memory for the sum and one input, not all.
 * _add refuses another interpreter than the first's; _finish hands over
 * the sum (checked as pf_merge's) and leaves the merger empty. */
typedef struct pf_merger pf_merger;
pf_merger *pf_merger_new(void);            /* NULL when out of memory */
int pf_merger_add(pf_merger *m, const pf_profile *in, char *err, size_t errlen);
int pf_merger_finish(pf_merger *m, pf_profile **out, char *err, size_t errlen);
void pf_merger_release(pf_merger *m);

#endif
