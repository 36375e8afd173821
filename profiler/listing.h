/*
 * listing.h - what `opprof annotate` needs to disassemble a function later,
 * read from its code object at the end of a run: the bytes, the strings
 * dis prints (names, reprs of constants, variable names) and the line
 * table (pf_code).  The readers disassemble in C (reports/model/disasm.c)
 * instead of the run calling dis for every function: that was most of the
 * exit work of a run that touched thousands of functions.
 */
#ifndef OPPROF_LISTING_H
#define OPPROF_LISTING_H

#include "../reports/model/profile.h"
#include "pycompat.h"

/* Fills f->codeinfo from `code`.  0, or -1 (no Python exception left
 * set) when out of memory or Python failed: annotate then lacks the
 * instructions that did not run and the argument texts. */
int lst_fill(pf_function *f, PyObject *code);

#endif
