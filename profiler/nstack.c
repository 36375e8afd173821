/*
 * nstack.c - native stacks with libunwind's local unwinder.
 *
 * Address ranges are whole functions as the unwind tables (.eh_frame)
 * describe them, so stripped libraries work too.  The learned table is
 * written from signal handlers of any thread: a slot is reserved with an
 * atomic add and published with a flag, so readers never see half an
 * entry; a rare duplicate is harmless.
 */
#define UNW_LOCAL_ONLY
#include "nstack.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <stdatomic.h>

#define MAX_RANGES 32

typedef struct range {
    uintptr_t start, end;
} range;

/* opprof's own machine code, from the GNU linker */
extern char __executable_start[], etext[];

static range eval_loop;
static range hooks[MAX_RANGES];
static unsigned nhooks;
static range entries[MAX_RANGES];
static _Atomic unsigned entries_reserved;
static _Atomic int entry_ready[MAX_RANGES];

static int range_of(uintptr_t ip, range *out)
{
    unw_proc_info_t pi;
    if (unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)ip, &pi, NULL) < 0 ||
        pi.end_ip <= pi.start_ip)
        return -1;
    out->start = (uintptr_t)pi.start_ip;
    out->end = (uintptr_t)pi.end_ip;
    return 0;
}

static int in(const range *r, uintptr_t ip)
{
    return ip >= r->start && ip < r->end;
}

static int in_any(const range *rs, unsigned n, uintptr_t ip)
{
    for (unsigned i = 0; i < n; i++)
        if (in(&rs[i], ip))
            return 1;
    return 0;
}

static range opprof_code;

static int ours(uintptr_t ip)
{
    return in(&opprof_code, ip);
}

int ns_init_with(const void *eval, const void *own_start, const void *own_end)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    opprof_code.start = (uintptr_t)own_start;
    opprof_code.end = (uintptr_t)own_end;
    return eval && range_of((uintptr_t)eval, &eval_loop) == 0 ? 0 : -1;
}

int ns_init(void)
{
    return ns_init_with(dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault"), __executable_start,
                        etext);
}

int ns_add_hook(const void *fn)
{
    if (nhooks >= MAX_RANGES || range_of((uintptr_t)fn, &hooks[nhooks]) < 0)
        return -1;
    nhooks++;
    return 0;
}

static size_t walk(unw_cursor_t *c, uintptr_t *ips, size_t max, int until_eval)
{
    size_t n = 0;
    do {
        unw_word_t ip;
        if (unw_get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        ips[n++] = (uintptr_t)ip;
        if (until_eval && in(&eval_loop, n > 1 ? (uintptr_t)ip - 1 : (uintptr_t)ip))
            break;
    } while (n < max && unw_step(c) > 0);
    return n;
}

void ns_thread_init(void)
{
    unw_context_t uc;
    unw_cursor_t c;
    uintptr_t ips[8];
    if (unw_getcontext(&uc) == 0 && unw_init_local(&c, &uc) == 0)
        walk(&c, ips, 8, 0);
}

size_t ns_capture(void *ucontext, uintptr_t *ips, size_t max, int until_eval)
{
#if defined(__x86_64__)
    /* on x86-64 unw_context_t is the kernel's ucontext_t */
    unw_cursor_t c;
    if (max == 0 || unw_init_local2(&c, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) < 0)
        return 0;
    return walk(&c, ips, max, until_eval);
#else
    (void)ucontext, (void)ips, (void)max, (void)until_eval;
    return 0;
#endif
}

int ns_in_eval(uintptr_t ip)
{
    return eval_loop.end && in(&eval_loop, ip);
}

int ns_function_start(uintptr_t ip, uintptr_t *start)
{
    range r;
    if (range_of(ip, &r) < 0)
        return -1;
    *start = r.start;
    return 0;
}

int ns_name(uintptr_t ip, char *buf, size_t n, uintptr_t *offset)
{
    /* a cursor moved to `ip`: libunwind has no by-address lookup here */
    unw_context_t uc;
    unw_cursor_t c;
    unw_word_t off = 0;
    if (unw_getcontext(&uc) < 0 || unw_init_local(&c, &uc) < 0 ||
        unw_set_reg(&c, UNW_REG_IP, (unw_word_t)ip) < 0 ||
        unw_get_proc_name(&c, buf, n, &off) < 0)
        return -1;
    /* a symbol that does not start where the unwind tables say this
     * function starts is a stripped library's nearest one, far away: no
     * name beats a wrong one */
    range r;
    if (range_of(ip, &r) == 0 && r.start != ip - (uintptr_t)off)
        return -1;
    *offset = (uintptr_t)off;
    return 0;
}

static void learn(uintptr_t ip)
{
    unsigned n = atomic_load(&entries_reserved);
    for (unsigned i = 0; i < n && i < MAX_RANGES; i++)
        if (atomic_load(&entry_ready[i]) && in(&entries[i], ip))
            return;
    range r;
    if (ours(ip) || n >= MAX_RANGES || range_of(ip, &r) < 0)
        return;
    unsigned slot = atomic_fetch_add(&entries_reserved, 1);
    if (slot >= MAX_RANGES)
        return;
    entries[slot] = r;
    atomic_store(&entry_ready[slot], 1);
}

static int learned(uintptr_t ip)
{
    unsigned n = atomic_load(&entries_reserved);
    for (unsigned i = 0; i < n && i < MAX_RANGES; i++)
        if (atomic_load(&entry_ready[i]) && in(&entries[i], ip))
            return 1;
    return 0;
}

ns_kind ns_classify(const uintptr_t *ips, size_t n)
{
    int own = 0, hook = 0;
    for (size_t i = 0; i < n; i++) {
        /* a caller's address is a return address: the call is just before */
        uintptr_t ip = i ? ips[i] - 1 : ips[i];
        if (eval_loop.end && in(&eval_loop, ip)) {
            if (i == 0)
                return NS_PROGRAM;
            uintptr_t called = i > 1 ? ips[i - 1] - 1 : ips[0];
            if (hook)
                learn(called);
            return own || learned(called) ? NS_HOOK : NS_PROGRAM;
        }
        if (ours(ip)) {
            own = 1;
            hook |= in_any(hooks, nhooks, ip);
        }
    }
    return own ? NS_HOOK : NS_PROGRAM;
}

unsigned ns_entries_learned(void)
{
    unsigned n = atomic_load(&entries_reserved);
    return n < MAX_RANGES ? n : MAX_RANGES;
}
