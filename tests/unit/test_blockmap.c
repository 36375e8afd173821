/*
 * test_blockmap.c - unit tests for profiler/blockmap.c: from the entries
 * and exits recorded by the 3.12+ flow events to per-instruction counts.
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

static int group_setup(void **state)
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

static void prog_free(prog *p)
{
    if (!p)
        return;
    free(p->bytes);
    free(p->ex);
    free(p->out);
    free(p);
}

/* Freed by the teardown even when an assertion fails half way. */
static prog *prog_new(const unsigned char *code, size_t nbytes)
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

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAX_PROGS; i++) {
        prog_free(progs[i]);
        progs[i] = NULL;
    }
    return 0;
}

/* Events, as the collector records them. */
static void enter(prog *p, uint32_t at, uint64_t k)
{
    assert_true(at < p->n);
    p->ex[2 * at] += k;
}

static void leave(prog *p, uint32_t at, uint64_t k)
{
    assert_true(at < p->n);
    p->ex[2 * at + 1] += k;
}

static void jump(prog *p, uint32_t from, uint32_t to, uint64_t k)
{
    leave(p, from, k);
    enter(p, to, k);
}

static uint32_t resolve(prog *p, int jumps_reported)
{
    /* out must be fully written: poison it first */
    memset(p->out, 0xA5, p->n * sizeof *p->out);
    return bm_resolve(&ops, p->bytes, p->n, jumps_reported, p->ex, p->out);
}

static int needs_jumps(const prog *p)
{
    return bm_needs_jump_events(&ops, p->bytes, p->n);
}

static void expect_counts_at(const prog *p, const uint64_t *want, size_t nwant, int line)
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

/* ---- bm_fold ----------------------------------------------------------- */

/* Samples taken at a cache unit (3.12 shows the CALL's last cache unit while
 * a callee is entered) belong to the instruction that owns it. */
static void test_fold(void **state)
{
    (void)state;
    static const unsigned char code[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN2, 0,
        /* 2 */ OP_CACHE, 0,
        /* 3 */ OP_CACHE, 0,
        /* 4 */ OP_PLAIN, 0,
        /* 5 */ OP_RETURN, 0,
    };
    prog *p = PROG(code);
    const uint64_t in[] = {5, 10, 20, 30, 40, 50};
    bm_fold(&ops, p->bytes, p->n, in, p->out);
    EXPECT_COUNTS(p, 5, 60, 0, 0, 40, 50);
}

/* ---- bm_owner ---------------------------------------------------------- */

static void test_owner(void **state)
{
    (void)state;
    static const unsigned char code[] = {
        /*  0 */ OP_RESUME, 0,
        /*  1 */ OP_PLAIN2, 0,
        /*  2 */ OP_CACHE, 0,
        /*  3 */ OP_CACHE, 0,
        /*  4 */ OP_EXT, 1,
        /*  5 */ OP_FOR, 2,
        /*  6 */ OP_CACHE, 0,
        /*  7 */ OP_SEND, 1,
        /*  8 */ OP_CACHE, 0,
        /*  9 */ OP_STOP, 0,
        /* 10 */ OP_RETURN, 0,
    };
    static const uint32_t owner[] = {0, 1, 1, 1, 4, 5, 5, 7, 7, 9, 10};
    prog *p = PROG(code);
    for (uint32_t u = 0; u < p->n; u++) {
        uint32_t got = bm_owner(&ops, p->bytes, p->n, u);
        if (got != owner[u]) {
            print_error("unit %u: owner %u, expected %u\n", u, got, owner[u]);
            fail();
        }
    }
}

/* ---- straight-line code ------------------------------------------------- */

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

static void test_straight_line_return(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        prog *p = PROG(STRAIGHT);
        enter(p, 0, 1);                      /* one call */
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 1, 1, 1, 0, 0, 1, 1, 0, 0);
        teardown(NULL);

        p = PROG(STRAIGHT);
        enter(p, 0, 3);                      /* three calls */
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 3, 3, 3, 0, 0, 3, 3, 0, 0);
        teardown(NULL);
    }
}

static void test_never_called(void **state)
{
    (void)state;
    prog *p = PROG(STRAIGHT);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void test_empty_code(void **state)
{
    (void)state;
    prog *p = prog_new(NULL, 0);
    assert_int_equal(bm_resolve(&ops, p->bytes, 0, 0, p->ex, p->out), 0);
    assert_int_equal(bm_resolve(&ops, p->bytes, 0, 1, p->ex, p->out), 0);
    assert_int_equal(bm_needs_jump_events(&ops, p->bytes, 0), 0);
}

/* ---- if / else ---------------------------------------------------------- */

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

static void if_else(int jr, uint64_t t, uint64_t e)
{
    prog *p = PROG(IF_ELSE);
    enter(p, 0, t + e);
    jump(p, 2, 3, t);
    jump(p, 2, 6, e);
    if (jr)
        jump(p, 5, 8, t);
    assert_int_equal(resolve(p, jr), 0);
    EXPECT_COUNTS(p, t + e, t + e, t + e, t, t, t, e, e, t + e, t + e);
    teardown(NULL);
}

static void test_if_else_jump_forward(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        if_else(jr, 3, 2);
        if_else(jr, 5, 0);
        if_else(jr, 0, 4);
    }
    prog *p = PROG(IF_ELSE);
    assert_int_equal(needs_jumps(p), 0);
}

/* A JUMP_FORWARD over more than 255 units needs its EXTENDED_ARG. */
static void test_extended_arg_jump_forward(void **state)
{
    (void)state;
    enum { L = 300 };
    unsigned char code[2 * (L + 5)];
    /* 0 RESUME, 1 EXT, 2 JFWD -> 3 + L, 3 .. 2 + L dead PLAINs, 3 + L PLAIN,
     * 4 + L RETURN */
    uint32_t arg = L;
    code[0] = OP_RESUME, code[1] = 0;
    code[2] = OP_EXT, code[3] = (unsigned char)(arg >> 8);
    code[4] = OP_JFWD, code[5] = (unsigned char)arg;
    for (uint32_t i = 3; i < 3 + L; i++)
        code[2 * i] = OP_PLAIN, code[2 * i + 1] = 0;
    code[2 * (3 + L)] = OP_PLAIN, code[2 * (3 + L) + 1] = 0;
    code[2 * (4 + L)] = OP_RETURN, code[2 * (4 + L) + 1] = 0;
    prog *p = PROG(code);
    enter(p, 0, 2);
    assert_int_equal(resolve(p, 0), 0);
    uint64_t want[L + 5] = {2, 2, 2};
    want[3 + L] = 2;
    want[4 + L] = 2;
    expect_counts_at(p, want, L + 5, __LINE__);
}

