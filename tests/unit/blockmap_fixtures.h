/*
 * blockmap_fixtures.h - what the unit tests of profiler/blockmap.c (from
 * the entries and exits recorded by the 3.12+ flow events to
 * per-instruction counts) share: test_blockmap.c, test_blockmap_flow.c,
 * test_blockmap_checks.c.
 *
 * The opcode table is synthetic (numbers chosen here, kinds as blockmap.h
 * describes them), the bytecode is written out as (opcode, oparg) unit
 * pairs, and the events are recorded by hand the way the collector records
 * them (collector_monitor.c):
 *   - PY_START / PY_RESUME / EXCEPTION_HANDLED: an entry at the instruction;
 *   - BRANCH (both ways) and JUMP (when reported): an exit at the jump and an
 *     entry at the destination;
 *   - PY_YIELD / RAISE / RERAISE: an exit at the instruction (a raise from a
 *     CALL is recorded at the CALL itself, never in its caches);
 *   - returns record nothing.
 * Every expected count below is the number of times the instruction really
 * ran in the scenario described next to it.
 */
#ifndef OPPROF_TEST_BLOCKMAP_FIXTURES_H
#define OPPROF_TEST_BLOCKMAP_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "../../profiler/blockmap.h"

/* ---- the synthetic opcode table ---------------------------------------- */

enum {
    OP_CACHE = 0,      /* an inline cache unit (CACHE is 0 in CPython too) */
    OP_PLAIN = 1,      /* falls through, no caches */
    OP_PLAIN2 = 2,     /* falls through, 2 cache units (a CALL, say) */
    OP_RESUME = 3,     /* falls through: where starts and resumes enter */
    OP_BRANCH = 10,    /* conditional, forward: next_instr + oparg */
    OP_JFWD = 11,      /* JUMP_FORWARD: next_instr + oparg */
    OP_JBACK = 12,     /* JUMP_BACKWARD: next_instr - oparg */
    OP_JSILENT = 13,   /* JUMP_BACKWARD_NO_INTERRUPT: next_instr - oparg */
    OP_SEND = 14,      /* 1 cache; falls through to a YIELD or jumps */
    OP_STOP = 15,      /* YIELD_VALUE, RAISE_VARARGS, RERAISE */
    OP_RETURN = 16,    /* RETURN_VALUE */
    OP_EXT = 17,       /* EXTENDED_ARG */
    OP_FOR = 18,       /* FOR_ITER: a branch with 1 cache unit */
    OP_JBACK_C = 19,   /* JUMP_BACKWARD with 1 cache unit (3.13 style) */
    OP_YIELD = 20,     /* YIELD_VALUE as codeinfo.c maps it: BM_YIELD */
    OP_NOTTAKEN = 21,  /* 3.14's NOT_TAKEN, which reports a branch not taken */
};

static bm_ops ops;

static inline int group_setup(void **state)
{
    (void)state;
    memset(&ops, 0, sizeof ops);
    ops.caches[OP_PLAIN2] = 2;
    ops.caches[OP_SEND] = 1;
    ops.caches[OP_FOR] = 1;
    ops.caches[OP_JBACK_C] = 1;
    ops.kind[OP_BRANCH] = BM_BRANCH;
    ops.kind[OP_FOR] = BM_BRANCH;
    ops.kind[OP_JFWD] = BM_JUMP_FWD;
    ops.kind[OP_JBACK] = BM_JUMP_BACK;
    ops.kind[OP_JBACK_C] = BM_JUMP_BACK;
    ops.kind[OP_JSILENT] = BM_JUMP_SILENT_BACK;
    ops.kind[OP_SEND] = BM_SEND;
    ops.kind[OP_STOP] = BM_STOP;
    ops.kind[OP_RETURN] = BM_RETURN;
    ops.kind[OP_YIELD] = BM_YIELD;
    ops.extended_arg = OP_EXT;
    ops.resume = OP_RESUME;
    ops.for_iter = OP_FOR;
    ops.send = OP_SEND;
    ops.not_taken = OP_NOTTAKEN;
    return 0;
}

