/*
 * trace_guest.h - the script's own trace function as a guest of opprof's
 * (3.10/3.11, where opprof counts through the one C trace function a
 * thread has).
 *
 * Under python, sys.settrace(f) installs CPython's trampoline, which calls
 * f on each 'call' and the frame's f_trace on the other events.  Under
 * opprof, sys.settrace(f) keeps opprof's C function and gives it f as its
 * argument (so sys.gettrace() returns f, as under python), and opprof's
 * function plays the trampoline for f after counting.  Counting goes on
 * through any settrace() sequence, settrace(None) included.
 *
 * Frames keep the script's own view of f_trace_lines and f_trace_opcodes:
 * opprof needs opcode events on every frame and no line events, so the
 * fields hold what the events need and the frame type's descriptors show
 * the script what it set (default: lines on, opcodes off).  Only frames
 * whose view the script changed are in a side table, dropped when the
 * frame is freed.
 *
 * A C extension's trace function (coverage's CTracer, set with
 * PyEval_SetTrace(), which opprof's executable exports as its own) is a
 * guest too, called with its own argument; sys.gettrace() returns that
 * argument, as under python.
 */
#ifndef OPPROF_TRACE_GUEST_H
#define OPPROF_TRACE_GUEST_H

#include "pycompat.h"

#if !OPPROF_PY_MONITORING

/* Replaces sys.settrace and the frame type's f_trace, f_trace_lines and
 * f_trace_opcodes descriptors; `host` is opprof's trace function.  0, or
 * -1 with a Python exception set. */
int tg_install(Py_tracefunc host);

/* The trampoline: gives event `what` of `frame` to the script's trace
 * function `obj` ('call') or to the frame's f_trace (the others), as
 * python would; a no-op without one.  0, or -1 with the script's
 * exception set (its trace function is then removed, as under python). */
int tg_forward(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);

/* From now on PyEval_SetTrace() is CPython's again (collector_stop). */
void tg_stop(void);

/* Sets the frame's real f_trace_lines and f_trace_opcodes from the
 * script's view and opprof's need (`counted`: opprof counts its
 * instructions). */
void tg_sync(PyFrameObject *frame, int counted);

#endif
#endif
