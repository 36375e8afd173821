/*
 * monview.h - opprof's sys.monitoring tool (3.12+), out of the script's
 * sight.
 *
 * opprof needs one of the six tool ids, and a script may claim any of
 * them (test_monitoring claims 2, 3 and 4, and checks that no tool has
 * events).  monview owns opprof's id and everything opprof set on it, and
 * replaces the functions of sys.monitoring with wrappers that show the
 * script the state it would see under python: opprof's id looks unused.
 * When the script claims that id, opprof moves to another free one with
 * its callbacks and its global and local events, so no event is lost;
 * only when the script holds all six does counting stop, with the reason.
 *
 * Internal to collector_monitor.c.  Needs the GIL throughout.
 */
#ifndef OPPROF_MONVIEW_H
#define OPPROF_MONVIEW_H

#include "pycompat.h"

#if OPPROF_PY_MONITORING

/* Claims a free tool id for opprof and puts the wrappers in place of
 * sys.monitoring's functions.  Call once, before the script runs.  0, or
 * -1 with a Python exception (no free id, an unexpected sys.monitoring). */
int mv_start(void);

/* sys.monitoring.DISABLE (borrowed; after mv_start()), which a callback
 * returns to turn its event off where it fired. */
PyObject *mv_disable(void);

/* Makes `fn` opprof's callback for `event` (a sys.monitoring.events
 * value of one event).  0, or -1 with a Python exception. */
int mv_register(PyObject *event, PyObject *fn);

/* opprof's global events.  0, or -1 with a Python exception. */
int mv_set_events(long mask);

/* opprof's local events on `code`, remembered for as long as the code
 * object lives, so that a move takes them along.  0, or -1 with a Python
 * exception. */
int mv_set_local_events(PyObject *code, long events);

/* opprof's global events off; its id stays its own, hidden.  Never
 * fails; keeps a pending exception as it was. */
void mv_stop(void);

/* Why opprof lost its tool (counting stopped there), or NULL. */
const char *mv_lost_reason(void);

#endif

#endif
