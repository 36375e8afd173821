/*
 * children.c - every process of a --subprocesses run (children.h).
 */
#include <Python.h>

#include "children.h"
#include "children_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "crash.h"
#include "exitcode.h"
#include "host.h"

#ifndef OPPROF_PYTHON_EXE
#define OPPROF_PYTHON_EXE ""
#endif

#define ENV_DIR "OPPROF_RUN_DIR"
#define ENV_ID "OPPROF_RUN_ID"
#define ENV_OUT "OPPROF_RUN_OUT"
#define ENV_OPTS "OPPROF_RUN_OPTS"
#define OPT_SEP '\x1f'   /* between options: a --root may hold spaces */

static struct {
    ch_role role;
    char dir[PATH_MAX];      /* the run's folder */
    char run_id[40];
    char out[PATH_MAX];      /* the parent's profile, "" for a stream */
    pid_t pid;               /* this process (a signal's writer is a fork of it) */
    pid_t ppid;
    int inherited;           /* forked: the counts are the parent's until
                                the collector's own after-fork reset ran */
    int atfork;              /* atfork_child is registered */
    uint64_t start_ns;       /* CLOCK_REALTIME */
    char **argv;             /* python's command line, borrowed */
    int argc;
} ch;

ch_role ch_role_now(void)
{
    return ch.role;
}

const char *ch__dir(void)
{
    return ch.dir;
}

const char *ch__out(void)
{
    return ch.out;
}

long ch__pid(void)
{
    return (long)ch.pid;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ch__launcher_path(char *buf, size_t n)
{
    snprintf(buf, n, "%s/bin/python%d.%d", ch.dir, PY_MAJOR_VERSION, PY_MINOR_VERSION);
}

int ch_is_launcher(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    const char *base = slash ? slash + 1 : argv0 ? argv0 : "";
    return strncmp(base, "python", 6) == 0;
}

/* ---- the launcher ------------------------------------------------------- */

/* Whether python's command line names something to run (a script, -c,
 * -m, -), not the interactive prompt or -h/--version, which the real
 * python serves exactly. */
static int names_a_target(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0)
            return 1;
        if (strcmp(a, "--") == 0)
            return i + 1 < argc;
        if (a[1] == '-') {
            if (strcmp(a, "--check-hash-based-pycs") == 0)
                i++;
            else if (strncmp(a, "--help", 6) == 0 || strcmp(a, "--version") == 0)
                return 0;
            continue;
        }
        for (const char *c = a + 1; *c; c++) {
            if (*c == 'c' || *c == 'm')
                return 1;
            if (*c == 'h' || *c == '?' || *c == 'V' || *c == 'i')
                return 0;
            if (*c == 'W' || *c == 'X') {
                if (!c[1])
                    i++;
                break;
            }
        }
    }
    return 0;
}

static int exec_python(int argc, char **argv)
{
    (void)argc;
    argv[0] = (char *)OPPROF_PYTHON_EXE;
    execv(OPPROF_PYTHON_EXE, argv);
    cmd_say("cannot run python %s: %s", OPPROF_PYTHON_EXE, strerror(errno));
    return 127;
}

/* Announces a child to the parent: its pid's .started file, holding its
 * parent's pid and its argv, NUL-separated.  A run already written has
 * no parts folder: the child then writes its own file at its end. */
static void announce(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/parts/%ld.started", ch.dir, (long)ch.pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char head[32];
    int n = snprintf(head, sizeof head, "%ld", (long)getppid());
    int bad = write(fd, head, (size_t)n + 1) != n + 1;
    for (int i = 0; i < ch.argc && !bad; i++) {
        size_t len = strlen(ch.argv[i]) + 1;
        bad = write(fd, ch.argv[i], len) != (ssize_t)len;
    }
    close(fd);
}

