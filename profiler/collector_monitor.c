/*
 * collector_monitor.c - the 3.12+ backend: sys.monitoring with C callables.
 *
 * Two modes, identical counts (the end-to-end tests check it):
 *  - flow (default): control-flow events only - starts, resumes, returns,
 *    yields, jumps, branches, raises, handled exceptions - each recorded as
 *    an entry or exit at an instruction; blockmap.c turns them into
 *    per-instruction counts at the end.  Events fire per block, not per
 *    instruction, which is what makes exact counts cheap.
 *  - instruction: INSTRUCTION events, one per instruction; slow, simple,
 *    kept to check the flow mode against.
 * In both, PY_START/PY_RESUME mark RESUME (no INSTRUCTION event exists for
 * it) and push the stack mirror; PY_THROW re-enters a generator without
 * running a RESUME.  Returns have no event: PY_RETURN and PY_UNWIND cost a
 * callback per call, a tenth of call-heavy code's time.  The mirror knows
 * its frames by their interpreter frame instead, and an event from a frame
 * below an entry tells it that entry's frame has returned (drop_returned).
 */
#include "collector.h"

#include "pycompat.h"

#if OPPROF_PY_MONITORING

#include "codeinfo.h"
#include "collector_common.h"
#include "hookfn.h"
#include "monview.h"
#include "nstack.h"

#include <stdio.h>
#include <string.h>

static const bm_ops *ops;   /* ci_ops(), kept: the branch events ask each time */
static int flow_mode = 1;
static int calls_only;
static int with_stacks = 1;
static long jump_event;

/* Pops the mirror's entries of frames that have returned, given `live`, a
 * frame that runs (the one an event comes from, or the caller of one that
 * starts or resumes): the innermost frame of its chain that the mirror
 * has is the innermost that still runs.  Everything above it returned. */
static void drop_returned(st_thread *t, const void *live)
{
    int k = 0;
    const void *f = live;
    for (; f && k < 64; f = oc_iframe_previous(f)) {
        if (oc_iframe_is_entry(f))
            continue;
        k++;
        for (uint32_t d = t->depth; d > 0; d--)
            if (t->stack[d].frame == f) {
                t->depth = d;
                return;
            }
    }
    if (!f)
        t->depth = 0;   /* none of its frames runs any more */
    /* else: the running frames opprof has are further down; keep them */
}

/* JUMP events for one code object whose loops no other event interrupts
 * (blockmap.h); every other code object resolves its jumps statically. */
static void jumps_on(PyObject *code, st_record *rec)
{
    if (!flow_mode || !rec->jumps_reported)
        return;
    oc_err_state saved = oc_err_save();
    if (mv_set_local_events(code, jump_event) < 0) {
        /* counts of this code may come out inconsistent; the snapshot says so */
        PyErr_Clear();
    }
    oc_err_restore(saved);
}

/* The node the events of a running frame of `code` count in: the
 * nearest entry at or below stack[*d] with that code (moving *d below it),
 * or the record's one node without stacks. */
static st_node *running_node(st_thread *t, PyObject *code, uint32_t *d)
{
    if (!with_stacks) {
        st_record *r = cc_record(code);
        return r ? r->flat : NULL;
    }
    for (uint32_t k = *d; t && k > 0; k--)
        if (t->stack[k].code == code) {
            *d = k - 1;
            return t->stack[k].node;
        }
    return NULL;
}

/* In a forked child: the blocks the forking thread's frames stand in
 * were entered in the parent, whose counts the child dropped.  Each frame
 * goes on after the instruction it stands on (the call that forked, or
 * the call of the frame above), so control arrives there: counts are
 * whole from the instruction after fork(), and add up. */
