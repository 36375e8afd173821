/*
 * scope.h - what kind of code a code object is, from its flags and name.
 * Pure: no libpython, so it is unit-tested on its own.
 */
#ifndef OPPROF_SCOPE_H
#define OPPROF_SCOPE_H

#include "../reports/model/profile.h"

/* CPython's co_flags bits, identical in 3.10-3.14 (codeinfo.c checks). */
#define SC_CO_OPTIMIZED 0x0001
#define SC_CO_NEWLOCALS 0x0002
#define SC_CO_GENERATOR 0x0020
#define SC_CO_COROUTINE 0x0080
#define SC_CO_ASYNC_GENERATOR 0x0200

pf_scope sc_classify(unsigned flags, const char *name);

#endif
