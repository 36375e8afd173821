/*
 * crash.c - the fatal and termination signal handlers (see crash.h).
 *
 * Everything the handler touches is reserved before: the report buffer,
 * the /proc/self/maps buffer and cr_info live in .bss, and it calls only
 * async-signal-safe functions (write, read, open, waitpid, nanosleep,
 * kill, sigaction, raise, _Fork) plus libunwind's local unwinder, which
 * its manual documents as safe in a signal handler.
 */
#include "crash.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "codeinfo.h"
#include "collector_common.h"
#include "nstack.h"
#include "pycompat.h"
#include "sampler.h"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const int term_signals[] = {SIGTERM, SIGHUP};
#define NSIG_HANDLED 7

static struct {
    int sig;
    int installed;
    struct sigaction previous;
} slots[NSIG_HANDLED];

static cr_writer writer;
static volatile sig_atomic_t disarmed;
static atomic_int entered;
static _Atomic pid_t entered_by;
static cr_info info;
static char maps[1 << 18];
static size_t maps_len;
static unsigned timeout_s = 20;
static int quiet_term;   /* cr_quiet_termination: a pool's worker */

/* ---- output without stdio ------------------------------------------------ */

typedef struct outbuf {
    char b[1024];
    size_t n;
} outbuf;

static void flush(outbuf *o)
{
    size_t done = 0;
    while (done < o->n) {
        ssize_t k = write(2, o->b + done, o->n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    o->n = 0;
}

static void put(outbuf *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o->n == sizeof o->b)
            flush(o);
        o->b[o->n++] = s[i];
    }
}

static void puts_(outbuf *o, const char *s)
{
    put(o, s ? s : "?", strlen(s ? s : "?"));
}

static void put_num(outbuf *o, uint64_t v, unsigned base)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && i > 0);
    if (base == 16)
        put(o, "0x", 2);
    put(o, d + i, sizeof d - i);
}

/* ---- modules from /proc/self/maps ---------------------------------------- */

static void load_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    maps_len = 0;
    if (fd < 0)
        return;
    ssize_t k;
    while (maps_len < sizeof maps - 1 &&
           ((k = read(fd, maps + maps_len, sizeof maps - 1 - maps_len)) > 0 ||
            (k < 0 && errno == EINTR)))
        if (k > 0)
            maps_len += (size_t)k;
    close(fd);
}

static const char *hex(const char *s, const char *end, uint64_t *v)
{
    *v = 0;
    for (; s < end; s++) {
        int c = *s, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            break;
        *v = *v * 16 + (uint64_t)d;
    }
    return s;
}

/* The mapped file holding `ip` and its load base: 0, or -1 if none. */
static int module_of(uintptr_t ip, const char **path, size_t *plen, uintptr_t *base)
{
    const char *s = maps, *end = maps + maps_len;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        uint64_t lo, hi, off;
        const char *p = hex(s, eol, &lo);
        p = hex(p + 1, eol, &hi);
        if (ip >= lo && ip < hi) {
            p += 6;  /* " rwxp " */
            p = hex(p, eol, &off);
            for (int field = 0; field < 2 && p < eol; field++) {  /* dev, inode */
                while (p < eol && *p == ' ')
                    p++;
                while (p < eol && *p != ' ')
                    p++;
            }
            while (p < eol && *p == ' ')
                p++;
            if (p >= eol)
                return -1;
            *path = p;
            *plen = (size_t)(eol - p);
            *base = (uintptr_t)(lo - off);
            return 0;
        }
        s = eol + 1;
    }
    return -1;
}

/* ---- the report ---------------------------------------------------------- */

const char *cr_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "SIG?";
    }
}

