/*
 * sampler.h - sampled CPU time per instruction.
 *
 * Each thread that runs Python gets a CPU-time timer (timer_create on
 * CLOCK_THREAD_CPUTIME_ID, delivered to that thread as SIGPROF).  The
 * handler reads which instruction the interrupted thread is running and
 * credits the CPU time since the last sample to it: time per instruction
 * without a clock read per instruction (which costs more than most
 * instructions, and distorts what it measures).  Samples whose program
 * counter is in opprof's own code count as overhead instead.
 *
 * CPU timers fire at the kernel tick whatever the asked rate; the missed
 * expirations (si_overrun) weight each sample, so the credited time is
 * right even when the delivered rate is lower than asked.
 */
#ifndef OPPROF_SAMPLER_H
#define OPPROF_SAMPLER_H

#include <stdint.h>

#include "store.h"

typedef struct sm_stats {
    unsigned rate_hz;
    uint64_t samples;        /* delivered */
    uint64_t sampled_ns;     /* all time sampled, weights included */
    uint64_t overhead_ns;    /* in opprof's own code */
    uint64_t unattributed_ns;/* no Python instruction to credit */
} sm_stats;

/* Installs the SIGPROF handler; threads are armed by sm_thread_start().
 * 0, or -1 with errno set. */
int sm_start(st_store *s, unsigned rate_hz);

/* Arms a timer for the calling thread (which runs `t`).  0 or -1. */
int sm_thread_start(st_thread *t);

/* After fork(): the child's one thread gets a timer again. */
void sm_after_fork(st_thread *t);

/* Disarms every clock; restores the previous SIGPROF action unless it was
 * the default (a late signal would kill the process: ours, inactive, stays). */
void sm_stop(void);

/* Stops crediting samples, from a signal handler (the timers stay). */
void sm_pause(void);

int sm_active(void);
void sm_get_stats(sm_stats *out);

/* Reads n bytes at `src`, an address that may be garbage, into dst: 0 or
 * -1.  Async-signal-safe (process_vm_readv on this process, whose pid is
 * kept rather than asked for each time); for the readers a sample runs. */
int sm_peek(void *dst, const void *src, size_t n);

/* "CPU time (timer_create, CLOCK_THREAD_CPUTIME_ID)" */
const char *sm_clock_name(void);

#endif