/* ---- for loops ---------------------------------------------------------- */

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

static void for_loop(int jr, uint64_t n)
{
    prog *p = PROG(FOR_LOOP);
    enter(p, 0, 1);
    jump(p, 2, 4, n);        /* n iterations */
    jump(p, 2, 10, 1);       /* exhausted */
    if (jr)
        jump(p, 8, 2, n);
    assert_int_equal(resolve(p, jr), 0);
    EXPECT_COUNTS(p, 1, 1, n + 1, 0, n, n, 0, 0, n, 0, 1, 1);
    teardown(NULL);
}

static void test_for_loop_static_jump(void **state)
{
    (void)state;
    for_loop(0, 5);
    for_loop(0, 1);
    for_loop(0, 0);
    for_loop(0, 1000000);
}

static void test_for_loop_reported_jump(void **state)
{
    (void)state;
    for_loop(1, 5);
    for_loop(1, 1);
    for_loop(1, 0);
    for_loop(1, 1000000);
}

static void test_for_loop_several_calls(void **state)
{
    (void)state;
    /* three calls, with 2, 0 and 7 iterations */
    for (int jr = 0; jr < 2; jr++) {
        prog *p = PROG(FOR_LOOP);
        enter(p, 0, 3);
        jump(p, 2, 4, 9);
        jump(p, 2, 10, 3);
        if (jr)
            jump(p, 8, 2, 9);
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 3, 3, 12, 0, 9, 9, 0, 0, 9, 0, 3, 3);
        teardown(NULL);
    }
}

/* The same loop, 3.13 style: the JUMP_BACKWARD has a cache unit, and its
 * target is counted from after it. */
static const unsigned char FOR_LOOP_313[] = {
    /* 0 */ OP_RESUME, 0,
    /* 1 */ OP_PLAIN, 0,
    /* 2 */ OP_FOR, 3,        /* -> 7 (END_FOR); exhausted lands on 8 */
    /* 3 */ OP_CACHE, 0,
    /* 4 */ OP_PLAIN, 0,
    /* 5 */ OP_JBACK_C, 5,    /* after = 7: -> 2 */
    /* 6 */ OP_CACHE, 0,
    /* 7 */ OP_PLAIN, 0,      /* END_FOR */
    /* 8 */ OP_PLAIN, 0,
    /* 9 */ OP_RETURN, 0,
};

static void test_jump_back_with_cache(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        prog *p = PROG(FOR_LOOP_313);
        enter(p, 0, 1);
        jump(p, 2, 4, 6);
        jump(p, 2, 8, 1);
        if (jr)
            jump(p, 5, 2, 6);
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 1, 1, 7, 0, 6, 6, 0, 0, 1, 1);
        teardown(NULL);
    }
    prog *p = PROG(FOR_LOOP_313);
    assert_int_equal(needs_jumps(p), 0);
}

/* for i in a: s; for j in b: body; t */
static const unsigned char NESTED[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,
    /*  2 */ OP_FOR, 12,      /* outer -> 16 (END_FOR); exhausted on 17 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,
    /*  5 */ OP_PLAIN, 0,
    /*  6 */ OP_FOR, 5,       /* inner -> 13 (END_FOR); exhausted on 14 */
    /*  7 */ OP_CACHE, 0,
    /*  8 */ OP_PLAIN, 0,
    /*  9 */ OP_PLAIN2, 0,
    /* 10 */ OP_CACHE, 0,
    /* 11 */ OP_CACHE, 0,
    /* 12 */ OP_JBACK, 7,     /* -> 6 */
    /* 13 */ OP_PLAIN, 0,     /* END_FOR */
    /* 14 */ OP_PLAIN, 0,
    /* 15 */ OP_JBACK, 14,    /* -> 2 */
    /* 16 */ OP_PLAIN, 0,     /* END_FOR */
    /* 17 */ OP_PLAIN, 0,
    /* 18 */ OP_RETURN, 0,
};

/* a outer iterations, b inner iterations in total */
static void nested(int jr, uint64_t a, uint64_t b)
{
    prog *p = PROG(NESTED);
    enter(p, 0, 1);
    jump(p, 2, 4, a);
    jump(p, 2, 17, 1);
    jump(p, 6, 8, b);
    jump(p, 6, 14, a);
    if (jr) {
        jump(p, 12, 6, b);
        jump(p, 15, 2, a);
    }
    assert_int_equal(resolve(p, jr), 0);
    EXPECT_COUNTS(p, 1, 1, a + 1, 0, a, a, a + b, 0, b, b, 0, 0, b, 0, a, a, 0, 1, 1);
    teardown(NULL);
}

static void test_nested_loops(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        nested(jr, 3, 12);
        nested(jr, 1, 1);
        nested(jr, 4, 0);      /* the inner loop never runs */
        nested(jr, 0, 0);
        nested(jr, 100, 7);    /* fewer inner iterations than outer ones */
    }
    prog *p = PROG(NESTED);
    assert_int_equal(needs_jumps(p), 0);
}

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

static void test_while_with_if_else(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        const uint64_t t = 4, e = 3, n = t + e;
        prog *p = PROG(WHILE_IF);
        enter(p, 0, 1);
        jump(p, 2, 3, n);
        jump(p, 2, 11, 1);
        jump(p, 4, 5, t);
        jump(p, 4, 7, e);
        if (jr) {
            jump(p, 6, 8, t);
            jump(p, 10, 1, n);
        }
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 1, n + 1, n + 1, n, n, t, t, e, n, n, n, 1, 1);
        teardown(NULL);
    }
    prog *p = PROG(WHILE_IF);
    assert_int_equal(needs_jumps(p), 0);
}

