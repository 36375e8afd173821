/*
 * collector_monitor.c - the 3.12+ backend: sys.monitoring with C callables.
 *
 * INSTRUCTION events give each instruction's (code, offset) exactly as the
 * definition of a count demands.  PY_START/PY_RESUME mark RESUME (which has
 * no INSTRUCTION event) and push the stack; PY_RETURN, PY_YIELD and
 * PY_UNWIND pop it; PY_THROW re-enters a generator without a RESUME.
 */
#include "collector.h"

#include "pycompat.h"

#if OPPROF_PY_MONITORING

#include "codeinfo.h"
#include "collector_common.h"

/* Not PROFILER_ID (2): cProfile uses it, and a script that profiles
 * itself must keep working. */
static const int tool_candidates[] = {4, 3, 5, 1, 0};
static int tool_id = -1;

static long offset_of(PyObject *o)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return v;
}

static PyObject *on_instruction(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_thread *t;
    if (cc_active && n >= 2 && (t = cc_thread())) {
        st_frame *f = st_top(t);
        if (f->code != args[0])
            f = cc_resync(t, args[0], NULL);
        if (f)
            st_count(f->node, offset_of(args[1]));
    }
    Py_RETURN_NONE;
}

static PyObject *enter(PyObject *const *args, Py_ssize_t n, int start, int resumes)
{
    st_thread *t;
    if (n >= 2 && cc_counting(args[0]) && (t = cc_thread())) {
        st_frame *f = cc_enter(t, args[0], NULL);
        if (f && start)
            f->node->rec->calls++;
        if (f && resumes)
            st_count(f->node, offset_of(args[1]));
    }
    Py_RETURN_NONE;
}

static PyObject *on_start(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    return enter(args, n, 1, 1);
}

static PyObject *on_resume(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    return enter(args, n, 0, 1);
}

static PyObject *on_throw(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    return enter(args, n, 0, 0);
}

static PyObject *on_leave(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_thread *t;
    if (cc_active && n >= 1 && (t = cc_thread()))
        cc_leave(t, args[0], NULL);
    Py_RETURN_NONE;
}

#define CB(name, fn) {name, (PyCFunction)(void (*)(void))fn, METH_FASTCALL, NULL}
static PyMethodDef callbacks[] = {
    CB("INSTRUCTION", on_instruction),
    CB("PY_START", on_start),
    CB("PY_RESUME", on_resume),
    CB("PY_THROW", on_throw),
    CB("PY_RETURN", on_leave),
    CB("PY_YIELD", on_leave),
    CB("PY_UNWIND", on_leave),
};

static PyObject *monitoring(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *mon = sys ? PyObject_GetAttrString(sys, "monitoring") : NULL;
    Py_XDECREF(sys);
    return mon;
}

static int pick_tool(PyObject *mon)
{
    for (size_t i = 0; i < sizeof tool_candidates / sizeof *tool_candidates; i++) {
        PyObject *owner = PyObject_CallMethod(mon, "get_tool", "i", tool_candidates[i]);
        if (!owner)
            return -1;
        int free_ = owner == Py_None;
        Py_DECREF(owner);
        if (free_) {
            PyObject *r = PyObject_CallMethod(mon, "use_tool_id", "is",
                                              tool_candidates[i], "opprof");
            if (!r)
                return -1;
            Py_DECREF(r);
            return tool_candidates[i];
        }
    }
    PyErr_SetString(PyExc_RuntimeError, "no free sys.monitoring tool id");
    return -1;
}

int collector_start(st_store *s, const char *gate)
{
    if (cc_begin(s, gate) < 0)
        return -1;
    int waiting = cc_waiting, active = cc_active;
    cc_end();  /* until the callbacks are in place */
    PyObject *mon = monitoring();
    PyObject *events = mon ? PyObject_GetAttrString(mon, "events") : NULL;
    long mask = 0;
    int rc = -1;
    if (!events || (tool_id = pick_tool(mon)) < 0)
        goto done;
    for (size_t i = 0; i < sizeof callbacks / sizeof *callbacks; i++) {
        PyObject *ev = PyObject_GetAttrString(events, callbacks[i].ml_name);
        PyObject *fn = ev ? PyCFunction_New(&callbacks[i], NULL) : NULL;
        PyObject *r = fn ? PyObject_CallMethod(mon, "register_callback", "iOO",
                                               tool_id, ev, fn) : NULL;
        if (ev)
            mask |= PyLong_AsLong(ev);
        Py_XDECREF(r);
        Py_XDECREF(fn);
        Py_XDECREF(ev);
        if (!r)
            goto done;
    }
    cc_waiting = waiting;
    cc_active = active;
    PyObject *r = PyObject_CallMethod(mon, "set_events", "il", tool_id, mask);
    if (!r) {
        cc_end();
        goto done;
    }
    Py_DECREF(r);
    rc = 0;
done:
    Py_XDECREF(events);
    Py_XDECREF(mon);
    return rc;
}

void collector_stop(void)
{
    if (!cc_end())
        return;
    oc_err_state saved = oc_err_save();
    PyObject *mon = monitoring();
    PyObject *r = mon ? PyObject_CallMethod(mon, "set_events", "ii", tool_id, 0) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(mon);
    PyErr_Clear();
    oc_err_restore(saved);
}


const char *collector_incomplete_reason(void)
{
    return cc_incomplete_reason();
}

const char *collector_backend(void)
{
    return "sys.monitoring";
}

#endif
