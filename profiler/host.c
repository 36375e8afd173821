/*
 * host.c - the embedded interpreter and the end-of-run sequence.
 *
 * The end of a run has three exits, and each writes the profile once:
 *  - Py_RunMain() returns: the common case.
 *  - SystemExit: CPython calls Py_Exit() -> exit(); on_exit() gets the status.
 *  - an uncaught KeyboardInterrupt: Py_RunMain() kills the process with
 *    SIGINT after finalizing, so the profile is written from the atexit hook.
 * In all three the counts are snapshotted by a Python atexit hook that is
 * registered before the script runs, so it runs after the script's own
 * atexit handlers and after non-daemon threads were joined, while the
 * interpreter is still whole.
 */
#include "host.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "../reports/outfile.h"
#include "../reports/model/profile_read.h"
#include "children.h"
#include "codeinfo.h"
#include "collector.h"
#include "commands.h"
#include "crash.h"
#include "exitcode.h"
#include "forms.h"
#include "native.h"
#include "pycompat.h"
#include "pyconfig.h"
#include "runout.h"
#include "sampler.h"
#include "snapshot.h"

#ifndef OPPROF_PYTHON_EXE
#define OPPROF_PYTHON_EXE ""
#endif

static struct {
    const cli_run *opts;
    ro_outputs *out;         /* every file the run writes, planned before it */
    char cwd[PATH_MAX];
    pc_target t;             /* what python runs: script, gate, root, hash seed */
    st_store *store;
    pf_profile *profile;     /* set by the atexit snapshot */
    st_store *spent_store;   /* after the snapshot: kept until exit, unfreed */
    pf_profile *baseline;    /* --compare */
    int written;
    int sigint;              /* the script died of KeyboardInterrupt */
    int by_signal;           /* in the child writing after a signal (crash.h) */
    const char *ended;       /* how the process ends: "os._exit", a signal; NULL: exit */
    uint64_t start_ns;
    uint64_t end_ns;         /* when the script ended: the exit work starts */
} run;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cmd_vsay(fmt, ap);
    va_end(ap);
    return -1;
}

/* --compare: the diff goes to stderr (stdout is the script's); the
 * script's own failure outranks a regression, and stderr says which. */
static int compare(int status)
{
    char err[512];
    const char *name = ro_profile_name(run.out) ? ro_profile_name(run.out) : "this run";
    int verdict = cmd_compare(run.baseline, run.profile, run.opts->compare, name,
                              &run.opts->gate, stderr, err, sizeof err);
    if (verdict < 0) {
        error("cannot compare with %s: %s", run.opts->compare, err);
        return status ? status : OPPROF_EXIT_DATAERR;
    }
    if (status) {
        error("the script exited with status %d: that is the exit status "
              "(the comparison does not gate a failed run)", status);
        return status;
    }
    if (verdict == DF_REGRESSION) {
        error("regression against %s: exit %d", run.opts->compare, OPPROF_EXIT_REGRESSION);
        return OPPROF_EXIT_REGRESSION;
    }
    error("%s against %s", verdict == DF_WARNING ? "over a soft limit (warning only)"
                                                 : "no regression", run.opts->compare);
    return 0;
}

/* Writes the outputs, once, with the script's exit status; returns the
 * status the process should exit with: the script's own, else 73 when an
 * output could not be written or went to PATH.opprof, else the
 * comparison's verdict. */
static int finish(int status)
{
    if (run.written || !run.profile)
        return status;
    run.written = 1;
    run.profile->exit_status = status;
    if (ch_role_now() == CH_CHILD) {   /* its part of the run: nothing else */
        ch_write_part(run.profile);
        return status;
    }
    ro_result res = ro_write(run.out, run.profile, run.opts, run.end_ns);
    if (res == RO_NO_PROFILE)
        return status;
    if (res == RO_PROFILE_FAILED)
        return status ? status : OPPROF_EXIT_CANTCREAT;
    int rc = run.baseline ? compare(status) : status;
    return !status && res != RO_OK ? OPPROF_EXIT_CANTCREAT : rc;
}

static void on_process_exit(int status, void *arg)
{
    (void)arg;
    int rc = finish(status);
    if (rc != status) {
        /* exit() has its status already (sys.exit(0) with an output that
         * failed, or a regression under --compare): this is the only way
         * to change it, and stdio is flushed by hand */
        fflush(NULL);
        _exit(rc);
    }
}

