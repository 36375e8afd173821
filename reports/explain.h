/*
 * explain.h - `opprof explain`'s pages, from the glossary (glossary.h):
 * one instruction at length, every instruction of a version by category,
 * and a disassembly with the meaning of each instruction beside it.
 * Writers only: the command (profiler/explain_cmd.c) compiles the code.
 * Every function returns 0, or -1 when writing to `out` failed.
 */
#ifndef OPPROF_EXPLAIN_H
#define OPPROF_EXPLAIN_H

#include <stdio.h>

#include "glossary.h"
#include "model/disasm.h"

/* One instruction: meaning, example, versions, what it specializes or
 * its specialized forms, as of Python 3.<minor> (the running one). */
int ex_print_entry(FILE *out, const gl_entry *e, int minor);

/* Every instruction 3.<minor> has, one line each, by category. */
int ex_print_all(FILE *out, int minor);

/* The names the glossary gives 3.<minor>, one per line (for tests and
 * scripts: `opprof explain --names 3.12`). */
int ex_print_names(FILE *out, int minor);

/* A code object's disassembly in dis's layout, the meaning of each
 * instruction beside it.  `title` heads it; `source`, when not NULL,
 * holds the file's lines (source[0] is line 1), shown where a line
 * starts. */
int ex_print_code(FILE *out, const char *title, const dz_listing *l, int minor,
                  const char *const *source, size_t nsource);

/* The one line a legend shows for opname: its short meaning, or NULL
 * when the glossary has no record. */
const char *ex_short(const char *opname);

#endif
