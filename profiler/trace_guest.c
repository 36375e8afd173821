/*
 * trace_guest.c - the script's trace function under opprof's
 * (trace_guest.h).  The trampoline follows CPython 3.10/3.11's
 * sys.settrace (Python/sysmodule.c: call_trampoline, trace_trampoline).
 */
#include "trace_guest.h"

#if !OPPROF_PY_MONITORING

#include <stdint.h>
#include <stdlib.h>
#include <frameobject.h>

#include "collector_common.h"

static Py_tracefunc host;
/* A C extension's trace function on this thread (PyEval_SetTrace), which
 * gets events without the trampoline; NULL: the script's is a Python
 * function, or there is none. */
static _Thread_local Py_tracefunc guest_c;

/* PyTrace_CALL ... PyTrace_OPCODE, as sys.settrace's functions get them */
static PyObject *whatstrings[8];

/* ---- the script's view of f_trace_lines and f_trace_opcodes ---------- */

enum { VIEW_LINES = 1, VIEW_OPCODES = 2 };

/* Frames whose view the script set, by address (open addressing, linear
 * probing, deletion by moving entries back): a handful at most, pdb's. */
typedef struct view_entry {
    PyFrameObject *frame;
    uint8_t bits;
} view_entry;

static view_entry *views;
static size_t nviews, capviews;   /* capviews: a power of two, or 0 */

static size_t slot_of(const PyFrameObject *f)
{
    uintptr_t h = (uintptr_t)f >> 4;
    h ^= h >> 17;
    return (size_t)(h * 0x9E3779B97F4A7C15ull) & (capviews - 1);
}

static view_entry *view_find(const PyFrameObject *f)
{
    if (!nviews)
        return NULL;
    for (size_t j = slot_of(f); views[j].frame; j = (j + 1) & (capviews - 1))
        if (views[j].frame == f)
            return &views[j];
    return NULL;
}

static int view_grow(void)
{
    size_t cap = capviews ? 2 * capviews : 16;
    view_entry *old = views, *v = calloc(cap, sizeof *v);
    size_t oldcap = capviews;
    if (!v)
        return -1;
    views = v;
    capviews = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].frame)
            continue;
        size_t j = slot_of(old[i].frame);
        while (views[j].frame)
            j = (j + 1) & (capviews - 1);
        views[j] = old[i];
    }
    free(old);
    return 0;
}

/* The entry of f, made with python's defaults when missing; NULL on OOM. */
static view_entry *view_get(PyFrameObject *f)
{
    view_entry *e = view_find(f);
    if (e)
        return e;
    if ((nviews + 1) * 2 > capviews && view_grow() < 0)
        return NULL;
    size_t j = slot_of(f);
    while (views[j].frame)
        j = (j + 1) & (capviews - 1);
    views[j] = (view_entry){f, VIEW_LINES};
    nviews++;
    return &views[j];
}

static void view_drop(const PyFrameObject *f)
{
    view_entry *e = view_find(f);
    if (!e)
        return;
    size_t i = (size_t)(e - views);
    views[i].frame = NULL;
    nviews--;
    /* entries after it that would not be found past the hole move back */
    for (size_t j = (i + 1) & (capviews - 1); views[j].frame; j = (j + 1) & (capviews - 1)) {
        view_entry moved = views[j];
        views[j].frame = NULL;
        size_t k = slot_of(moved.frame);
        while (views[k].frame)
            k = (k + 1) & (capviews - 1);
        views[k] = moved;
    }
}

static int view_bits(const PyFrameObject *f)
{
    const view_entry *e = view_find(f);
    return e ? e->bits : VIEW_LINES;   /* python's new frames: lines on, opcodes off */
}

void tg_sync(PyFrameObject *frame, int counted)
{
    int v = view_bits(frame);
    /* line events only where the script's tracer wants them (a C one
     * gets every frame's): opprof has no use for them */
    frame->f_trace_lines = (v & VIEW_LINES) && (frame->f_trace || guest_c);
    frame->f_trace_opcodes = counted || (v & VIEW_OPCODES);
}