/* for x in it: if x == k: return x  -- a return inside a loop */
static const unsigned char FOR_RETURN[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,
    /*  2 */ OP_FOR, 5,       /* -> 9 (END_FOR); exhausted on 10 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,
    /*  5 */ OP_BRANCH, 2,    /* -> 8 */
    /*  6 */ OP_PLAIN, 0,
    /*  7 */ OP_RETURN, 0,
    /*  8 */ OP_JBACK, 7,     /* -> 2 */
    /*  9 */ OP_PLAIN, 0,     /* END_FOR */
    /* 10 */ OP_PLAIN, 0,
    /* 11 */ OP_RETURN, 0,
};

static void test_return_inside_loop(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        prog *p = PROG(FOR_RETURN);
        enter(p, 0, 2);
        /* call 1: returns during its 3rd iteration */
        jump(p, 2, 4, 3);
        jump(p, 5, 8, 2);
        jump(p, 5, 6, 1);
        /* call 2: 4 iterations, then the iterator is exhausted */
        jump(p, 2, 4, 4);
        jump(p, 5, 8, 4);
        jump(p, 2, 10, 1);
        if (jr)
            jump(p, 8, 2, 6);
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 2, 2, 8, 0, 7, 7, 1, 1, 6, 0, 1, 1);
        teardown(NULL);
    }
}

/* ---- EXTENDED_ARG ------------------------------------------------------- */

/* for x in it: <body of `len` PLAINs>, with `k` EXTENDED_ARGs in front of
 * FOR_ITER and of JUMP_BACKWARD; the jump targets the first EXTENDED_ARG
 * of FOR_ITER, as CPython's jumps do.  Layout:
 *   0 RESUME, 1 PLAIN, 2 .. 1+k EXT, 2+k FOR, 3+k cache, body from 4+k,
 *   then k EXT, JBACK, END_FOR, PLAIN, RETURN. */
typedef struct long_loop {
    uint32_t n, top, for_at, body, jback, end_for;
    unsigned char *code;
} long_loop;

static void put_arg(unsigned char *code, uint32_t first_ext, uint32_t k, int op, uint32_t arg)
{
    for (uint32_t e = 0; e < k; e++) {
        code[2 * (first_ext + e)] = OP_EXT;
        code[2 * (first_ext + e) + 1] = (unsigned char)(arg >> (8 * (k - e)));
    }
    code[2 * (first_ext + k)] = (unsigned char)op;
    code[2 * (first_ext + k) + 1] = (unsigned char)arg;
}

static long_loop build_long_loop(uint32_t len, uint32_t k)
{
    long_loop l;
    l.top = 2;
    l.for_at = 2 + k;
    l.body = 4 + k;
    l.jback = l.body + len + k;
    l.end_for = l.jback + 1;
    l.n = l.end_for + 3;
    l.code = calloc(2 * (size_t)l.n, 1);
    assert_non_null(l.code);
    l.code[0] = OP_RESUME;
    l.code[2] = OP_PLAIN;
    put_arg(l.code, l.top, k, OP_FOR, l.end_for - l.body);
    l.code[2 * (l.for_at + 1)] = OP_CACHE;
    for (uint32_t i = l.body; i < l.body + len; i++)
        l.code[2 * i] = OP_PLAIN, l.code[2 * i + 1] = (unsigned char)i;
    put_arg(l.code, l.body + len, k, OP_JBACK, l.jback + 1 - l.top);
    l.code[2 * l.end_for] = OP_PLAIN;
    l.code[2 * (l.end_for + 1)] = OP_PLAIN;
    l.code[2 * (l.end_for + 2)] = OP_RETURN;
    return l;
}

static void long_loop_check(uint32_t len, uint32_t k, uint64_t iters)
{
    long_loop l = build_long_loop(len, k);
    prog *p = prog_new(l.code, 2 * (size_t)l.n);
    free(l.code);
    enter(p, 0, 1);
    jump(p, l.for_at, l.body, iters);
    jump(p, l.for_at, l.end_for + 1, 1);
    uint64_t *want = calloc(l.n, sizeof *want);
    assert_non_null(want);
    want[0] = want[1] = 1;
    for (uint32_t i = l.top; i <= l.for_at; i++)
        want[i] = iters + 1;            /* EXTENDED_ARGs and FOR_ITER */
    for (uint32_t i = l.body; i <= l.jback; i++)
        want[i] = iters;                /* body, EXTENDED_ARGs and the jump */
    want[l.end_for + 1] = want[l.end_for + 2] = 1;
    uint32_t bad = resolve(p, 0);
    if (bad == 0)
        expect_counts_at(p, want, l.n, __LINE__);
    free(want);
    assert_int_equal(bad, 0);
}

static void test_extended_arg_jump_back(void **state)
{
    (void)state;
    long_loop_check(300, 1, 4);     /* distances 0x1xx: one EXTENDED_ARG */
    long_loop_check(251, 1, 2);     /* just over 255 */
    long_loop_check(70000, 2, 3);   /* 0x1xxxx: two EXTENDED_ARGs */
}

/* A PLAIN op with a nonzero oparg in front of a jump is not an
 * EXTENDED_ARG: its oparg must not leak into the jump's. */
static void test_jump_back_after_plain_with_oparg(void **state)
{
    (void)state;
    static const unsigned char code[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_FOR, 3,       /* -> 7 (END_FOR); exhausted on 8 */
        /* 3 */ OP_CACHE, 0,
        /* 4 */ OP_PLAIN, 0xff,
        /* 5 */ OP_PLAIN, 0x01,
        /* 6 */ OP_JBACK, 5,     /* -> 2 */
        /* 7 */ OP_PLAIN, 0,
        /* 8 */ OP_PLAIN, 0,
        /* 9 */ OP_RETURN, 0,
    };
    prog *p = PROG(code);
    enter(p, 0, 1);
    jump(p, 2, 4, 3);
    jump(p, 2, 8, 1);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 1, 1, 4, 0, 3, 3, 3, 0, 1, 1);
}

