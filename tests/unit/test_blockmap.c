/*
 * test_blockmap.c - unit tests for profiler/blockmap.c: folding and
 * owners, straight code, branches, loops and EXTENDED_ARG.
 * The synthetic opcodes, programs and events: blockmap_fixtures.h.
 */
#include "blockmap_fixtures.h"

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
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
