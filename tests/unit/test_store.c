/*
 * test_store.c - unit tests for profiler/store.c: records, nodes, threads
 * and stacks, without libpython.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../../profiler/store.h"

static const unsigned char BC_A[] = {0x97, 0x00, 0x64, 0x01, 0x53, 0x00};
static const unsigned char BC_B[] = {0x97, 0x00, 0x64, 0x02, 0x53, 0x00};

/* Identities for code objects and frames: only compared, never used. */
static char codes[8], frames[8];

static st_record *get(st_store *s, const char *file, const char *name,
                      int line, const void *bytes, size_t nbytes,
                      uint32_t ncounters, int *created)
{
    int c = -1;
    st_record *r = st_record_get(s, file, name, line, bytes, nbytes,
                                 ncounters, &c);
    assert_non_null(r);
    assert_true(c == 0 || c == 1);
    if (created)
        *created = c;
    return r;
}

static st_record *get_new(st_store *s, const char *name, uint32_t ncounters)
{
    int created;
    st_record *r = get(s, "m.py", name, 1, BC_A, sizeof BC_A, ncounters,
                       &created);
    assert_int_equal(created, 1);
    return r;
}

static void test_store_new_flags(void **state)
{
    (void)state;
    st_store *on = st_store_new(1, 1);
    st_store *off = st_store_new(0, 1);
    assert_non_null(on);
    assert_non_null(off);
    assert_int_equal(st_store_with_stacks(on), 1);
    assert_int_equal(st_store_with_stacks(off), 0);
    assert_int_equal(st_store_oom(on), 0);
    assert_int_equal(st_record_count(on), 0);
    assert_int_equal(st_node_count(on), 0);
    assert_int_equal(st_thread_count(on), 0);
    st_store_release(on);
    st_store_release(off);
    st_store_release(NULL);   /* allowed */
}

static void test_store_width(void **state)
{
    (void)state;
    /* 1 or 2 counters per code unit; anything else means 1 */
    static const struct { uint32_t asked, got; } cases[] = {
        {1, 1}, {2, 2}, {0, 1}, {3, 1}, {UINT32_MAX, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int stacks = 0; stacks < 2; stacks++) {
            st_store *s = st_store_new(stacks, cases[i].asked);
            assert_non_null(s);
            st_record *r = get_new(s, "f", 4);
            assert_int_equal(r->width, cases[i].got);
            st_store_release(s);
        }
    }
}

static void test_record_same_key_merges(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    int created;
    st_record *a = get(s, "m.py", "f", 3, BC_A, sizeof BC_A, 3, &created);
    assert_int_equal(created, 1);
    assert_int_equal(a->index, 0);
    assert_int_equal(a->ncounters, 3);
    assert_int_equal(a->width, 1);
    assert_int_equal(a->calls, 0);
    assert_int_equal(a->entry, -1);
    assert_null(a->user);
    assert_non_null(a->flat);
    assert_ptr_equal(a->flat->rec, a);
    assert_null(a->flat->parent);
    for (uint32_t i = 0; i < a->ncounters; i++)
        assert_int_equal(a->flat->counts[i], 0);

    /* The key is copied: the caller's strings and bytes may change. */
    char file[] = "m.py", name[] = "f";
    unsigned char bytes[sizeof BC_A];
    memcpy(bytes, BC_A, sizeof bytes);
    st_record *again = get(s, file, name, 3, bytes, sizeof bytes, 3, &created);
    assert_int_equal(created, 0);
    assert_ptr_equal(again, a);
    assert_ptr_not_equal(a->bytes, bytes);
    assert_memory_equal(a->bytes, BC_A, sizeof BC_A);
    file[0] = 'x';
    name[0] = 'g';
    bytes[0] = 0;
    again = get(s, "m.py", "f", 3, BC_A, sizeof BC_A, 3, &created);
    assert_int_equal(created, 0);
    assert_ptr_equal(again, a);
    assert_memory_equal(a->bytes, BC_A, sizeof BC_A);

    /* State on the record is preserved across lookups. */
    a->calls = 7;
    a->user = codes;
    again = get(s, "m.py", "f", 3, BC_A, sizeof BC_A, 3, &created);
    assert_ptr_equal(again, a);
    assert_int_equal(again->calls, 7);
    assert_ptr_equal(again->user, codes);
    assert_int_equal(st_record_count(s), 1);
    st_store_release(s);
}