/* ---- raises and handlers ------------------------------------------------ */

/* try: a; f(); b  except E: h  (re-raised when E does not match) */
static const unsigned char TRY[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,
    /*  2 */ OP_PLAIN2, 0,    /* f(): raises sometimes */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_CACHE, 0,
    /*  5 */ OP_PLAIN, 0,
    /*  6 */ OP_RETURN, 0,
    /*  7 */ OP_PLAIN, 0,     /* handler: PUSH_EXC_INFO */
    /*  8 */ OP_BRANCH, 2,    /* no match -> 11 */
    /*  9 */ OP_PLAIN, 0,     /* POP_EXCEPT */
    /* 10 */ OP_RETURN, 0,
    /* 11 */ OP_STOP, 0,      /* RERAISE */
};

static void test_raise_and_handler(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        /* 5 calls; f() raises in 3 of them; 2 of those are handled */
        prog *p = PROG(TRY);
        enter(p, 0, 5);
        leave(p, 2, 3);          /* RAISE, recorded at the CALL */
        enter(p, 7, 3);          /* EXCEPTION_HANDLED */
        jump(p, 8, 9, 2);
        jump(p, 8, 11, 1);
        leave(p, 11, 1);         /* RERAISE */
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 5, 5, 5, 0, 0, 2, 2, 3, 3, 2, 2, 1);
        teardown(NULL);
    }
}

static void test_raise_not_handled(void **state)
{
    (void)state;
    /* 4 calls, all raising out of f(): nothing after it runs */
    prog *p = PROG(STRAIGHT);
    enter(p, 0, 4);
    leave(p, 2, 4);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 4, 4, 4, 0, 0, 0, 0, 0, 0);
}

/* for x in it: try: f(x)  except: h -- a handled exception in a loop;
 * the handler goes back to the loop top with JUMP_BACKWARD (3.12) or
 * with JUMP_BACKWARD_NO_INTERRUPT (3.13), which is never reported. */
static unsigned char for_try[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,
    /*  2 */ OP_FOR, 5,       /* -> 9 (END_FOR); exhausted on 10 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,
    /*  5 */ OP_PLAIN2, 0,    /* f(x): raises sometimes */
    /*  6 */ OP_CACHE, 0,
    /*  7 */ OP_CACHE, 0,
    /*  8 */ OP_JBACK, 7,     /* -> 2 */
    /*  9 */ OP_PLAIN, 0,     /* END_FOR */
    /* 10 */ OP_PLAIN, 0,
    /* 11 */ OP_RETURN, 0,
    /* 12 */ OP_PLAIN, 0,     /* handler */
    /* 13 */ OP_PLAIN, 0,
    /* 14 */ 0, 13,           /* -> 2: OP_JBACK or OP_JSILENT */
};

static void handler_in_loop(int handler_jump, int jr, uint64_t n, uint64_t r)
{
    for_try[2 * 14] = (unsigned char)handler_jump;
    prog *p = PROG(for_try);
    enter(p, 0, 1);
    jump(p, 2, 4, n);
    jump(p, 2, 10, 1);
    leave(p, 5, r);
    enter(p, 12, r);
    if (jr) {
        jump(p, 8, 2, n - r);
        if (handler_jump == OP_JBACK)
            jump(p, 14, 2, r);
    }
    assert_int_equal(resolve(p, jr), 0);
    EXPECT_COUNTS(p, 1, 1, n + 1, 0, n, n, 0, 0, n - r, 0, 1, 1, r, r, r);
    assert_int_equal(needs_jumps(p), 0);
    teardown(NULL);
}

static void test_handler_in_loop(void **state)
{
    (void)state;
    static const int kinds[] = {OP_JBACK, OP_JSILENT};
    for (size_t k = 0; k < 2; k++) {
        for (int jr = 0; jr < 2; jr++) {
            handler_in_loop(kinds[k], jr, 6, 2);
            handler_in_loop(kinds[k], jr, 6, 6);    /* every call raises */
            handler_in_loop(kinds[k], jr, 6, 0);
        }
    }
}

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

static void test_while_true_left_by_exception(void **state)
{
    (void)state;
    prog *p = PROG(WHILE_TRUE);
    /* nothing counts this loop's iterations but its jump */
    assert_int_equal(needs_jumps(p), 1);
    const uint64_t n = 9;
    enter(p, 0, 1);
    jump(p, 6, 1, n - 1);    /* JUMP events on */
    leave(p, 2, 1);
    enter(p, 7, 1);
    assert_int_equal(resolve(p, 1), 0);
    EXPECT_COUNTS(p, 1, n, n, 0, 0, n - 1, n - 1, 1, 1, 1);
}

/* ---- generators: yield in a loop, yield from ---------------------------- */

/* for x in it: yield x */
static const unsigned char GEN_LOOP[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,
    /*  2 */ OP_FOR, 5,       /* -> 9 (END_FOR); exhausted on 10 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,
    /*  5 */ OP_PLAIN, 0,
    /*  6 */ OP_STOP, 0,      /* YIELD_VALUE */
    /*  7 */ OP_RESUME, 1,
    /*  8 */ OP_JBACK, 7,     /* -> 2 */
    /*  9 */ OP_PLAIN, 0,     /* END_FOR */
    /* 10 */ OP_PLAIN, 0,
    /* 11 */ OP_RETURN, 0,
};

/* GEN_LOOP run twice: 5 items all consumed, and closed after the 3rd (the
 * last yield is never resumed).  With `yield_exits` the yield's exits are
 * recorded, as for a YIELD_VALUE whose PY_YIELD stays on. */
static void generator_loop(const unsigned char *code, size_t nbytes, int yield_exits)
{
    for (int jr = 0; jr < 2; jr++) {
        prog *p = prog_new(code, nbytes);
        enter(p, 0, 1);
        jump(p, 2, 4, 5);
        if (yield_exits)
            leave(p, 6, 5);
        enter(p, 7, 5);
        jump(p, 2, 10, 1);
        if (jr)
            jump(p, 8, 2, 5);
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 1, 1, 6, 0, 5, 5, 5, 5, 5, 0, 1, 1);
        teardown(NULL);

        p = prog_new(code, nbytes);
        enter(p, 0, 1);
        jump(p, 2, 4, 3);
        if (yield_exits)
            leave(p, 6, 3);
        enter(p, 7, 2);
        if (jr)
            jump(p, 8, 2, 2);
        assert_int_equal(resolve(p, jr), 0);
        EXPECT_COUNTS(p, 1, 1, 3, 0, 3, 3, 3, 2, 2, 0, 0, 0);
        teardown(NULL);
    }
}