static int last_exception_is_keyboard_interrupt(void)
{
    PyObject *e = PySys_GetObject(OPPROF_PY_LAST_EXC_NAME);  /* borrowed */
    return e && PyObject_TypeCheck(e, (PyTypeObject *)PyExc_KeyboardInterrupt);
}

/* Tells runout every module file the run imported, so that no output
 * replaces one.  Reads the module dicts, not attributes: a module's
 * __getattr__ must not run. */
static void note_imported_files(void)
{
    PyObject *mods = PySys_GetObject("modules");   /* borrowed */
    PyObject *key, *mod;
    Py_ssize_t pos = 0;
    while (mods && PyDict_Check(mods) && PyDict_Next(mods, &pos, &key, &mod)) {
        PyObject *d = PyModule_Check(mod) ? PyModule_GetDict(mod) : NULL;
        PyObject *file = d ? PyDict_GetItemString(d, "__file__") : NULL;   /* borrowed */
        PyObject *b = file && PyUnicode_Check(file) ? PyUnicode_EncodeFSDefault(file) : NULL;
        char *abs = b ? of_absolute(PyBytes_AS_STRING(b), run.cwd) : NULL;
        int bad = abs && ro_note_executed(run.out, abs) < 0;
        free(abs);
        Py_XDECREF(b);
        if (bad)
            break;
    }
    PyErr_Clear();
}

/* The atexit hook: stop counting and build the model while Python is up. */
static PyObject *at_exit(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (run.profile || !run.store)
        Py_RETURN_NONE;
    /* before the snapshot: code it runs (dis builds namedtuples with eval)
     * resets CPython's own record of the KeyboardInterrupt */
    run.sigint = last_exception_is_keyboard_interrupt();
    /* a child's part is written whole: a pool that sends SIGTERM to a
     * worker already on its way out (python's would be gone) waits */
    if (ch_role_now() == CH_CHILD)
        ch_hold_termination();
    cr_disarm();
    sm_stop();  /* first: the snapshot itself is not the script's time */
    if (fm_capture(run.store) < 0)
        fm_release();  /* forms are optional: the profile goes without */
    collector_stop();
    collector_name_threads(run.store);
    pf_profile *p = pf_profile_new();
    int bad = !p;
    if (p) {
        run.end_ns = now_ns();
        p->wall_ns = run.end_ns - run.start_ns;
        p->hexversion = OPPROF_PY_HEXVERSION;
        bad |= pf_set_string(&p->python_version, PY_VERSION) < 0;
        bad |= pf_set_string(&p->python_build, Py_GetVersion()) < 0;
        p->specialization = OPPROF_PY_SPECIALIZES;
        PyObject *prefix = PySys_GetObject("base_prefix");
        const char *ps = prefix && PyUnicode_Check(prefix) ? PyUnicode_AsUTF8(prefix) : NULL;
        bad |= pf_set_string(&p->python_prefix, ps ? ps : "") < 0;
        bad |= pf_set_string(&p->root, run.t.root) < 0;
        bad |= pf_set_string(&p->hash_seed, run.t.hash_seed) < 0;
        bad |= pf_set_string(&p->implementation, "cpython") < 0;
        bad |= pf_set_string(&p->collector, collector_backend()) < 0;
        p->counted = run.opts->count;
        PyObject *exe = PySys_GetObject("executable");
        const char *s = exe && PyUnicode_Check(exe) ? PyUnicode_AsUTF8(exe) : NULL;
        bad |= pf_set_string(&p->executable, s ? s : "") < 0;
        bad |= pf_set_argv(p, (const char *const *)run.opts->py_argv,
                           (size_t)run.opts->py_argc) < 0;
        /* before the snapshot's own reason: when counting stopped early,
         * the counts that do not add up are its consequence */
        const char *why = collector_incomplete_reason();
        if (why)
            bad |= pf_mark_incomplete(p, why) < 0;
        bad |= snap_build(run.store, p, run.cwd, ch_role_now() == CH_CHILD) < 0;
        fm_release();
        note_imported_files();
        if (p->timed) {
            sm_stats st;
            sm_get_stats(&st);
            p->rate_hz = st.rate_hz;
            p->samples = st.samples;
            p->sampled_ns = st.sampled_ns;
            p->overhead_ns = st.overhead_ns;
            p->unattributed_ns = st.unattributed_ns;
            bad |= pf_set_string(&p->timing_method, "sampling") < 0;
            bad |= pf_set_string(&p->timing_clock, sm_clock_name()) < 0;
        }
        if (nv_enabled())
            bad |= nv_build(p) < 0;
        /* a child's part: what it inherited and never ran is its parent's */
        if (ch_role_now() == CH_CHILD)
            bad |= pf_drop_idle_functions(p) < 0;
    }
    PyErr_Clear();
    if (!bad && ch_mark_process(p, run.ended ? run.ended : "exit") < 0)
        bad = 1;
    if (!bad && !run.by_signal && ch_role_now() != CH_NONE)
        ch_stop_helpers();
    /* a signal's writer waits for no one: the children write their own */
    if (!bad && ch_collect(&p, run.by_signal ? 0 : run.opts->subprocess_wait_s) < 0)
        error("the profile holds this process only");
    if (!run.by_signal) {  /* the crash report still points into it */
        ci_release(run.store);
        /* Its C memory is not freed: the process is about to end, and
         * freeing the nodes one by one took ~8% of the end-of-run work of
         * a large run.  It stays reachable (no leak for the checkers). */
        run.spent_store = run.store;
    }
    run.store = NULL;
    if (bad) {
        error("internal error: could not build the profile (out of memory?)");
        pf_profile_release(p);
        Py_RETURN_NONE;
    }
    run.profile = p;
    if (run.sigint && !run.by_signal)
        finish(128 + SIGINT);  /* Py_RunMain() may die of SIGINT: no later chance */
    Py_RETURN_NONE;
}