static void resume_after_fork(st_thread *t)
{
    if (!flow_mode || calls_only)
        return;
    const void *cur = t && with_stacks ? oc_current_iframe(cc_pyts(t)) : NULL;
    if (cur)
        drop_returned(t, cur);
    uint32_t d = t ? t->depth : 0;
    PyFrameObject *f = PyEval_GetFrame();
    Py_XINCREF(f);
    while (f) {
        PyCodeObject *code = PyFrame_GetCode(f);
        int lasti = PyFrame_GetLasti(f);
        st_node *n = running_node(t, (PyObject *)code, &d);
        if (n && n->rec && lasti >= 0 && (uint32_t)lasti / 2 < n->rec->ncounters) {
            const st_record *r = n->rec;
            uint32_t u = bm_owner(ops, r->bytes, r->ncounters, (uint32_t)lasti / 2);
            st_count(n, 2L * (u + 1 + ops->caches[r->bytes[2 * u]]));
        }
        Py_DECREF(code);
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DECREF(f);
        f = back;
    }
}

static long offset_of_slow(PyObject *o)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return v;
}

/* Every event passes two offsets: the compact int's value is read in
 * place (a call per offset was 2% of call-heavy code on 3.14). */
static inline long offset_of(PyObject *o)
{
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject *)o))
        return (long)PyUnstable_Long_CompactValue((PyLongObject *)o);
    return offset_of_slow(o);
}

/* Where events of `code` count: with stacks, the node of its frame on
 * this thread's stack (repaired if events were missed); without, its
 * record's one node, and no stack is kept at all. */
static st_node *node_for(PyObject *code)
{
    /* C extensions fire events about objects of their own through the
     * C API (3.13+: PyMonitoring_Fire*Event with any "code-like" object) */
    if (!cc_active || !PyCode_Check(code))
        return NULL;
    if (!with_stacks) {
        st_record *r = cc_record(code);
        return r ? r->flat : NULL;
    }
    st_thread *t = cc_thread();
    if (!t)
        return NULL;
    const void *cur = oc_current_iframe(cc_pyts(t));
    st_frame *f = st_top(t);
    if (f->frame == cur && f->code == code)
        return f->node;
    drop_returned(t, cur);
    f = st_top(t);
    if (t->depth && f->frame == cur && f->code == code)
        return f->node;
    /* its start was missed (it began before counting); or a C extension
     * fired the event for a code object that is not the running one's */
    f = cc_enter(t, code, cur && oc_iframe_code(cur) == code ? cur : NULL, -1);
    return f ? f->node : NULL;
}

/* INSTRUCTION (an execution) and EXCEPTION_HANDLED (control arrives at
 * the handler): (code, offset, ...). */
static PyObject *on_arrive(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_node *node;
    if (n >= 2 && (node = node_for(args[0])))
        st_count(node, offset_of(args[1]));
    Py_RETURN_NONE;
}

/* JUMP and BRANCH: (code, from, to). */
static PyObject *on_jump(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_node *node;
    if (n >= 3 && (node = node_for(args[0]))) {
        st_exit(node, offset_of(args[1]));
        st_count(node, offset_of(args[2]));
    }
    Py_RETURN_NONE;
}

static int opcode_at(const st_record *r, long off)
{
    return off >= 0 && (unsigned long)off < 2ul * r->ncounters ? r->bytes[off] : -1;
}

/* 3.14 reports a branch's two ways apart, and not always from the branch:
 * a POP_JUMP_IF_* not taken is reported by the NOT_TAKEN after it, a
 * FOR_ITER's end by the POP_ITER at the loop's end, each as a jump from
 * the branch to the instruction past itself: it ran, so control arrived
 * there.  (code, from, to) as JUMP's. */
/* While INSTRUCTION events are on for the code (a script's opcode
 * tracing: f_trace_opcodes), 3.14 reports such a branch from the reporter
 * itself, to the instruction past it: the branch it stands for is the
 * conditional jump just before a NOT_TAKEN, or the FOR_ITER whose loop
 * ends at a POP_ITER (for_iter: that opcode).  The branch's byte offset,
 * or `at` when there is none. */
