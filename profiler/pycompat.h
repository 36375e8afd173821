/*
 * pycompat.h - every CPython version difference opprof depends on.
 *
 * This is the only file that tests PY_VERSION_HEX (the Makefile's check
 * enforces it).  Everything else calls the oc_* helpers or tests the
 * OPPROF_PY_* feature macros defined here.
 */
#ifndef OPPROF_PYCOMPAT_H
#define OPPROF_PYCOMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#if PY_VERSION_HEX < 0x030A0000 || PY_VERSION_HEX >= 0x030F0000
#error "opprof supports CPython 3.10 to 3.14"
#endif

/* 3.14 built --with-tail-call-interp (clang 19+) runs each instruction as
 * its own C function: there is no _PyEval_EvalFrameDefault loop frame for
 * the native unwinder, the sampler's overhead learning and the crash
 * stack to find. */
#ifdef Py_TAIL_CALL_INTERP
#error "opprof does not support a CPython built with the tail-calling interpreter (--with-tail-call-interp): build it without, the default"
#endif

#ifdef Py_GIL_DISABLED
#error "opprof refuses free-threaded CPython (3.13t, 3.14t): its counters are plain, not atomic"
#endif

/* The hexversion the profile records. */
#define OPPROF_PY_HEXVERSION ((unsigned long)PY_VERSION_HEX)

/* The adaptive interpreter (specialization) exists from 3.11 on. */
#define OPPROF_PY_SPECIALIZES (PY_VERSION_HEX >= 0x030B0000)

/* The specialization view (forms.h): what the adaptive interpreter held
 * can be seen under opprof from 3.12 on.  3.11 runs every instruction in
 * its generic form while a trace function is set, which is how opprof
 * counts there. */
#define OPPROF_PY_FORMS (PY_VERSION_HEX >= 0x030C0000)

/* Which collector backend is built: sys.monitoring exists from 3.12 on. */
#if PY_VERSION_HEX >= 0x030C0000
#define OPPROF_PY_MONITORING 1
#else
#define OPPROF_PY_MONITORING 0
#endif

/* co_qualname appeared in 3.11; on 3.10 it is rebuilt from the parents. */
#define OPPROF_PY_HAS_QUALNAME (PY_VERSION_HEX >= 0x030B0000)

/* 3.10 has no RESUME; from 3.11 the prologue ends at the first RESUME. */
#define OPPROF_PY_HAS_RESUME (PY_VERSION_HEX >= 0x030B0000)

/* The last exception for KeyboardInterrupt detection at exit. */
#define OPPROF_PY_LAST_EXC_NAME (PY_VERSION_HEX >= 0x030C0000 ? "last_exc" : "last_value")

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11 moved the frame structs into the internal headers: the trace
 * backend sets f_trace_opcodes without an attribute lookup per call, and
 * the sampler reads the running instruction from a signal handler.  3.14
 * moved _PyInterpreterFrame into a header of its own. */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include <internal/pycore_interpframe_structs.h>
#else
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX >= 0x030C0000
/* sys.monitoring's tables (monview.c): 3.12's objimpl.h defines a
 * _PyGC_FINALIZED for code outside the core that pycore_gc.h redefines */
#undef _PyGC_FINALIZED
#include <internal/pycore_interp.h>
#endif
#undef Py_BUILD_CORE
#else
#include <frameobject.h>
#endif

#if PY_VERSION_HEX >= 0x030B0000
/* The first code unit of a code object's (adaptive) bytecode. */
static inline const char *oc_code_units(PyCodeObject *co)
{
    return (const char *)co->co_code_adaptive;
}

/* Whether a frame of this owner marks where a C call of the interpreter
 * loop begins (3.12+: the entry frame it pushes; 3.14 owns it by the
 * interpreter). */
static inline int oc_frame_is_entry(char owner)
{
#if PY_VERSION_HEX >= 0x030E0000
    return owner == FRAME_OWNED_BY_INTERPRETER || owner == FRAME_OWNED_BY_CSTACK;
#elif PY_VERSION_HEX >= 0x030C0000
    return owner == FRAME_OWNED_BY_CSTACK;
#else
    (void)owner;
    return 0;
#endif
}
#endif

#if PY_VERSION_HEX >= 0x030D0000
/* f_executable: a PyObject * (3.13), or a tagged _PyStackRef whose low
 * bits must be masked (3.14). */
static inline PyObject *oc_untag(const void *field)
{
    uintptr_t bits;
    memcpy(&bits, field, sizeof bits);
#if PY_VERSION_HEX >= 0x030E0000
    bits &= ~(uintptr_t)3;
#endif
    return (PyObject *)bits;
}
#endif