static void test_generator_loop(void **state)
{
    (void)state;
    generator_loop(GEN_LOOP, sizeof GEN_LOOP, 1);
    prog *p = PROG(GEN_LOOP);
    assert_int_equal(needs_jumps(p), 0);
}


/* for x in it: if c: a  (the if's not-taken way unreported) */
static const unsigned char FOR_IF[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,     /* GET_ITER */
    /*  2 */ OP_FOR, 5,       /* -> 9 (END_FOR); exhausted lands on 10 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,
    /*  5 */ OP_BRANCH, 1,    /* -> 7 */
    /*  6 */ OP_PLAIN, 0,     /* NOT_TAKEN, a */
    /*  7 */ OP_PLAIN, 0,
    /*  8 */ OP_JBACK, 7,     /* -> 2 */
    /*  9 */ OP_PLAIN, 0,     /* END_FOR */
    /* 10 */ OP_PLAIN, 0,
    /* 11 */ OP_RETURN, 0,
};

/* 3.14: the not-taken way of an if outside loops, or inside for loops
 * only, goes unreported, and the walk gives the same counts. */
static void test_left_silent(void **state)
{
    (void)state;
    prog *p = PROG(IF_ELSE);
    assert_int_equal(bm_left_silent(&ops, p->bytes, p->n, 2), 1);
    assert_int_equal(bm_left_silent(&ops, p->bytes, p->n, 1), 0);   /* no branch */
    enter(p, 0, 5);
    jump(p, 2, 6, 2);        /* 2 taken; 3 not taken, unreported */
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 5, 5, 5, 3, 3, 3, 2, 2, 5, 5);
    teardown(NULL);

    p = PROG(WHILE_IF);      /* a while loop's jumps keep both ways */
    assert_int_equal(bm_left_silent(&ops, p->bytes, p->n, 2), 0);
    assert_int_equal(bm_left_silent(&ops, p->bytes, p->n, 4), 0);
    teardown(NULL);

    /* the events as 3.14 reports them: through the NOT_TAKEN after the jump */
    static const unsigned char IF_NT[] = {
        OP_RESUME, 0, OP_PLAIN, 0, OP_BRANCH, 2, /* -> 5 */ OP_NOTTAKEN, 0, OP_PLAIN, 0,
        OP_RETURN, 0,
    };
    p = PROG(IF_NT);
    assert_int_equal(bm_left_event_silent(&ops, p->bytes, p->n, 4, 8), 1);   /* jump, past NT */
    assert_int_equal(bm_left_event_silent(&ops, p->bytes, p->n, 6, 8), 1);   /* NT, past itself */
    assert_int_equal(bm_left_event_silent(&ops, p->bytes, p->n, 4, 10), 0);  /* taken */
    assert_int_equal(bm_left_event_silent(&ops, p->bytes, p->n, 4, 99), 0);  /* out of range */
    teardown(NULL);
    p = PROG(FOR_IF);
    assert_int_equal(bm_left_event_silent(&ops, p->bytes, p->n, 4, 8), 0);   /* FOR_ITER goes on */
    teardown(NULL);

    for (uint64_t k = 0; k < 8; k += 7) {
        p = PROG(FOR_IF);
        assert_int_equal(bm_left_silent(&ops, p->bytes, p->n, 5), 1);
        assert_int_equal(bm_left_silent(&ops, p->bytes, p->n, 2), 0);   /* FOR_ITER */
        enter(p, 0, 1);
        jump(p, 2, 4, k);    /* k iterations */
        jump(p, 2, 10, 1);   /* exhausted */
        jump(p, 5, 7, k / 2);
        assert_int_equal(resolve(p, 0), 0);
        EXPECT_COUNTS(p, 1, 1, k + 1, 0, k, k, k - k / 2, k, k, 0, 1, 1);
        teardown(NULL);
    }
}

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

/* YIELD_VALUE as the collector maps it: a yield that no SEND feeds
 * records no exit (its PY_YIELD is turned off) and still leaves; one that
 * SEND feeds records its exits as before. */
static void test_unreported_yield(void **state)
{
    (void)state;
    unsigned char gen[sizeof GEN_LOOP];
    memcpy(gen, GEN_LOOP, sizeof gen);
    gen[2 * 6] = OP_YIELD;
    prog *p = PROG(gen);
    assert_int_equal(bm_yield_reported(&ops, p->bytes, p->n, 6), 0);
    teardown(NULL);
    generator_loop(gen, sizeof gen, 0);

    unsigned char from[sizeof YIELD_FROM];
    memcpy(from, YIELD_FROM, sizeof from);
    from[2 * 5] = OP_YIELD;
    p = PROG(from);
    assert_int_equal(bm_yield_reported(&ops, p->bytes, p->n, 5), 1);
    assert_int_equal(bm_yield_reported(&ops, p->bytes, p->n, 0), 0);
    /* 4 items through SEND's yield, whose exits are recorded */
    enter(p, 0, 1);
    leave(p, 5, 4);
    enter(p, 6, 4);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 1, 1, 1, 5, 0, 4, 4, 4, 1, 1, 1, 0, 0);
}

static void test_yield_from(void **state)
{
    (void)state;
    static const uint64_t ks[] = {0, 1, 2, 5, 1000};
    for (int jr = 0; jr < 2; jr++) {
        for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
            const uint64_t k = ks[i];
            /* k items yielded and resumed, then the sub-iterator ends */
            prog *p = PROG(YIELD_FROM);
            enter(p, 0, 1);
            leave(p, 5, k);
            enter(p, 6, k);
            assert_int_equal(resolve(p, jr), 0);
            EXPECT_COUNTS(p, 1, 1, 1, k + 1, 0, k, k, k, 1, 1, 1, 0, 0);
            teardown(NULL);
        }
    }
    prog *p = PROG(YIELD_FROM);
    assert_int_equal(needs_jumps(p), 0);
}

