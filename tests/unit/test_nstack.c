/*
 * test_nstack.c - unit tests for profiler/nstack.c: which sampled native
 * stacks are hook overhead, and what is learned from them.  Functions of
 * this file stand in for the interpreter loop, a hook and the functions
 * CPython calls; their addresses come from the test binary's own unwind
 * tables, as libpython's do in a run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>

#include "../../profiler/nstack.h"

/* Distinct, non-inlined functions with unwind information.  volatile
 * keeps the bodies from being merged into one. */
static volatile int sink;
#define FAKE(name, ...) \
    __attribute__((noinline, used, ##__VA_ARGS__)) static void name(void) \
    { sink += __LINE__; sink *= 3; }
/* "opprof's code" is its own section: the linker gives its bounds */
#define OWN section("opprof_own")
extern char __start_opprof_own[], __stop_opprof_own[];
FAKE(fake_eval)          /* _PyEval_EvalFrameDefault */
FAKE(fake_hook, OWN)     /* opprof's callback */
FAKE(fake_opprof_other, OWN) /* opprof code that is no hook (a thread wrapper) */
FAKE(fake_entry)         /* _Py_call_instrumentation_jump */
FAKE(fake_vectorcall)    /* a generic libpython function */
FAKE(fake_alloc)         /* PyLong_FromLong under the entry */
FAKE(fake_caller)        /* what called the interpreter loop */

/* A leaf address is inside its function; a caller's is a return address,
 * one past the call, which nstack maps back with -1. */
static uintptr_t leaf(void (*f)(void)) { return (uintptr_t)f + 1; }
static uintptr_t ret(void (*f)(void)) { return (uintptr_t)f + 2; }

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ns_init_with((const void *)fake_eval, __start_opprof_own, __stop_opprof_own), 0);
    assert_int_equal(ns_add_hook((const void *)fake_hook), 0);
    return 0;
}

static void leaf_in_the_loop_is_the_program(void **state)
{
    (void)state;
    uintptr_t s[] = {leaf(fake_eval), ret(fake_caller)};
    assert_int_equal(ns_classify(s, 2), NS_PROGRAM);
}

static void a_call_from_the_loop_is_the_program(void **state)
{
    (void)state;
    uintptr_t s[] = {leaf(fake_alloc), ret(fake_vectorcall), ret(fake_eval)};
    assert_int_equal(ns_classify(s, 3), NS_PROGRAM);
    assert_int_equal(ns_entries_learned(), 0);
}

static void the_hook_is_overhead_and_teaches_its_entry(void **state)
{
    (void)state;
    uintptr_t s[] = {leaf(fake_hook), ret(fake_vectorcall), ret(fake_entry), ret(fake_eval)};
    assert_int_equal(ns_classify(s, 4), NS_HOOK);
    assert_int_equal(ns_entries_learned(), 1);
    /* the same stack again learns nothing new */
    assert_int_equal(ns_classify(s, 4), NS_HOOK);
    assert_int_equal(ns_entries_learned(), 1);
}

static void below_a_learned_entry_is_overhead(void **state)
{
    (void)state;
    uintptr_t alloc[] = {leaf(fake_alloc), ret(fake_entry), ret(fake_eval)};
    assert_int_equal(ns_classify(alloc, 3), NS_HOOK);
    uintptr_t in_entry[] = {leaf(fake_entry), ret(fake_eval)};
    assert_int_equal(ns_classify(in_entry, 2), NS_HOOK);
    /* the generic function the entry went through is not an entry itself */
    uintptr_t generic[] = {leaf(fake_alloc), ret(fake_vectorcall), ret(fake_eval)};
    assert_int_equal(ns_classify(generic, 3), NS_PROGRAM);
}

static void opprof_code_that_is_no_hook_teaches_nothing(void **state)
{
    (void)state;
    uintptr_t s[] = {leaf(fake_opprof_other), ret(fake_vectorcall), ret(fake_eval)};
    assert_int_equal(ns_classify(s, 3), NS_HOOK);
    assert_int_equal(ns_entries_learned(), 1);
    uintptr_t generic[] = {leaf(fake_alloc), ret(fake_vectorcall), ret(fake_eval)};
    assert_int_equal(ns_classify(generic, 3), NS_PROGRAM);
}

static void only_the_innermost_loop_counts(void **state)
{
    (void)state;
    /* the script's own sys.monitoring callback in Python, called through
     * the learned entry: its code runs in a nested loop, and is the program */
    uintptr_t s[] = {leaf(fake_eval), ret(fake_vectorcall), ret(fake_entry), ret(fake_eval)};
    assert_int_equal(ns_classify(s, 4), NS_PROGRAM);
    uintptr_t deeper[] = {leaf(fake_alloc), ret(fake_eval), ret(fake_entry), ret(fake_eval)};
    assert_int_equal(ns_classify(deeper, 4), NS_PROGRAM);
}

static void no_loop_in_sight(void **state)
{
    (void)state;
    uintptr_t hook[] = {leaf(fake_hook), ret(fake_caller)};
    assert_int_equal(ns_classify(hook, 2), NS_HOOK);
    uintptr_t other[] = {leaf(fake_alloc), ret(fake_caller)};
    assert_int_equal(ns_classify(other, 2), NS_PROGRAM);
    assert_int_equal(ns_classify(other, 0), NS_PROGRAM);
}

static uintptr_t captured[16];
static size_t ncaptured;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    ncaptured = ns_capture(uc, captured, 16, 0);
}

__attribute__((noinline)) static void raise_here(void)
{
    raise(SIGUSR1);
    sink++;
}

static void capture_unwinds_from_a_signal_context(void **state)
{
    (void)state;
    ns_thread_init();
    struct sigaction sa = {0}, old;
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    raise_here();
    sigaction(SIGUSR1, &old, NULL);
    assert_true(ncaptured >= 3);
    /* the interrupted thread's own frames, not the handler's: this test
     * function is among the callers */
    int found = 0;
    for (size_t i = 1; i < ncaptured; i++)
        found |= captured[i] > (uintptr_t)capture_unwinds_from_a_signal_context &&
                 captured[i] < (uintptr_t)capture_unwinds_from_a_signal_context + 4096;
    assert_true(found);
    uintptr_t ips[4];
    assert_int_equal(ns_capture(NULL, ips, 0, 0), 0);
}

int main(void)
{
    /* order matters: later tests rely on what earlier ones taught */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leaf_in_the_loop_is_the_program),
        cmocka_unit_test(a_call_from_the_loop_is_the_program),
        cmocka_unit_test(the_hook_is_overhead_and_teaches_its_entry),
        cmocka_unit_test(below_a_learned_entry_is_overhead),
        cmocka_unit_test(opprof_code_that_is_no_hook_teaches_nothing),
        cmocka_unit_test(only_the_innermost_loop_counts),
        cmocka_unit_test(no_loop_in_sight),
        cmocka_unit_test(capture_unwinds_from_a_signal_context),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