/* In the child crash.c forks on a fatal or termination signal: the
 * profile so far, marked.  Best-effort (the parent bounds it). */
static void write_after_signal(const cr_info *ci)
{
    /* a child killed before its own start holds its parent's counts */
    if (run.written || !run.store || ch_counts_inherited())
        _exit(0);
    if (!PyGILState_Check())
        PyGILState_Ensure();  /* free unless another thread held it: then the parent's timeout */
    run.by_signal = 1;
    run.ended = cr_signal_name(ci->sig);
    /* the signal may have stopped an object half-built (a fault inside a C
     * call): the cyclic GC must not walk the heap while the snapshot runs */
    PyGC_Disable();
    run.baseline = NULL;
    st_store *store = run.store;
    at_exit(NULL, NULL);
    pf_profile *p = run.profile;
    if (!p)
        _exit(1);
    char why[64];
    snprintf(why, sizeof why, "the run was ended by %s", cr_signal_name(ci->sig));
    const char *thread = NULL;
    if (ci->thread_known && ci->thread < st_thread_count(store))
        thread = st_thread_at(store, ci->thread)->name;
    if (pf_mark_incomplete(p, why) < 0 || pf_set_string(&p->signal, cr_signal_name(ci->sig)) < 0 ||
        (ci->fatal && nv_add_crash(p, ci, thread ? thread : "?") < 0))
        _exit(1);
    _exit(finish(128 + ci->sig) == 128 + ci->sig ? 0 : 1);
}

/* A child of a --subprocesses run ended by SIGTERM or SIGHUP while it
 * held the GIL (crash.h): its part is written here, in the process. */
static void write_on_term(int sig)
{
    if (run.written || !run.store)
        return;
    run.ended = cr_signal_name(sig);
    at_exit(NULL, NULL);
    pf_profile *p = run.profile;
    char why[64];
    snprintf(why, sizeof why, "the run was ended by %s", cr_signal_name(sig));
    if (p && pf_mark_incomplete(p, why) == 0 && pf_set_string(&p->signal, cr_signal_name(sig)) == 0)
        finish(128 + sig);
}

/* A forked child writes its own profile (and flame graphs), named with
 * its pid, and counts only what it runs itself. */
static PyObject *after_fork_child(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    collector_after_fork_child();
    ch_after_fork();   /* its signal handling changed in fork() itself */
    run.start_ns = now_ns();
    if (ch_role_now() != CH_CHILD)   /* a child's profile is a part: no outputs */
        ro_after_fork(run.out);
    Py_RETURN_NONE;
}

