/*
 * monview.c - opprof's sys.monitoring tool, kept out of the script's view.
 *
 * The functions of sys.monitoring are replaced, before the script runs,
 * by wrappers with the originals' names, flags and documents (so their
 * signatures, reprs and argument errors are the same) that call the real
 * functions.  Tool ids are not translated: every id is the script's own
 * except opprof's, R, which the script sees as python would show an
 * unused one - no name, no events, and the callbacks the script itself
 * registered on it (`shadow`: python keeps callbacks of unused ids).
 * The script claiming R moves opprof first (make_room).
 *
 * Errors stay CPython's: arguments are converted once, as the real
 * functions do, and a call about R that must fail on an unused id is made
 * on R with opprof's name hidden for its duration.  Callbacks move through
 * the interpreter's slots directly (pycompat.h): register_callback()
 * raises an audit event, which the script's audit hooks would see.
 */
#include "monview.h"

#if OPPROF_PY_MONITORING

#include "collector_common.h"

#include <stdlib.h>
#include <string.h>

/* The functions replaced.  restart_events() needs no wrapper: the only
 * events opprof turns off (DISABLE) are those it has no use for, and a
 * restart brings each back for one more callback that turns it off. */
enum { F_USE, F_FREE, F_CLEAR, F_GET_TOOL, F_REGISTER, F_GET_EVENTS, F_SET_EVENTS,
       F_GET_LOCAL, F_SET_LOCAL, F_ALL, F_COUNT };

static PyObject *real[F_COUNT];
static int tool = -1;                    /* opprof's id; -1: none (any more) */
static PyObject *mine[OC_MON_EVENTS];    /* opprof's callbacks */
static PyObject *shadow[OC_MON_EVENTS];  /* the script's callbacks on `tool` */
static long global_events;
static unsigned script_locals;  /* ids the script set local events on */
static const char *lost;
static PyObject *disable;  /* sys.monitoring.DISABLE */

/* Code objects with opprof's local events, by weak reference: opprof must
 * not keep them alive, and a dead one needs nothing. */
typedef struct {
    PyObject *ref;
    long events;
} mv_local;
static mv_local *locals;
static size_t nlocals, caplocals;

/* A move's preference: 2 (PROFILER_ID, cProfile's) last. */
static const int order[] = {4, 3, 5, 1, 0, 2};

static PyObject *call_i(int f, int id, PyObject *a, PyObject *b)
{
    PyObject *pid = PyLong_FromLong(id);
    if (!pid)
        return NULL;
    PyObject *args[3] = {pid, a, b};
    PyObject *r = PyObject_Vectorcall(real[f], args, 1 + (a != NULL) + (b != NULL), NULL);
    Py_DECREF(pid);
    return r;
}

