/*
 * sampler.c - the SIGPROF handler and per-thread timers.
 *
 * The handler runs on the interrupted thread, in the middle of anything:
 * it takes no lock, allocates nothing, calls no Python API, only reads
 * the interpreter's frame (checking what it reads) and adds to counters
 * that were allocated beforehand.  Another thread's handler may add to a
 * shared counter at the same time; the totals use atomics, the
 * per-instruction counters accept the rare lost update.
 */
#include "sampler.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "codeinfo.h"
#include "collector_common.h"
#include "forms.h"
#include "native.h"
#include "nstack.h"
#include "sclock.h"
#include "pycompat.h"

static st_store *store;
static volatile sig_atomic_t active;
static unsigned rate;
static int with_stacks;
static struct sigaction previous;
static pid_t self;  /* for sm_peek: getpid() is a system call per read */
static _Atomic int in_handler;  /* handlers (and thread_ended) running now */
static pthread_key_t clock_key;
static _Atomic uint64_t n_samples, n_sampled, n_overhead, n_unattributed, mark;

static uintptr_t pc_of(void *ucv)
{
    ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

/* The node to credit: the entry of the running frame (`frame` running
 * `code`) near the top of the thread's stack mirror, where *live is set
 * to its depth (entries above it returned), or the record's own node
 * without stacks. */
static st_node *node_of(st_thread *t, PyObject *code, const void *frame, uint32_t *live)
{
    uint32_t d = t->depth;
    *live = d;
    if (cc_late_returns && frame && with_stacks) {
        *live = cc_live_depth(t, frame);
        return *live ? t->stack[*live].node : NULL;
    }
    for (uint32_t k = 0; k < 8 && d > 0; k++, d--)
        if (t->stack[d].code == code)
            return t->stack[d].node;
    if (with_stacks)
        return NULL;
    st_record *r = oc_get_extra(code, ci_extra_index());
    return r ? r->flat : NULL;
}

int sm_peek(void *dst, const void *src, size_t n)
{
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    return process_vm_readv(self, &local, 1, &remote, 1, 0) == (ssize_t)n ? 0 : -1;
}

/* Whether a sample is opprof's overhead.  The leaf alone tells when it is
 * in the interpreter loop (the program's); elsewhere only the stack tells
 * (libpython's helpers serve the program and event delivery alike), and
 * unwinding costs system calls (libunwind masks signals around its
 * lookups): a few microseconds a sample. */
static int is_overhead(void *ucv, uintptr_t *ips, size_t max, int whole, size_t *n)
{
    uintptr_t pc = pc_of(ucv);
    if (!whole && ns_in_eval(pc))
        return 0;   /* as ns_classify() says of such a stack */
    *n = ns_capture(ucv, ips, max, !whole);
    return ns_classify(*n ? ips : &pc, *n ? *n : 1) == NS_HOOK;
}

static void on_sigprof(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    int saved_errno = errno;
    atomic_fetch_add(&in_handler, 1);  /* sm_stop() waits for it to drop */
    st_thread *t = cc_tls;
    sk_clock *clock = NULL;
    if (!active || !t)
        goto done;
    uint64_t w = sk_weight(t->timer, si);
    if (!w)
        goto done;  /* not our clock's: another sender's SIGPROF */
    clock = t->timer;
    atomic_fetch_add(&n_samples, 1);
    atomic_fetch_add(&n_sampled, w);
    uintptr_t local[24], *ips = local;
    /* --native: the whole stack, into the buffer; classified the same */
    nv_sample *ns = nv_reserve();
    if (ns)
        ips = ns->native;
    size_t n = 0;
    int hook = is_overhead(ucv, ips, ns ? NS_MAX_FRAMES : 24, ns != NULL, &n);
    PyObject *code = NULL;
    long off = -1;
    const void *frame = NULL;
    uint32_t live = t->depth;
    st_node *node = NULL;
    if (!t->busy && !hook && t->pyts &&
        oc_sample_position(sm_peek, t->pyts, &code, &off, &frame) == 0)
        node = node_of(t, code, frame, &live);
    if (ns)
        nv_commit(ns, t, w, n, live);
    if (t->busy || hook) {
        atomic_fetch_add(&n_overhead, w);
        goto done;
    }
    if (!node || off < 0 || (unsigned long)off / 2 >= node->rec->ncounters ||
        st_node_times(store, node) < 0) {
        atomic_fetch_add(&n_unattributed, w);
        goto done;
    }
    uint64_t *times = node->times;   /* samples follow times: store.h */
    times[off / 2] += w;
    times[node->rec->ncounters + off / 2]++;
    fm_sample(node->rec, code, off, w);
    st_add_cumulative(t, live, w, atomic_fetch_add(&mark, 1) + 1);
done:
    sk_rearm(clock);
    atomic_fetch_sub(&in_handler, 1);
    errno = saved_errno;
}

static void thread_ended(void *t);

int sm_start(st_store *s, unsigned rate_hz)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (pthread_key_create(&clock_key, thread_ended) != 0)
        return -1;
    if (sigaction(SIGPROF, &sa, &previous) < 0)
        return -1;
    store = s;
    self = getpid();
    /* without its table, time is not split by form; nothing else changes */
    (void)fm_start();
    ns_init();  /* without it only opprof's own code counts as overhead */
    rate = rate_hz ? rate_hz : 1000;
    /* OPPROF_CLOCK=timer: the POSIX timer even where perf works (to compare) */
    const char *clock = getenv("OPPROF_CLOCK");
    sk_setup(1000000000u / rate, !clock || strcmp(clock, "timer") != 0);
    with_stacks = st_store_with_stacks(s);
    st_store_enable_times(s);
    active = 1;
    return 0;
}