static destructor real_frame_dealloc;

static void frame_dealloc(PyObject *f)
{
    if (nviews)
        view_drop((PyFrameObject *)f);
    real_frame_dealloc(f);
}

/* f_trace_lines and f_trace_opcodes: T_BOOL members under python */
static PyObject *get_view(PyObject *self, void *bit)
{
    return PyBool_FromLong(view_bits((PyFrameObject *)self) & (int)(intptr_t)bit);
}

static int set_view(PyObject *self, PyObject *value, void *bit)
{
    if (!value) {
        PyErr_SetString(PyExc_TypeError, "can't delete numeric/char attribute");
        return -1;
    }
    if (!PyBool_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "attribute value type must be bool");
        return -1;
    }
    view_entry *e = view_get((PyFrameObject *)self);
    if (!e) {
        PyErr_NoMemory();
        return -1;
    }
    if (value == Py_True)
        e->bits |= (uint8_t)(intptr_t)bit;
    else
        e->bits &= (uint8_t)~(intptr_t)bit;
    tg_sync((PyFrameObject *)self, cc_active);
    return 0;
}

/* f_trace: python's own getter and setter, then the events it needs */
static PyObject *real_f_trace;

static PyObject *get_trace(PyObject *self, void *unused)
{
    (void)unused;
    return Py_TYPE(real_f_trace)->tp_descr_get(real_f_trace, self, (PyObject *)Py_TYPE(self));
}

static int set_trace(PyObject *self, PyObject *value, void *unused)
{
    (void)unused;
    if (Py_TYPE(real_f_trace)->tp_descr_set(real_f_trace, self, value) < 0)
        return -1;
    tg_sync((PyFrameObject *)self, cc_active);
    return 0;
}

static PyGetSetDef frame_views[] = {
    {"f_trace", get_trace, set_trace, NULL, NULL},
    {"f_trace_lines", get_view, set_view, NULL, (void *)(intptr_t)VIEW_LINES},
    {"f_trace_opcodes", get_view, set_view, NULL, (void *)(intptr_t)VIEW_OPCODES},
};

static int patch_frame_type(void)
{
    PyObject *dict = PyFrame_Type.tp_dict;
    real_f_trace = dict ? PyDict_GetItemString(dict, "f_trace") : NULL;
    if (!real_f_trace || !Py_TYPE(real_f_trace)->tp_descr_get ||
        !Py_TYPE(real_f_trace)->tp_descr_set) {
        PyErr_SetString(PyExc_RuntimeError, "opprof: the frame type has no f_trace");
        return -1;
    }
    Py_INCREF(real_f_trace);
    for (size_t i = 0; i < sizeof frame_views / sizeof *frame_views; i++) {
        PyObject *d = PyDescr_NewGetSet(&PyFrame_Type, &frame_views[i]);
        int rc = d ? PyDict_SetItemString(dict, frame_views[i].name, d) : -1;
        Py_XDECREF(d);
        if (rc < 0)
            return -1;
    }
    PyType_Modified(&PyFrame_Type);
    real_frame_dealloc = PyFrame_Type.tp_dealloc;
    PyFrame_Type.tp_dealloc = frame_dealloc;
    return 0;
}

/* ---- sys.settrace and the trampoline --------------------------------- */

static PyObject *real_settrace;

