/*
 * hookfn.h - sys.monitoring callbacks that CPython calls without
 * PyCFunction's wrapper in between.
 *
 * CPython hands every event to its callback with a vectorcall.  A
 * PyCFunction's vectorcall fetches the thread state again (a thread-local
 * lookup through __tls_get_addr from a shared libpython) and checks the
 * recursion limit before it calls the C function.  A hook object's
 * vectorcall calls its function directly: a loop that takes one event per
 * iteration went from 1.41x to 1.36x python's time on 3.14 (counts only),
 * call-heavy code from 1.68x to 1.59x.  The limit needs no check here: the
 * interpreter that delivers the event checked it.
 *
 * Used by collector_monitor.c and by make bench's floor, which must pay
 * what opprof pays per event.  Needs the GIL.
 */
#ifndef OPPROF_HOOKFN_H
#define OPPROF_HOOKFN_H

#include "pycompat.h"

/* A METH_FASTCALL function; `self` is the hook object. */
typedef PyObject *(*hf_fn)(PyObject *self, PyObject *const *args, Py_ssize_t n);

/* A new callable calling `fn` (positional arguments only), or NULL with a
 * Python exception.  The caller owns the reference. */
PyObject *hf_new(hf_fn fn, const char *name);

/* The function every hook object's call goes through, for the sampler to
 * know as opprof's (nstack.h: ns_add_hook). */
const void *hf_trampoline(void);

#endif
