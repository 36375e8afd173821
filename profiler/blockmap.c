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
 *    Nor are a yield's, unless a SEND feeds it (bm_yield_reported).
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

uint32_t bm_jump_target(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                        uint32_t unit)
{
    return unit < nunits ? target_of(ops, bytes, nunits, unit) : UINT32_MAX;
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

int bm_yield_reported(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                      uint32_t unit)
{
    /* asked at every event of such a yield: no walk from the start (a
     * `yield from` chain in a long function made it most of the run).
     * SEND's cache units hold CACHE (0), never SEND, so a SEND found where
     * it would end just before `unit` is the instruction before it. */
    uint32_t c = ops->send >= 0 ? ops->caches[ops->send] : 0;
    return ops->send >= 0 && unit > c && unit < nunits &&
           bytes[2 * (unit - 1 - c)] == ops->send;
}

int bm_left_silent(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                   uint32_t unit)
{
    if (unit >= nunits || kind_at(ops, bytes, unit) != BM_BRANCH ||
        bytes[2 * unit] == ops->for_iter)
        return 0;
    /* a cycle through the jump has a backward jump whose span holds it */
    for (uint32_t j = 0; j < nunits; j = next_instr(ops, bytes, j)) {
        int k = kind_at(ops, bytes, j);
        if (k != BM_JUMP_BACK && k != BM_JUMP_SILENT_BACK)
            continue;
        uint32_t t = target_of(ops, bytes, nunits, j);
        if (t <= unit && unit <= j && bytes[2 * t] != ops->for_iter)
            return 0;
    }
    return 1;
}

int bm_left_event_silent(const bm_ops *ops, const unsigned char *bytes, uint32_t nunits,
                         long from, long to)
{
    long n = 2L * nunits;
    if (ops->not_taken < 0 || from < 0 || from >= n || to < 2 || to > n)
        return 0;
    if (to == from + 2 && bytes[from] == ops->not_taken)
        return from >= 2 &&
               bm_left_silent(ops, bytes, nunits, bm_owner(ops, bytes, nunits, (uint32_t)from / 2 - 1));
    return bytes[to - 2] == ops->not_taken && bm_left_silent(ops, bytes, nunits, (uint32_t)from / 2);
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

/* What a walk needs of each instruction, decoded once per code object
 * (a function's nodes all walk the same code). */
enum { P_FALL, P_RETURN, P_SILENT, P_SEND };

typedef struct p_instr {
    uint32_t unit, target;   /* target: UINT32_MAX when none */
    uint8_t kind;            /* P_* */
} p_instr;

typedef struct back_jump {
    uint32_t at, target;
    uint64_t flow;           /* its count in the last walk */
} back_jump;

struct bm_plan {
    uint32_t n;              /* code units */
    p_instr *v;
    size_t nv;
    back_jump *jumps;        /* the silent backward jumps */
    size_t nj;
    uint64_t *work;          /* 2n: the walks' copy of ex */
    uint32_t dirty;          /* work is 0 from unit `dirty` on */
};

bm_plan *bm_plan_new(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                     int jumps_reported)
{
    bm_plan *pl = calloc(1, sizeof *pl);
    size_t ni = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i))
        ni++;
    if (!pl || !(pl->v = malloc((ni + 1) * sizeof *pl->v))) {
        free(pl);
        return NULL;
    }
    pl->n = n;
    size_t nj = 0;
    for (uint32_t i = 0; i < n; i = next_instr(ops, bytes, i)) {
        int k = kind_at(ops, bytes, i);
        p_instr *in = &pl->v[pl->nv++];
        in->unit = i;
        in->target = UINT32_MAX;
        in->kind = k == BM_RETURN ? P_RETURN : P_FALL;
        if (k == BM_YIELD && !(pl->nv > 1 && pl->v[pl->nv - 2].kind == P_SEND))
            in->kind = P_RETURN;   /* bm_yield_reported(): no exits recorded */
        if (silent_jump(ops, bytes, i, jumps_reported)) {
            in->kind = P_SILENT;
            in->target = target_of(ops, bytes, n, i);
            nj += in->target <= i;
        } else if (k == BM_SEND) {
            in->kind = P_SEND;
            in->target = target_of(ops, bytes, n, i);
        }
    }
    if (nj && (!(pl->jumps = calloc(nj, sizeof *pl->jumps)) ||
               !(pl->work = calloc(2 * (size_t)n, sizeof *pl->work)))) {
        bm_plan_release(pl);
        return NULL;
    }
    for (size_t k = 0; k < pl->nv; k++)
        if (pl->v[k].kind == P_SILENT && pl->v[k].target <= pl->v[k].unit)
            pl->jumps[pl->nj++] = (back_jump){pl->v[k].unit, pl->v[k].target, 0};
    return pl;
}

void bm_plan_release(bm_plan *pl)
{
    if (!pl)
        return;
    free(pl->v);
    free(pl->jumps);
    free(pl->work);
    free(pl);
}