static inline Py_ssize_t oc_request_extra_index(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_Eval_RequestCodeExtraIndex(NULL);
#else
    return _PyEval_RequestCodeExtraIndex(NULL);
#endif
}

/* codeobject.c's private holder of co_extra (_PyCodeObjectExtra), the same
 * from 3.7 to 3.13.  Read directly because the lookup runs on every event
 * without stacks; PyUnstable_Code_GetExtra() costs a call and checks. */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} oc_code_extra;

/* `code` must be a code object. */
static inline void *oc_get_extra(PyObject *code, Py_ssize_t index)
{
    const oc_code_extra *e = (const oc_code_extra *)((PyCodeObject *)code)->co_extra;
    return e && index >= 0 && index < e->ce_size ? e->ce_extras[index] : NULL;
}

static inline int oc_set_extra(PyObject *code, Py_ssize_t index, void *p)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_Code_SetExtra(code, index, p);
#else
    return _PyCode_SetExtra(code, index, p);
#endif
}

/* The code's bytes with specialized and instrumented opcodes undone.
 * Returns a new reference, NULL with an exception set on failure. */
static inline PyObject *oc_code_bytes(PyCodeObject *co)
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyCode_GetCode(co);
#else
    Py_INCREF(co->co_code);
    return co->co_code;
#endif
}

/* The variable names an oparg indexes, as dis resolves them: 3.11+ the
 * "localsplus" names (locals, then cells, then free variables) in
 * *locals and no *cells; 3.10 co_varnames in *locals and co_cellvars +
 * co_freevars in *cells.  New references (tuples); -1 with an exception
 * set on failure. */
static inline int oc_code_varnames(PyCodeObject *co, PyObject **locals, PyObject **cells)
{
#if PY_VERSION_HEX >= 0x030B0000
    *locals = Py_NewRef(co->co_localsplusnames);
    *cells = NULL;
    return 0;
#else
    *locals = Py_NewRef(co->co_varnames);
    *cells = PySequence_Concat(co->co_cellvars, co->co_freevars);
    if (!*cells) {
        Py_CLEAR(*locals);
        return -1;
    }
    return 0;
#endif
}

/* co_linetable is the location table of 3.11+ (Objects/locations.md in
 * CPython), which listing.c decodes itself; 3.10's differs and is read
 * through co_lines(). */
#define OPPROF_PY_LOCATION_TABLE (PY_VERSION_HEX >= 0x030B0000)

/* The minor version the tables of reports/model/opcodes.h are chosen by. */
#define OPPROF_PY_MINOR PY_MINOR_VERSION

/* The pending exception, set aside while the hook does its own work. */
#if PY_VERSION_HEX >= 0x030C0000
typedef PyObject *oc_err_state;
static inline oc_err_state oc_err_save(void) { return PyErr_GetRaisedException(); }
static inline void oc_err_restore(oc_err_state e) { PyErr_SetRaisedException(e); }
/* The pending exception as an object (new reference, NULL if none),
 * cleared: for saying it in one line. */
static inline PyObject *oc_err_take(void) { return PyErr_GetRaisedException(); }
#else
typedef struct { PyObject *type, *value, *tb; } oc_err_state;
static inline oc_err_state oc_err_save(void)
{
    oc_err_state e;
    PyErr_Fetch(&e.type, &e.value, &e.tb);
    return e;
}
static inline void oc_err_restore(oc_err_state e) { PyErr_Restore(e.type, e.value, e.tb); }
static inline PyObject *oc_err_take(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}
#endif

/* Copies n bytes from src, or fails instead of faulting on a bad
 * address: 0 or -1.  Supplied by the sampler (process_vm_readv). */
typedef int (*oc_peek_fn)(void *dst, const void *src, size_t n);

/* The oc_peek_fn of signal handlers: reads our own memory through the
 * kernel, so a bad address is EFAULT, not a crash.  One system call,
 * async-signal-safe.  0 or -1. */