int ch_launcher_main(int argc, char **argv)
{
    const char *dir = getenv(ENV_DIR), *id = getenv(ENV_ID), *opts = getenv(ENV_OPTS);
    const char *out = getenv(ENV_OUT);
    if (!dir || !*dir || !id || !opts || !names_a_target(argc, argv))
        return exec_python(argc, argv);
    /* the run's options, parsed by run's own parser, ahead of a stand-in
     * command line: python's is taken as it is, never parsed as opprof's */
    size_t nopt = 1;
    for (const char *c = opts; *c; c++)
        nopt += *c == OPT_SEP;
    char *copy = strdup(opts);
    char **v = calloc(nopt + 8, sizeof *v);
    if (!copy || !v)
        return cmd_say("out of memory"), OPPROF_EXIT_SOFTWARE;
    int n = 0;
    v[n++] = "run";
    for (char *tok = copy, *end; tok; tok = end) {
        end = strchr(tok, OPT_SEP);
        if (end)
            *end++ = 0;
        if (*tok)
            v[n++] = tok;
    }
    v[n++] = "-c";
    v[n++] = "pass";
    cli_run o;
    char err[256];
    if (cli_parse_run(n, v, &o, err, sizeof err) < 0)
        return cmd_say("the run's options for a child: %s", err), OPPROF_EXIT_SOFTWARE;
    o.py_argc = argc - 1;
    o.py_argv = argv + 1;
    o.output = "/dev/null";   /* its profile is a part: ch_write_part */
    o.quiet = 1;
    snprintf(ch.dir, sizeof ch.dir, "%s", dir);
    snprintf(ch.run_id, sizeof ch.run_id, "%s", id);
    snprintf(ch.out, sizeof ch.out, "%s", out ? out : "");
    ch.role = CH_CHILD;
    ch_begin(o.py_argc, o.py_argv);
    announce();
    int rc = host_run(&o);
    free(v);
    free(copy);
    return rc;
}

/* ---- the parent --------------------------------------------------------- */

static int add_opt(char *buf, size_t n, const char *opt, const char *value)
{
    size_t used = strlen(buf);
    int k = snprintf(buf + used, n - used, "%s%s%c%s", used ? "\x1f" : "", opt,
                     value ? OPT_SEP : 0, value ? value : "");
    if (!value && k > 0)
        k--;   /* no separator without a value */
    if (k < 0 || (size_t)k >= n - used)
        return -1;
    buf[used + (size_t)k] = 0;
    return 0;
}

static int run_options(const cli_run *o, const char *root, char *buf, size_t n)
{
    char rate[32], wait[32];
    snprintf(rate, sizeof rate, "%u", o->rate_hz);
    snprintf(wait, sizeof wait, "%g", o->subprocess_wait_s);
    buf[0] = 0;
    int bad = add_opt(buf, n, "--subprocesses", NULL) < 0 ||
              add_opt(buf, n, "--subprocess-wait", wait) < 0 ||
              add_opt(buf, n, "--rate", rate) < 0 ||
              add_opt(buf, n, "--root", root) < 0;
    if (!o->stacks)
        bad |= add_opt(buf, n, "--no-stacks", NULL) < 0;
    if (o->lines)
        bad |= add_opt(buf, n, "--lines", NULL) < 0;
    if (!o->time)
        bad |= add_opt(buf, n, "--no-time", NULL) < 0;
    if (!o->count)
        bad |= add_opt(buf, n, "--time-only", NULL) < 0;
    if (o->native)
        bad |= add_opt(buf, n, "--native", NULL) < 0;
    if (o->instruction_events)
        bad |= add_opt(buf, n, "--instruction-events", NULL) < 0;
    return bad ? -1 : 0;
}