/* os._exit() in the process opprof ran: the profile is written first,
 * then the real os._exit() ends the process as it would (no atexit
 * handlers, no flushing of Python's buffers).  A forked child's os._exit
 * writes nothing, as before (multiprocessing's workers leave that way). */
static PyObject *real_os_exit;
static pid_t main_pid;

static PyObject *os_exit_hook(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    PyObject *first = PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 1
                          ? PyTuple_GET_ITEM(args, 0) : NULL;
    long v = first && PyLong_Check(first) ? PyLong_AsLong(first) : -1;
    if (v == -1 && PyErr_Occurred())
        PyErr_Clear();
    int status = v >= 0 && v <= 255 ? (int)v : -1;   /* else: as the real one does */
    if ((getpid() == main_pid || ch_role_now() == CH_CHILD) && !run.written && status >= 0 &&
        !kwargs) {
        run.ended = "os._exit";
        at_exit(NULL, NULL);
        int rc = finish(status);
        if (rc != status) {
            PyObject *again = Py_BuildValue("(i)", rc);
            PyObject *r = again ? PyObject_Call(real_os_exit, again, NULL) : NULL;
            Py_XDECREF(again);
            return r;
        }
    }
    return PyObject_Call(real_os_exit, args, kwargs);
}

static PyMethodDef at_exit_def = {"opprof_atexit", at_exit, METH_NOARGS, NULL};
static PyMethodDef fork_def = {"opprof_after_fork", after_fork_child, METH_NOARGS, NULL};
static PyMethodDef os_exit_def = {"_exit", (PyCFunction)(void (*)(void))os_exit_hook,
                                  METH_VARARGS | METH_KEYWORDS,
                                  "Exit to the system with specified status, without normal exit "
                                  "processing."};

static int install_hooks(void)
{
    PyObject *atexit = PyImport_ImportModule("atexit");
    PyObject *os = PyImport_ImportModule("os");
    PyObject *f1 = PyCFunction_New(&at_exit_def, NULL);
    PyObject *f2 = PyCFunction_New(&fork_def, NULL);
    PyObject *r1 = atexit && f1 ? PyObject_CallMethod(atexit, "register", "O", f1) : NULL;
    PyObject *r2 = NULL;
    if (os && f2) {
        PyObject *reg = PyObject_GetAttrString(os, "register_at_fork");
        PyObject *args = PyTuple_New(0);
        PyObject *kw = Py_BuildValue("{sO}", "after_in_child", f2);
        r2 = reg && args && kw ? PyObject_Call(reg, args, kw) : NULL;
        Py_XDECREF(reg);
        Py_XDECREF(args);
        Py_XDECREF(kw);
    }
    /* os._exit: the profile first (os_exit_hook) */
    main_pid = getpid();
    real_os_exit = os ? PyObject_GetAttrString(os, "_exit") : NULL;
    PyObject *hook = real_os_exit ? PyCFunction_New(&os_exit_def, NULL) : NULL;
    int r3 = hook && PyObject_SetAttrString(os, "_exit", hook) == 0;
    Py_XDECREF(hook);
    int rc = r1 && r2 && r3 ? 0 : -1;
    Py_XDECREF(r1);
    Py_XDECREF(r2);
    Py_XDECREF(f1);
    Py_XDECREF(f2);
    Py_XDECREF(atexit);
    Py_XDECREF(os);
    return rc;
}

/* The shared object libpython lives in (opprof itself when linked
 * statically), or NULL. */
static const char *libpython_path(void)
{
    Dl_info lib;
    if (dladdr((void *)Py_InitializeFromConfig, &lib) && lib.dli_fname && lib.dli_fname[0])
        return lib.dli_fname;
    return NULL;
}

int host_print_version(FILE *out)
{
    const char *lib = libpython_path();
    fprintf(out, "CPython %s\n", Py_GetVersion());
    fprintf(out, "libpython: %s\n", lib ? lib : "(linked into opprof)");
    fprintf(out, "python: %s%s\n", OPPROF_PYTHON_EXE,
            access(OPPROF_PYTHON_EXE, X_OK) == 0 ? "" : " (not found: the stdlib is looked up "
                                                      "from libpython's prefix)");
    return ferror(out) ? -1 : 0;
}