static long reported_branch(const st_record *r, long at, int for_iter)
{
    if (for_iter < 0)
        return at >= 2 ? 2L * bm_owner(ops, r->bytes, r->ncounters, (uint32_t)at / 2 - 1) : at;
    for (uint32_t i = 0; i < r->ncounters; i += 1u + ops->caches[r->bytes[2 * i]])
        if (r->bytes[2 * i] == for_iter &&
            bm_jump_target(ops, r->bytes, r->ncounters, i) + 1 == (uint32_t)at / 2)
            return 2L * i;
    return at;
}

/* Records a branch event; with `silence` (BRANCH_LEFT), returns 1 instead
 * for a conditional jump's not-taken way that the walk counts without its
 * event (bm_left_event_silent). */
static int branch_via(PyObject *const *args, Py_ssize_t n, int reporter, int from_op,
                      int silence)
{
    st_node *node;
    if (n < 3 || !(node = node_for(args[0])))
        return 0;
    long from = offset_of(args[1]), to = offset_of(args[2]);
    const st_record *r = node->rec;
    if (silence && r && bm_left_event_silent(ops, r->bytes, r->ncounters, from, to))
        return 1;
    if (r && reporter >= 0 && to == from + 2 && opcode_at(r, from) == reporter)
        from = reported_branch(r, from, from_op);
    /* an async for ends in its handler (END_ASYNC_FOR), which 3.14 also
     * reports as a branch from the loop's END_SEND: control arrived there
     * once, by the exception */
    if (r && opcode_at(r, to - 2) == ops->end_async_for && ops->end_async_for >= 0)
        return 0;
    if (reporter >= 0 && r && to - 2 > from && opcode_at(r, to - 2) == reporter) {
        /* POP_ITER reports every time it runs, from whatever ran before
         * it: FOR_ITER's end is news; a jump to it or a fall into it was
         * counted by the jump's own event or by the bytecode's order.  A
         * jump's own event to just past a POP_ITER is no report of it. */
        if (from_op < 0 || opcode_at(r, from) == from_op)
            to -= 2;
        else if (bm_jump_target(ops, r->bytes, r->ncounters, (uint32_t)from / 2) !=
                 (uint32_t)to / 2)
            return 0;
    }
    st_exit(node, from);
    st_count(node, to);
    return 0;
}

/* A not-taken way the walk counts without its event turns the event off
 * where it fires (DISABLE; a restart_events() brings it back for one more
 * call that records nothing): half the branch events of branchy code
 * outside loops, and of the ifs inside for loops. */
static PyObject *on_branch_left(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    if (branch_via(args, n, ops->not_taken, -1, 1))
        return Py_NewRef(mv_disable());
    Py_RETURN_NONE;
}

static PyObject *on_branch_right(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    branch_via(args, n, ops->pop_iter, ops->for_iter, 0);
    Py_RETURN_NONE;
}

static long owner_offset(const st_record *r, long off)
{
    if (off < 0 || (unsigned long)off >= 2ul * r->ncounters)
        return -1;
    return 2 * (long)bm_owner(ops, r->bytes, r->ncounters, (uint32_t)off / 2);
}

/* Where a RAISE really happened.  The event offset is off for an exception
 * coming out of a callee (3.12: in the CALL's caches; 3.13: the unit
 * before the CALL); the traceback entry the interpreter has just added for
 * this frame has the right one. */
static long raise_offset(PyObject *code, PyObject *exc, long off)
{
    PyObject *tb = PyExceptionInstance_Check(exc) ? PyException_GetTraceback(exc) : NULL;
    if (tb && PyTraceBack_Check(tb)) {
        PyTracebackObject *t = (PyTracebackObject *)tb;
        PyCodeObject *tc = t->tb_frame ? PyFrame_GetCode(t->tb_frame) : NULL;
        if ((PyObject *)tc == code)
            off = t->tb_lasti;
        Py_XDECREF(tc);
    }
    Py_XDECREF(tb);
    return off;
}