static void test_record_different_keys(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    int created;
    st_record *base = get(s, "m.py", "f", 3, BC_A, sizeof BC_A, 3, &created);
    assert_int_equal(created, 1);

    st_record *other[6];
    other[0] = get(s, "m.py", "f", 3, BC_B, sizeof BC_B, 3, &created);  /* bytes */
    assert_int_equal(created, 1);
    other[1] = get(s, "n.py", "f", 3, BC_A, sizeof BC_A, 3, &created);  /* file */
    assert_int_equal(created, 1);
    other[2] = get(s, "m.py", "g", 3, BC_A, sizeof BC_A, 3, &created);  /* name */
    assert_int_equal(created, 1);
    other[3] = get(s, "m.py", "f", 4, BC_A, sizeof BC_A, 3, &created);  /* line */
    assert_int_equal(created, 1);
    other[4] = get(s, "m.py", "f", 3, BC_A, sizeof BC_A - 2, 2, &created); /* prefix */
    assert_int_equal(created, 1);
    /* "m.py"+"f" vs "m.p"+"yf": the same bytes concatenated, another key */
    other[5] = get(s, "m.p", "yf", 3, BC_A, sizeof BC_A, 3, &created);
    assert_int_equal(created, 1);

    assert_int_equal(st_record_count(s), 7);
    for (int i = 0; i < 6; i++) {
        assert_ptr_not_equal(other[i], base);
        assert_ptr_not_equal(other[i]->flat, base->flat);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(other[i], other[j]);
    }
    assert_memory_equal(other[0]->bytes, BC_B, sizeof BC_B);
    assert_int_equal(other[4]->ncounters, 2);

    /* Each one is found again, not re-created. */
    assert_ptr_equal(get(s, "m.py", "f", 3, BC_B, sizeof BC_B, 3, &created), other[0]);
    assert_int_equal(created, 0);
    assert_ptr_equal(get(s, "m.py", "f", 3, BC_A, sizeof BC_A - 2, 2, &created), other[4]);
    assert_int_equal(created, 0);
    assert_ptr_equal(get(s, "m.py", "f", 3, BC_A, sizeof BC_A, 3, &created), base);
    assert_int_equal(created, 0);
    assert_int_equal(st_record_count(s), 7);
    st_store_release(s);
}

static void test_record_empty_bytecode(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    int created;
    st_record *r = get(s, "m.py", "f", 1, BC_A, 0, 0, &created);
    assert_int_equal(created, 1);
    assert_int_equal(r->ncounters, 0);
    assert_ptr_equal(get(s, "m.py", "f", 1, BC_B, 0, 0, &created), r);
    assert_int_equal(created, 0);
    /* nothing to count, and counting must not write anywhere */
    st_count(r->flat, 0);
    st_count(r->flat, 2);
    st_store_release(s);
}

static void test_dense_indices(void **state)
{
    (void)state;
    st_store *s = st_store_new(0, 1);
    assert_non_null(s);
    const char *names[] = {"a", "b", "c", "d", "e"};
    st_record *r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = get_new(s, names[i], (uint32_t)i + 1);
        assert_int_equal(r[i]->index, i);
    }
    /* a lookup of an existing record does not consume an index */
    int created;
    assert_ptr_equal(get(s, "m.py", "b", 1, BC_A, sizeof BC_A, 2, &created), r[1]);
    assert_int_equal(created, 0);
    st_record *f = get_new(s, "f", 1);
    assert_int_equal(f->index, 5);

    assert_int_equal(st_record_count(s), 6);
    for (size_t i = 0; i < 5; i++) {
        assert_ptr_equal(st_record_at(s, i), r[i]);
        assert_int_equal(st_record_at(s, i)->index, i);
        assert_int_equal(st_record_at(s, i)->ncounters, i + 1);
    }
    assert_ptr_equal(st_record_at(s, 5), f);
    /* stacks off: one flat node per record, all listed */
    assert_int_equal(st_node_count(s), 6);
    for (size_t i = 0; i < 6; i++) {
        assert_ptr_equal(st_node_at(s, i)->rec, st_record_at(s, i));
        assert_ptr_equal(st_record_at(s, i)->flat, st_node_at(s, i));
    }
    st_store_release(s);
}

static void test_stacks_on_no_flat_nodes(void **state)
{
    (void)state;
    /* with stacks, counts land in per-path nodes only */
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    st_record *a = get_new(s, "a", 2);
    st_record *b = get_new(s, "b", 2);
    assert_int_equal(a->index, 0);
    assert_int_equal(b->index, 1);
    assert_null(a->flat);
    assert_null(b->flat);
    assert_int_equal(st_node_count(s), 0);
    st_store_release(s);
}

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

