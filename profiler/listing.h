/*
 * listing.h - a function's whole disassembly for `opprof annotate`, made
 * in C at the end of a run (reports/model/disasm.c) instead of calling
 * dis.get_instructions() for every function: the exit work of a run that
 * touched thousands of functions was mostly that.
 *
 * dis itself stays as the fallback for a code object the C disassembler
 * refuses (it is checked against dis on every interpreter in the tests).
 */
#ifndef OPPROF_LISTING_H
#define OPPROF_LISTING_H

#include "../reports/model/profile.h"
#include "pycompat.h"

/* Fills f->listing from `code`; line[i] is the line of code unit i (n of
 * them).  0, or -1 (with no Python exception left set) when neither the C
 * disassembler nor dis could: annotate then lacks argument texts only. */
int lst_fill(pf_profile *p, pf_function *f, PyObject *code, const int *line, uint32_t n);

/* Releases the dis module lst_fill may have imported. */
void lst_release(void);

#endif