static PyObject *guest_settrace(PyObject *self, PyObject *func)
{
    (void)self;
    guest_c = NULL;
    if (!host)   /* opprof has stopped (the end of the run): python's own */
        return PyObject_CallOneArg(real_settrace, func);
    /* opprof's function stays, with the script's as its argument, which
     * sys.gettrace() returns; _PyEval_SetTrace audits as python does */
    if (_PyEval_SetTrace(PyThreadState_Get(), host, func == Py_None ? NULL : func) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef settrace_def = {
    "settrace", guest_settrace, METH_O,
    "settrace(function)\n\nSet the global debug tracing function.  It will be called on each\n"
    "function call.  See the debugger chapter in the library manual."};

int tg_forward(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    int v = view_bits(frame);
    if ((what == PyTrace_LINE && !(v & VIEW_LINES)) ||
        (what == PyTrace_OPCODE && !(v & VIEW_OPCODES)))
        return 0;
    if (guest_c) {
        int rc = guest_c(obj, frame, what, arg);
        if (what == PyTrace_CALL)
            tg_sync(frame, cc_active);
        return rc;
    }
    /* under python, events reach frames' f_trace only while a global
     * trace function is set */
    if (!obj || what < 0 || what > PyTrace_OPCODE)
        return 0;
    PyObject *callback = what == PyTrace_CALL ? obj : frame->f_trace;
    if (!callback)
        return 0;
    Py_INCREF(callback);
    PyObject *result = NULL;
    if (PyFrame_FastToLocalsWithError(frame) == 0) {
        PyObject *stack[3] = {(PyObject *)frame, whatstrings[what], arg ? arg : Py_None};
        result = PyObject_Vectorcall(callback, stack, 3, NULL);
        PyFrame_LocalsToFast(frame, 1);
        if (!result && OPPROF_PY_TRAMPOLINE_TRACEBACK)
            PyTraceBack_Here(frame);
    }
    Py_DECREF(callback);
    if (!result) {
        /* python removes the trace function that failed; counting goes on */
        _PyEval_SetTrace(PyThreadState_Get(), host, NULL);
        Py_CLEAR(frame->f_trace);
        tg_sync(frame, cc_active);
        return -1;
    }
    if (result != Py_None)
        Py_XSETREF(frame->f_trace, result);
    else
        Py_DECREF(result);
    tg_sync(frame, cc_active);
    return 0;
}

static void sync_running_frames(PyThreadState *ts)
{
    PyFrameObject *f = PyThreadState_GetFrame(ts);
    while (f) {
        tg_sync(f, f->f_trace_opcodes && !(view_bits(f) & VIEW_OPCODES));
        PyFrameObject *up = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = up;
    }
}

void tg_stop(void)
{
    host = NULL;
    guest_c = NULL;
}

/* Interposed: the executable exports it (Makefile), so C extensions
 * (coverage's CTracer) call this one; libpython's sys.settrace does not
 * call it. */
void PyEval_SetTrace(Py_tracefunc func, PyObject *obj)
{
    PyThreadState *ts = PyThreadState_Get();
    int rc;
    if (!host || func == host) {
        rc = _PyEval_SetTrace(ts, func, obj);
    } else {
        guest_c = func;
        rc = _PyEval_SetTrace(ts, host, func ? obj : NULL);
        if (func)   /* frames already running get the line events python gives */
            sync_running_frames(ts);
    }
    if (rc < 0)   /* as CPython's own: it cannot return the error */
        _PyErr_WriteUnraisableMsg("in PyEval_SetTrace", NULL);
}

int tg_install(Py_tracefunc fn)
{
    static const char *const names[8] = {"call",   "exception",   "line",     "return",
                                         "c_call", "c_exception", "c_return", "opcode"};
    host = fn;
    for (int i = 0; i < 8; i++)
        if (!whatstrings[i] && !(whatstrings[i] = PyUnicode_InternFromString(names[i])))
            return -1;
    PyObject *sys = PyImport_ImportModule("sys");
    real_settrace = sys ? PyObject_GetAttrString(sys, "settrace") : NULL;
    PyObject *mod = real_settrace ? PyUnicode_FromString("sys") : NULL;
    PyObject *set = mod ? PyCFunction_NewEx(&settrace_def, sys, mod) : NULL;
    int rc = set ? PyObject_SetAttrString(sys, "settrace", set) : -1;
    Py_XDECREF(set);
    Py_XDECREF(mod);
    Py_XDECREF(sys);
    return rc < 0 ? -1 : patch_frame_type();
}

#endif