/* ---- programs: exactly sized heap copies, so valgrind sees any overrun --- */

typedef struct prog {
    uint32_t n;              /* code units */
    unsigned char *bytes;    /* 2 * n */
    uint64_t *ex;            /* 2 * n: entries, exits */
    uint64_t *out;           /* n */
} prog;

#define MAX_PROGS 8
static prog *progs[MAX_PROGS];

static inline void prog_free(prog *p)
{
    if (!p)
        return;
    free(p->bytes);
    free(p->ex);
    free(p->out);
    free(p);
}

/* Freed by the teardown even when an assertion fails half way. */
static inline prog *prog_new(const unsigned char *code, size_t nbytes)
{
    assert_int_equal(nbytes % 2, 0);
    prog *p = calloc(1, sizeof *p);
    assert_non_null(p);
    size_t slot = 0;
    while (slot < MAX_PROGS && progs[slot])
        slot++;
    assert_true(slot < MAX_PROGS);
    progs[slot] = p;
    p->n = (uint32_t)(nbytes / 2);
    size_t n = p->n ? p->n : 1;
    p->bytes = malloc(2 * n);
    p->ex = calloc(2 * n, sizeof *p->ex);
    p->out = calloc(n, sizeof *p->out);
    assert_non_null(p->bytes);
    assert_non_null(p->ex);
    assert_non_null(p->out);
    if (nbytes)
        memcpy(p->bytes, code, nbytes);
    return p;
}

#define PROG(code) prog_new((code), sizeof(code))

static inline int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_PROGS; i++) {
        prog_free(progs[i]);
        progs[i] = NULL;
    }
    return 0;
}

/* Events, as the collector records them. */
static inline void enter(prog *p, uint32_t at, uint64_t k)
{
    assert_true(at < p->n);
    p->ex[2 * at] += k;
}

static inline void leave(prog *p, uint32_t at, uint64_t k)
{
    assert_true(at < p->n);
    p->ex[2 * at + 1] += k;
}

static inline void jump(prog *p, uint32_t from, uint32_t to, uint64_t k)
{
    leave(p, from, k);
    enter(p, to, k);
}

static inline uint32_t resolve(prog *p, int jumps_reported)
{
    /* out must be fully written: poison it first */
    memset(p->out, 0xA5, p->n * sizeof *p->out);
    return bm_resolve(&ops, p->bytes, p->n, jumps_reported, p->ex, p->out);
}

static inline int needs_jumps(const prog *p)
{
    return bm_needs_jump_events(&ops, p->bytes, p->n);
}

static inline void expect_counts_at(const prog *p, const uint64_t *want, size_t nwant, int line)
{
    if (nwant != p->n) {
        print_error("line %d: %zu expected counts for %u units\n", line, nwant, p->n);
        fail();
    }
    int bad = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->out[i] != want[i]) {
            print_error("line %d: unit %u: expected %llu, got %llu\n", line, i,
                        (unsigned long long)want[i], (unsigned long long)p->out[i]);
            bad = 1;
        }
    }
    if (bad)
        fail();
}

#define EXPECT_COUNTS(p, ...)                                                     \
    do {                                                                          \
        const uint64_t want_[] = {__VA_ARGS__};                                   \
        expect_counts_at((p), want_, sizeof want_ / sizeof *want_, __LINE__);     \
    } while (0)

/* ---- programs that several files run ----------------------------------- */

static const unsigned char STRAIGHT[] = {
    /* 0 */ OP_RESUME, 0,
    /* 1 */ OP_PLAIN, 0,
    /* 2 */ OP_PLAIN2, 0,
    /* 3 */ OP_CACHE, 0,
    /* 4 */ OP_CACHE, 0,
    /* 5 */ OP_PLAIN, 0,
    /* 6 */ OP_RETURN, 0,
    /* 7 */ OP_PLAIN, 0,     /* dead code after the return */
    /* 8 */ OP_RETURN, 0,
};

