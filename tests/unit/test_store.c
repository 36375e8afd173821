/*
 * test_store.c - unit tests for profiler/store.c: the store's flags,
 * records (keys, indices, counter widths) and threads, without libpython.
 * Stacks: test_store_stacks.c; counters and times: test_store_counts.c.
 */
#include "store_fixtures.h"

#include <stdio.h>
#include <string.h>

/* Bytecode other than BC_A, for keys that differ by their bytes. */
static const unsigned char BC_B[] = {0x97, 0x00, 0x64, 0x02, 0x53, 0x00};

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_new_flags),
        cmocka_unit_test(test_store_width),
        cmocka_unit_test(test_record_same_key_merges),
        cmocka_unit_test(test_record_different_keys),
        cmocka_unit_test(test_record_empty_bytecode),
        cmocka_unit_test(test_dense_indices),
        cmocka_unit_test(test_stacks_on_no_flat_nodes),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_many_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
