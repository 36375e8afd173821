/*
 * test_store_stacks.c - unit tests for profiler/store.c: pushes and pops
 * on threads' stacks, the per-path nodes they land in (shared paths,
 * recursion, call sites, threads apart) and the flat nodes without stacks.
 */
#include "store_fixtures.h"

static void test_stacks_on_shared_paths(void **state)
{
    (void)state;
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    st_record *a = get_new(s, "a", 2);
    st_record *b = get_new(s, "b", 2);
    st_record *c = get_new(s, "c", 2);
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    size_t base_nodes = st_node_count(s);   /* the root */
    assert_int_equal(base_nodes, 1);

    /* root -> a -> b */
    assert_int_equal(st_push(s, t, a, &codes[0], &frames[0], -1), 0);
    assert_int_equal(t->depth, 1);
    st_frame *fa = st_top(t);
    st_node *na = fa->node;
    assert_ptr_equal(fa->code, &codes[0]);
    assert_ptr_equal(fa->frame, &frames[0]);
    assert_ptr_equal(na->rec, a);
    assert_ptr_equal(na->parent, t->root);
    assert_int_equal(na->thread, t->index);
    assert_null(a->flat);
    assert_non_null(na->counts);
    assert_int_equal(na->counts[0], 0);
    assert_int_equal(na->counts[1], 0);

    assert_int_equal(st_push(s, t, b, &codes[1], &frames[1], -1), 0);
    assert_int_equal(t->depth, 2);
    st_node *nab = st_top(t)->node;
    assert_ptr_equal(nab->rec, b);
    assert_ptr_equal(nab->parent, na);
    assert_ptr_equal(st_top(t)->code, &codes[1]);
    assert_ptr_equal(st_top(t)->frame, &frames[1]);
    assert_int_equal(st_node_count(s), base_nodes + 2);

    /* counting in a path node touches no other node */
    st_count(nab, 2);
    assert_int_equal(nab->counts[1], 1);
    assert_int_equal(nab->counts[0], 0);
    assert_int_equal(na->counts[1], 0);

    st_pop(t);
    assert_int_equal(t->depth, 1);
    assert_ptr_equal(st_top(t)->node, na);
    assert_ptr_equal(st_top(t)->code, &codes[0]);
    st_pop(t);
    assert_int_equal(t->depth, 0);
    assert_ptr_equal(st_top(t)->node, t->root);
    st_pop(t);          /* popping the root is a no-op */
    assert_int_equal(t->depth, 0);
    assert_ptr_equal(st_top(t)->node, t->root);

    /* the same path again: the same nodes, with their counts */
    assert_int_equal(st_push(s, t, a, &codes[2], &frames[2], -1), 0);
    assert_ptr_equal(st_top(t)->node, na);
    assert_ptr_equal(st_top(t)->code, &codes[2]);
    assert_ptr_equal(st_top(t)->frame, &frames[2]);
    assert_int_equal(st_push(s, t, b, &codes[1], NULL, -1), 0);
    assert_ptr_equal(st_top(t)->node, nab);
    assert_null(st_top(t)->frame);
    assert_int_equal(nab->counts[1], 1);
    assert_int_equal(st_node_count(s), base_nodes + 2);

    /* a new thread has nothing thrown in */
    assert_null(t->thrown_code);

    /* root -> a -> c: a sibling of b under a */
    st_pop(t);
    assert_int_equal(st_push(s, t, c, &codes[3], &frames[3], -1), 0);
    st_node *nac = st_top(t)->node;
    assert_ptr_equal(nac->parent, na);
    assert_ptr_equal(nac->rec, c);
    assert_ptr_not_equal(nac, nab);
    assert_int_equal(st_node_count(s), base_nodes + 3);

    /* root -> b: another path for b, another node */
    st_pop(t);
    st_pop(t);
    assert_int_equal(st_push(s, t, b, &codes[1], &frames[1], -1), 0);
    st_node *nb = st_top(t)->node;
    assert_ptr_equal(nb->parent, t->root);
    assert_ptr_equal(nb->rec, b);
    assert_ptr_not_equal(nb, nab);
    assert_int_equal(nb->counts[1], 0);
    /* root -> b -> a differs from root -> a */
    assert_int_equal(st_push(s, t, a, &codes[0], &frames[0], -1), 0);
    st_node *nba = st_top(t)->node;
    assert_ptr_equal(nba->parent, nb);
    assert_ptr_not_equal(nba, na);
    assert_int_equal(st_node_count(s), base_nodes + 5);
    assert_int_equal(st_store_oom(s), 0);
    st_store_release(s);
}

