/*
 * sclock.h - the sampler's per-thread CPU-time clock: one interface, two
 * backends, chosen once per process.
 *
 *  - perf: a perf-event task clock of the thread (perf_event_open,
 *    PERF_COUNT_SW_TASK_CLOCK) that signals each period through fasync
 *    and is re-armed from the handler.  It delivers the asked rate, with a
 *    jittered period so that sampling does not lock onto a loop's rhythm.
 *  - timer: timer_create on CLOCK_THREAD_CPUTIME_ID.  It fires at the
 *    kernel tick (250/s here) whatever the asked rate, so each signal is
 *    weighted by 1 + its missed expirations (si_overrun): time is still
 *    right on average, with fewer samples.
 *
 * A perf clock holds a descriptor: at most SK_MAX_PERF at once, and none
 * of the last SK_SPARE_FDS under RLIMIT_NOFILE; other threads get the
 * timer.
 *
 * Both deliver SIGPROF to the thread they measure.  A thread's clock is
 * owned by the thread's record (st_thread.timer) and freed by
 * sk_disarm() or sk_forget().
 */
#ifndef OPPROF_SCLOCK_H
#define OPPROF_SCLOCK_H

#include <signal.h>
#include <stdint.h>

typedef struct sk_clock sk_clock;

#define SK_MAX_PERF 64
#define SK_SPARE_FDS 64

/* Chooses the backend (perf when allowed and the kernel lets us, else
 * timer); `period_ns` is the mean time between samples.  Call before
 * any sk_arm(). */
void sk_setup(uint64_t period_ns, int allow_perf);

/* Starts a clock for the calling thread; NULL with errno set. */
sk_clock *sk_arm(void);

/* In the SIGPROF handler: the CPU time in ns that this signal stands
 * for, or 0 when it is not a sample of `c` (sent by someone else).
 * Async-signal-safe. */
uint64_t sk_weight(sk_clock *c, const siginfo_t *si);

/* At the end of the handler of a sample of `c`: a perf clock stopped at
 * its overflow and counts again from here, so the handler's own time is
 * no sample's weight.  Async-signal-safe. */
void sk_rearm(sk_clock *c);

/* Stops and frees it (any thread). */
void sk_disarm(sk_clock *c);

/* After fork(): frees a parent thread's clock without touching the
 * parent's kernel objects (closes an inherited descriptor). */
void sk_forget(sk_clock *c);

/* What is measured, for the profile: names the backend in use. */
const char *sk_name(void);

#endif
