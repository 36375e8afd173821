/*
 * collector_common.c - per-thread state, stack repair and thread names.
 */
#include "collector.h"
#include "collector_common.h"
#include "crash.h"
#include "forms.h"
#include "native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codeinfo.h"
#include "sampler.h"

st_store *cc_store;
int cc_active;
int cc_waiting;
int cc_lines;
int cc_late_returns;
static char *gate_file;
_Thread_local st_thread *cc_tls;

static unsigned long main_ident;

/* How many frame entries a new thread may spend looking for its name: a
 * threading.Thread registers itself a few calls after it starts, a raw
 * _thread thread never does. */
#define NAME_LOOKUPS 64

int cc_begin(st_store *s, const char *gate)
{
    cc_store = s;
    cc_extra = ci_extra_index();
    cc_lines = st_store_with_lines(s);
    main_ident = PyThread_get_thread_ident();
    free(gate_file);
    gate_file = gate ? strdup(gate) : NULL;
    if (gate && !gate_file) {
        PyErr_NoMemory();
        return -1;
    }
    cc_waiting = gate != NULL;
    cc_active = gate == NULL;
    return 0;
}

int cc_gate_opens(PyObject *code)
{
    oc_err_state saved = oc_err_save();
    PyObject *f = PyUnicode_EncodeFSDefault(((PyCodeObject *)code)->co_filename);
    int open_ = f && strcmp(PyBytes_AS_STRING(f), gate_file) == 0;
    Py_XDECREF(f);
    PyErr_Clear();
    oc_err_restore(saved);
    if (open_) {
        cc_waiting = 0;
        cc_active = 1;
    }
    return open_;
}

int cc_end(void)
{
    int was = cc_active || cc_waiting;
    cc_active = cc_waiting = 0;
    return was;
}

/* The end of a PyThreadState, seen from its dict.  A thread keeps its
 * PyThreadState in its st_thread (pyts): the monitor backend reads the
 * running frame from it on every event, where libpython's thread-local
 * lookup cost 4% of call-heavy code.  A C thread that calls Python
 * through PyGILState_Ensure gets a new one each time: when the old one is
 * cleared, this guard in its dict makes the st_thread forget it. */
typedef struct tguard {
    PyObject_HEAD
    st_thread *t;
    void *ts;
} tguard;

static void tguard_dealloc(PyObject *o)
{
    tguard *g = (tguard *)o;
    if (g->t->pyts == g->ts)
        g->t->pyts = NULL;
    PyObject_Free(o);
}

static PyTypeObject tguard_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "opprof.tstate_guard",
    .tp_basicsize = sizeof(tguard),
    .tp_dealloc = tguard_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

void *cc_pyts_refresh(st_thread *t)
{
    PyThreadState *ts = PyThreadState_Get();
    PyObject *dict = PyThreadState_GetDict();   /* borrowed */
    if (!dict)
        return t->pyts = ts;
    if (!(tguard_type.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&tguard_type) < 0) {
        PyErr_Clear();
        return t->pyts = ts;
    }
    tguard *g = PyObject_New(tguard, &tguard_type);
    if (g) {
        g->t = t;
        g->ts = ts;
        if (PyDict_SetItemString(dict, "opprof.tstate_guard", (PyObject *)g) < 0)
            PyErr_Clear();
        Py_DECREF(g);
    } else {
        PyErr_Clear();
    }
    return t->pyts = ts;
}

st_thread *cc_thread_create(void)
{
    unsigned long ident = PyThread_get_thread_ident();
    st_thread *t = st_thread_new(cc_store, ident);
    if (!t)
        return NULL;
    if (ident == main_ident)
        st_thread_set_name(t, "MainThread");
    cc_pyts_refresh(t);
    cc_tls = t;
    sm_thread_start(t);  /* without its timer the thread's time is not sampled */
    if (ident != main_ident)
        cr_thread_start();  /* without it a stack overflow here is not reported */
    return t;
}

/* threading's name for `ident`, as a new UTF-8 copy in `t`; 0 if found. */
static int name_from_threading(st_thread *t)
{
    int found = -1;
    PyObject *modules = PyImport_GetModuleDict();
    PyObject *threading = PyDict_GetItemString(modules, "threading");
    PyObject *active = threading ? PyObject_GetAttrString(threading, "_active") : NULL;
    PyObject *key = active ? PyLong_FromUnsignedLong(t->ident) : NULL;
    PyObject *thread = key && PyDict_Check(active) ? PyDict_GetItemWithError(active, key) : NULL;
    /* _name, not the name property: a property would run Python code */
    PyObject *name = thread ? PyObject_GetAttrString(thread, "_name") : NULL;
    const char *s = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (s && st_thread_set_name(t, s) == 0)
        found = 0;
    Py_XDECREF(name);
    Py_XDECREF(key);
    Py_XDECREF(active);
    PyErr_Clear();
    return found;
}

void (*cc_new_code)(PyObject *code, st_record *rec);
void (*cc_after_fork)(st_thread *t);

Py_ssize_t cc_extra = -1;

st_record *cc_record_new(PyObject *code)
{
    int fresh;
    st_record *rec = ci_record(cc_store, code, &fresh);
    if (rec && fresh && cc_new_code)
        cc_new_code(code, rec);
    return rec;
}

st_frame *cc_enter(st_thread *t, PyObject *code, const void *frame, int32_t callsite)
{
    st_record *rec = cc_record(code);
    if (!rec || st_push(cc_store, t, rec, code, frame, callsite) < 0)
        return NULL;
    if (!t->name && t->name_lookups < NAME_LOOKUPS) {
        t->name_lookups++;
        oc_err_state saved = oc_err_save();
        name_from_threading(t);
        oc_err_restore(saved);
    }
    return st_top(t);
}

static int matches(const st_frame *f, PyObject *code, const void *frame)
{
    return frame ? f->frame == frame : f->code == code;
}

void cc_leave(st_thread *t, PyObject *code, const void *frame)
{
    for (uint32_t d = t->depth; d > 0; d--) {
        if (matches(&t->stack[d], code, frame)) {
            t->depth = d - 1;
            return;
        }
    }
}

st_frame *cc_resync(st_thread *t, PyObject *code, const void *frame)
{
    for (uint32_t d = t->depth; d > 0; d--) {
        if (matches(&t->stack[d], code, frame)) {
            t->depth = d;
            return &t->stack[d];
        }
    }
    return cc_enter(t, code, frame, -1);
}

void collector_name_threads(st_store *s)
{
    char buf[64];
    for (size_t i = 0; i < st_thread_count(s); i++) {
        st_thread *t = st_thread_at(s, i);
        if (t->name || name_from_threading(t) == 0)
            continue;
        snprintf(buf, sizeof buf, "Thread-%lu", t->ident);
        st_thread_set_name(t, buf);
    }
}

const char *cc_incomplete_reason(void)
{
    return cc_store && st_store_oom(cc_store) ? "out of memory while counting" : NULL;
}

void collector_after_fork_child(void)
{
    /* The forking thread keeps its state and stack; the others are gone
     * from the child, and their frames never report again. */
    if (cc_store)
        st_store_zero(cc_store);
    if (cc_store && cc_active && cc_after_fork)
        cc_after_fork(cc_tls);
    nv_after_fork();
    fm_after_fork();
    sm_after_fork(cc_tls);
}
