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

#endif