static void test_stacks_on_recursion(void **state)
{
    (void)state;
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    st_record *a = get_new(s, "fact", 1);
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    size_t base_nodes = st_node_count(s);

    st_node *nodes[5];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(st_push(s, t, a, &codes[0], &frames[i], -1), 0);
        nodes[i] = st_top(t)->node;
        assert_ptr_equal(nodes[i]->rec, a);
        assert_ptr_equal(nodes[i]->parent, i ? nodes[i - 1] : t->root);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(nodes[i], nodes[j]);
    }
    assert_int_equal(t->depth, 5);
    assert_int_equal(st_node_count(s), base_nodes + 5);
    for (int i = 4; i >= 0; i--) {
        assert_ptr_equal(st_top(t)->node, nodes[i]);
        assert_ptr_equal(st_top(t)->frame, &frames[i]);
        st_pop(t);
    }
    assert_ptr_equal(st_top(t)->node, t->root);
    /* the same recursion again reuses the nodes, depth by depth */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(st_push(s, t, a, &codes[0], &frames[i], -1), 0);
        assert_ptr_equal(st_top(t)->node, nodes[i]);
    }
    assert_int_equal(st_node_count(s), base_nodes + 5);
    st_store_release(s);
}

static void test_stacks_on_threads_separate(void **state)
{
    (void)state;
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    st_record *a = get_new(s, "a", 1);
    st_record *b = get_new(s, "b", 1);
    st_thread *t0 = st_thread_new(s, 10);
    st_thread *t1 = st_thread_new(s, 20);
    assert_non_null(t0);
    assert_non_null(t1);

    assert_int_equal(st_push(s, t0, a, &codes[0], &frames[0], -1), 0);
    assert_int_equal(st_push(s, t1, a, &codes[0], &frames[1], -1), 0);
    st_node *n0 = st_top(t0)->node, *n1 = st_top(t1)->node;
    assert_ptr_not_equal(n0, n1);
    assert_int_equal(n0->thread, 0);
    assert_int_equal(n1->thread, 1);
    assert_ptr_equal(n0->parent, t0->root);
    assert_ptr_equal(n1->parent, t1->root);

    assert_int_equal(st_push(s, t1, b, &codes[1], &frames[2], -1), 0);
    assert_int_equal(st_top(t1)->node->thread, 1);
    assert_ptr_equal(st_top(t1)->node->parent, n1);
    /* thread 0's stack is untouched by thread 1's pushes */
    assert_int_equal(t0->depth, 1);
    assert_ptr_equal(st_top(t0)->node, n0);
    assert_int_equal(t1->depth, 2);
    st_store_release(s);
}