static void report_native(outbuf *o)
{
    puts_(o, "Native backtrace (most recent call first):\n");
    for (size_t i = 0; i < info.nnative; i++) {
        uintptr_t ip = info.native[i];
        /* a return address: the call is just before it */
        uintptr_t at = i ? ip - 1 : ip;
        char name[256];
        uintptr_t off = 0;
        puts_(o, "  #");
        put_num(o, i, 10);
        puts_(o, i < 10 ? "  " : " ");
        put_num(o, ip, 16);
        if (ns_name(at, name, sizeof name, &off) == 0) {
            puts_(o, " ");
            puts_(o, name);
            puts_(o, "+");
            put_num(o, (uint64_t)off + (ip - at), 16);
        } else {
            puts_(o, " ??");
        }
        const char *path;
        size_t plen;
        uintptr_t base;
        if (module_of(at, &path, &plen, &base) == 0) {
            puts_(o, " (");
            put(o, path, plen);
            puts_(o, "+");
            put_num(o, ip - base, 16);
            puts_(o, ")");
        }
        puts_(o, "\n");
    }
}

static void report_python(outbuf *o)
{
    if (!info.thread_known) {
        puts_(o, "Python stack: this thread runs no Python code opprof knows of\n");
        return;
    }
    puts_(o, "Python stack (opprof's stack model, most recent call first):\n");
    if (!info.npython)
        puts_(o, "  (none: no profiled Python frame)\n");
    for (size_t i = 0; i < info.npython; i++) {
        const st_record *r = info.python[i];
        puts_(o, "  ");
        puts_(o, st_record_name(r));
        puts_(o, " in ");
        puts_(o, st_record_file(r));
        puts_(o, ", def at line ");
        put_num(o, (uint64_t)(st_record_firstlineno(r) > 0 ? st_record_firstlineno(r) : 0), 10);
        if (i == 0 && info.leaf_offset >= 0) {
            puts_(o, ", bytecode offset ");
            put_num(o, (uint64_t)info.leaf_offset, 10);
        }
        puts_(o, "\n");
    }
}

static void capture(int sig, siginfo_t *si, void *uc)
{
    info.sig = sig;
    info.fatal = sig != SIGTERM && sig != SIGHUP;
    info.address = si ? (uintptr_t)si->si_addr : 0;
    info.nnative = info.fatal ? ns_capture(uc, info.native, CR_MAX_NATIVE, 0) : 0;
    info.leaf_offset = -1;
    st_thread *t = disarmed ? NULL : cc_tls;
    info.thread_known = t && !t->busy;
    info.npython = 0;
    if (!info.thread_known)
        return;
    info.thread = t->index;
    PyObject *code = NULL;
    long off = -1;
    const void *frame = NULL;
    int at = t->pyts && oc_sample_position(oc_peek_self, t->pyts, &code, &off, &frame) == 0;
    uint32_t live = cc_live_depth(t, at ? frame : NULL);   /* the others returned */
    if (!live)
        live = t->depth;   /* a frame the mirror has not: all it has */
    for (uint32_t d = live; d >= 1 && info.npython < CR_MAX_PYTHON; d--)
        if (t->stack[d].node && t->stack[d].node->rec)
            info.python[info.npython++] = t->stack[d].node->rec;
    if (at && live >= 1 && code == t->stack[live].code) {
        info.leaf_code = code;
        info.leaf_offset = off;
    }
}

/* ---- the profile, from a child ------------------------------------------- */

static pid_t fork_safe(void)
{
    /* fork() runs atfork handlers (malloc's locks among them): not here */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return _Fork();
#else
    return fork();
#endif
}

static void run_writer(void)
{
    writer(&info);
    _exit(0);
}

/* The handler runs on an alternate signal stack of a few dozen KB (ours,
 * or faulthandler's when the script enabled it after opprof); the writer
 * runs Python (the snapshot imports dis and walks every function), which
 * overflowed it into the heap.  The child gets a stack of a thread's size.
 * Returns only if it cannot. */
static void run_writer_on_own_stack(void)
{
    static ucontext_t ctx;
    size_t n = 8u << 20;
    void *stack = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                       -1, 0);
    if (stack == MAP_FAILED || getcontext(&ctx) != 0)
        return;
    ctx.uc_stack.ss_sp = stack;
    ctx.uc_stack.ss_size = n;
    ctx.uc_link = NULL;
    makecontext(&ctx, run_writer, 0);
    setcontext(&ctx);
}

