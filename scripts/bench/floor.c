/*
 * floor.c - the `opfloor` extension module: what the events opprof needs
 * cost by themselves, for `make bench` to show beside opprof (issue: hot
 * path).  Not part of the product; built by `make bench` only.
 *
 *  - 3.10/3.11: a C trace function that turns on opcode events for every
 *    frame it is called for and returns at once on every event: the cost
 *    of one opcode event per instruction.
 *  - 3.12+: C callables on the sys.monitoring events of opprof's default
 *    control-flow mode without stacks (starts, resumes, throws, yields,
 *    branches, raises, handled exceptions), each doing only the counter
 *    increments opprof's does, in an array found through the code
 *    object's extra slot: no stack mirror, no sampling, no profile.  As
 *    opprof does, it turns off the events the walk does without (a yield
 *    that no SEND feeds; on 3.14 the not-taken way of a conditional jump
 *    outside loops other than for loops), deciding with the same code
 *    (profiler/opsload.c, blockmap.c), and CPython calls them as it calls
 *    opprof's (profiler/hookfn.c: no PyCFunction wrapper in between).
 *
 * start() installs it for the rest of the process.
 */
#include "../../profiler/pycompat.h"
#include "../../profiler/opsload.h"
#include "../../profiler/hookfn.h"

#include <stdlib.h>
#include <string.h>

#if OPPROF_PY_MONITORING

static Py_ssize_t extra = -1;

static bm_ops ops;        /* as opprof's: profiler/opsload.c */
static PyObject *disable;  /* sys.monitoring.DISABLE */

/* A code object's counters (2 per code unit, and 2 spare), followed by a
 * copy of its bytecode, which the yield and branch decisions read as
 * opprof reads its record's. */
static uint64_t *counters_of(PyObject *code, int create)
{
    uint64_t *c = oc_get_extra(code, extra);
    if (c || !create || !PyCode_Check(code))
        return c;
    Py_ssize_t n = Py_SIZE(code);   /* code units, 3.12+ */
    PyObject *bytes = PyCode_GetCode((PyCodeObject *)code);
    if (!bytes || !PyBytes_Check(bytes) || PyBytes_GET_SIZE(bytes) != 2 * n) {
        Py_XDECREF(bytes);
        PyErr_Clear();
        return NULL;
    }
    c = calloc(1, (2 * (size_t)n + 2) * sizeof *c + 2 * (size_t)n);
    if (c)
        memcpy(c + 2 * n + 2, PyBytes_AS_STRING(bytes), 2 * (size_t)n);
    Py_DECREF(bytes);
    if (c && oc_set_extra(code, extra, c) < 0) {
        PyErr_Clear();
        free(c);
        c = NULL;
    }
    return c;
}

static const unsigned char *bytes_of(PyObject *code, const uint64_t *c)
{
    return (const unsigned char *)(c + 2 * Py_SIZE(code) + 2);
}

/* As opprof reads an offset: a compact int without a call. */
static long offset_of(PyObject *o)
{
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)o))
        return (long)PyUnstable_Long_CompactValue((PyLongObject *)o);
    return -1;
}

static void bump(uint64_t *c, PyObject *code, long off, int exit)
{
    if (c && off >= 0 && off / 2 < Py_SIZE(code))
        c[2 * (off / 2) + exit]++;
}

/* PY_START, PY_RESUME: arrival at the offset (the start creates the array) */
static PyObject *on_arrive(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n >= 2)
        bump(counters_of(args[0], 1), args[0], offset_of(args[1]), 0);
    Py_RETURN_NONE;
}

/* PY_YIELD, RAISE, RERAISE, PY_THROW: control leaves the offset */
static PyObject *on_leave(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n >= 2)
        bump(counters_of(args[0], 0), args[0], offset_of(args[1]), 1);
    Py_RETURN_NONE;
}

/* PY_YIELD: as opprof, an exit where a SEND feeds the yield, else the
 * event goes off there (bm_yield_reported). */
static PyObject *on_yield(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    uint64_t *c = n >= 2 ? counters_of(args[0], 1) : NULL;
    long off = n >= 2 ? offset_of(args[1]) : -1;
    if (!c || off < 0)
        Py_RETURN_NONE;
    if (!bm_yield_reported(&ops, bytes_of(args[0], c), (uint32_t)Py_SIZE(args[0]),
                           (uint32_t)off / 2))
        return Py_NewRef(disable);
    bump(c, args[0], off, 1);
    Py_RETURN_NONE;
}