static inline int oc_peek_self(void *dst, const void *src, size_t n)
{
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* A field of a struct at an address that may be garbage. */
#define OC_PEEK(peek, dst, ptr, type, field) \
    ((peek)(&(dst), (const char *)(ptr) + offsetof(type, field), sizeof(dst)) == 0)

/* Whether `code` is a code object whose bytecode holds byte offset `off`. */
static inline int oc_peek_code(oc_peek_fn peek, PyObject *code, long off)
{
    PyTypeObject *type;
    Py_ssize_t size;
    if (!OC_PEEK(peek, type, code, PyObject, ob_type) || type != &PyCode_Type || off < 0)
        return 0;
#if PY_VERSION_HEX >= 0x030B0000
    /* the bytecode is inside the code object: ob_size code units */
    return OC_PEEK(peek, size, code, PyVarObject, ob_size) && off < 2 * (long)size;
#else
    PyObject *bytes;
    return OC_PEEK(peek, bytes, code, PyCodeObject, co_code) &&
           OC_PEEK(peek, size, bytes, PyVarObject, ob_size) && off < (long)size;
#endif
}

/* The instruction the thread `ts` is running: its code object and byte
 * offset, and the frame that runs it (3.11+: its interpreter frame, the
 * identity the stack mirror knows it by; else NULL).  Called from a signal handler that interrupted that thread
 * anywhere - also while the interpreter is half way through setting up a
 * frame, when its pointers are not yet valid - so every read goes through
 * `peek` and is checked; -1 when there is no Python frame to credit. */
#if PY_VERSION_HEX >= 0x030B0000
/* The thread's innermost interpreter frame, read through `peek`: 1, or 0
 * on a bad read. */
static inline int oc_peek_current_frame(oc_peek_fn peek, PyThreadState *ts,
                                        _PyInterpreterFrame **f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return OC_PEEK(peek, *f, ts, PyThreadState, current_frame);
#else
    _PyCFrame *cf;
    return OC_PEEK(peek, cf, ts, PyThreadState, cframe) &&
           OC_PEEK(peek, *f, cf, _PyCFrame, current_frame);
#endif
}
#endif

static inline int oc_sample_position(oc_peek_fn peek, PyThreadState *ts, PyObject **code,
                                     long *offset, const void **frame)
{
    *frame = NULL;
#if PY_VERSION_HEX >= 0x030B0000
    _PyInterpreterFrame *f;
    char owner;
    if (!oc_peek_current_frame(peek, ts, &f))
        return -1;
    for (int depth = 0; f && depth < 4; depth++) {
        if (!OC_PEEK(peek, owner, f, _PyInterpreterFrame, owner))
            return -1;
        if (oc_frame_is_entry(owner)) {  /* an entry frame: the one below runs */
            if (!OC_PEEK(peek, f, f, _PyInterpreterFrame, previous))
                return -1;
            continue;
        }
        _Py_CODEUNIT *ip;
#if PY_VERSION_HEX >= 0x030D0000
        char exe[sizeof(((_PyInterpreterFrame *)0)->f_executable)];
        if (!OC_PEEK(peek, exe, f, _PyInterpreterFrame, f_executable) ||
            !OC_PEEK(peek, ip, f, _PyInterpreterFrame, instr_ptr))
            return -1;
        *code = oc_untag(exe);
#else
        if (!OC_PEEK(peek, *code, f, _PyInterpreterFrame, f_code) ||
            !OC_PEEK(peek, ip, f, _PyInterpreterFrame, prev_instr))
            return -1;
#endif
        /* 3.12 points at the CALL's last cache unit while a callee is
         * entered: the snapshot folds cache units into their instruction */
        *offset = (long)((const char *)ip - oc_code_units((PyCodeObject *)*code));
        *frame = f;
        return oc_peek_code(peek, *code, *offset) ? 0 : -1;
    }
    return -1;
#else
    PyFrameObject *f;
    int lasti;
    if (!OC_PEEK(peek, f, ts, PyThreadState, frame) || !f ||
        !OC_PEEK(peek, *code, f, PyFrameObject, f_code) ||
        !OC_PEEK(peek, lasti, f, PyFrameObject, f_lasti) || lasti < 0)
        return -1;
    *offset = (long)lasti * 2;
    return oc_peek_code(peek, *code, *offset) ? 0 : -1;
#endif
}

/* The opcode the interpreter holds at byte `off` of `code` (checked by
 * oc_sample_position): 0, or -1 where forms are not observed. */
static inline int oc_peek_opcode(oc_peek_fn peek, PyObject *code, long off, unsigned char *op)
{
#if OPPROF_PY_FORMS
    return peek(op, oc_code_units((PyCodeObject *)code) + off, 1);
#else
    (void)peek;
    (void)code;
    (void)off;
    (void)op;
    return -1;
#endif
}

/* The opcodes the interpreter holds for `co` now, one byte per code unit
 * (cache units hold cache data): NULL where forms are not observed. */
static inline const unsigned char *oc_installed_units(PyCodeObject *co)
{
#if OPPROF_PY_FORMS
    return (const unsigned char *)oc_code_units(co);
#else
    (void)co;
    return NULL;
#endif
}

/* 3.10 calls the interpreter loop once per Python frame; from 3.11 one C
 * call runs several (its first frame is marked as the entry). */
#define OPPROF_EVAL_FRAME_PER_PY_FRAME (PY_VERSION_HEX < 0x030B0000)

/* How many Python frames each C call of the interpreter loop runs on
 * thread `ts`, innermost first, from the entry-frame markers (3.11:
 * is_entry; 3.12+: the FRAME_OWNED_BY_CSTACK frame each call pushes).
 * The walk stops once the groups hold `max_frames` Python frames: the
 * caller keeps no more, and a signal handler must not walk a deep
 * recursion.  Signal-safe (every read goes through `peek`).  How many
 * groups, 0 where the version has no markers (3.10), -1 on a bad read. */
static inline int oc_eval_groups(oc_peek_fn peek, PyThreadState *ts, uint16_t *groups, int max,
                                 int max_frames)
{
#if PY_VERSION_HEX >= 0x030B0000
    _PyInterpreterFrame *f;
    if (!oc_peek_current_frame(peek, ts, &f))
        return -1;
    int n = 0, frames = 0;
    uint16_t cur = 0;
    for (int depth = 0; f && depth < 4096 && n < max && frames < max_frames; depth++) {
#if PY_VERSION_HEX >= 0x030C0000
        char owner;
        if (!OC_PEEK(peek, owner, f, _PyInterpreterFrame, owner))
            return -1;
        if (oc_frame_is_entry(owner)) {
            groups[n++] = cur;
            cur = 0;
        } else {
            cur++;
            frames++;
        }
#else
        bool entry;
        if (!OC_PEEK(peek, entry, f, _PyInterpreterFrame, is_entry))
            return -1;
        cur++;
        frames++;
        if (entry) {
            groups[n++] = cur;
            cur = 0;
        }
#endif
        if (!OC_PEEK(peek, f, f, _PyInterpreterFrame, previous))
            return -1;
    }
    if (cur && n < max)
        groups[n++] = cur;
    return n;
#else
    (void)peek, (void)ts, (void)groups, (void)max, (void)max_frames;
    return 0;
#endif
}

#if OPPROF_PY_MONITORING
/* The running interpreter frame of the thread whose state is `tstate`
 * (the caller's own, kept in its st_thread: libpython's thread-local
 * lookup costs 4% of call-heavy code): what a sys.monitoring event's
 * frame is known by (its address; a frame that returned may leave it to
 * the next call). */
static inline const void *oc_current_iframe(void *tstate)
{
    PyThreadState *ts = tstate;
#if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
#else
    return ts->cframe ? ts->cframe->current_frame : NULL;
#endif
}

/* The frame below `f` (NULL at the bottom), whether `f` is an entry frame
 * (C's: no Python code of its own), and the code it runs. */
static inline const void *oc_iframe_previous(const void *f)
{
    return ((const _PyInterpreterFrame *)f)->previous;
}

static inline int oc_iframe_is_entry(const void *f)
{
    return oc_frame_is_entry(((const _PyInterpreterFrame *)f)->owner);
}

static inline const void *oc_iframe_code(const void *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return oc_untag(&((const _PyInterpreterFrame *)f)->f_executable);
#else
    return ((const _PyInterpreterFrame *)f)->f_code;
#endif
}

/* The code unit the nearest frame below the running one that runs
 * `caller` is at - the call that started or resumed the running frame -
 * or -1 (a thread's first frame, or a caller opprof does not have on its
 * stack).  For PY_START and PY_RESUME callbacks: the
 * running frame is the callee's.  3.12 points at the call's last cache
 * unit there; the snapshot folds cache units into their instruction. */
static inline int32_t oc_caller_unit(const void *caller)
{
    PyThreadState *ts = PyThreadState_GET();
#if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *f = ts->current_frame;
#else
    _PyInterpreterFrame *f = ts->cframe ? ts->cframe->current_frame : NULL;
#endif
    /* the caller's frame may be below an entry frame (a call from C) or
     * a shim (3.13's __init__ cleanup frame): the nearest few frames are
     * searched for it */
    PyCodeObject *code = NULL;
    const char *ip = NULL;
    for (int k = 0; f && k < 4 && (const void *)code != caller; k++) {
        f = f->previous;
        if (!f || oc_frame_is_entry(f->owner))
            continue;
#if PY_VERSION_HEX >= 0x030D0000
        code = (PyCodeObject *)oc_untag(&f->f_executable);
        ip = (const char *)f->instr_ptr;
#else
        code = f->f_code;
        ip = (const char *)f->prev_instr;
#endif
    }
    if ((const void *)code != caller || ip < oc_code_units(code))
        return -1;
    long unit = (long)(ip - oc_code_units(code)) / 2;
    return unit < Py_SIZE(code) ? (int32_t)unit : -1;
}
#else
/* The code unit the frame that called `f` is at (its call), when that
 * frame is `caller`; -1 otherwise.  For the CALL trace event of f. */
static inline int32_t oc_caller_unit(PyFrameObject *f, const void *caller)
{
#if PY_VERSION_HEX >= 0x030B0000
    _PyInterpreterFrame *prev = f->f_frame->previous;
    /* a traced frame has its frame object: identity is enough */
    if (!prev || (const void *)prev->frame_obj != caller)
        return -1;
    int lasti = _PyInterpreterFrame_LASTI(prev);
#else
    if (!caller || (const void *)f->f_back != caller)
        return -1;
    int lasti = f->f_back->f_lasti;
#endif
    return lasti < 0 ? -1 : (int32_t)lasti;
}
#endif

#if OPPROF_PY_MONITORING
/* sys.monitoring's tool ids a program may use (6 and 7 are sys.setprofile's
 * and sys.settrace's), and its number of event slots per tool. */
#define OC_MON_TOOLS 6
#define OC_MON_EVENTS _PY_MONITORING_EVENTS

/* The interpreter's own slots for a tool's name and its callback for one
 * event, the ones use_tool_id() and register_callback() write: monview.c
 * moves opprof's tool through them without the audit event
 * register_callback() raises, which the script's audit hooks would see.
 * The same fields in 3.12-3.14; `tool` < 8, `event` < OC_MON_EVENTS. */
static inline PyObject **oc_mon_name_slot(int tool)
{
    return &PyInterpreterState_Get()->monitoring_tool_names[tool];
}

static inline PyObject **oc_mon_callback_slot(int tool, int event)
{
    return &PyInterpreterState_Get()->monitoring_callables[tool][event];
}

/* The object a weak reference points to (new reference), or NULL once it
 * died; never fails otherwise. */
static inline PyObject *oc_weakref_get(PyObject *ref)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *o = NULL;
    if (PyWeakref_GetRef(ref, &o) < 0)
        PyErr_Clear();
    return o;
#else
    PyObject *o = PyWeakref_GetObject(ref);
    return o && o != Py_None ? Py_NewRef(o) : NULL;
#endif
}
#endif