static void write_profile(outbuf *o)
{
    pid_t pid = fork_safe();
    if (pid == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int i = 0; i < NSIG_HANDLED; i++)
            sigaction(slots[i].sig, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        run_writer_on_own_stack();
        run_writer();
    }
    if (pid < 0) {
        puts_(o, "opprof: cannot fork to write the profile\n");
        return;
    }
    int status;
    /* 1 ms: a pool's teardown waits for each terminated worker's part */
    struct timespec tick = {0, 1000 * 1000};
    for (unsigned waited = 0; waited < timeout_s * 1000; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            if (r == pid && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                puts_(o, "opprof: the process writing the profile failed: no profile\n");
            return;
        }
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    puts_(o, "opprof: writing the profile did not finish in ");
    put_num(o, timeout_s, 10);
    puts_(o, " s (the crash may have left a lock held): no profile\n");
}

static int slot_of(int sig)
{
    for (int i = 0; i < NSIG_HANDLED; i++)
        if (slots[i].sig == sig)
            return i;
    return -1;
}

/* What a signal does before it is passed on: the reports and the
 * profile.  Runs on work_stack when there is one. */
static void report_and_write(int sig, siginfo_t *si, void *uc)
{
    outbuf o = {.n = 0};
    sm_pause();  /* no sample may land in what follows */
    capture(sig, si, uc);
    if (info.fatal) {
        load_maps();
        puts_(&o, "\nopprof: fatal signal ");
        puts_(&o, cr_signal_name(sig));
        if (sig == SIGSEGV || sig == SIGBUS) {
            puts_(&o, " at address ");
            put_num(&o, info.address, 16);
        }
        puts_(&o, "\n");
        report_native(&o);
        report_python(&o);
    } else if (!disarmed && !quiet_term) {
        puts_(&o, "opprof: ");
        puts_(&o, cr_signal_name(sig));
        puts_(&o, ": writing the profile collected so far\n");
    }
    flush(&o);
    if (!disarmed && writer) {
        write_profile(&o);
        flush(&o);
    }
}

/* The handler may run on someone else's alternate signal stack
 * (faulthandler's, 16 KB when the script enabled it after opprof): too
 * small for unwinding and symbolizing.  The work runs on a stack of ours,
 * reserved at install time. */
static void *work_stack;
static const size_t work_stack_size = 512 * 1024;
static struct {
    int sig;
    siginfo_t *si;
    void *uc;
} pending;

static void report_and_write_pending(void)
{
    report_and_write(pending.sig, pending.si, pending.uc);
}

static void report_and_write_on_work_stack(int sig, siginfo_t *si, void *uc)
{
    static ucontext_t work, back;
    pending.sig = sig;
    pending.si = si;
    pending.uc = uc;
    if (work_stack && getcontext(&work) == 0) {
        work.uc_stack.ss_sp = work_stack;
        work.uc_stack.ss_size = work_stack_size;
        work.uc_link = &back;
        makecontext(&work, report_and_write_pending, 0);
        if (swapcontext(&back, &work) == 0)
            return;
    }
    report_and_write(sig, si, uc);
}

/* A child's termination signal that came while its thread ran with the
 * GIL, put off to the interpreter's next safe point (cr_quiet_termination):
 * the profile is written in the process itself, which then dies of the
 * signal as it would have. */
static volatile sig_atomic_t term_deferred;
static cr_term_writer term_writer;

static int run_deferred_term(void *unused)
{
    (void)unused;
    int sig = term_deferred;
    if (!disarmed && term_writer)
        term_writer(sig);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    return 0;
}

/* With the GIL held the thread may be inside malloc: a child forked now
 * to write would find the heap half-changed (glibc aborts there).  A
 * thread blocked without it (a pool's idle worker) is at a safe point for
 * the fork, and could not run a pending call anyway.  Only the main
 * thread: pending calls run there, and it might wait on another thread
 * for ever. */
static int defer_termination(int sig)
{
    if (!quiet_term || !term_writer || disarmed || (sig != SIGTERM && sig != SIGHUP))
        return 0;
    if (term_deferred)
        return 1;   /* already on its way */
    if (gettid() != getpid() || !PyGILState_Check())
        return 0;
    term_deferred = sig;
    if (Py_AddPendingCall(run_deferred_term, NULL) != 0) {
        term_deferred = 0;
        return 0;
    }
    return 1;
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    int k = slot_of(sig);
    if (defer_termination(sig)) {
        errno = saved_errno;
        return;
    }
    pid_t self = gettid();
    if (atomic_fetch_add(&entered, 1) != 0 && atomic_load(&entered_by) != self) {
        /* another thread is writing the profile: let it finish first */
        struct timespec tick = {0, 10 * 1000 * 1000};
        for (unsigned i = 0; i < (timeout_s + 5) * 100; i++)
            nanosleep(&tick, NULL);
    } else if (atomic_load(&entered_by) == 0) {
        atomic_store(&entered_by, self);
        report_and_write_on_work_stack(sig, si, uc);
    }
    /* then what would have happened without opprof: the handler before
     * ours, and the default action */
    struct sigaction prev = slots[k].previous;
    sigaction(sig, &prev, NULL);
    if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction)
        prev.sa_sigaction(sig, si, uc);
    else if (!(prev.sa_flags & SA_SIGINFO) && prev.sa_handler != SIG_DFL &&
             prev.sa_handler != SIG_IGN)
        prev.sa_handler(sig);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    /* pending until this handler returns; a fault re-executes and dies */
    raise(sig);
    errno = saved_errno;
}