static void test_threads(void **state)
{
    (void)state;
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    st_thread *t0 = st_thread_new(s, 111);
    st_thread *t1 = st_thread_new(s, 222);
    assert_non_null(t0);
    assert_non_null(t1);
    assert_int_equal(st_thread_count(s), 2);
    assert_ptr_equal(st_thread_at(s, 0), t0);
    assert_ptr_equal(st_thread_at(s, 1), t1);
    assert_int_equal(t0->index, 0);
    assert_int_equal(t1->index, 1);
    assert_int_equal(t0->ident, 111);
    assert_int_equal(t1->ident, 222);
    assert_null(t0->name);
    assert_int_equal(t0->depth, 0);
    assert_non_null(t0->root);
    assert_ptr_not_equal(t0->root, t1->root);
    assert_null(t0->root->parent);
    assert_null(t0->root->rec);
    assert_int_equal(t0->root->thread, 0);
    assert_int_equal(t1->root->thread, 1);
    assert_ptr_equal(st_top(t0)->node, t0->root);
    assert_ptr_equal(t0->stack[0].node, t0->root);
    /* roots are nodes of the store */
    assert_int_equal(st_node_count(s), 2);

    /* names are copied and can be replaced */
    char name[] = "MainThread";
    assert_int_equal(st_thread_set_name(t0, name), 0);
    name[0] = 'X';
    assert_string_equal(t0->name, "MainThread");
    assert_ptr_not_equal(t0->name, name);
    assert_int_equal(st_thread_set_name(t0, "renamed"), 0);
    assert_string_equal(t0->name, "renamed");
    assert_int_equal(st_thread_set_name(t1, ""), 0);
    assert_string_equal(t1->name, "");
    assert_null(t1->root->counts);
    assert_int_equal(st_store_oom(s), 0);
    st_store_release(s);
}

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

static void test_many_records(void **state)
{
    (void)state;
    enum { N = 5000 };
    st_store *s = st_store_new(1, 1);
    assert_non_null(s);
    static st_record *recs[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        int created;
        uint32_t bytes = (uint32_t)i * 2654435761u;
        snprintf(name, sizeof name, "f%d", i % 97);
        recs[i] = get(s, "many.py", name, i / 97, &bytes, sizeof bytes,
                      (uint32_t)(i % 5) + 1, &created);
        assert_int_equal(created, 1);
        assert_int_equal(recs[i]->index, i);
    }
    assert_int_equal(st_record_count(s), N);
    for (int i = 0; i < N; i++) {
        int created;
        uint32_t bytes = (uint32_t)i * 2654435761u;
        snprintf(name, sizeof name, "f%d", i % 97);
        st_record *r = get(s, "many.py", name, i / 97, &bytes, sizeof bytes,
                           (uint32_t)(i % 5) + 1, &created);
        assert_int_equal(created, 0);
        assert_ptr_equal(r, recs[i]);
        assert_ptr_equal(st_record_at(s, (size_t)i), recs[i]);
        assert_int_equal(r->ncounters, (uint32_t)(i % 5) + 1);
    }
    assert_int_equal(st_record_count(s), N);

    /* and many nodes: every record called from the root, then from recs[0] */
    st_thread *t = st_thread_new(s, 1);
    assert_non_null(t);
    size_t base_nodes = st_node_count(s);
    static st_node *under_root[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(st_push(s, t, recs[i], &codes[0], &frames[0], -1), 0);
        under_root[i] = st_top(t)->node;
        assert_ptr_equal(under_root[i]->parent, t->root);
        assert_ptr_equal(under_root[i]->rec, recs[i]);
        st_pop(t);
    }
    size_t nodes = st_node_count(s);
    assert_int_equal(nodes, base_nodes + N);
    assert_int_equal(st_push(s, t, recs[0], &codes[0], &frames[0], -1), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(st_push(s, t, recs[i], &codes[0], &frames[0], -1), 0);
        assert_ptr_equal(st_top(t)->node->parent, under_root[0]);
        assert_ptr_not_equal(st_top(t)->node, under_root[i]);
        st_pop(t);
    }
    st_pop(t);
    assert_int_equal(st_node_count(s), nodes + N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(st_push(s, t, recs[i], &codes[0], &frames[0], -1), 0);
        assert_ptr_equal(st_top(t)->node, under_root[i]);
        st_pop(t);
    }
    assert_int_equal(st_node_count(s), nodes + N);
    assert_int_equal(st_store_oom(s), 0);
    st_store_release(s);
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
        cmocka_unit_test(test_store_new_flags),
        cmocka_unit_test(test_push_callsites),
        cmocka_unit_test(test_alternating_children),
        cmocka_unit_test(test_store_width),
        cmocka_unit_test(test_record_same_key_merges),
        cmocka_unit_test(test_record_different_keys),
        cmocka_unit_test(test_record_empty_bytecode),
        cmocka_unit_test(test_dense_indices),
        cmocka_unit_test(test_stacks_on_no_flat_nodes),
        cmocka_unit_test(test_count_bounds),
        cmocka_unit_test(test_width2_counts),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_stacks_on_shared_paths),
        cmocka_unit_test(test_stacks_on_recursion),
        cmocka_unit_test(test_stacks_on_threads_separate),
        cmocka_unit_test(test_stacks_off_flat),
        cmocka_unit_test(test_deep_stack_on),
        cmocka_unit_test(test_deep_stack_off),
        cmocka_unit_test(test_store_zero_stacks_on),
        cmocka_unit_test(test_store_zero_stacks_off),
        cmocka_unit_test(test_store_zero_width2),
        cmocka_unit_test(test_many_records),
        cmocka_unit_test(test_cumulative_accounting),
        cmocka_unit_test(test_timed_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
