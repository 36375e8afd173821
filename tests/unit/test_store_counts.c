/*
 * test_store_counts.c - unit tests for profiler/store.c: counters
 * (offsets out of range, entries and exits at width 2), zeroing them
 * after a fork, cumulative time and timed nodes.
 */
#include "store_fixtures.h"

#include <limits.h>

static void test_count_bounds(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    st_record *r = get_new(s, "f", 3);
    st_node *n = r->flat;
    assert_non_null(n);

    st_count(n, 0);
    st_count(n, 1);     /* odd offsets share the code unit */
    st_count(n, 2);
    st_count(n, 4);
    st_count(n, 4);
    st_count(n, 5);
    st_count(n, 6);     /* unit 3: past ncounters */
    st_count(n, 7);
    st_count(n, 1000);
    st_count(n, LONG_MAX);
    st_count(n, -1);    /* negative offsets are ignored */
    st_count(n, -2);
    st_count(n, -6);
    st_count(n, LONG_MIN);
    assert_int_equal(n->counts[0], 2);
    assert_int_equal(n->counts[1], 1);
    assert_int_equal(n->counts[2], 3);

    /* a thread's root has no record and no counters: ignored */
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    assert_null(t->root->rec);
    assert_null(t->root->counts);
    st_count(t->root, 0);
    st_count(t->root, 2);
    st_exit(t->root, 0);
    assert_null(t->root->counts);
    st_store_release(s);
}

/* Width 2: entries at counts[2i], exits at counts[2i + 1]. */
static void check_width2_node(st_node *n)
{
    assert_int_equal(n->rec->width, 2);
    assert_int_equal(n->rec->ncounters, 3);
    assert_non_null(n->counts);
    st_count(n, 0);
    st_count(n, 0);
    st_exit(n, 0);
    st_count(n, 3);     /* unit 1 */
    st_exit(n, 4);
    st_exit(n, 5);
    st_exit(n, 4);
    st_count(n, 6);     /* past the end: ignored */
    st_exit(n, 6);
    st_exit(n, 7);
    st_exit(n, 1000);
    st_exit(n, LONG_MAX);
    st_count(n, -2);    /* negative: ignored */
    st_exit(n, -1);
    st_exit(n, -2);
    st_exit(n, LONG_MIN);
    static const uint64_t expected[6] = {2, 1, 1, 0, 0, 3};
    for (int i = 0; i < 6; i++)
        assert_int_equal(n->counts[i], expected[i]);
}

static void test_width2_counts(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 2);
    assert_non_null(s);
    st_record *r = get_new(s, "f", 3);
    assert_non_null(r->flat);
    check_width2_node(r->flat);
    st_store_release(s);

    /* per-path nodes get both counters too */
    s = st_store_new(1, 2);
    assert_non_null(s);
    r = get_new(s, "f", 3);
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    assert_int_equal(st_push(s, t, r, &codes[0], &frames[0], -1), 0);
    check_width2_node(st_top(t)->node);
    assert_int_equal(st_push(s, t, r, &codes[0], &frames[1], -1), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(st_top(t)->node->counts[i], 0);
    st_store_release(s);
}

/* Every counter of every node with a record is 0. */
static void assert_all_zero(st_store *s)
{
    size_t checked = 0;
    for (size_t i = 0; i < st_node_count(s); i++) {
        st_node *n = st_node_at(s, i);
        if (!n->rec)
            continue;
        for (uint32_t k = 0; k < n->rec->ncounters * n->rec->width; k++)
            assert_int_equal(n->counts[k], 0);
        checked++;
    }
    assert_true(checked > 0);
    for (size_t i = 0; i < st_record_count(s); i++)
        assert_int_equal(st_record_at(s, i)->calls, 0);
}

static void store_zero(int with_stacks, uint32_t width)
{
    st_store *s = st_store_new(with_stacks, width);
    assert_non_null(s);
    st_record *a = get_new(s, "a", 3);
    st_record *b = get_new(s, "b", 2);
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    assert_int_equal(st_thread_set_name(t, "MainThread"), 0);
    assert_int_equal(st_push(s, t, a, &codes[0], &frames[0], -1), 0);
    st_node *na = st_top(t)->node;
    assert_int_equal(st_push(s, t, b, &codes[1], &frames[1], -1), 0);
    st_node *nab = st_top(t)->node;
    a->calls = 5;
    b->calls = 9;
    a->entry = 0;
    st_count(na, 0);
    st_count(na, 4);
    st_count(nab, 2);
    if (width == 2) {
        st_exit(na, 4);
        st_exit(nab, 0);
        assert_int_equal(na->counts[5], 1);
    } else {
        assert_int_equal(na->counts[2], 1);
    }
    size_t nodes = st_node_count(s), records = st_record_count(s);

    st_store_zero(s);

    assert_all_zero(s);
    /* the structure is kept: records, nodes, thread stack, names */
    assert_int_equal(st_node_count(s), nodes);
    assert_int_equal(st_record_count(s), records);
    assert_int_equal(a->entry, 0);
    assert_int_equal(a->ncounters, 3);
    assert_int_equal(a->width, width);
    assert_int_equal(t->depth, 2);
    assert_ptr_equal(st_top(t)->node, nab);
    assert_string_equal(t->name, "MainThread");
    int created;
    assert_ptr_equal(get(s, "m.py", "a", 1, BC_A, sizeof BC_A, 3, &created), a);
    assert_int_equal(created, 0);
    st_pop(t);
    st_pop(t);
    assert_int_equal(st_push(s, t, a, &codes[0], &frames[0], -1), 0);
    assert_ptr_equal(st_top(t)->node, na);
    /* and counting goes on from zero */
    st_count(na, 0);
    assert_int_equal(na->counts[0], 1);
    st_store_release(s);
}