static void test_stacks_off_flat(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    st_record *a = get_new(s, "a", 2);
    st_record *b = get_new(s, "b", 2);
    assert_non_null(a->flat);
    assert_non_null(b->flat);
    assert_ptr_not_equal(a->flat, b->flat);
    assert_ptr_equal(a->flat->rec, a);
    assert_null(a->flat->parent);
    st_thread *t0 = st_thread_new(s, 1);
    st_thread *t1 = st_thread_new(s, 2);
    assert_non_null(t0);
    assert_non_null(t1);
    size_t base_nodes = st_node_count(s);   /* 2 flat + 2 roots */
    assert_int_equal(base_nodes, 4);

    assert_int_equal(st_push(s, t0, a, &codes[0], &frames[0], -1), 0);
    assert_ptr_equal(st_top(t0)->node, a->flat);
    assert_ptr_equal(st_top(t0)->code, &codes[0]);
    assert_ptr_equal(st_top(t0)->frame, &frames[0]);
    assert_int_equal(st_push(s, t0, b, &codes[1], &frames[1], -1), 0);
    assert_ptr_equal(st_top(t0)->node, b->flat);
    assert_int_equal(st_push(s, t0, a, &codes[0], &frames[2], -1), 0);  /* recursion */
    assert_ptr_equal(st_top(t0)->node, a->flat);
    assert_ptr_equal(st_top(t0)->frame, &frames[2]);
    assert_int_equal(t0->depth, 3);
    /* other threads share the flat node too */
    assert_int_equal(st_push(s, t1, a, &codes[0], &frames[3], -1), 0);
    assert_ptr_equal(st_top(t1)->node, a->flat);

    assert_int_equal(st_node_count(s), base_nodes);   /* no per-path nodes */

    st_count(st_top(t0)->node, 2);
    st_count(st_top(t1)->node, 2);
    assert_int_equal(a->flat->counts[1], 2);
    assert_int_equal(b->flat->counts[1], 0);

    st_pop(t0);
    assert_ptr_equal(st_top(t0)->node, b->flat);
    assert_ptr_equal(st_top(t0)->frame, &frames[1]);
    st_pop(t0);
    st_pop(t0);
    assert_int_equal(t0->depth, 0);
    assert_ptr_equal(st_top(t0)->node, t0->root);
    st_store_release(s);
}

static void deep_stack(int with_stacks)
{
    enum { DEPTH = 1000 };
    st_store *s = st_store_new(with_stacks, 1);
    assert_non_null(s);
    st_record *a = get_new(s, "a", 1);
    st_record *b = get_new(s, "b", 1);
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    st_node *root = t->root;
    size_t base_nodes = st_node_count(s);

    for (uintptr_t i = 0; i < DEPTH; i++) {
        st_record *r = i % 3 ? a : b;
        assert_int_equal(st_push(s, t, r, (const void *)(i + 1),
                                 (const void *)(i + 0x10000), -1), 0);
        assert_int_equal(t->depth, i + 1);
        assert_true(t->depth < t->capacity);
        assert_ptr_equal(st_top(t)->node->rec, r);
    }
    assert_true(t->capacity > 64);
    assert_ptr_equal(t->stack[0].node, root);
    assert_ptr_equal(t->root, root);
    /* every frame survived the reallocations */
    for (uintptr_t i = 0; i < DEPTH; i++) {
        assert_ptr_equal(t->stack[i + 1].code, (const void *)(i + 1));
        assert_ptr_equal(t->stack[i + 1].frame, (const void *)(i + 0x10000));
        assert_ptr_equal(t->stack[i + 1].node->rec, i % 3 ? a : b);
    }
    if (with_stacks) {
        size_t chain = 0;
        for (st_node *n = st_top(t)->node; n->parent; n = n->parent)
            chain++;
        assert_int_equal(chain, DEPTH);
        assert_int_equal(st_node_count(s), base_nodes + DEPTH);
    } else {
        assert_ptr_equal(st_top(t)->node, ((DEPTH - 1) % 3 ? a : b)->flat);
        assert_int_equal(st_node_count(s), base_nodes);
    }
    for (uintptr_t i = DEPTH; i > 0; i--) {
        assert_ptr_equal(st_top(t)->code, (const void *)i);
        st_pop(t);
    }
    assert_int_equal(t->depth, 0);
    assert_ptr_equal(st_top(t)->node, root);
    assert_int_equal(st_store_oom(s), 0);
    st_store_release(s);
}

static void test_deep_stack_on(void **state)
{
    (void)state;
    deep_stack(1);
}

static void test_deep_stack_off(void **state)
{
    (void)state;
    deep_stack(0);
}

/* With lines, calls of one record from two places of its caller are two
 * nodes, and again from the first place the first; without, one node. */
