/*
 * annotate.h - `opprof annotate`: dis's listing of a function with what
 * the run measured on every instruction.  Works on a saved profile alone:
 * the profile carries the code (pf_function.codeinfo), disassembled at
 * read time (v1 profiles: their stored listing).
 */
#ifndef OPPROF_ANNOTATE_H
#define OPPROF_ANNOTATE_H

#include <stdio.h>

#include "model/profile.h"
#include "model/profile_read.h"

/* Functions matching `spec`: a qualname ("Outer.work"), a name, or
 * FILE:LINE (the file's last components, e.g. "app.py:12" or
 * "pkg/app.py:12", and the function's first line), hottest first
 * (pf_functions_by_weight).  Fills idx (room for p->nfunctions) and
 * returns how many; spec NULL: the hottest `top`.  0 when out of memory. */
size_t an_find(const pf_profile *p, const char *spec, size_t top, size_t *idx);

/* Reads the profile at `path` for an_find(p, spec, top): the code of
 * only the functions it can choose is kept (PF_KEEP_CODE otherwise), so
 * that memory does not grow with the functions a program touched; `keep`
 * adds what else to keep (PF_KEEP_NODES...).  As pf_read_file_keep: 0
 * with *out, or -1 with one line in err. */
int an_read(const char *path, const char *spec, size_t top, unsigned keep, pf_profile **out,
            char *err, size_t errlen);
/* an_read, with before->function (when not NULL) first shown each
 * function as it is read, its code still there. */
int an_read_hooked(const char *path, const char *spec, size_t top, unsigned keep,
                   const pf_read_hooks *before, pf_profile **out, char *err, size_t errlen);
/* In an_read's keep: the functions it does not choose keep their counts
 * and times, and lose only their disassembly (the report's findings). */
#define AN_KEEP_COUNTS 0x100

/* Prints one function; `explain`: each instruction's meaning at the end
 * of its row (glossary.h).  0, or -1 on a write error. */
int an_render(const pf_profile *p, const pf_function *f, int explain, FILE *out);

#endif
