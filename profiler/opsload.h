/*
 * opsload.h - the running interpreter's opcode facts that blockmap.c needs
 * (bm_ops: inline cache sizes, the kind of every control-flow opcode, the
 * opcodes told apart by number), read from its `opcode` module.  Shared
 * by codeinfo.c and the bench's floor (scripts/bench/floor.c), so that
 * both decide alike.  Needs the GIL.
 */
#ifndef OPPROF_OPSLOAD_H
#define OPPROF_OPSLOAD_H

#include "blockmap.h"

/* Fills *ops.  0, or -1 with a Python exception. */
int ol_load(bm_ops *ops);

#endif
