/*
 * blockmap.h - from block entries and exits to per-instruction counts.
 *
 * On 3.12+ opprof counts control flow instead of instructions: each event
 * says "control left instruction a" (a taken branch, a return, a yield, a
 * raise) and/or "control arrived at instruction b" (a start, a resume, a
 * branch target, an exception handler).  Walking the bytecode in order,
 * an instruction runs as often as control arrived at it plus fell through
 * from the instruction before it:
 *     count[i] = count[i-1] - exits[i-1] + entries[i]
 * Unconditional jumps need no event: everything that reaches one jumps,
 * so they are resolved here from the bytecode - except in a loop that no
 * event interrupts (`while True:` left by an exception), where
 * bm_needs_jump_events() says JUMP events must be turned on for that code.
 * Pure C: the opcode tables come from the caller.
 */
#ifndef OPPROF_BLOCKMAP_H
#define OPPROF_BLOCKMAP_H

#include <stddef.h>
#include <stdint.h>

enum bm_kind {
    BM_PLAIN = 0,            /* falls through */
    BM_BRANCH,               /* conditional jump reported by BRANCH both ways */
    BM_JUMP_FWD,             /* unconditional, reported by JUMP when enabled */
    BM_JUMP_BACK,
    BM_JUMP_SILENT_BACK,     /* unconditional, never reported */
    BM_SEND,                 /* falls through to a yield or jumps silently */
    BM_STOP,                 /* never falls through: yield, raise */
    BM_RETURN,               /* never falls through, and no exit is recorded */
    BM_YIELD,                /* never falls through; its exit is recorded
                                only where bm_yield_reported() says so */
};

typedef struct bm_ops {
    uint8_t caches[256];     /* inline cache units after each opcode */
    uint8_t kind[256];       /* enum bm_kind */
    int extended_arg;        /* opcode numbers; -1 where absent */
    int resume;
    int for_iter;
    int send;
    int not_taken;           /* 3.14: the instruction that reports a branch
                                not taken (BRANCH_LEFT), past it */
    int pop_iter;            /* 3.14: the one that reports a loop's end
                                (BRANCH_RIGHT from FOR_ITER), past it */
    int end_async_for;       /* 3.14: reports an async for's end, which its
                                EXCEPTION_HANDLED has reported already */
} bm_ops;

/* Unit index a jump at `unit` goes to when it jumps (a branch: when
 * taken); UINT32_MAX for what is no jump. */
uint32_t bm_jump_target(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                        uint32_t unit);

/* Unit index of the instruction that contains code unit `unit` (an offset
 * inside an instruction's inline cache belongs to that instruction). */
uint32_t bm_owner(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                  uint32_t unit);

/* Whether the yield at `unit` needs its PY_YIELD exits: one that a SEND
 * just before it feeds (`yield from`, `await`), whose count SEND's silent
 * jump is computed from.  Every other yield leaves whenever it runs, like
 * a return, and the collector turns its event off (DISABLE): a tenth of
 * the events of generator-heavy code. */
int bm_yield_reported(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                      uint32_t unit);

/* Whether the not-taken way of the conditional jump at `unit` may go
 * unreported (3.14+: its BRANCH_LEFT turned off where it fires).  The walk
 * counts that way as what reached the jump minus what jumped, which is
 * exact unless the jump is on a loop that no other event counts.  A loop
 * is the span of a backward jump; one that goes back to a FOR_ITER is
 * counted by the FOR_ITER's own not-taken events, which stay.  FOR_ITER
 * itself: never. */
int bm_left_silent(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                   uint32_t unit);

/* bm_left_silent() of the conditional jump whose not-taken way a 3.14
 * BRANCH_LEFT event (byte offsets from, to) reports through the NOT_TAKEN
 * after it: as (jump, past the NOT_TAKEN), or while INSTRUCTION events are
 * on as (NOT_TAKEN, past itself).  0 for any other event (a FOR_ITER going
 * on). */
int bm_left_event_silent(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                         long from, long to);

/* Adds what `in` holds for each code unit to the instruction that unit
 * belongs to, in `out` (a sample taken while a 3.12 frame stands at a
 * CALL's inline cache belongs to the CALL).  out is zeroed first. */
void bm_fold(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
             const uint64_t *in, uint64_t *out);

/* Whether some loop in the code can go round with no event at all, so
 * that its jumps must be reported by JUMP events to be counted. */
int bm_needs_jump_events(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits);

/* Resolves counts.  `ex` has 2 * nunits entries: ex[2i] entries at unit i,
 * ex[2i+1] exits after unit i; it is modified.  `jumps_reported`: JUMP
 * events were on for this code, so its JUMP_FORWARD/JUMP_BACKWARD exits
 * are in `ex` already.  out[i] gets the count of the instruction starting
 * at unit i (0 for cache units).  Returns how many instructions came out
 * inconsistent (negative, clamped to 0, or not settling): 0 when the
 * events added up. */
uint32_t bm_resolve(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                    int jumps_reported, uint64_t *ex, uint64_t *out);

/* The same, for many nodes of one code object: the code decoded once.
 * bm_plan_new returns NULL when out of memory; the plan owns its memory
 * (bm_plan_release) and is not shared between threads (walks use it). */
typedef struct bm_plan bm_plan;
bm_plan *bm_plan_new(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                     int jumps_reported);
uint32_t bm_resolve_plan(bm_plan *pl, uint64_t *ex, uint64_t *out);

/* The units from which v (`width` entries a unit) is all 0, at most
 * `from`.  Eight units at a time, or-ed without a branch (the compiler
 * makes it vector code): scans of mostly zeros were a fifth of the end of
 * a large run. */
static inline uint32_t bm_zero_from(const uint64_t *v, uint32_t from, uint32_t width)
{
    while (from >= 8) {
        const uint64_t *p = v + (size_t)width * (from - 8);
        uint64_t any = 0;
        for (uint32_t k = 0; k < 8 * width; k++)
            any |= p[k];
        if (any)
            break;
        from -= 8;
    }
    for (int zero = 1; from > 0 && zero; from -= zero)
        for (uint32_t k = 0; k < width && zero; k++)
            zero = !v[(size_t)width * (from - 1) + k];
    return from;
}
void bm_plan_release(bm_plan *pl);

#endif
