/*
 * blockmap.c - entry/exit counts -> instruction counts.
 *
 * Two kinds of transfer have no event on 3.12/3.13:
 *  - JUMP_BACKWARD_NO_INTERRUPT never fires JUMP (3.12 uses it to loop in
 *    `yield from`/`await`, 3.13 also to leave except blocks and
 *    CLEANUP_THROW).  Everything that reaches it jumps, so nothing falls
 *    through it, and its jump count is its own count.  That count can
 *    depend on what the jump feeds back into, so the walk is repeated with
 *    the jumps' counts from the last walk as entries at their targets,
 *    until they stop changing.  Starting from zero every estimate stays at
 *    or below the truth and rises towards it; every cycle through such a
 *    jump has an event on it (a resume, a handled exception), so it
 *    settles after a few walks.
 *  - SEND's jump to END_SEND when the sub-iterator finishes.  SEND either
 *    yields through the next YIELD_VALUE (each one a PY_YIELD exit), raises
 *    (a RAISE exit), or jumps: the jumps are what is left of its count.
 */
#include "blockmap.h"

#include <stdlib.h>
#include <string.h>

/* More rounds than any real nesting of such jumps needs. */
#define MAX_ROUNDS 64

static uint32_t next_instr(const bm_ops *ops, const unsigned char *bytes, uint32_t i)
{
    return i + 1 + ops->caches[bytes[2 * i]];
}

/* oparg of the instruction at unit i, with its EXTENDED_ARG prefixes. */
static uint32_t oparg_at(const bm_ops *ops, const unsigned char *bytes, uint32_t i)
{
    uint32_t arg = bytes[2 * i + 1], shift = 8;
    while (i > 0 && bytes[2 * (i - 1)] == ops->extended_arg && shift < 32) {
        i--;
        arg |= (uint32_t)bytes[2 * i + 1] << shift;
        shift += 8;
    }
    return arg;
}

uint32_t bm_owner(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                  uint32_t unit)
{
    uint32_t i = 0, owner = 0;
    while (i < nunits && i <= unit) {
        owner = i;
        i = next_instr(ops, bytes, i);
    }
    return owner;
}

/* One walk over `ex` (modified: SEND jumps are added); returns the number
 * of inconsistent instructions. */
static uint32_t walk(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                     uint64_t *ex, uint64_t *out)
{
    uint32_t bad = 0;
    int64_t running = 0;
    for (uint32_t i = 0; i < n; i++)
        out[i] = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i)) {
        running += (int64_t)ex[2 * i];
        out[i] = (uint64_t)running;
        uint32_t after = next_instr(ops, bytes, i);
        if (bytes[2 * i] == ops->jump_backward_no_interrupt) {
            running = 0;  /* it always jumps; bm_resolve() adds the target's entries */
            continue;
        }
        if (bytes[2 * i] == ops->send && after < n) {
            /* what neither yielded nor raised jumped to END_SEND */
            int64_t jumps = running - (int64_t)ex[2 * i + 1] - (int64_t)ex[2 * after + 1];
            uint32_t target = after + oparg_at(ops, bytes, i);
            if (jumps < 0) {
                bad++;
                jumps = 0;
            }
            if (target < n) {
                ex[2 * i + 1] += (uint64_t)jumps;
                ex[2 * target] += (uint64_t)jumps;
            }
        }
        running -= (int64_t)ex[2 * i + 1];
        if (running < 0) {
            /* more left than arrived: an exit at a silent jump's target
             * before the jump's flow is known, or a missed event */
            bad++;
            running = 0;
        }
    }
    return bad;
}

typedef struct silent_jump {
    uint32_t at, target;
    uint64_t flow;           /* current estimate of how often it jumps */
} silent_jump;

uint32_t bm_resolve(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                    uint64_t *ex, uint64_t *out)
{
    size_t nj = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i))
        nj += bytes[2 * i] == ops->jump_backward_no_interrupt;
    if (nj == 0)
        return walk(ops, bytes, n, ex, out);

    silent_jump *jumps = calloc(nj, sizeof *jumps);
    uint64_t *work = malloc(2 * (size_t)n * sizeof *work);
    if (!jumps || !work) {
        free(jumps);
        free(work);
        return walk(ops, bytes, n, ex, out) + 1;  /* counted as inconsistent */
    }
    nj = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i)) {
        if (bytes[2 * i] != ops->jump_backward_no_interrupt)
            continue;
        uint32_t after = next_instr(ops, bytes, i), back = oparg_at(ops, bytes, i);
        if (back <= after)
            jumps[nj++] = (silent_jump){i, after - back, 0};
    }
    uint32_t bad = 0;
    int settled = 0;
    for (int round = 0; round < MAX_ROUNDS && !settled; round++) {
        memcpy(work, ex, 2 * (size_t)n * sizeof *work);
        for (size_t k = 0; k < nj; k++)
            work[2 * jumps[k].target] += jumps[k].flow;
        bad = walk(ops, bytes, n, work, out);
        settled = 1;
        for (size_t k = 0; k < nj; k++) {
            uint64_t flow = out[jumps[k].at];
            if (flow != jumps[k].flow) {
                jumps[k].flow = flow;
                settled = 0;
            }
        }
    }
    memcpy(ex, work, 2 * (size_t)n * sizeof *work);
    free(jumps);
    free(work);
    return bad + !settled;
}
