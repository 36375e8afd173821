/*
 * snapshot.h - turns the collector's store into the profile model, reading
 * names, lines and opcodes from the code objects the store kept.
 */
#ifndef OPPROF_SNAPSHOT_H
#define OPPROF_SNAPSHOT_H

#include "../reports/model/profile.h"
#include "store.h"

/* Fills p->functions, p->stacks, p->threads, p->opnames and totals.
 * `cwd` makes relative file names absolute.  Needs the GIL.  lean: the
 * functions never called go without their disassembly (a child's part of
 * a --subprocesses run: its parent has them, and a pool's teardown waits
 * for the part).
 * It consumes the store's flow counters (width 2: resolved in place), so
 * it is the store's last reader.
 * 0, or -1 when out of memory or Python failed (exception cleared). */
int snap_build(st_store *s, pf_profile *p, const char *cwd, int lean);

#endif
