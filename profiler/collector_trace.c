/*
 * collector_trace.c - the 3.10/3.11 backend: a C trace function.
 *
 * PyTrace_CALL sets f_trace_opcodes on the frame (and turns line events
 * off), so every instruction of it reports PyTrace_OPCODE.  CALL also
 * marks a RESUME on 3.11, which has no opcode event.  Threads started
 * later get the hook through threading.settrace(), whose first event swaps
 * in the C function.
 */
#include "collector.h"

#include "pycompat.h"

#if !OPPROF_PY_MONITORING

#include "codeinfo.h"
#include "collector_common.h"
#include "nstack.h"
#include "trace_guest.h"

static const char *replaced_reason;
static int calls_only;  /* a profile function instead: call/return events only */

static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg);
static int trace_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
    __attribute__((noinline));

static void install(void)
{
    if (calls_only)
        PyEval_SetProfile(trace, NULL);
    else
        PyEval_SetTrace(trace, NULL);
}

static int is_start(const st_record *rec, long offset)
{
#if OPPROF_PY_HAS_RESUME
    return offset == rec->entry;
#else
    (void)rec;
    return offset < 0;
#endif
}

/* Nearly every event: one instruction of the frame on top of the stack
 * mirror, counted in the array its push left there.  Small enough to
 * need no saved registers (the full handler's prologue alone was a fifth
 * of opprof's cost per event); everything else goes to trace_event. */
static int trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    st_thread *t = cc_tls;
    if (what == PyTrace_OPCODE && !obj && t && cc_active) {
        st_frame *f = &t->stack[t->depth];
        unsigned long u = oc_frame_unit(frame);
        if (f->frame == frame && u < f->nunits) {
            f->unit_counts[u]++;
            return 0;
        }
    }
    return trace_event(obj, frame, what, arg);
}

/* obj: the script's own trace function (sys.settrace), which gets the
 * events python would give it once opprof has counted (trace_guest.h) */
static int trace_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    st_thread *t;
    if (!cc_active) {
        if (what != PyTrace_CALL || !cc_counting((PyObject *)oc_frame_code_borrowed(frame)))
            return obj ? tg_forward(obj, frame, what, arg) : 0;
    }
    if (!(t = cc_thread()))
        return obj ? tg_forward(obj, frame, what, arg) : 0;
    switch (what) {
    case PyTrace_OPCODE: {
        st_frame *f = st_top(t);
        if (f->frame != frame)
            f = cc_resync(t, (PyObject *)oc_frame_code_borrowed(frame), frame);
        if (f)
            st_count(f->node, oc_frame_offset(frame));
        break;
    }
    case PyTrace_CALL: {
        if (!calls_only) {
            oc_frame_trace_opcodes(frame);
            if (frame->f_trace)   /* a generator's, or one the script set */
                tg_sync(frame, 1);
        }
        int32_t site =
            cc_lines && t->depth ? oc_caller_unit(frame, t->stack[t->depth].frame) : -1;
        st_frame *f = cc_enter(t, (PyObject *)oc_frame_code_borrowed(frame), frame, site);
        if (!f)
            break;
        long off = oc_frame_offset(frame);
        if (is_start(f->node->rec, off))
            f->node->rec->calls++;
        if (ci_is_resume(f->node->rec, off))
            st_count(f->node, off);
        break;
    }
    case PyTrace_RETURN:
        cc_leave(t, NULL, frame);
        break;
    default:
        break;
    }
    return obj ? tg_forward(obj, frame, what, arg) : 0;
}

/* New threads get the C trace function from a wrapper around the thread's
 * function, installed by replacing _thread.start_new_thread: it works for
 * raw _thread threads too, and it does not import threading (importing it
 * would make the interpreter run threading._shutdown at exit).  The
 * wrapper's repr is the function's, so CPython's "Exception ignored in
 * thread started by ..." message stays the same. */
typedef struct {
    PyObject_HEAD
    PyObject *func;
} thread_start;

