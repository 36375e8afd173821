/*
 * test_blockmap_flow.c - unit tests for profiler/blockmap.c: raises,
 * handlers, generators and yield from.
 * The synthetic opcodes, programs and events: blockmap_fixtures.h.
 */
#include "blockmap_fixtures.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
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
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