static void test_yield_from_several_calls(void **state)
{
    (void)state;
    /* three generators: 2, 0 and 4 items */
    prog *p = PROG(YIELD_FROM);
    enter(p, 0, 3);
    leave(p, 5, 6);
    enter(p, 6, 6);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 3, 3, 3, 9, 0, 6, 6, 6, 3, 3, 3, 0, 0);
}

static void test_yield_from_raises(void **state)
{
    (void)state;
    static const uint64_t ks[] = {0, 1, 3};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
        const uint64_t k = ks[i];
        /* k items, then the sub-iterator raises out of SEND, uncaught */
        prog *p = PROG(YIELD_FROM);
        enter(p, 0, 1);
        leave(p, 5, k);
        enter(p, 6, k);
        leave(p, 3, 1);
        assert_int_equal(resolve(p, 0), 0);
        EXPECT_COUNTS(p, 1, 1, 1, k + 1, 0, k, k, k, 0, 0, 0, 0, 0);
        teardown(NULL);

        /* the same, caught by the handler */
        p = PROG(YIELD_FROM);
        enter(p, 0, 1);
        leave(p, 5, k);
        enter(p, 6, k);
        leave(p, 3, 1);
        enter(p, 11, 1);
        assert_int_equal(resolve(p, 0), 0);
        EXPECT_COUNTS(p, 1, 1, 1, k + 1, 0, k, k, k, 0, 0, 0, 1, 1);
        teardown(NULL);
    }

    /* two generators: one yields 2 and ends, one yields 3 and raises */
    prog *p = PROG(YIELD_FROM);
    enter(p, 0, 2);
    leave(p, 5, 5);
    enter(p, 6, 5);
    leave(p, 3, 1);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 2, 2, 2, 7, 0, 5, 5, 5, 1, 1, 1, 0, 0);
}

/* for x in it: yield from x */
static const unsigned char FOR_YIELD_FROM[] = {
    /*  0 */ OP_RESUME, 0,
    /*  1 */ OP_PLAIN, 0,
    /*  2 */ OP_FOR, 10,      /* -> 14 (END_FOR); exhausted on 15 */
    /*  3 */ OP_CACHE, 0,
    /*  4 */ OP_PLAIN, 0,     /* GET_YIELD_FROM_ITER */
    /*  5 */ OP_PLAIN, 0,     /* LOAD_CONST None */
    /*  6 */ OP_SEND, 3,      /* -> 11 (END_SEND) */
    /*  7 */ OP_CACHE, 0,
    /*  8 */ OP_STOP, 0,      /* YIELD_VALUE */
    /*  9 */ OP_RESUME, 2,
    /* 10 */ OP_JSILENT, 5,   /* -> 6 */
    /* 11 */ OP_PLAIN, 0,     /* END_SEND */
    /* 12 */ OP_PLAIN, 0,     /* POP_TOP */
    /* 13 */ OP_JBACK, 12,    /* -> 2 */
    /* 14 */ OP_PLAIN, 0,     /* END_FOR */
    /* 15 */ OP_PLAIN, 0,
    /* 16 */ OP_RETURN, 0,
};

static void for_yield_from(int jr, uint64_t n, uint64_t k)
{
    prog *p = PROG(FOR_YIELD_FROM);
    enter(p, 0, 1);
    jump(p, 2, 4, n);
    jump(p, 2, 15, 1);
    leave(p, 8, k);
    enter(p, 9, k);
    if (jr)
        jump(p, 13, 2, n);
    assert_int_equal(resolve(p, jr), 0);
    EXPECT_COUNTS(p, 1, 1, n + 1, 0, n, n, n + k, 0, k, k, k, n, n, n, 0, 1, 1);
    teardown(NULL);
}

static void test_yield_from_in_loop(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        for_yield_from(jr, 3, 5);
        for_yield_from(jr, 4, 1);     /* fewer yields than iterations */
        for_yield_from(jr, 5, 0);
        for_yield_from(jr, 0, 0);
        for_yield_from(jr, 50, 3000);
    }
    prog *p = PROG(FOR_YIELD_FROM);
    assert_int_equal(needs_jumps(p), 0);
}

/* ---- inconsistent input ------------------------------------------------- */

static void assert_no_wrapped_counts(const prog *p, uint64_t limit)
{
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->out[i] > limit) {
            print_error("unit %u: count %llu above %llu\n", i,
                        (unsigned long long)p->out[i], (unsigned long long)limit);
            fail();
        }
    }
}