static PyObject *thread_start_call(PyObject *self, PyObject *args, PyObject *kw)
{
    if (cc_active || cc_waiting)
        install();
    return PyObject_Call(((thread_start *)self)->func, args, kw);
}

static PyObject *thread_start_repr(PyObject *self)
{
    return PyObject_Repr(((thread_start *)self)->func);
}

static void thread_start_dealloc(PyObject *self)
{
    Py_XDECREF(((thread_start *)self)->func);
    PyObject_Free(self);
}

static PyTypeObject thread_start_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "opprof.thread_start",
    .tp_basicsize = sizeof(thread_start),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_call = thread_start_call,
    .tp_repr = thread_start_repr,
    .tp_dealloc = thread_start_dealloc,
};

static PyObject *real_start_new_thread;

static PyObject *start_new_thread(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *func, *fargs, *kw = NULL;
    if (!PyArg_UnpackTuple(args, "start_new_thread", 2, 3, &func, &fargs, &kw))
        return NULL;
    thread_start *w = PyObject_New(thread_start, &thread_start_type);
    if (!w)
        return NULL;
    Py_INCREF(func);
    w->func = func;
    PyObject *r = PyObject_CallFunction(real_start_new_thread, kw ? "OOO" : "OO",
                                        (PyObject *)w, fargs, kw);
    Py_DECREF(w);
    return r;
}

static PyMethodDef start_def = {"start_new_thread", start_new_thread, METH_VARARGS, NULL};

static int hook_threads(void)
{
    if (PyType_Ready(&thread_start_type) < 0)
        return -1;
    PyObject *thread = PyImport_ImportModule("_thread");
    if (!thread)
        return -1;
    real_start_new_thread = PyObject_GetAttrString(thread, "start_new_thread");
    PyObject *fn = real_start_new_thread ? PyCFunction_New(&start_def, NULL) : NULL;
    int rc = fn ? PyObject_SetAttrString(thread, "start_new_thread", fn) : -1;
    if (rc == 0)
        rc = PyObject_SetAttrString(thread, "start_new", fn);
    /* threading keeps its own reference, taken when it was imported */
    PyObject *threading = PyDict_GetItemString(PyImport_GetModuleDict(), "threading");
    if (rc == 0 && threading)
        rc = PyObject_SetAttrString(threading, "_start_new_thread", fn);
    Py_XDECREF(fn);
    Py_DECREF(thread);
    return rc;
}

int collector_start(st_store *s, const char *gate)
{
    if (cc_begin(s, gate) < 0)
        return -1;
    int waiting = cc_waiting, active = cc_active;
    cc_end();  /* until the hooks are in place */
    if (hook_threads() < 0)
        return -1;
    cc_waiting = waiting;
    cc_active = active;
    ns_add_hook((const void *)trace);  /* for the sampler's overhead */
    if (!calls_only && tg_install(trace) < 0)
        return -1;
    install();
    return 0;
}

void collector_stop(void)
{
    if (!cc_end())
        return;
    if (!calls_only && oc_thread_tracefunc(PyThreadState_Get()) != trace && !replaced_reason) {
        replaced_reason = "the script replaced opprof's trace function "
                          "(sys.settrace, e.g. pdb or coverage): counts after "
                          "that point are missing";
        fprintf(stderr, "opprof: warning: %s\n", replaced_reason);
    }
    oc_err_state saved = oc_err_save();
    if (calls_only) {
        PyEval_SetProfile(NULL, NULL);
    } else {
        tg_stop();
        PyEval_SetTrace(NULL, NULL);
    }
    oc_err_restore(saved);
}

const char *collector_incomplete_reason(void)
{
    const char *r = cc_incomplete_reason();
    return r ? r : replaced_reason;
}

const char *collector_backend(void)
{
    return calls_only ? "setprofile calls only (no counts)" : "settrace opcode events";
}

void collector_set_calls_only(void)
{
    calls_only = 1;
}

int collector_set_instruction_events(int on)
{
    return on ? 0 : -1;  /* the only way there is */
}

uint32_t collector_counter_width(void)
{
    return 1;
}

#endif