/* EXCEPTION_HANDLED: arrival at the handler */
static PyObject *on_handled(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n >= 2)
        bump(counters_of(args[0], 0), args[0], offset_of(args[1]), 0);
    Py_RETURN_NONE;
}

/* BRANCH_LEFT (3.14+): as opprof (collector_monitor.c, branch_via), a
 * conditional jump's not-taken way goes off where bm_left_event_silent()
 * says the walk counts it without. */
static PyObject *on_branch_left(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    uint64_t *c = n >= 3 ? counters_of(args[0], 1) : NULL;
    if (!c)
        Py_RETURN_NONE;
    long from = offset_of(args[1]), to = offset_of(args[2]);
    if (bm_left_event_silent(&ops, bytes_of(args[0], c), (uint32_t)Py_SIZE(args[0]), from, to))
        return Py_NewRef(disable);
    bump(c, args[0], from, 1);
    bump(c, args[0], to, 0);
    Py_RETURN_NONE;
}

/* BRANCH (3.12, 3.13), BRANCH_RIGHT (3.14+): left one place for another */
static PyObject *on_branch(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (n >= 3) {
        uint64_t *c = counters_of(args[0], 0);
        bump(c, args[0], offset_of(args[1]), 1);
        bump(c, args[0], offset_of(args[2]), 0);
    }
    Py_RETURN_NONE;
}

static const struct {
    const char *name;
    hf_fn fn;
} callbacks[] = {
    {"PY_START", on_arrive},
    {"PY_RESUME", on_arrive},
    {"PY_THROW", on_leave},
    {"PY_YIELD", on_yield},
    {"RAISE", on_leave},
    {"RERAISE", on_leave},
    {"EXCEPTION_HANDLED", on_handled},
    {"BRANCH", on_branch},
    {"BRANCH_LEFT", on_branch_left},
    {"BRANCH_RIGHT", on_branch},
};

#define TOOL 4   /* a free id: 0-2 and 5 are named for debuggers, coverage, profilers, optimizers */

static PyObject *start(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    extra = oc_request_extra_index();
    PyObject *mon = PySys_GetObject("monitoring");   /* borrowed */
    PyObject *events = mon ? PyObject_GetAttrString(mon, "events") : NULL;
    if (!events)
        return NULL;
    if (ol_load(&ops) < 0 || !(disable = PyObject_GetAttrString(mon, "DISABLE"))) {
        Py_DECREF(events);
        return NULL;
    }
    int sides = PyObject_HasAttrString(events, "BRANCH_LEFT");
    PyObject *r = PyObject_CallMethod(mon, "use_tool_id", "is", TOOL, "opfloor");
    if (!r)
        goto fail;
    Py_DECREF(r);
    long mask = 0;
    for (size_t i = 0; i < sizeof callbacks / sizeof *callbacks; i++) {
        const char *name = callbacks[i].name;
        int side = strncmp(name, "BRANCH_", 7) == 0;
        if ((side && !sides) || (!strcmp(name, "BRANCH") && sides))
            continue;
        PyObject *ev = PyObject_GetAttrString(events, name);
        PyObject *fn = ev ? hf_new(callbacks[i].fn, name) : NULL;
        r = fn ? PyObject_CallMethod(mon, "register_callback", "iOO", TOOL, ev, fn) : NULL;
        if (ev)
            mask |= PyLong_AsLong(ev);
        Py_XDECREF(fn);
        Py_XDECREF(ev);
        if (!r)
            goto fail;
        Py_DECREF(r);
    }
    r = PyObject_CallMethod(mon, "set_events", "il", TOOL, mask);
    if (!r)
        goto fail;
    Py_DECREF(r);
    Py_DECREF(events);
    Py_RETURN_NONE;
fail:
    Py_DECREF(events);
    return NULL;
}

#else

static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)arg;
    if (what == PyTrace_CALL)
        oc_frame_trace_opcodes(frame);
    return 0;
}

static PyObject *start(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    PyEval_SetTrace(trace, NULL);
    Py_RETURN_NONE;
}

#endif

static PyMethodDef methods[] = {
    {"start", start, METH_NOARGS, "install the floor for the rest of the process"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "opfloor", NULL, -1, methods};

PyMODINIT_FUNC PyInit_opfloor(void)
{
    return PyModule_Create(&module);
}