/* RAISE: (code, offset, exception). */
static PyObject *on_raise(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_node *node;
    st_thread *t;
    if (n < 3 || !(node = node_for(args[0])) || !(t = cc_thread()))
        Py_RETURN_NONE;
    if (t->thrown_code == args[0]) {
        t->thrown_code = NULL;  /* the exception thrown in, raised at the yield */
        Py_RETURN_NONE;
    }
    const st_record *r = node->rec;
    long off = owner_offset(r, offset_of(args[1]));
    int op = opcode_at(r, off);
    /* StopIteration ending a for loop or a yield from is absorbed by
     * FOR_ITER / SEND: control goes on in this frame. */
    if ((op == ops->for_iter || op == ops->send) &&
        PyErr_GivenExceptionMatches(args[2], PyExc_StopIteration))
        Py_RETURN_NONE;
    oc_err_state saved = oc_err_save();
    off = owner_offset(r, raise_offset(args[0], args[2], off));
    PyErr_Clear();
    oc_err_restore(saved);
    /* raised at the entry RESUME by a tool called before opprof's PY_START
     * (a higher id's: a script's settrace function raising on 'call'):
     * the frame never started for opprof, nor did it run */
    if (off == r->entry && t->entered != args[0])
        Py_RETURN_NONE;
    st_exit(node, off);
    Py_RETURN_NONE;
}

/* RERAISE and bare `raise`: the event offset is right, no traceback entry
 * was added. */
static PyObject *on_reraise(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_node *node;
    if (n >= 2 && (node = node_for(args[0])))
        st_exit(node, owner_offset(node->rec, offset_of(args[1])));
    Py_RETURN_NONE;
}

