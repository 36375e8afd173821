/*
 * test_nmerge.c - unit tests for profiler/nmerge.c: where Python frames go
 * in a native stack.  Native stacks are leaf first, results root first;
 * "P2" is Python frame 2 (root first), "N3" native frame 3.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../profiler/nmerge.h"

static const char *render(const nm_item *it, size_t n)
{
    static char buf[512];
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && k < sizeof buf - 8; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%c%u", i ? " " : "",
                              it[i].python ? 'P' : 'N', it[i].index);
    return buf;
}

/* main <- eval <- vectorcall <- eval <- deflate: 3.11+, the outer eval
 * runs P0,P1, the inner one P2 */
static void groups_split_the_python_stack(void **state)
{
    (void)state;
    const unsigned char eval[] = {0, 1, 0, 1, 0};  /* leaf first: deflate, eval, vc, eval, main */
    const uint16_t groups[] = {1, 2};
    nm_item out[16];
    size_t n = nm_merge(eval, 5, 3, groups, 2, out, 16);
    assert_string_equal(render(out, n), "N4 P0 P1 N2 P2 N0");
}

/* no groups (the fallback): everything at the outermost eval frame, and
 * the inner eval frames without Python frames stay native */
static void without_groups_the_outermost_takes_all(void **state)
{
    (void)state;
    const unsigned char eval[] = {0, 1, 0, 1, 0};
    nm_item out[16];
    size_t n = nm_merge(eval, 5, 3, NULL, 0, out, 16);
    assert_string_equal(render(out, n), "N4 P0 P1 P2 N2 N1 N0");
}

/* 3.10: one Python frame per eval frame, from the innermost; more eval
 * frames than Python frames (before the gate) stay native */
static void one_per_eval_frame(void **state)
{
    (void)state;
    const unsigned char eval[] = {0, 1, 1, 1, 0};
    const uint16_t ones[] = {1, 1, 1, 1};
    nm_item out[16];
    size_t n = nm_merge(eval, 5, 2, ones, 4, out, 16);
    assert_string_equal(render(out, n), "N4 N3 P0 P1 N0");
}

/* more Python frames than groups cover: the rest to the outermost */
static void leftover_python_frames_go_outermost(void **state)
{
    (void)state;
    const unsigned char eval[] = {0, 1, 0};
    const uint16_t groups[] = {1};
    nm_item out[16];
    size_t n = nm_merge(eval, 3, 3, groups, 1, out, 16);
    assert_string_equal(render(out, n), "N2 P0 P1 P2 N0");
}

/* no eval frame in the native stack: the Python stack goes at the root,
 * and nothing is dropped */
static void no_eval_frame_keeps_everything(void **state)
{
    (void)state;
    const unsigned char eval[] = {0, 0};
    nm_item out[16];
    size_t n = nm_merge(eval, 2, 2, NULL, 0, out, 16);
    assert_string_equal(render(out, n), "P0 P1 N1 N0");
    n = nm_merge(eval, 0, 2, NULL, 0, out, 16);
    assert_string_equal(render(out, n), "P0 P1");
    n = nm_merge(eval, 2, 0, NULL, 0, out, 16);
    assert_string_equal(render(out, n), "N1 N0");
}

static void output_is_bounded(void **state)
{
    (void)state;
    const unsigned char eval[] = {0, 1, 0};
    nm_item out[3];
    size_t n = nm_merge(eval, 3, 5, NULL, 0, out, 3);
    assert_int_equal(n, 3);
    assert_string_equal(render(out, n), "N2 P0 P1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(groups_split_the_python_stack),
        cmocka_unit_test(without_groups_the_outermost_takes_all),
        cmocka_unit_test(one_per_eval_frame),
        cmocka_unit_test(leftover_python_frames_go_outermost),
        cmocka_unit_test(no_eval_frame_keeps_everything),
        cmocka_unit_test(output_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