static void test_store_zero_stacks_on(void **state)
{
    (void)state;
    store_zero(1, 1);
}

static void test_store_zero_stacks_off(void **state)
{
    (void)state;
    store_zero(0, 1);
}

static void test_store_zero_width2(void **state)
{
    (void)state;
    store_zero(1, 2);
    store_zero(0, 2);
}

/* Cumulative time: a recursive function counts once per sample, a
 * generator resumed under another caller counts under that one, and what
 * is not on the stack gets nothing. */
static void test_cumulative_accounting(void **state)
{
    (void)state;
    st_store *s = st_store_new(1, 2);
    assert_non_null(s);
    st_store_enable_times(s);
    st_record *main_ = get_new(s, "main", 4), *fib = get_new(s, "fib", 4);
    st_record *gen = get_new(s, "gen", 4), *other = get_new(s, "other", 4);
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    uint64_t mark = 0;

    /* main -> fib -> fib -> fib: one sample of 1000 ns in the deepest fib */
    assert_int_equal(st_push(s, t, main_, &codes[0], NULL, -1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(st_push(s, t, fib, &codes[1], NULL, -1), 0);
    st_add_cumulative(t, t->depth, 1000, ++mark);
    assert_int_equal(main_->cumulative_ns, 1000);
    assert_int_equal(fib->cumulative_ns, 1000);        /* not 3000 */
    st_add_cumulative(t, t->depth, 500, ++mark);
    assert_int_equal(fib->cumulative_ns, 1500);

    /* the same mark again (one sample) changes nothing */
    st_add_cumulative(t, t->depth, 500, mark);
    assert_int_equal(fib->cumulative_ns, 1500);
    assert_int_equal(main_->cumulative_ns, 1500);

    /* back in main, a generator resumed: main -> gen */
    for (int i = 0; i < 3; i++)
        st_pop(t);
    assert_int_equal(st_push(s, t, gen, &codes[2], NULL, -1), 0);
    st_add_cumulative(t, t->depth, 200, ++mark);
    assert_int_equal(gen->cumulative_ns, 200);
    assert_int_equal(main_->cumulative_ns, 1700);
    assert_int_equal(fib->cumulative_ns, 1500);
    assert_int_equal(other->cumulative_ns, 0);

    /* the generator suspended, resumed by another caller: other -> gen */
    st_pop(t);
    st_pop(t);
    assert_int_equal(st_push(s, t, other, &codes[3], NULL, -1), 0);
    assert_int_equal(st_push(s, t, gen, &codes[2], NULL, -1), 0);
    st_add_cumulative(t, t->depth, 300, ++mark);
    assert_int_equal(gen->cumulative_ns, 500);
    assert_int_equal(other->cumulative_ns, 300);
    assert_int_equal(main_->cumulative_ns, 1700);

    /* entries above the running frame (returns the mirror learns of
     * late: collector_monitor.c) are not credited: other -> gen, gen gone */
    st_add_cumulative(t, t->depth - 1, 50, ++mark);
    assert_int_equal(other->cumulative_ns, 350);
    assert_int_equal(gen->cumulative_ns, 500);

    /* an empty stack credits nobody */
    st_pop(t);
    st_pop(t);
    st_add_cumulative(t, t->depth, 999, ++mark);
    assert_int_equal(main_->cumulative_ns + fib->cumulative_ns + gen->cumulative_ns +
                         other->cumulative_ns, 1700 + 1500 + 500 + 350);

    /* st_store_zero forgets cumulative time too (fork) */
    st_store_zero(s);
    assert_int_equal(main_->cumulative_ns, 0);
    assert_int_equal(gen->cumulative_ns, 0);
    st_store_release(s);
}

/* With times enabled, nodes carry time and sample arrays. */
static void test_timed_nodes(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    assert_int_equal(st_store_timed(s), 0);
    st_store_enable_times(s);
    assert_int_equal(st_store_timed(s), 1);
    st_record *r = get_new(s, "f", 5);
    assert_null(r->flat->times);          /* until its first sample */
    assert_int_equal(st_node_times(s, r->flat), 0);
    assert_non_null(r->flat->times);
    assert_ptr_equal(r->flat->samples, r->flat->times + r->ncounters);
    uint64_t *first = r->flat->times;
    assert_int_equal(st_node_times(s, r->flat), 0);
    assert_ptr_equal(r->flat->times, first);
    r->flat->times[4] = 7;
    r->flat->samples[4] = 1;
    st_store_zero(s);
    assert_int_equal(r->flat->times[4], 0);
    assert_int_equal(r->flat->samples[4], 0);
    st_store_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_bounds),
        cmocka_unit_test(test_width2_counts),
        cmocka_unit_test(test_store_zero_stacks_on),
        cmocka_unit_test(test_store_zero_stacks_off),
        cmocka_unit_test(test_store_zero_width2),
        cmocka_unit_test(test_cumulative_accounting),
        cmocka_unit_test(test_timed_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
