/*
 * collector_common.h - what both backends share: the per-thread state and
 * the stack repair that keeps the stack mirror right when an exit or entry
 * event was missed.  Internal to the collector_*.c files.
 */
#ifndef OPPROF_COLLECTOR_COMMON_H
#define OPPROF_COLLECTOR_COMMON_H

#include "pycompat.h"
#include "store.h"

extern st_store *cc_store;
extern int cc_active;        /* counting now */
extern int cc_waiting;       /* not yet: waiting for the gate file */
extern int cc_lines;         /* the store tells nodes apart by call site */
/* The stack mirror's frames are interpreter frames and it learns of
 * returns late (collector_monitor.c): an entry may stay above the frame
 * that runs after its own returned.  Signal handlers then find the
 * running frame's entry by identity (cc_live_depth). */
extern int cc_late_returns;
extern _Thread_local st_thread *cc_tls;

/* Creates the calling thread's state; NULL when out of memory. */
st_thread *cc_thread_create(void);

/* The depth of the entry of `frame` (the frame a sample or a signal
 * found running), the entries above it being frames that returned; 0
 * when the mirror has no entry for it.  Without late returns, or without
 * a frame: t->depth.  Signal-safe. */
static inline uint32_t cc_live_depth(const st_thread *t, const void *frame)
{
    if (!cc_late_returns || !frame)
        return t->depth;
    for (uint32_t d = t->depth; d > 0; d--)
        if (t->stack[d].frame == frame)
            return d;
    return 0;
}

/* The calling thread's PyThreadState, which `t` keeps (and forgets when
 * the interpreter clears it).  Needs the GIL. */
void *cc_pyts_refresh(st_thread *t);
static inline void *cc_pyts(st_thread *t)
{
    return t->pyts ? t->pyts : cc_pyts_refresh(t);
}

static inline st_thread *cc_thread(void)
{
    return cc_tls ? cc_tls : cc_thread_create();
}

/* Called with each code object the first time it runs, if set. */
extern void (*cc_new_code)(PyObject *code, st_record *rec);

/* Called in a forked child after the store was zeroed, if set: the
 * backend makes the counts of the frames still running whole again. */
extern void (*cc_after_fork)(st_thread *t);

/* The record of `code`, calling cc_new_code the first time; NULL on OOM.
 * Inline, since nearly every event asks: the record is in the code
 * object's extra slot `cc_extra`, and cc_record_new() makes it. */
extern Py_ssize_t cc_extra;
st_record *cc_record_new(PyObject *code);
static inline st_record *cc_record(PyObject *code)
{
    st_record *rec = oc_get_extra(code, cc_extra);
    return rec ? rec : cc_record_new(code);
}

/* Pushes `code`, called from code unit `callsite` of the frame on top
 * (-1: not known), and gives the thread a name while it has none. */
st_frame *cc_enter(st_thread *t, PyObject *code, const void *frame, int32_t callsite);

/* Pops the frame running `code` (or `frame` when non-NULL); frames above
 * it whose exit was missed go too.  An unknown frame changes nothing. */
void cc_leave(st_thread *t, PyObject *code, const void *frame);

/* The frame for an instruction event of `code` whose frame is not on top:
 * returns to it if it is further down, else pushes it.  NULL on OOM. */
st_frame *cc_resync(st_thread *t, PyObject *code, const void *frame);

/* The reason both backends share (out of memory), or NULL. */
const char *cc_incomplete_reason(void);

/* Records the start of collection (main thread ident, gate); 0 or -1. */
int cc_begin(st_store *s, const char *gate);

/* Opens the gate if `code` comes from the gate file; whether it did. */
int cc_gate_opens(PyObject *code);

/* Whether counting is on for an entry into `code`, opening the gate when
 * `code` comes from the gate file. */
static inline int cc_counting(PyObject *code)
{
    return cc_active || (cc_waiting && cc_gate_opens(code));
}

/* Both flags off; returns whether counting had started. */
int cc_end(void);

#endif
