/*
 * blockmap.c - entry/exit counts -> instruction counts.
 *
 * Transfers with no event (resolved here):
 *  - JUMP_FORWARD / JUMP_BACKWARD while JUMP events are off (the default:
 *    they would double the events of every loop).  Everything that
 *    reaches such a jump jumps, so its jump count is its own count.
 *  - JUMP_BACKWARD_NO_INTERRUPT, which never fires JUMP (3.12 loops with
 *    it in `yield from`/`await`; 3.13 also leaves except blocks and
 *    CLEANUP_THROW with it).
 *  - returns: RETURN_VALUE and RETURN_CONST always leave the frame, so
 *    their exits are not recorded (without stacks PY_RETURN is off).
 *  - SEND's jump to END_SEND when the sub-iterator finishes.  SEND either
 *    yields through the next YIELD_VALUE (each one a PY_YIELD exit), raises
 *    (a RAISE exit), or jumps: the jumps are what is left of its count.
 * A forward jump adds its count at its target further on in the same walk.
 * A backward jump's count can depend on what it feeds back into, so the
 * walk is repeated with the backward jumps' counts from the last walk as
 * entries at their targets, until they stop changing.  Starting from zero
 * every estimate stays at or below the truth and rises towards it; a loop
 * whose body has a branch, a yield or a handled exception (an event that
 * counts its iterations) settles in two walks; loops without one get JUMP
 * events (bm_needs_jump_events).
 */
#include "blockmap.h"

#include <stdlib.h>
#include <string.h>

/* Far more walks than any real code needs. */
#define MAX_WALKS 200

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

static int kind_at(const bm_ops *ops, const unsigned char *bytes, uint32_t i)
{
    return ops->kind[bytes[2 * i]];
}