/* Takes the thread's clock, once, whoever comes first: the thread as it
 * ends, or sm_stop(). */
static sk_clock *take_clock(st_thread *t)
{
    return __atomic_exchange_n((void **)&t->timer, NULL, __ATOMIC_SEQ_CST);
}

/* A thread that ends gives its clock back (a perf clock holds a file
 * descriptor: thousands of short threads would run out of them). */
static void thread_ended(void *t)
{
    atomic_fetch_add(&in_handler, 1);  /* so that sm_stop() and the store wait */
    if (active)
        sk_disarm(take_clock(t));
    atomic_fetch_sub(&in_handler, 1);
}

int sm_thread_start(st_thread *t)
{
    if (!active || t->timer)
        return 0;
    ns_thread_init();
    if (!(t->timer = sk_arm()))
        return -1;
    pthread_setspecific(clock_key, t);
    return 0;
}

void sm_after_fork(st_thread *t)
{
    self = getpid();  /* no timer of the child's ran before: they are new */
    /* the child's totals start at the fork, as its clock and counts do */
    atomic_store(&n_samples, 0);
    atomic_store(&n_sampled, 0);
    atomic_store(&n_overhead, 0);
    atomic_store(&n_unattributed, 0);
    /* clocks are not inherited; the parent's mean nothing here */
    for (size_t i = 0; store && i < st_thread_count(store); i++) {
        sk_forget(st_thread_at(store, i)->timer);
        st_thread_at(store, i)->timer = NULL;
    }
    if (t)
        sm_thread_start(t);
}

void sm_stop(void)
{
    if (!active)
        return;
    active = 0;
    /* a handler already past its check of `active` on another thread may
     * still use its clock and thread: wait for it (handlers never block) */
    atomic_thread_fence(memory_order_seq_cst);
    struct timespec tick = {0, 100000};
    for (int i = 0; i < 10000 && atomic_load(&in_handler) > 0; i++)
        nanosleep(&tick, NULL);
    for (size_t i = 0; store && i < st_thread_count(store); i++)
        sk_disarm(take_clock(st_thread_at(store, i)));
    /* A signal already on its way (another thread's, or one the kernel
     * queued before the clock stopped) would kill the process under
     * SIG_DFL: the inactive handler stays to take it. */
    if (previous.sa_handler != SIG_DFL || (previous.sa_flags & SA_SIGINFO))
        sigaction(SIGPROF, &previous, NULL);
}

void sm_pause(void)
{
    active = 0;
}

int sm_active(void)
{
    return active;
}

void sm_get_stats(sm_stats *out)
{
    out->rate_hz = rate;
    out->samples = atomic_load(&n_samples);
    out->sampled_ns = atomic_load(&n_sampled);
    out->overhead_ns = atomic_load(&n_overhead);
    out->unattributed_ns = atomic_load(&n_unattributed);
}

const char *sm_clock_name(void)
{
    return sk_name();
}
