/*
 * blockmap.h - from block entries and exits to per-instruction counts.
 *
 * On 3.12+ opprof counts control flow instead of instructions: each event
 * says "control left instruction a" (a taken jump, a return, a yield, a
 * raise) and/or "control arrived at instruction b" (a start, a resume, a
 * jump target, an exception handler).  Walking the bytecode in order,
 * an instruction runs as often as control arrived at it plus fell through
 * from the instruction before it:
 *     count[i] = count[i-1] - exits[i-1] + entries[i]
 * Transfers CPython reports no event for are resolved here from the
 * bytecode (see blockmap.c).  Pure C: the opcode tables come from the
 * caller.
 */
#ifndef OPPROF_BLOCKMAP_H
#define OPPROF_BLOCKMAP_H

#include <stdint.h>

typedef struct bm_ops {
    uint8_t caches[256];     /* inline cache units after each opcode */
    int extended_arg;        /* opcode numbers; -1 where absent */
    int send;
    int yield_value;
    int resume;
    int jump_backward_no_interrupt;
    int for_iter;
    int backward_jump_sign;  /* unused for now: kept for 3.14 */
} bm_ops;

/* Unit index of the instruction that contains code unit `unit` (an offset
 * inside an instruction's inline cache belongs to that instruction). */
uint32_t bm_owner(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                  uint32_t unit);

/* Resolves counts in place.  `ex` has 2 * nunits entries: ex[2i] entries
 * at unit i, ex[2i+1] exits after unit i; it is modified.  out[i] gets the
 * count of the instruction starting at unit i (0 for cache units).
 * Returns how many instructions came out inconsistent (negative, clamped
 * to 0): 0 when the events added up. */
uint32_t bm_resolve(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                    uint64_t *ex, uint64_t *out);

#endif
