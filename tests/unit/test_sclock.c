/*
 * test_sclock.c - unit tests for profiler/sclock.c: what CPU time a
 * sampler signal stands for, with each backend.  No test waits for a
 * signal: the weights are computed from siginfo values made here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "../../profiler/sclock.h"

static siginfo_t info(int code, int overrun)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGPROF;
    si.si_code = code;
    si.si_overrun = overrun;
    return si;
}

static void timer_weights_count_missed_expirations(void **state)
{
    (void)state;
    sk_setup(1000000, 0);  /* 1 ms, POSIX timer */
    assert_non_null(strstr(sk_name(), "timer_create"));
    sk_clock *c = sk_arm();
    assert_non_null(c);
    siginfo_t one = info(SI_TIMER, 0), four = info(SI_TIMER, 3), odd = info(SI_TIMER, -1);
    assert_int_equal(sk_weight(c, &one), 1000000);
    /* the kernel tick delivered one signal for four periods */
    assert_int_equal(sk_weight(c, &four), 4000000);
    assert_int_equal(sk_weight(c, &odd), 1000000);
    sk_disarm(c);
}

static void foreign_signals_weigh_nothing(void **state)
{
    (void)state;
    sk_setup(1000000, 0);
    sk_clock *c = sk_arm();
    assert_non_null(c);
    siginfo_t user = info(SI_USER, 0), queued = info(SI_QUEUE, 0), poll = info(POLL_HUP, 0);
    assert_int_equal(sk_weight(c, &user), 0);
    assert_int_equal(sk_weight(c, &queued), 0);
    assert_int_equal(sk_weight(c, &poll), 0);
    assert_int_equal(sk_weight(NULL, &user), 0);
    sk_disarm(c);
}

static void a_perf_clock_takes_only_its_own_descriptor(void **state)
{
    (void)state;
    sk_setup(1000000, 1);
    sk_clock *c = sk_arm();
    assert_non_null(c);
    if (!strstr(sk_name(), "perf_event")) {
        sk_disarm(c);
        skip();  /* the kernel refuses perf events here: timer backend */
    }
    siginfo_t timer = info(SI_TIMER, 0), other = info(POLL_HUP, 0);
    other.si_fd = 0;  /* stdin: never the clock's descriptor */
    assert_int_equal(sk_weight(c, &timer), 0);
    assert_int_equal(sk_weight(c, &other), 0);
    sk_disarm(c);
}

static void zero_period_falls_back_to_a_millisecond(void **state)
{
    (void)state;
    sk_setup(0, 0);
    sk_clock *c = sk_arm();
    assert_non_null(c);
    siginfo_t one = info(SI_TIMER, 0);
    assert_int_equal(sk_weight(c, &one), 1000000);
    sk_disarm(c);
    sk_disarm(NULL);
    sk_forget(NULL);
}

int main(void)
{
    /* the clocks armed here run: their signals must not end the test */
    signal(SIGPROF, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timer_weights_count_missed_expirations),
        cmocka_unit_test(foreign_signals_weigh_nothing),
        cmocka_unit_test(a_perf_clock_takes_only_its_own_descriptor),
        cmocka_unit_test(zero_period_falls_back_to_a_millisecond),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