int ch_parent_start(const cli_run *o, const char *root, const char *profile_path)
{
    const char *tmp = getenv("TMPDIR");
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t t = realtime_ns() ^ (uint64_t)getpid() << 32;
        memcpy(rnd, &t, sizeof t);
        memcpy(rnd + 8, &t, sizeof t);
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(ch.run_id + 2 * i, 3, "%02x", rnd[i]);
    snprintf(ch.dir, sizeof ch.dir, "%s/opprof-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char exe[PATH_MAX], sub[PATH_MAX + 16], opts[3 * PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0 || !mkdtemp(ch.dir)) {
        cmd_say("--subprocesses: cannot make the run's folder %s: %s", ch.dir, strerror(errno));
        return -1;
    }
    exe[k] = 0;
    snprintf(sub, sizeof sub, "%s/bin", ch.dir);
    int bad = mkdir(sub, 0700) < 0;
    snprintf(sub, sizeof sub, "%s/parts", ch.dir);
    bad |= mkdir(sub, 0700) < 0;
    ch__launcher_path(sub, sizeof sub);
    bad |= symlink(exe, sub) < 0;
    if (bad || run_options(o, root, opts, sizeof opts) < 0) {
        cmd_say("--subprocesses: cannot prepare %s: %s", ch.dir, strerror(errno));
        return -1;
    }
    snprintf(ch.out, sizeof ch.out, "%s", profile_path ? profile_path : "");
    if (setenv(ENV_DIR, ch.dir, 1) < 0 || setenv(ENV_ID, ch.run_id, 1) < 0 ||
        setenv(ENV_OUT, ch.out, 1) < 0 || setenv(ENV_OPTS, opts, 1) < 0) {
        cmd_say("--subprocesses: cannot set the environment: %s", strerror(errno));
        return -1;
    }
    ch.role = CH_PARENT;
    return 0;
}

void ch_stop_helpers(void)
{
    static const char *const helpers[][2] = {
        {"multiprocessing.forkserver", "_forkserver"},
        {"multiprocessing.resource_tracker", "_resource_tracker"},
    };
    PyObject *mods = PySys_GetObject("modules");   /* borrowed */
    for (size_t i = 0; mods && PyDict_Check(mods) && i < 2; i++) {
        PyObject *mod = PyDict_GetItemString(mods, helpers[i][0]);   /* borrowed */
        PyObject *obj = mod ? PyObject_GetAttrString(mod, helpers[i][1]) : NULL;
        PyObject *r = obj ? PyObject_CallMethod(obj, "_stop", NULL) : NULL;
        Py_XDECREF(r);
        Py_XDECREF(obj);
        PyErr_Clear();
    }
}

int ch_set_executable(void)
{
    char path[PATH_MAX + 32];
    ch__launcher_path(path, sizeof path);
    PyObject *s = PyUnicode_DecodeFSDefault(path);
    int rc = s ? PySys_SetObject("executable", s) : -1;
    Py_XDECREF(s);
    return rc;
}

/* In fork() itself, before any Python code runs in the child: a pool's
 * SIGTERM may come before Python's own after-fork hooks (ch_after_fork)
 * did.  Only async-signal-safe work: the child may have been forked from
 * a multi-threaded process. */
static void atfork_child(void)
{
    ch.pid = getpid();
    ch.ppid = getppid();
    ch.start_ns = realtime_ns();
    ch.inherited = 1;
    if (ch.role == CH_NONE) {
        cr_after_fork_child();
        return;
    }
    ch.role = CH_CHILD;
    cr_quiet_termination();   /* its part is written on SIGTERM too, silently */
}

void ch_begin(int argc, char **argv)
{
    if (!ch.atfork && pthread_atfork(NULL, NULL, atfork_child) == 0)
        ch.atfork = 1;
    if (ch.pid)
        return;
    ch.pid = getpid();
    ch.ppid = getppid();
    ch.start_ns = realtime_ns();
    ch.argv = argv;
    ch.argc = argc;
}

void ch_hold_termination(void)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigaddset(&term, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &term, NULL);
}

int ch_counts_inherited(void)
{
    return ch.inherited;
}

void ch_after_fork(void)
{
    ch.inherited = 0;
    /* here, not in fork(): subprocess's fork and exec runs no Python
     * after-fork hook, and what it runs is no Python child */
    if (ch.role == CH_CHILD)
        announce();
}

int ch_mark_process(pf_profile *p, const char *ended)
{
    if (pf_ensure_process(p) < 0)
        return -1;
    pf_process *pr = &p->processes[0];
    pr->pid = ch.pid ? ch.pid : getpid();
    pr->ppid = ch.ppid;
    pr->start_ns = ch.start_ns;
    pr->end_ns = realtime_ns();
    if (ended && pf_set_string(&pr->ended, ended) < 0)
        return -1;
    return ch.role == CH_NONE ? 0 : pf_set_string(&p->run_id, ch.run_id);
}
