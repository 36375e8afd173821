/*
 * summary.h - the short text summary `opprof run` prints at exit.
 */
#ifndef OPPROF_SUMMARY_H
#define OPPROF_SUMMARY_H

#include <stdio.h>

#include "profile.h"

/* Totals and the top `top` functions by instructions; 0 or -1 on error. */
int pf_summary_write(const pf_profile *p, FILE *out, size_t top);

#endif