static pthread_key_t altstack_key;

static void thread_ended(void *stack)
{
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(stack);
}

int cr_thread_start(void)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
        return 0;  /* someone's already (faulthandler's) */
    if (!writer)
        return 0;  /* no handlers: nothing would run on it */
    size_t n = 64 * 1024;
    stack_t ss = {.ss_sp = malloc(n), .ss_size = n, .ss_flags = 0};
    if (!ss.ss_sp)
        return -1;
    if (sigaltstack(&ss, NULL) < 0) {
        int e = errno;
        free(ss.ss_sp);
        errno = e;
        return -1;
    }
    pthread_setspecific(altstack_key, ss.ss_sp);  /* freed as the thread ends */
    return 0;
}

int cr_install(st_store *s, cr_writer w)
{
    const char *t = getenv("OPPROF_CRASH_TIMEOUT");
    if (t && atoi(t) > 0)
        timeout_s = (unsigned)atoi(t);
    (void)s;  /* the stacks are read through each thread's own record */
    if (!w) {
        errno = EINVAL;
        return -1;
    }
    if (pthread_key_create(&altstack_key, thread_ended) != 0)
        return -1;
    void *ws = mmap(NULL, work_stack_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    work_stack = ws == MAP_FAILED ? NULL : ws;   /* without it: the signal stack */
    writer = w;
    if (cr_thread_start() < 0)
        return -1;
    /* warm libunwind now: its first use does work a handler should not */
    ns_thread_init();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGPROF);
    int n = 0;
    for (size_t i = 0; i < sizeof fatal_signals / sizeof *fatal_signals; i++, n++) {
        slots[n].sig = fatal_signals[i];
        if (sigaction(slots[n].sig, &sa, &slots[n].previous) < 0)
            return -1;
        slots[n].installed = 1;
    }
    for (size_t i = 0; i < sizeof term_signals / sizeof *term_signals; i++, n++) {
        slots[n].sig = term_signals[i];
        if (sigaction(slots[n].sig, NULL, &slots[n].previous) < 0)
            return -1;
        if (slots[n].previous.sa_handler != SIG_DFL || (slots[n].previous.sa_flags & SA_SIGINFO))
            continue;  /* ignored or handled (nohup, a parent's choice): leave it */
        if (sigaction(slots[n].sig, &sa, NULL) < 0)
            return -1;
        slots[n].installed = 1;
    }
    return 0;
}

void cr_disarm(void)
{
    disarmed = 1;
}

void cr_quiet_termination(void)
{
    quiet_term = 1;
}

void cr_set_term_writer(cr_term_writer w)
{
    term_writer = w;
}

void cr_after_fork_child(void)
{
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++) {
        if (!slots[i].installed || (slots[i].sig != SIGTERM && slots[i].sig != SIGHUP))
            continue;
        sigaction(slots[i].sig, &slots[i].previous, NULL);
        slots[i].installed = 0;
    }
}
