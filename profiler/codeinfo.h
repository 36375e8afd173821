/*
 * codeinfo.h - from a code object to its store record, cached in the code
 * object's extra slot so the lookup costs one pointer read after the first
 * execution.
 *
 * A record keeps a strong reference to the first code object seen for it
 * (record->user), so names, lines and opcodes can be read at the end of
 * the run; ci_release() drops those references.
 */
#ifndef OPPROF_CODEINFO_H
#define OPPROF_CODEINFO_H

#include "blockmap.h"
#include "pycompat.h"
#include "store.h"

/* Requests the extra slot and reads the RESUME opcode; 0 or -1 with a
 * Python exception set.  Call once, before any collector starts. */
int ci_init(void);

/* The record for `code`, created on first sight; NULL when out of memory
 * (the store's sticky flag is then set; no exception is left pending).
 * *fresh tells whether this code object was new to opprof. */
st_record *ci_record(st_store *s, PyObject *code, int *fresh);

/* The code-object extra slot holding the record (for the sampler). */
Py_ssize_t ci_extra_index(void);

/* This interpreter's opcode numbers and inline cache sizes. */
const bm_ops *ci_ops(void);

/* Whether the instruction at byte `offset` of `rec` is a RESUME. */
int ci_is_resume(const st_record *rec, long offset);

/* The code unit of the instruction that holds each code unit of rec (a
 * unit inside an instruction's inline cache belongs to that instruction):
 * an array of rec->ncounters the caller frees, NULL when out of memory. */
uint32_t *ci_instruction_starts(const st_record *rec);

/* Drops the store's references to code objects. Needs the GIL. */
void ci_release(st_store *s);

#endif