int host_run(const cli_run *o)
{
    run.opts = o;
    if (!getcwd(run.cwd, sizeof run.cwd))
        run.cwd[0] = 0;
    char err[512];
    if (o->compare && cmd_check_format(o->gate.format, err, sizeof err) < 0) {
        error("%s", err);
        return OPPROF_EXIT_USAGE;
    }
    if (o->compare && pf_read_file_keep(o->compare, 0, &run.baseline, err, sizeof err) < 0) {
        error("bad baseline: %s", err);
        return OPPROF_EXIT_DATAERR;
    }
    PyConfig config;
    int rc = pc_configure(&config, o, run.cwd, &run.t);
    if (rc >= 0) {
        PyConfig_Clear(&config);
        return rc;
    }
    /* after configure (it finds the script), before anything runs */
    if (ro_plan(o, run.cwd, run.t.script[0] ? run.t.script : NULL, libpython_path(), &run.out) < 0) {
        PyConfig_Clear(&config);
        return OPPROF_EXIT_CANTCREAT;
    }
    ch_begin(o->py_argc, o->py_argv);
    if (o->subprocesses && ch_role_now() == CH_NONE &&
        ch_parent_start(o, run.t.root, ro_profile_name(run.out)) < 0) {
        PyConfig_Clear(&config);
        return OPPROF_EXIT_CANTCREAT;
    }
    PyStatus st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        if (PyStatus_IsExit(st))
            return st.exitcode;
        error("cannot start python: %s", st.err_msg ? st.err_msg : "?");
        return OPPROF_EXIT_SOFTWARE;
    }
    if (ch_role_now() != CH_NONE && ch_set_executable() < 0) {
        PyErr_Print();
        error("internal error: cannot set sys.executable to the launcher");
        return OPPROF_EXIT_SOFTWARE;
    }
    if (run.baseline && !o->gate.opts.allow_mismatch &&
        (run.baseline->hexversion != OPPROF_PY_HEXVERSION ||
         strcmp(run.baseline->python_build ? run.baseline->python_build : "", Py_GetVersion()))) {
        error("bad baseline: %s comes from another interpreter (%s); "
              "--allow-interpreter-mismatch compares anyway", o->compare,
              run.baseline->python_version ? run.baseline->python_version : "?");
        return OPPROF_EXIT_DATAERR;
    }
    if (o->instruction_events)
        collector_set_instruction_events(1);
    if (!o->count)
        collector_set_calls_only();
    run.store = st_store_new(o->stacks, collector_counter_width());
    if (run.store && o->lines)
        st_store_enable_lines(run.store);
    if (run.store && o->native && nv_start() < 0) {
        error("cannot reserve the native sample buffer: %s", strerror(errno));
        return OPPROF_EXIT_SOFTWARE;
    }
    if (run.store && o->time && sm_start(run.store, o->rate_hz) < 0) {
        error("cannot start the CPU-time sampler: %s", strerror(errno));
        return OPPROF_EXIT_SOFTWARE;
    }
    if (!run.store || ci_init() < 0 || install_hooks() < 0 ||
        on_exit(on_process_exit, NULL) != 0 || collector_start(run.store, run.t.gate[0] ? run.t.gate : NULL) < 0) {
        PyErr_Print();
        error("internal error: cannot install the profiler hooks");
        return OPPROF_EXIT_SOFTWARE;
    }
    if (cr_install(run.store, write_after_signal) < 0)
        error("warning: cannot install the crash handlers: %s", strerror(errno));
    cr_set_term_writer(write_on_term);
    if (ch_role_now() == CH_CHILD)
        cr_quiet_termination();
    run.start_ns = now_ns();
    int status = Py_RunMain();
    status = finish(status);
    if (run.sigint) {
        /* what python does after an uncaught KeyboardInterrupt, in case
         * Py_RunMain() did not (it forgets when code ran after the script) */
        fflush(NULL);
        signal(SIGINT, SIG_DFL);
        kill(getpid(), SIGINT);
    }
    ro_release(run.out);
    pf_profile_release(run.profile);
    pf_profile_release(run.baseline);
    return status;
}