static PyObject *enter(PyObject *const *args, Py_ssize_t n, int start, int resumes)
{
    st_thread *t;
    if (n < 2 || !PyCode_Check(args[0]) || !cc_counting(args[0]) || !(t = cc_thread()))
        Py_RETURN_NONE;
    st_node *node = NULL;
    if (with_stacks) {
        const void *cur = oc_current_iframe(cc_pyts(t));
        /* most often the caller is the mirror's top: nothing returned */
        if (cur && !(t->depth && t->stack[t->depth].frame == oc_iframe_previous(cur)))
            drop_returned(t, oc_iframe_previous(cur));
        int32_t site = cc_lines && t->depth ? oc_caller_unit(t->stack[t->depth].code) : -1;
        st_frame *f = cc_enter(t, args[0], cur, site);
        node = f ? f->node : NULL;
    } else {
        st_record *r = cc_record(args[0]);
        node = r ? r->flat : NULL;
    }
    if (!node)
        Py_RETURN_NONE;
    if (start) {
        node->rec->calls++;
        t->entered = args[0];
    }
    if (resumes)
        st_count(node, offset_of(args[1]));
    else
        t->thrown_code = args[0];
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

/* PY_YIELD: the exit of a yield that a SEND feeds is recorded, because
 * SEND's silent jump is computed from it (blockmap.c).  Every other yield
 * leaves whenever it runs, which blockmap.c knows without an event, so
 * its event is turned off where it fired (DISABLE: restart_events()
 * brings it back, and it is turned off again).  Nor does a yield pop the
 * mirror: the next event from below does (drop_returned). */
static PyObject *on_yield(PyObject *self, PyObject *const *args, Py_ssize_t n)
{
    (void)self;
    st_record *r;
    if (!flow_mode)
        return Py_NewRef(mv_disable());   /* INSTRUCTION events count it */
    if (n < 2 || !cc_active || !PyCode_Check(args[0]) || !(r = cc_record(args[0])))
        Py_RETURN_NONE;
    long off = offset_of(args[1]);
    if (off < 0 || !bm_yield_reported(ops, r->bytes, r->ncounters, (uint32_t)off / 2))
        return Py_NewRef(mv_disable());
    st_node *node = node_for(args[0]);
    if (node)
        st_exit(node, off);
    Py_RETURN_NONE;
}

/* flow: 1 flow mode only, 0 instruction mode only, 2 both */
static const struct {
    const char *name;
    hf_fn fn;
    int flow;
} callbacks[] = {
    {"INSTRUCTION", on_arrive, 0},
    {"JUMP", on_jump, 1},     /* local events only: see jumps_on() */
    {"BRANCH", on_jump, 1},   /* 3.12, 3.13 */
    {"BRANCH_LEFT", on_branch_left, 1},     /* 3.14+: instead of BRANCH */
    {"BRANCH_RIGHT", on_branch_right, 1},
    {"RAISE", on_raise, 1},
    {"RERAISE", on_reraise, 1},
    {"EXCEPTION_HANDLED", on_arrive, 1},
    {"PY_START", on_start, 2},
    {"PY_RESUME", on_resume, 2},
    {"PY_THROW", on_throw, 2},
    {"PY_YIELD", on_yield, 2},
};

static PyObject *monitoring(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    PyObject *mon = sys ? PyObject_GetAttrString(sys, "monitoring") : NULL;
    Py_XDECREF(sys);
    return mon;
}

int collector_start(st_store *s, const char *gate)
{
    if (cc_begin(s, gate) < 0)
        return -1;
    int waiting = cc_waiting, active = cc_active;
    cc_end();  /* until the callbacks are in place */
    with_stacks = st_store_with_stacks(s);
    ops = ci_ops();
    cc_late_returns = with_stacks;
    PyObject *mon = monitoring();
    PyObject *events = mon ? PyObject_GetAttrString(mon, "events") : NULL;
    long mask = 0;
    int rc = -1;
    if (!events || mv_start() < 0)
        goto done;
    ns_add_hook(hf_trampoline());
    /* BRANCH where the interpreter has no BRANCH_LEFT, else its sides */
    int sides = PyObject_HasAttrString(events, "BRANCH_LEFT");
    for (size_t i = 0; i < sizeof callbacks / sizeof *callbacks; i++) {
        if (callbacks[i].flow != 2 && (calls_only || callbacks[i].flow != flow_mode))
            continue;
        const char *name = callbacks[i].name;
        if (strcmp(name, "BRANCH") == 0 ? sides : strncmp(name, "BRANCH_", 7) == 0 && !sides)
            continue;
        ns_add_hook((const void *)callbacks[i].fn);  /* for the sampler's overhead */
        PyObject *ev = PyObject_GetAttrString(events, name);
        PyObject *fn = ev ? hf_new(callbacks[i].fn, name) : NULL;
        int bad = !fn || mv_register(ev, fn) < 0;
        if (ev && strcmp(name, "JUMP") != 0)
            mask |= PyLong_AsLong(ev);
        if (ev && strcmp(name, "JUMP") == 0)
            jump_event = PyLong_AsLong(ev);
        Py_XDECREF(fn);
        Py_XDECREF(ev);
        if (bad)
            goto done;
    }
    cc_new_code = jumps_on;
    cc_after_fork = resume_after_fork;
    cc_waiting = waiting;
    cc_active = active;
    if (mv_set_events(mask) < 0) {
        cc_end();
        goto done;
    }
    rc = 0;
done:
    Py_XDECREF(events);
    Py_XDECREF(mon);
    return rc;
}

void collector_stop(void)
{
    static int said;
    if (mv_lost_reason() && !said++)
        fprintf(stderr, "opprof: warning: %s\n", mv_lost_reason());
    if (cc_end())
        mv_stop();
}

const char *collector_incomplete_reason(void)
{
    const char *r = cc_incomplete_reason();
    return r ? r : mv_lost_reason();
}

const char *collector_backend(void)
{
    return calls_only  ? "sys.monitoring calls only (no counts)"
           : flow_mode ? "sys.monitoring control flow"
                       : "sys.monitoring INSTRUCTION";
}

void collector_set_calls_only(void)
{
    calls_only = 1;
    flow_mode = 0;  /* nothing is counted, not even yields */
}

int collector_set_instruction_events(int on)
{
    flow_mode = !on;
    return 0;
}

uint32_t collector_counter_width(void)
{
    return flow_mode && !calls_only ? 2 : 1;
}

#endif
