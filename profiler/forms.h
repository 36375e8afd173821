/*
 * forms.h - the specialization view's collection: which form of each
 * instruction the adaptive interpreter held at the end of the run (the
 * specialized one, the generic one, or an instrumented one that opprof's
 * own events put there), and sampled time split by the form installed at
 * the moment of each sample.
 *
 * Only from 3.12 on (OPPROF_PY_FORMS): 3.10 has no adaptive interpreter,
 * and 3.11 runs every instruction generic while a trace function is set.
 * Elsewhere every function here does nothing and succeeds.
 *
 * Ownership: the module owns what it collects (a table reserved by
 * fm_start, the forms copied by fm_capture) until fm_release(); fm_fill
 * gives the profile arrays of its own.
 */
#ifndef OPPROF_FORMS_H
#define OPPROF_FORMS_H

#include <stdint.h>

#include "../reports/model/profile.h"
#include "pycompat.h"
#include "store.h"

/* Reserves the sampler's table (before the first sample).  0, or -1 with
 * errno set. */
int fm_start(void);

/* Credits `w` ns to the form installed at byte `off` of `code`, which
 * runs record r.  Signal-safe: no allocation, no locks; a full table drops
 * the split (the instruction's time itself is kept by the caller). */
void fm_sample(const st_record *r, PyObject *code, long off, uint64_t w);

/* After fork(): the parent's samples are not the child's. */
void fm_after_fork(void);

/* Copies what each record's code object holds now.  Call while the
 * collector's events are still on (turning them off removes the
 * instrumented forms at once from the code that is running) and after the
 * script has ended.  Needs the GIL.  0, or -1 when out of memory (records
 * whose copy failed get no forms). */
int fm_capture(st_store *s);

/* Gives p's functions (one per record, in record order) their `forms`
 * and `form_times`.  0, or -1 when out of memory, and then none has any
 * (the profile is whole without them). */
int fm_fill(st_store *s, pf_profile *p);

void fm_release(void);

#endif