static void test_inconsistent_more_exits(void **state)
{
    (void)state;
    for (int jr = 0; jr < 2; jr++) {
        /* one call, three exits at unit 1 */
        prog *p = PROG(STRAIGHT);
        enter(p, 0, 1);
        leave(p, 1, 3);
        assert_true(resolve(p, jr) > 0);
        EXPECT_COUNTS(p, 1, 1, 0, 0, 0, 0, 0, 0, 0);
        teardown(NULL);

        /* exits and no entry at all */
        p = PROG(STRAIGHT);
        leave(p, 2, 5);
        leave(p, 5, 1);
        assert_true(resolve(p, jr) > 0);
        EXPECT_COUNTS(p, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        teardown(NULL);

        /* a loop whose branch reports more exits than ever arrived */
        p = PROG(FOR_LOOP);
        enter(p, 0, 1);
        jump(p, 2, 4, 5);
        jump(p, 2, 10, 1);
        leave(p, 2, 100);
        if (jr)
            jump(p, 8, 2, 5);
        assert_true(resolve(p, jr) > 0);
        assert_no_wrapped_counts(p, 6);
        teardown(NULL);

        /* more yields than SEND ever ran */
        p = PROG(YIELD_FROM);
        enter(p, 0, 1);
        leave(p, 5, 7);
        assert_true(resolve(p, jr) > 0);
        assert_no_wrapped_counts(p, 1);
        teardown(NULL);
    }
}

static void test_inconsistent_missing_exits(void **state)
{
    (void)state;
    /* Entries into a loop body whose branch exits were lost.  With the
     * jump resolved statically, the jump back feeds more into the loop on
     * every walk and never settles: that must be reported, and the counts
     * must stay far from wrapping. */
    prog *p = PROG(FOR_LOOP);
    enter(p, 0, 1);
    enter(p, 4, 5);
    enter(p, 10, 1);
    assert_true(resolve(p, 0) > 0);
    assert_no_wrapped_counts(p, UINT64_C(1) << 32);
    teardown(NULL);

    /* With the jump reported, what the lost exits leave over falls through
     * the JUMP_BACKWARD into END_FOR.  blockmap.h promises to detect only
     * negative, clamped or unsettled counts, so no count is asserted for
     * this: only that nothing blows up. */
    p = PROG(FOR_LOOP);
    enter(p, 0, 1);
    enter(p, 4, 5);
    enter(p, 10, 1);
    jump(p, 8, 2, 5);
    (void)resolve(p, 1);
    assert_no_wrapped_counts(p, 100);
}

/* ---- bm_needs_jump_events ----------------------------------------------- */

static void test_needs_jump_events(void **state)
{
    (void)state;
    prog *p;

    /* a loop with a branch, straight-line code, while True with no event */
    p = PROG(FOR_LOOP);
    assert_int_equal(needs_jumps(p), 0);
    p = PROG(STRAIGHT);
    assert_int_equal(needs_jumps(p), 0);
    p = PROG(WHILE_TRUE);
    assert_int_equal(needs_jumps(p), 1);
    teardown(NULL);

    /* while True: the only way round goes through a JUMP_FORWARD */
    static const unsigned char via_fwd[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_JFWD, 1,       /* -> 4 */
        /* 3 */ OP_STOP, 0,       /* dead raise */
        /* 4 */ OP_PLAIN, 0,
        /* 5 */ OP_JBACK, 5,      /* -> 1 */
        /* 6 */ OP_RETURN, 0,
    };
    p = PROG(via_fwd);
    assert_int_equal(needs_jumps(p), 1);

    /* a branch in the body that one path round the loop avoids */
    static const unsigned char around_branch[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_JFWD, 2,       /* -> 5 */
        /* 3 */ OP_BRANCH, 2,     /* dead */
        /* 4 */ OP_STOP, 0,
        /* 5 */ OP_PLAIN, 0,
        /* 6 */ OP_JBACK, 6,      /* -> 1 */
        /* 7 */ OP_RETURN, 0,
    };
    p = PROG(around_branch);
    assert_int_equal(needs_jumps(p), 1);

    /* while True: pass  -- a jump to itself, with and without a cache */
    static const unsigned char self_loop[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_JBACK, 1,      /* -> 1 */
        /* 2 */ OP_RETURN, 0,
    };
    static const unsigned char self_loop_c[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_JBACK_C, 2,    /* after = 3: -> 1 */
        /* 2 */ OP_CACHE, 0,
        /* 3 */ OP_RETURN, 0,
    };
    p = PROG(self_loop);
    assert_int_equal(needs_jumps(p), 1);
    p = PROG(self_loop_c);
    assert_int_equal(needs_jumps(p), 1);
    teardown(NULL);

    /* while True: x = yield  -- each round yields */
    static const unsigned char yield_loop[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_STOP, 0,
        /* 3 */ OP_RESUME, 1,
        /* 4 */ OP_JBACK, 4,      /* -> 1 */
        /* 5 */ OP_RETURN, 0,
    };
    p = PROG(yield_loop);
    assert_int_equal(needs_jumps(p), 0);

    /* while True: if c: return  -- the only way round is not taken past
     * the return, the branch is an event */
    static const unsigned char return_loop[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_BRANCH, 1,     /* -> 4 */
        /* 3 */ OP_RETURN, 0,
        /* 4 */ OP_JBACK, 4,      /* -> 1 */
        /* 5 */ OP_RETURN, 0,
    };
    p = PROG(return_loop);
    assert_int_equal(needs_jumps(p), 0);

    /* while True: return  -- the jump back is unreachable */
    static const unsigned char dead_jump[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_RETURN, 0,
        /* 3 */ OP_JBACK, 3,      /* -> 1 */
    };
    p = PROG(dead_jump);
    assert_int_equal(needs_jumps(p), 0);
    teardown(NULL);

    /* while True: yield from g  -- SEND's jump to END_SEND raises no
     * event, so the outer loop can go round silently */
    static const unsigned char while_yield_from[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,
        /* 2 */ OP_SEND, 3,       /* -> 7 */
        /* 3 */ OP_CACHE, 0,
        /* 4 */ OP_STOP, 0,
        /* 5 */ OP_RESUME, 2,
        /* 6 */ OP_JSILENT, 5,    /* -> 2 */
        /* 7 */ OP_PLAIN, 0,      /* END_SEND */
        /* 8 */ OP_JBACK, 8,      /* -> 1 */
        /* 9 */ OP_RETURN, 0,
    };
    p = PROG(while_yield_from);
    assert_int_equal(needs_jumps(p), 1);

    /* while True: for x in it: f(x)  -- every round passes FOR_ITER */
    static const unsigned char while_for[] = {
        /*  0 */ OP_RESUME, 0,
        /*  1 */ OP_PLAIN, 0,     /* outer top */
        /*  2 */ OP_FOR, 3,       /* -> 7 */
        /*  3 */ OP_CACHE, 0,
        /*  4 */ OP_PLAIN, 0,
        /*  5 */ OP_PLAIN, 0,
        /*  6 */ OP_JBACK, 5,     /* -> 2 */
        /*  7 */ OP_PLAIN, 0,     /* END_FOR */
        /*  8 */ OP_PLAIN, 0,
        /*  9 */ OP_JBACK, 9,     /* -> 1 */
        /* 10 */ OP_RETURN, 0,
    };
    p = PROG(while_for);
    assert_int_equal(needs_jumps(p), 0);

    /* the yield-from loop alone has no JUMP_BACKWARD to report */
    p = PROG(YIELD_FROM);
    assert_int_equal(needs_jumps(p), 0);
}

/* while c: (while True: x)  -- the outer loop has a branch, the inner one
 * goes round silently: the code needs JUMP events for the inner one. */
static void test_needs_jump_events_inner_silent(void **state)
{
    (void)state;
    static const unsigned char code[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_PLAIN, 0,      /* outer top */
        /* 2 */ OP_BRANCH, 4,     /* -> 7 */
        /* 3 */ OP_PLAIN, 0,      /* inner top */
        /* 4 */ OP_PLAIN, 0,
        /* 5 */ OP_JBACK, 3,      /* -> 3 */
        /* 6 */ OP_JBACK, 6,      /* -> 1 (dead) */
        /* 7 */ OP_RETURN, 0,
    };
    prog *p = PROG(code);
    assert_int_equal(needs_jumps(p), 1);
}

/* ---- regressions: bugs these tests found --------------------------------- */

/*
 * Fixed bug: an exit recorded at an unreported
 * JUMP_BACKWARD is ignored.  JUMP_BACKWARD checks the eval breaker, so a
 * KeyboardInterrupt (or a signal handler's exception, or an async
 * exception) is raised *at* the JUMP_BACKWARD, and the collector records
 * the RAISE exit there (tb_lasti is the JUMP_BACKWARD).  walk() handles a
 * silent jump before it looks at its exits, and bm_resolve() feeds the
 * jump's whole count back to its target, so the loop top gets one entry
 * too many, the surplus falls through the branch into the body, reaches
 * the jump again and grows by one on every walk: nothing settles.
 *
 * Input: FOR_LOOP, jumps_reported = 0; ex: entry 1 at unit 0, exit 3 at
 * unit 2 + entry 3 at unit 4 (three iterations), exit 1 at unit 8 (the
 * interrupt at the JUMP_BACKWARD in the third iteration).
 * Expected: counts 1,1,3,0,3,3,0,0,3,0,0,0, return 0.
 * Actual: the loop's counts come out around MAX_WALKS (~200) and the
 * return value is nonzero.
 */
static void test_bug_raise_at_unreported_jump_back(void **state)
{
    (void)state;
    prog *p = PROG(FOR_LOOP);
    enter(p, 0, 1);
    jump(p, 2, 4, 3);
    leave(p, 8, 1);
    assert_int_equal(resolve(p, 0), 0);
    EXPECT_COUNTS(p, 1, 1, 3, 0, 3, 3, 0, 0, 3, 0, 0, 0);
}

/*
 * Fixed bug (a memory error under valgrind/ASan):
 * bm_needs_jump_events() does not check that a JUMP_BACKWARD's target is
 * inside the code.  target_of() bounds only the lower end of a backward
 * jump, so `JUMP_BACKWARD 0` as the last instruction targets unit n, and
 * `seen[start] = 1` writes one byte past the malloc(n) buffer (then
 * kind_at() reads bytes[2n], past the code).  CPython never emits a
 * backward jump of 0, but code objects can be built by hand
 * (CodeType.replace), and this runs for every code object seen.
 * Input: units {OP_RESUME 0, OP_JBACK 0}, n = 2.
 * Expected: 0 (the "loop" cannot come back to itself), no memory error.
 * Actual: heap buffer overflow (invalid write of size 1).
 */
static void test_bug_needs_jump_events_target_past_end(void **state)
{
    (void)state;
    static const unsigned char code[] = {
        /* 0 */ OP_RESUME, 0,
        /* 1 */ OP_JBACK, 0,      /* -> 2 == n */
    };
    prog *p = PROG(code);
    assert_int_equal(needs_jumps(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_owner, teardown),
        cmocka_unit_test_teardown(test_fold, teardown),
        cmocka_unit_test_teardown(test_straight_line_return, teardown),
        cmocka_unit_test_teardown(test_never_called, teardown),
        cmocka_unit_test_teardown(test_empty_code, teardown),
        cmocka_unit_test_teardown(test_if_else_jump_forward, teardown),
        cmocka_unit_test_teardown(test_extended_arg_jump_forward, teardown),
        cmocka_unit_test_teardown(test_for_loop_static_jump, teardown),
        cmocka_unit_test_teardown(test_for_loop_reported_jump, teardown),
        cmocka_unit_test_teardown(test_for_loop_several_calls, teardown),
        cmocka_unit_test_teardown(test_jump_back_with_cache, teardown),
        cmocka_unit_test_teardown(test_nested_loops, teardown),
        cmocka_unit_test_teardown(test_while_with_if_else, teardown),
        cmocka_unit_test_teardown(test_return_inside_loop, teardown),
        cmocka_unit_test_teardown(test_extended_arg_jump_back, teardown),
        cmocka_unit_test_teardown(test_jump_back_after_plain_with_oparg, teardown),
        cmocka_unit_test_teardown(test_raise_and_handler, teardown),
        cmocka_unit_test_teardown(test_raise_not_handled, teardown),
        cmocka_unit_test_teardown(test_handler_in_loop, teardown),
        cmocka_unit_test_teardown(test_while_true_left_by_exception, teardown),
        cmocka_unit_test_teardown(test_generator_loop, teardown),
        cmocka_unit_test_teardown(test_yield_from, teardown),
        cmocka_unit_test_teardown(test_unreported_yield, teardown),
        cmocka_unit_test_teardown(test_left_silent, teardown),
        cmocka_unit_test_teardown(test_yield_from_several_calls, teardown),
        cmocka_unit_test_teardown(test_yield_from_raises, teardown),
        cmocka_unit_test_teardown(test_yield_from_in_loop, teardown),
        cmocka_unit_test_teardown(test_inconsistent_more_exits, teardown),
        cmocka_unit_test_teardown(test_inconsistent_missing_exits, teardown),
        cmocka_unit_test_teardown(test_needs_jump_events, teardown),
        cmocka_unit_test_teardown(test_needs_jump_events_inner_silent, teardown),
        /* Regressions: bugs these tests found (fixed). */
        cmocka_unit_test_teardown(test_bug_raise_at_unreported_jump_back, teardown),
        cmocka_unit_test_teardown(test_bug_needs_jump_events_target_past_end, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