/* Calls that return None: 0, or -1 with the exception. */
static int call_none(int f, int id, PyObject *a, PyObject *b)
{
    PyObject *r = call_i(f, id, a, b);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

static int set_events(int id, long events)
{
    PyObject *ev = PyLong_FromLong(events);
    int rc = ev ? call_none(F_SET_EVENTS, id, ev, NULL) : -1;
    Py_XDECREF(ev);
    return rc;
}

static int set_local(int id, PyObject *code, long events)
{
    PyObject *ev = PyLong_FromLong(events);
    int rc = ev ? call_none(F_SET_LOCAL, id, code, ev) : -1;
    Py_XDECREF(ev);
    return rc;
}

/* Sets opprof's local events of every live code object on `id`; stops at
 * the first failure: 0 or -1. */
static int apply_locals(int id)
{
    for (size_t i = 0; i < nlocals; i++) {
        PyObject *code = oc_weakref_get(locals[i].ref);
        int rc = code ? set_local(id, code, locals[i].events) : 0;
        Py_XDECREF(code);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Whether the script could take `id` for unused and find nothing of
 * opprof's there afterwards, and nothing of its own is lost by opprof
 * sitting there: no name, no global events (3.12 and 3.13 keep a freed
 * tool's events and callbacks running), no local events it ever set. */
static int free_for_opprof(int id)
{
    if (id == tool || *oc_mon_name_slot(id) || (script_locals & 1u << id))
        return 0;
    PyObject *ev = call_i(F_GET_EVENTS, id, NULL, NULL);
    long n = ev ? PyLong_AsLong(ev) : -1;
    Py_XDECREF(ev);
    PyErr_Clear();
    return n == 0;
}

static int pick(void)
{
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (free_for_opprof(order[i]))
            return order[i];
    return -1;
}

/* Takes opprof's global and local events off `id`.  Best effort: each
 * step is independent of the others. */
static void events_off(int id)
{
    if (set_events(id, 0) < 0)
        PyErr_Clear();
    for (size_t i = 0; i < nlocals; i++) {
        PyObject *code = oc_weakref_get(locals[i].ref);
        if (code && set_local(id, code, 0) < 0)
            PyErr_Clear();
        Py_XDECREF(code);
    }
}

/* Takes opprof off `id`: events, then its name, directly (3.14's
 * free_tool_id() would also drop the script's callbacks put back
 * here). */
static void vacate(int id)
{
    events_off(id);
    Py_CLEAR(*oc_mon_name_slot(id));
    for (int e = 0; e < OC_MON_EVENTS; e++) {
        PyObject **slot = oc_mon_callback_slot(id, e);
        PyObject *old = *slot;
        *slot = shadow[e];
        shadow[e] = NULL;
        Py_XDECREF(old);
    }
}

/* Moves opprof from `tool` to `to`.  No event can fire while it does
 * (no Python code runs).  The events go on the new id before they go off
 * the old one: that code switches to CPython's several-tools tables now,
 * with opprof's INSTRUCTION events (--instruction-events) new to it,
 * which fills them; a switch caused later by the script's events would
 * leave those tables empty for code that ran before (README).  0, or -1
 * with an exception and opprof still whole on `tool`. */
static int move_to(int to)
{
    PyObject *name = PyUnicode_FromString("opprof");
    int rc = name ? call_none(F_USE, to, name, NULL) : -1;
    Py_XDECREF(name);
    if (rc < 0)
        return -1;
    if (set_events(to, global_events) < 0 || apply_locals(to) < 0) {
        oc_err_state saved = oc_err_save();
        events_off(to);  /* the script's callbacks there were not touched */
        Py_CLEAR(*oc_mon_name_slot(to));
        oc_err_restore(saved);
        return -1;
    }
    PyObject *theirs[OC_MON_EVENTS];
    for (int e = 0; e < OC_MON_EVENTS; e++) {
        PyObject **slot = oc_mon_callback_slot(to, e);
        theirs[e] = *slot;
        *slot = Py_XNewRef(mine[e]);
    }
    vacate(tool);
    memcpy(shadow, theirs, sizeof theirs);
    tool = to;
    return 0;
}

static void give_up(const char *why)
{
    cc_end();  /* what was counted stays; nothing more is */
    vacate(tool);
    tool = -1;
    lost = why;
}

/* The script claims opprof's id: opprof goes elsewhere, or stops.  Its
 * own failures must not become the script's. */
static void make_room(void)
{
    oc_err_state saved = oc_err_save();
    int to = pick(), held = 0;
    for (int id = 0; id < OC_MON_TOOLS; id++)
        held += id == tool || *oc_mon_name_slot(id) != NULL;
    if (to < 0 && held == OC_MON_TOOLS)
        give_up("the script took every sys.monitoring tool id: nothing was counted after that");
    else if (to < 0)
        give_up("the script took or left events on every sys.monitoring tool id: nothing was "
                "counted after that");
    else if (move_to(to) < 0)
        give_up("opprof could not move to another sys.monitoring tool id when the script "
                "took its own: nothing was counted after that");
    PyErr_Clear();
    oc_err_restore(saved);
}

static int event_index(PyObject *event)
{
    long v = PyLong_AsLong(event);
    int e = 0;
    while (v > 1 && e < OC_MON_EVENTS)
        v >>= 1, e++;
    return v == 1 && e < OC_MON_EVENTS ? e : -1;
}

/* register_callback(R, event, func): the real call checks the arguments
 * and raises its audit event, as under python; then opprof's callback
 * goes back and the script's is kept aside, as python keeps one for an
 * unused id. */
static PyObject *register_on_own(PyObject *const *args)
{
    PyObject *old = PyObject_Vectorcall(real[F_REGISTER], args, 3, NULL);
    int e = old ? event_index(args[1]) : -1;
    if (e < 0)
        return old;
    PyObject **slot = oc_mon_callback_slot(tool, e);
    PyObject *theirs = *slot;
    *slot = old == Py_None ? NULL : old;
    if (old == Py_None)
        Py_DECREF(old);
    PyObject *prev = shadow[e];
    shadow[e] = theirs;
    return prev ? prev : Py_NewRef(Py_None);
}

/* A call the real function must refuse for an unused id (set_events,
 * set_local_events): made on R with its name hidden, so the error, and
 * the checks before it, are python's own. */
static PyObject *as_unused(int f, PyObject *const *args, Py_ssize_t n)
{
    PyObject **slot = oc_mon_name_slot(tool);
    PyObject *name = *slot;
    *slot = NULL;
    PyObject *r = PyObject_Vectorcall(real[f], args, n, NULL);
    *slot = name;
    return r;
}

/* The script's call about opprof's id R, answered as python answers it
 * about an unused id; the arguments are checked and converted. */
static PyObject *on_own_id(int f, PyObject *const *args, Py_ssize_t n)
{
    PyObject *r;
    switch (f) {
    case F_GET_TOOL:
    case F_FREE:
    case F_CLEAR:
        Py_RETURN_NONE;
    case F_GET_EVENTS:
        return PyLong_FromLong(0);
    case F_GET_LOCAL:
        r = PyObject_Vectorcall(real[f], args, n, NULL);  /* checks the code object */
        if (!r)
            return NULL;
        Py_DECREF(r);
        return PyLong_FromLong(0);
    case F_REGISTER:
        return register_on_own(args);
    case F_USE:
        if (PyUnicode_Check(args[1]))
            make_room();
        return PyObject_Vectorcall(real[f], args, n, NULL);
    default:
        return as_unused(f, args, n);
    }
}

/* Which functions, their flags (the originals' must match), how many
 * arguments, which are ints (bit i: argument i), and the wrapper's
 * method (its name and document are the original's). */
typedef struct {
    const char *name;
    int flags, nargs, ints;
    PyMethodDef def;
} mv_fn;
static mv_fn fns[F_COUNT];

static PyObject *dispatch(int f, PyObject *const *args, Py_ssize_t n)
{
    if (tool < 0 || n != fns[f].nargs)
        return PyObject_Vectorcall(real[f], args, n, NULL);
    /* ints as the real function converts them (__index__ once), so that
     * opprof knows the id the script means */
    PyObject *conv[3] = {NULL, NULL, NULL};
    PyObject *r = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        conv[i] = (fns[f].ints & 1 << i) && !PyLong_Check(args[i]) ? PyNumber_Index(args[i])
                                                                    : Py_NewRef(args[i]);
        if (!conv[i])
            goto done;
    }
    long id = PyLong_AsLong(conv[0]);
    if (id == -1 && PyErr_Occurred())
        PyErr_Clear();  /* out of range: the real function says so */
    if (id == tool) {
        r = on_own_id(f, conv, n);
        goto done;
    }
    r = PyObject_Vectorcall(real[f], conv, n, NULL);
    if (r && f == F_SET_LOCAL && id >= 0 && id < OC_MON_TOOLS) {
        long ev = PyLong_AsLong(conv[2]);
        if (ev)
            script_locals |= 1u << id;
        PyErr_Clear();
    }
done:
    for (int i = 0; i < 3; i++)
        Py_XDECREF(conv[i]);
    return r;
}

/* _all_events(): every tool's global events, by event; opprof's bit out. */
static PyObject *all_events(void)
{
    PyObject *d = PyObject_Vectorcall(real[F_ALL], NULL, 0, NULL);
    if (!d || tool < 0 || !PyDict_Check(d))
        return d;
    PyObject *keys = PyDict_Keys(d);
    for (Py_ssize_t i = 0; keys && i < PyList_GET_SIZE(keys); i++) {
        PyObject *k = PyList_GET_ITEM(keys, i);
        PyObject *v = PyDict_GetItemWithError(d, k);
        long bits = v ? PyLong_AsLong(v) & ~(1L << tool) : -1;
        PyObject *nv = bits > 0 ? PyLong_FromLong(bits) : NULL;
        int rc = bits == 0 ? PyDict_DelItem(d, k)
                 : nv      ? PyDict_SetItem(d, k, nv) : -1;
        Py_XDECREF(nv);
        if (rc < 0)
            Py_CLEAR(keys);
    }
    if (!keys)
        Py_CLEAR(d);
    Py_XDECREF(keys);
    return d;
}

#define FAST(f)                                                                \
    static PyObject *w_##f(PyObject *m, PyObject *const *a, Py_ssize_t n)      \
    {                                                                          \
        (void)m;                                                               \
        return dispatch(f, a, n);                                              \
    }
#define ONE(f)                                                                 \
    static PyObject *w_##f(PyObject *m, PyObject *a)                           \
    {                                                                          \
        (void)m;                                                               \
        return dispatch(f, &a, 1);                                             \
    }
FAST(F_USE)
ONE(F_FREE)
ONE(F_CLEAR)
ONE(F_GET_TOOL)
FAST(F_REGISTER)
ONE(F_GET_EVENTS)
FAST(F_SET_EVENTS)
FAST(F_GET_LOCAL)
FAST(F_SET_LOCAL)

static PyObject *w_F_ALL(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    return all_events();
}

#define FN(f, n, fl, na, in) \
    [f] = {n, fl, na, in, {NULL, (PyCFunction)(void (*)(void))w_##f, 0, NULL}}
static mv_fn fns[F_COUNT] = {
    FN(F_USE, "use_tool_id", METH_FASTCALL, 2, 1),
    FN(F_FREE, "free_tool_id", METH_O, 1, 1),
    FN(F_CLEAR, "clear_tool_id", METH_O, 1, 1),  /* 3.14+ */
    FN(F_GET_TOOL, "get_tool", METH_O, 1, 1),
    FN(F_REGISTER, "register_callback", METH_FASTCALL, 3, 3),
    FN(F_GET_EVENTS, "get_events", METH_O, 1, 1),
    FN(F_SET_EVENTS, "set_events", METH_FASTCALL, 2, 3),
    FN(F_GET_LOCAL, "get_local_events", METH_FASTCALL, 2, 1),
    FN(F_SET_LOCAL, "set_local_events", METH_FASTCALL, 3, 5),
    FN(F_ALL, "_all_events", METH_NOARGS, 0, 0),
};

/* The wrapper of `f`, as the original looks: its name, document (the
 * text signature with it), flags, module and __self__.  New reference;
 * NULL with an exception when the original is not what opprof knows. */
static PyObject *wrapper_of(int f)
{
    PyObject *o = real[f];
    if (!PyCFunction_Check(o) || PyCFunction_GET_FLAGS(o) != fns[f].flags) {
        PyErr_Format(PyExc_RuntimeError, "sys.monitoring.%s is not the function opprof knows",
                     fns[f].name);
        return NULL;
    }
    const PyMethodDef *m = ((PyCFunctionObject *)o)->m_ml;
    fns[f].def.ml_name = m->ml_name;
    fns[f].def.ml_flags = m->ml_flags;
    fns[f].def.ml_doc = m->ml_doc;
    return PyCMethod_New(&fns[f].def, PyCFunction_GET_SELF(o), ((PyCFunctionObject *)o)->m_module,
                         NULL);
}

int mv_start(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *mon = sys ? PyObject_GetAttrString(sys, "monitoring") : NULL;
    PyObject *wrap[F_COUNT] = {NULL};
    PyObject *name = NULL;
    int rc = -1;
    Py_XDECREF(sys);
    for (int f = 0; mon && f < F_COUNT; f++) {
        if (!(real[f] = PyObject_GetAttrString(mon, fns[f].name))) {
            if (f != F_CLEAR || !PyErr_ExceptionMatches(PyExc_AttributeError))
                goto done;
            PyErr_Clear();  /* before 3.14 */
            continue;
        }
        if (!(wrap[f] = wrapper_of(f)))
            goto done;
    }
    if (mon && !disable && !(disable = PyObject_GetAttrString(mon, "DISABLE")))
        goto done;
    if (!mon || (tool = pick()) < 0) {
        if (mon)
            PyErr_SetString(PyExc_RuntimeError, "no free sys.monitoring tool id");
        goto done;
    }
    if (!(name = PyUnicode_FromString("opprof")) || call_none(F_USE, tool, name, NULL) < 0)
        goto done;
    for (int f = 0; f < F_COUNT; f++)
        if (wrap[f] && PyObject_SetAttrString(mon, fns[f].name, wrap[f]) < 0)
            goto done;
    rc = 0;
done:
    if (rc < 0)
        tool = -1;
    for (int f = 0; f < F_COUNT; f++)
        Py_XDECREF(wrap[f]);
    Py_XDECREF(name);
    Py_XDECREF(mon);
    return rc;
}

PyObject *mv_disable(void)
{
    return disable;
}

int mv_register(PyObject *event, PyObject *fn)
{
    int e = event_index(event);
    if (e < 0 || tool < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "not a sys.monitoring event, or no tool");
        return -1;
    }
    PyObject *was_mine = mine[e];
    mine[e] = Py_NewRef(fn);
    PyObject **slot = oc_mon_callback_slot(tool, e);
    PyObject *before = *slot;
    *slot = Py_NewRef(fn);
    /* a callback registered before opprof came: the script's view of
     * this id keeps it */
    if (before && before != was_mine)
        Py_XSETREF(shadow[e], before);
    else
        Py_XDECREF(before);
    Py_XDECREF(was_mine);
    return 0;
}

int mv_set_events(long mask)
{
    if (tool < 0)
        return 0;
    global_events = mask;
    return set_events(tool, mask);
}

/* Drops entries whose code object died; grows the table when that frees
 * no room.  0 or -1 (out of memory). */
static int room_for_local(void)
{
    if (nlocals < caplocals)
        return 0;
    size_t kept = 0;
    for (size_t i = 0; i < nlocals; i++) {
        PyObject *code = oc_weakref_get(locals[i].ref);
        if (code)
            locals[kept++] = locals[i];
        else
            Py_DECREF(locals[i].ref);
        Py_XDECREF(code);
    }
    nlocals = kept;
    if (nlocals < caplocals / 2 + 1 && caplocals)
        return 0;
    size_t cap = caplocals ? 2 * caplocals : 64;
    mv_local *v = realloc(locals, cap * sizeof *v);
    if (!v)
        return -1;
    locals = v;
    caplocals = cap;
    return 0;
}

int mv_set_local_events(PyObject *code, long events)
{
    if (tool < 0)
        return 0;
    if (set_local(tool, code, events) < 0)
        return -1;
    if (room_for_local() < 0) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *ref = PyWeakref_NewRef(code, NULL);
    if (!ref)
        return -1;
    locals[nlocals++] = (mv_local){ref, events};
    return 0;
}

void mv_stop(void)
{
    global_events = 0;  /* a later move must not turn them on again */
    if (tool < 0)
        return;
    oc_err_state saved = oc_err_save();
    if (set_events(tool, 0) < 0)
        PyErr_Clear();
    oc_err_restore(saved);
}

const char *mv_lost_reason(void)
{
    return lost;
}

#endif