/* Jump target (unit index) of a jump at unit i; UINT32_MAX if none. */
static uint32_t target_of(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                          uint32_t i)
{
    uint32_t after = next_instr(ops, bytes, i), arg = oparg_at(ops, bytes, i);
    switch (kind_at(ops, bytes, i)) {
    case BM_JUMP_FWD:
    case BM_SEND:
    case BM_BRANCH:
        return after + arg < n ? after + arg : UINT32_MAX;
    case BM_JUMP_BACK:
    case BM_JUMP_SILENT_BACK:
        return arg <= after && after - arg < n ? after - arg : UINT32_MAX;
    default:
        return UINT32_MAX;
    }
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

void bm_fold(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
             const uint64_t *in, uint64_t *out)
{
    memset(out, 0, n * sizeof *out);
    for (uint32_t i = 0; i < n;) {
        uint32_t next = next_instr(ops, bytes, i);
        for (uint32_t u = i; u < next && u < n; u++)
            out[i] += in[u];
        i = next;
    }
}

/* Whether the jump at unit i passes control on without any event. */
static int silent_jump(const bm_ops *ops, const unsigned char *bytes, uint32_t i,
                       int jumps_reported)
{
    int k = kind_at(ops, bytes, i);
    return k == BM_JUMP_SILENT_BACK || (!jumps_reported && (k == BM_JUMP_FWD || k == BM_JUMP_BACK));
}

int bm_needs_jump_events(const bm_ops *ops, const unsigned char *bytes, uint32_t n)
{
    /* Is some backward jump reachable from its own target through edges
     * that raise no event (fall-through, silent jumps, SEND's jump)? */
    uint8_t *seen = malloc(n ? n : 1);
    uint32_t *todo = malloc((n ? n : 1) * sizeof *todo);
    int found = 0;
    if (!seen || !todo) {
        found = 1;  /* the safe answer */
        goto done;
    }
    for (uint32_t j = 0; j < n && !found; j = next_instr(ops, bytes, j)) {
        if (kind_at(ops, bytes, j) != BM_JUMP_BACK)
            continue;
        uint32_t start = target_of(ops, bytes, n, j), top = 0;
        if (start == UINT32_MAX)
            continue;
        memset(seen, 0, n);
        todo[top++] = start;
        seen[start] = 1;
        while (top && !found) {
            uint32_t i = todo[--top];
            if (i == j) {
                found = 1;
                break;
            }
            int k = kind_at(ops, bytes, i);
            uint32_t succ[2] = {UINT32_MAX, UINT32_MAX};
            if (k == BM_PLAIN || k == BM_SEND)
                succ[0] = next_instr(ops, bytes, i);
            if (k == BM_SEND || silent_jump(ops, bytes, i, 0))
                succ[1] = target_of(ops, bytes, n, i);
            for (int s = 0; s < 2; s++)
                if (succ[s] < n && !seen[succ[s]]) {
                    seen[succ[s]] = 1;
                    todo[top++] = succ[s];
                }
        }
    }
done:
    free(seen);
    free(todo);
    return found;
}

typedef struct back_jump {
    uint32_t at, target;
    uint64_t flow;           /* its count in the last walk */
} back_jump;

/* One walk over `ex` (modified: forward and SEND jumps are added);
 * returns the number of inconsistent instructions. */
static uint32_t walk(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                     int jumps_reported, uint64_t *ex, uint64_t *out)
{
    uint32_t bad = 0;
    int64_t running = 0;
    memset(out, 0, n * sizeof *out);
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i)) {
        running += (int64_t)ex[2 * i];
        out[i] = (uint64_t)running;
        int k = kind_at(ops, bytes, i);
        if (k == BM_RETURN) {
            running = 0;  /* every return leaves: PY_RETURN is not recorded */
            continue;
        }
        if (silent_jump(ops, bytes, i, jumps_reported)) {
            /* an exception can be raised at the jump itself (the eval
             * breaker: a signal handler, KeyboardInterrupt) */
            int64_t jumped = running - (int64_t)ex[2 * i + 1];
            uint32_t t = target_of(ops, bytes, n, i);
            if (jumped < 0) {
                bad++;
                jumped = 0;
            }
            if (t > i && t < n)
                ex[2 * t] += (uint64_t)jumped;  /* backward: bm_resolve() */
            running = 0;
            continue;
        }
        uint32_t after = next_instr(ops, bytes, i);
        if (k == BM_SEND && after < n) {
            /* what neither yielded nor raised jumped to END_SEND */
            int64_t jumps = running - (int64_t)ex[2 * i + 1] - (int64_t)ex[2 * after + 1];
            uint32_t t = target_of(ops, bytes, n, i);
            if (jumps < 0) {
                bad++;
                jumps = 0;
            }
            if (t < n) {
                ex[2 * i + 1] += (uint64_t)jumps;
                ex[2 * t] += (uint64_t)jumps;
            }
        }
        running -= (int64_t)ex[2 * i + 1];
        if (running < 0) {
            /* more left than arrived: before a backward jump's count is
             * known, or a missed event */
            bad++;
            running = 0;
        }
    }
    return bad;
}

uint32_t bm_resolve(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                    int jumps_reported, uint64_t *ex, uint64_t *out)
{
    size_t nj = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i)) {
        uint32_t t = silent_jump(ops, bytes, i, jumps_reported) ? target_of(ops, bytes, n, i)
                                                                : UINT32_MAX;
        nj += t <= i;
    }
    if (nj == 0)
        return walk(ops, bytes, n, jumps_reported, ex, out);

    back_jump *jumps = calloc(nj, sizeof *jumps);
    uint64_t *work = malloc(2 * (size_t)n * sizeof *work);
    if (!jumps || !work) {
        free(jumps);
        free(work);
        return walk(ops, bytes, n, jumps_reported, ex, out) + 1;
    }
    nj = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i)) {
        uint32_t t = silent_jump(ops, bytes, i, jumps_reported) ? target_of(ops, bytes, n, i)
                                                                : UINT32_MAX;
        if (t <= i)
            jumps[nj++] = (back_jump){i, t, 0};
    }
    uint32_t bad = 0;
    int settled = 0;
    for (int w = 0; w < MAX_WALKS && !settled; w++) {
        memcpy(work, ex, 2 * (size_t)n * sizeof *work);
        for (size_t k = 0; k < nj; k++)
            work[2 * jumps[k].target] += jumps[k].flow;
        bad = walk(ops, bytes, n, jumps_reported, work, out);
        settled = 1;
        for (size_t k = 0; k < nj; k++) {
            uint64_t count = out[jumps[k].at], raised = ex[2 * jumps[k].at + 1];
            uint64_t flow = count > raised ? count - raised : 0;
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
