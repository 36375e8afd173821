/*
 * crash.h - fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) and
 * termination signals (SIGTERM, SIGHUP) that would end the run without a
 * profile.
 *
 * On a fatal signal the handler, on an alternate signal stack, writes a
 * report to stderr with write(2) only: the signal, the native backtrace of
 * the crashing thread (libunwind, module from /proc/self/maps read into a
 * buffer reserved in .bss) and the thread's Python stack from opprof's own
 * stack mirror.  That report is the guarantee.  Then it forks a child that
 * builds and writes the JSON profile through the normal path (it may
 * deadlock when the crash left a lock held: the parent waits a bounded
 * time, then kills it), chains to the handler that was installed before
 * opprof's (faulthandler), and re-raises the signal with its default
 * action so the exit status is the one python would have had.
 *
 * SIGTERM and SIGHUP are only taken when their action is the default at
 * install: a handler the script sets later through `signal.signal`
 * replaces opprof's C handler, so it behaves exactly as without opprof.
 *
 * Nothing here runs unless a signal arrives: no cost in the hot path.
 */
#ifndef OPPROF_CRASH_H
#define OPPROF_CRASH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define CR_MAX_NATIVE 64
#define CR_MAX_PYTHON 128

/* What the handler saw, for the child that writes the profile. */
typedef struct cr_info {
    int sig;
    int fatal;               /* a crash, not SIGTERM/SIGHUP */
    uintptr_t address;       /* si_addr of a fault */
    size_t nnative;
    uintptr_t native[CR_MAX_NATIVE];       /* leaf first */
    size_t npython;
    const st_record *python[CR_MAX_PYTHON]; /* innermost first */
    uint32_t thread;         /* store index of the thread, when known */
    int thread_known;
    const void *leaf_code;   /* the innermost Python frame's code and offset */
    long leaf_offset;        /* -1 when unknown */
} cr_info;

/* Called in the forked child to write the profile (may use anything: the
 * child is best-effort and bounded by the parent's timeout). */
typedef void (*cr_writer)(const cr_info *info);

/* Installs the handlers and the calling thread's alternate stack; `s`
 * gives the Python stacks.  0, or -1 with errno set. */
int cr_install(st_store *s, cr_writer w);

/* An alternate signal stack for the calling thread (a stack overflow can
 * only be reported from one).  0 or -1. */
int cr_thread_start(void);

/* From now on the store is gone and the profile is written: a signal is
 * still reported on stderr, then handled as without opprof. */
void cr_disarm(void);

/* In a forked child: SIGTERM and SIGHUP kill it as they would under
 * python (multiprocessing ends its pool's workers with SIGTERM: each
 * wrote a profile and a line, and the pool's teardown waited for them).
 * Fatal signals are still reported. */
void cr_after_fork_child(void);

/* Writes the profile in the process itself after a termination signal
 * (the process then dies of it). */
typedef void (*cr_term_writer)(int sig);

/* A child whose profile the run keeps (--subprocesses): SIGTERM and
 * SIGHUP still write it, without a line on stderr (multiprocessing ends
 * its pool's workers with SIGTERM: that is no news to the user).  One
 * that comes while the thread holds the GIL is put off to the next safe
 * point (Py_AddPendingCall), where cr_set_term_writer's function
 * writes; else the profile is written from a fork, as for the parent.
 * Async-signal-safe (fork() calls it in the child). */
void cr_quiet_termination(void);
void cr_set_term_writer(cr_term_writer w);

/* "SIGSEGV" for a signal number; "SIG?" for others. */
const char *cr_signal_name(int sig);

#endif
