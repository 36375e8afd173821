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
#include <stdio.h>

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
/* Reads the profile at `path` ("-": standard input) straight into the sum:
 * each function and node is added as it is read and not kept, so memory
 * is the sum's and little of the input's (pf_read_hooks).  The input is
 * checked as pf_read_file checks it; after a failure (a bad input, another
 * interpreter, found at its end) the sum is partial: only _release. */
int pf_merger_read(pf_merger *m, const char *path, char *err, size_t errlen);
int pf_merger_read_stream(pf_merger *m, FILE *f, const char *name, char *err, size_t errlen);

#endif
