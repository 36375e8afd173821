/*
 * test_blockmap_checks.c - unit tests for profiler/blockmap.c:
 * inconsistent input, which code needs JUMP events, and regressions.
 * The synthetic opcodes, programs and events: blockmap_fixtures.h.
 */
#include "blockmap_fixtures.h"

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