static void test_push_callsites(void **state)
{
    (void)state;
    static const char codes[2] = {0};
    for (int lines = 0; lines < 2; lines++) {
        st_store *s = st_store_new(1, 1);
        assert_non_null(s);
        if (lines)
            st_store_enable_lines(s);
        assert_int_equal(st_store_with_lines(s), lines);
        st_record *a = get_new(s, "a", 8), *b = get_new(s, "b", 2);
        st_thread *t = st_thread_new(s, 1);
        assert_int_equal(st_push(s, t, a, &codes[0], NULL, -1), 0);
        st_node *caller = st_top(t)->node;
        st_node *seen[3];
        const int32_t sites[3] = {4, 6, 4};
        for (int k = 0; k < 3; k++) {
            assert_int_equal(st_push(s, t, b, &codes[1], NULL, sites[k]), 0);
            seen[k] = st_top(t)->node;
            assert_ptr_equal(seen[k]->parent, caller);
            assert_int_equal(seen[k]->callsite, lines ? sites[k] : -1);
            st_pop(t);
        }
        assert_ptr_equal(seen[0], seen[2]);
        if (lines)
            assert_ptr_not_equal(seen[0], seen[1]);
        else
            assert_ptr_equal(seen[0], seen[1]);
        assert_int_equal(st_node_count(s), lines ? 4 : 3);   /* root, a, b (x2) */
        /* a calling itself from two places: one path, or recursion would
         * make as many paths as calls */
        assert_int_equal(st_push(s, t, a, &codes[0], NULL, 2), 0);
        st_node *self1 = st_top(t)->node;
        st_pop(t);
        assert_int_equal(st_push(s, t, a, &codes[0], NULL, 6), 0);
        assert_ptr_equal(st_top(t)->node, self1);
        assert_int_equal(self1->callsite, -1);
        st_store_release(s);
    }
}

/* A caller in a loop alternates among its callees (a generator it
 * resumes, a function it calls between): whatever the order, each push
 * lands in the node of its own path, including a third callee that the
 * two remembered children do not hold, and a call site told apart. */
static void test_alternating_children(void **state)
{
    (void)state;
    static const char codes[4] = {0};
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    st_store_enable_lines(s);
    st_record *p = get_new(s, "p", 8), *r[3];
    r[0] = get_new(s, "x", 2);
    r[1] = get_new(s, "y", 2);
    r[2] = get_new(s, "z", 2);
    st_thread *t = st_thread_new(s, 1);
    assert_int_equal(st_push(s, t, p, &codes[0], NULL, -1), 0);
    st_node *caller = st_top(t)->node;
    st_node *first[3][2] = {{NULL}};
    /* (callee, call site): the second of two remembered children is
     * taken only for its own callee at its own site */
    static const int order[][2] = {{0, 2}, {1, 4}, {0, 2}, {1, 4}, {2, 2}, {0, 4},
                                   {2, 2}, {0, 2}, {1, 2}, {0, 4}, {2, 4}, {2, 2}, {1, 4}};
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        int i = order[k][0];
        int32_t site = order[k][1];
        assert_int_equal(st_push(s, t, r[i], &codes[1 + i], NULL, site), 0);
        st_node *n = st_top(t)->node;
        assert_ptr_equal(n->parent, caller);
        assert_ptr_equal(n->rec, r[i]);
        assert_int_equal(n->callsite, site);
        st_node **seen = &first[i][site / 2 - 1];
        if (*seen)
            assert_ptr_equal(n, *seen);
        *seen = n;
        st_count(n, 0);
        st_pop(t);
    }
    assert_int_equal(st_node_count(s), 2 + 6);   /* root, p, 3 callees x 2 sites */
    uint64_t total = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            total += first[i][j] ? first[i][j]->counts[0] : 0;
    assert_int_equal(total, sizeof order / sizeof *order);
    st_store_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_callsites),
        cmocka_unit_test(test_alternating_children),
        cmocka_unit_test(test_stacks_on_shared_paths),
        cmocka_unit_test(test_stacks_on_recursion),
        cmocka_unit_test(test_stacks_on_threads_separate),
        cmocka_unit_test(test_stacks_off_flat),
        cmocka_unit_test(test_deep_stack_on),
        cmocka_unit_test(test_deep_stack_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
