/*
 * collector.h - one interface, one backend per way of hooking CPython:
 * collector_trace.c (3.10/3.11, a C trace function with opcode events) and
 * collector_monitor.c (3.12+, sys.monitoring with C callables).  Exactly
 * one is compiled in, chosen by pycompat.h.
 *
 * The hot path only increments counters in the store; it never formats,
 * never raises, and never leaves a Python exception behind.
 */
#ifndef OPPROF_COLLECTOR_H
#define OPPROF_COLLECTOR_H

#include "store.h"

/* Installs the hooks for every thread, current and future.  The store is
 * borrowed until collector_stop().  Counting begins when code from file
 * `gate` (co_filename, bytes) first starts, so that what the interpreter
 * runs before the script (path hooks for sys.path[0]) is left out; NULL
 * counts from now.  0, or -1 with a Python exception. */
int collector_start(st_store *s, const char *gate);

/* Stops counting; safe to call more than once.  Needs the GIL. */
void collector_stop(void);

/* In a forked child: forget the parent's other threads' stacks. */
void collector_after_fork_child(void);

/* Why the counts are incomplete, or NULL.  Static storage. */
const char *collector_incomplete_reason(void);

/* How counts are obtained, for the profile and messages. */
const char *collector_backend(void);

/* Count with one event per instruction instead of control-flow events
 * (3.12+: slower, kept to check the default against).  Call before
 * collector_start(); 0, or -1 where that mode does not exist. */
int collector_set_instruction_events(int on);

/* Only frame entries and exits, no counting events: for --time-only, so
 * that the program runs as little instrumented as can be while the
 * sampler still knows each thread's code and stack.  Counts are then
 * meaningless.  Call before collector_start(). */
void collector_set_calls_only(void);

/* Counters per code unit the store must have for this backend (1 or 2). */
uint32_t collector_counter_width(void);

/* Gives every thread in the store a name, from threading where it knows
 * the thread.  Needs the GIL; call after collector_stop(). */
void collector_name_threads(st_store *s);

#endif