/* if c: a  else: b ; then c -- the then-block leaves by JUMP_FORWARD */
static const unsigned char IF_ELSE[] = {
    /* 0 */ OP_RESUME, 0,
    /* 1 */ OP_PLAIN, 0,
    /* 2 */ OP_BRANCH, 3,    /* -> 6 (else) */
    /* 3 */ OP_PLAIN, 0,     /* then */
    /* 4 */ OP_PLAIN, 0,
    /* 5 */ OP_JFWD, 2,      /* -> 8 */
    /* 6 */ OP_PLAIN, 0,     /* else */
    /* 7 */ OP_PLAIN, 0,
    /* 8 */ OP_PLAIN, 0,     /* join */
    /* 9 */ OP_RETURN, 0,
};

/* for x in it: body   (3.12 layout: FOR_ITER with a cache, END_FOR skipped
 * when the iterator is exhausted) */
static const unsigned char FOR_LOOP[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,     /* GET_ITER */
    /*  2 */ OP_FOR, 5,       /* -> 9 (END_FOR); exhausted lands on 10 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,     /* STORE_FAST x */
    /*  5 */ OP_PLAIN2, 0,    /* CALL */
    /*  6 */ OP_CACHE, 0,
    /*  7 */ OP_CACHE, 0,
    /*  8 */ OP_JBACK, 7,     /* -> 2 */
    /*  9 */ OP_PLAIN, 0,     /* END_FOR */
    /* 10 */ OP_PLAIN, 0,
    /* 11 */ OP_RETURN, 0,
};

/* while c: if d: x  else: y ; z   -- a JUMP_FORWARD inside a loop */
static const unsigned char WHILE_IF[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,     /* c */
    /*  2 */ OP_BRANCH, 8,    /* -> 11 */
    /*  3 */ OP_PLAIN, 0,     /* d */
    /*  4 */ OP_BRANCH, 2,    /* -> 7 */
    /*  5 */ OP_PLAIN, 0,     /* x */
    /*  6 */ OP_JFWD, 1,      /* -> 8 */
    /*  7 */ OP_PLAIN, 0,     /* y */
    /*  8 */ OP_PLAIN, 0,     /* z */
    /*  9 */ OP_PLAIN, 0,
    /* 10 */ OP_JBACK, 10,    /* -> 1 */
    /* 11 */ OP_PLAIN, 0,
    /* 12 */ OP_RETURN, 0,
};

/* while True: f()  -- left only by an exception, caught outside */
static const unsigned char WHILE_TRUE[] = {
    /* 0 */ OP_RESUME, 0,
    /* 1 */ OP_PLAIN, 0,      /* loop top */
    /* 2 */ OP_PLAIN2, 0,     /* f(): raises in the last iteration */
    /* 3 */ OP_CACHE, 0,
    /* 4 */ OP_CACHE, 0,
    /* 5 */ OP_PLAIN, 0,
    /* 6 */ OP_JBACK, 6,      /* -> 1 */
    /* 7 */ OP_PLAIN, 0,      /* handler */
    /* 8 */ OP_PLAIN, 0,
    /* 9 */ OP_RETURN, 0,
};

/* yield from it  (3.12 layout) */
static const unsigned char YIELD_FROM[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,     /* GET_YIELD_FROM_ITER */
    /*  2 */ OP_PLAIN, 0,     /* LOAD_CONST None */
    /*  3 */ OP_SEND, 3,      /* -> 8 (END_SEND) */
    /*  4 */ OP_CACHE, 0,
    /*  5 */ OP_STOP, 0,      /* YIELD_VALUE */
    /*  6 */ OP_RESUME, 2,
    /*  7 */ OP_JSILENT, 5,   /* -> 3 */
    /*  8 */ OP_PLAIN, 0,     /* END_SEND */
    /*  9 */ OP_PLAIN, 0,
    /* 10 */ OP_RETURN, 0,
    /* 11 */ OP_PLAIN, 0,     /* handler */
    /* 12 */ OP_RETURN, 0,
};

#endif