/* The line of byte offset `offset` in `code`; -1 when none. */
static inline int oc_code_line(const void *code, long offset)
{
    return PyCode_Addr2Line((PyCodeObject *)code, (int)offset);
}

/* 3.10's sys.settrace trampoline adds the frame to the traceback of an
 * exception its trace function raised; 3.11's leaves that to the
 * interpreter loop, which adds it too (twice was a bug). */
#define OPPROF_PY_TRAMPOLINE_TRACEBACK (PY_VERSION_HEX < 0x030B0000)

#if !OPPROF_PY_MONITORING
/* Byte offset of the instruction a trace event is about; negative before
 * the first instruction of a fresh 3.10 frame. */
static inline int oc_frame_offset(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    /* PyFrame_GetLasti() without the call: this runs for every instruction */
    int lasti = _PyInterpreterFrame_LASTI(f->f_frame);
    return lasti < 0 ? -1 : lasti * (int)sizeof(_Py_CODEUNIT);
#else
    return f->f_lasti < 0 ? -1 : f->f_lasti * 2;
#endif
}

/* The same as a code unit index, unsigned: a fresh 3.10 frame's -1 is
 * past every counter. */
static inline unsigned long oc_frame_unit(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return (unsigned long)(long)_PyInterpreterFrame_LASTI(f->f_frame);
#else
    return (unsigned long)(long)f->f_lasti;
#endif
}

static inline PyCodeObject *oc_frame_code_borrowed(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return f->f_frame->f_code;
#else
    return f->f_code;
#endif
}

static inline void oc_frame_trace_opcodes(PyFrameObject *f)
{
    f->f_trace_opcodes = 1;
    f->f_trace_lines = 0;
}

static inline Py_tracefunc oc_thread_tracefunc(PyThreadState *ts)
{
    return ts->c_tracefunc;
}
#endif

#endif
