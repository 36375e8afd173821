/*
 * nstack.h - native stacks of an interrupted thread (libunwind), and which
 * of them are the cost of opprof's own hooks.
 *
 * An event that CPython delivers to opprof costs ~20 ns, most of it in
 * libpython (building the arguments, finding the tools, the vectorcall)
 * before opprof's callback runs.  A sample that lands there is not the
 * cost of the instruction the frame points at: it is overhead.  The
 * functions the interpreter loop calls to deliver events are not exported,
 * so they are learned: when a sample's stack holds one of opprof's hook
 * functions, the frame that the interpreter loop called on the way to it
 * is a delivery entry point, and later samples under it are overhead too.
 *
 * ns_capture() and ns_classify() are async-signal-safe (libunwind's local
 * unwinder with a per-thread cache); the rest is not.
 */
#ifndef OPPROF_NSTACK_H
#define OPPROF_NSTACK_H

#include <stddef.h>
#include <stdint.h>

#define NS_MAX_FRAMES 64

/* Finds the interpreter loop; 0, or -1 when it cannot (then ns_classify
 * knows only opprof's own code). */
int ns_init(void);

/* ns_init() with the interpreter loop at `eval` and opprof's code in
 * [own_start, own_end): what ns_init() finds, given by a unit test. */
int ns_init_with(const void *eval, const void *own_start, const void *own_end);

/* `fn` is one of opprof's hook callbacks (a function CPython calls for an
 * event).  Call before sampling starts; 0 or -1 (table full, or no
 * unwind information for it). */
int ns_add_hook(const void *fn);

/* Warms the calling thread's unwind cache so the first capture in a
 * signal handler does no first-use work. */
void ns_thread_init(void);

/* The instruction pointers of the thread interrupted with `ucontext`
 * (the third argument of an SA_SIGINFO handler), leaf first, at most
 * `max`, ending at the innermost interpreter loop frame if `until_eval`.
 * Returns how many; 0 when this platform cannot. */
size_t ns_capture(void *ucontext, uintptr_t *ips, size_t max, int until_eval);

/* Whether `ip` is in the interpreter loop (after ns_init()).
 * Async-signal-safe. */
int ns_in_eval(uintptr_t ip);

/* The start of the function holding `ip`, from the unwind tables (so
 * for stripped code too): 0, or -1 when there is no unwind entry. */
int ns_function_start(uintptr_t ip, uintptr_t *start);

/* The name of the function holding `ip` and ip's offset in it, from the
 * symbol tables (.symtab too: libpython's local functions get names).
 * 0, or -1 when unknown or when the only symbol near is not the function
 * the unwind tables know (a stripped library's nearest export).  Async-signal-safe (libunwind's local cursor). */
int ns_name(uintptr_t ip, char *buf, size_t n, uintptr_t *offset);

typedef enum ns_kind {
    NS_PROGRAM,   /* the program's own work */
    NS_HOOK,      /* opprof's hooks or CPython delivering an event to them */
} ns_kind;

/* Which of the two a captured stack is; learns delivery entry points. */
ns_kind ns_classify(const uintptr_t *ips, size_t n);

/* How many delivery entry points were learned (for the profile). */
unsigned ns_entries_learned(void);

#endif