/* The units from which ex (2 entries a unit) is all 0, at most `from`. */
static uint32_t zero_from(const uint64_t *ex, uint32_t from)
{
    return bm_zero_from(ex, from, 2);
}

/* One walk over `ex` (modified: forward and SEND jumps are added), which
 * is 0 from unit `limit` on; *reach (when not NULL) rises to past the
 * last unit it wrote to.  Returns the number of inconsistent
 * instructions. */
static uint32_t walk(const bm_plan *pl, uint64_t *ex, uint64_t *out, uint32_t limit,
                     uint32_t *reach)
{
    uint32_t bad = 0, n = pl->n, wrote = 0;
    int64_t running = 0;
    memset(out, 0, n * sizeof *out);
    /* Past the last entry or exit, with nothing running, every count is 0:
     * a node that ran the start of a long function (or one branch of a
     * module) stops there.  Jumps forward push the horizon. */
    uint32_t horizon = zero_from(ex, limit);
    for (size_t k = 0; k < pl->nv; k++) {
        const p_instr *in = &pl->v[k];
        uint32_t i = in->unit;
        if (running == 0 && i >= horizon)
            break;
        running += (int64_t)ex[2 * i];
        out[i] = (uint64_t)running;
        if (in->kind == P_RETURN) {
            running = 0;  /* every return (and unreported yield) leaves */
            continue;
        }
        if (in->kind == P_SILENT) {
            /* an exception can be raised at the jump itself (the eval
             * breaker: a signal handler, KeyboardInterrupt) */
            int64_t jumped = running - (int64_t)ex[2 * i + 1];
            uint32_t t = in->target;
            if (jumped < 0) {
                bad++;
                jumped = 0;
            }
            if (t > i && t < n) {
                ex[2 * t] += (uint64_t)jumped;  /* backward: bm_resolve() */
                horizon = jumped && t >= horizon ? t + 1 : horizon;
                wrote = t + 1 > wrote ? t + 1 : wrote;
            }
            running = 0;
            continue;
        }
        uint32_t after = k + 1 < pl->nv ? pl->v[k + 1].unit : n;
        if (in->kind == P_SEND && after < n) {
            /* what neither yielded nor raised jumped to END_SEND */
            int64_t jumps = running - (int64_t)ex[2 * i + 1] - (int64_t)ex[2 * after + 1];
            uint32_t t = in->target;
            if (jumps < 0) {
                bad++;
                jumps = 0;
            }
            if (t < n) {
                ex[2 * i + 1] += (uint64_t)jumps;
                ex[2 * t] += (uint64_t)jumps;
                horizon = jumps && t >= horizon ? t + 1 : horizon;
                wrote = (t > i ? t : i) + 1 > wrote ? (t > i ? t : i) + 1 : wrote;
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
    if (reach && wrote > *reach)
        *reach = wrote;
    return bad;
}

uint32_t bm_resolve_plan(bm_plan *pl, uint64_t *ex, uint64_t *out)
{
    uint32_t h = zero_from(ex, pl->n);
    if (pl->nj == 0)
        return walk(pl, ex, out, h, NULL);
    /* work is copied from ex only as far as either holds anything: most
     * nodes ran a small part of their function */
    uint64_t *work = pl->work;
    uint32_t bad = 0;
    int settled = 0;
    for (size_t k = 0; k < pl->nj; k++)
        pl->jumps[k].flow = 0;
    for (int w = 0; w < MAX_WALKS && !settled; w++) {
        /* ex is 0 from h on: what an earlier walk wrote past it is
         * cleared, not copied from ex */
        memcpy(work, ex, 2 * (size_t)h * sizeof *work);
        if (pl->dirty > h)
            memset(work + 2 * (size_t)h, 0, 2 * (size_t)(pl->dirty - h) * sizeof *work);
        pl->dirty = h;
        for (size_t k = 0; k < pl->nj; k++) {
            work[2 * pl->jumps[k].target] += pl->jumps[k].flow;
            if (pl->jumps[k].flow && pl->jumps[k].target + 1 > pl->dirty)
                pl->dirty = pl->jumps[k].target + 1;
        }
        bad = walk(pl, work, out, pl->dirty, &pl->dirty);
        settled = 1;
        for (size_t k = 0; k < pl->nj; k++) {
            uint64_t count = out[pl->jumps[k].at], raised = ex[2 * pl->jumps[k].at + 1];
            uint64_t flow = count > raised ? count - raised : 0;
            if (flow != pl->jumps[k].flow) {
                pl->jumps[k].flow = flow;
                settled = 0;
            }
        }
    }
    return bad + !settled;
}

uint32_t bm_resolve(const bm_ops *ops, const unsigned char *bytes, uint32_t n,
                    int jumps_reported, uint64_t *ex, uint64_t *out)
{
    bm_plan *pl = bm_plan_new(ops, bytes, n, jumps_reported);
    if (!pl) {   /* out of memory: no counts, marked inconsistent */
        memset(out, 0, n * sizeof *out);
        return 1;
    }
    uint32_t bad = bm_resolve_plan(pl, ex, out);
    bm_plan_release(pl);
    return bad;
}
