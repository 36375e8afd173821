/*
 * test_diff.c - unit tests for reports/diff.c (df_compare): matching
 * functions across runs, opcode deltas and the order of the result.
 * Profiles are built by hand (profile_fixtures.h); gating, refusals and
 * warnings are in test_diff_gate.c.
 */
#include "profile_fixtures.h"

/* ---- df_compare: matching ------------------------------------------ */

static void test_options_init(void **state)
{
    (void)state;
    df_options o;
    memset(&o, 0x5a, sizeof o);
    df_options_init(&o);
    assert_int_equal(o.metric, DF_INSTRUCTIONS);
    assert_true(o.threshold == 0.0);
    assert_true(o.function_threshold < 0);
    assert_int_equal(o.soft, 0);
    assert_int_equal(o.min_instructions, 0);
    assert_int_equal(o.include_imports, 0);
    assert_int_equal(o.allow_mismatch, 0);
    assert_int_equal(o.top, 0);
    assert_string_equal(df_status_name(DF_SAME), "same");
    assert_string_equal(df_status_name(DF_REMOVED), "removed");
    assert_string_equal(df_verdict_name(DF_REGRESSION), "regression");
}

/* Base and new runs in different checkouts still match. */
static void test_match_relative_to_root(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/proj/m.py", "main", 1, 100);
    add_simple(a, "/a/proj/pkg/util.py", "Helper.run", 10, 50);
    add_simple(b, "/b/proj/m.py", "main", 1, 120);
    add_simple(b, "/b/proj/pkg/util.py", "Helper.run", 10, 50);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 2);
    const df_function *m = must_find(r, "m.py:main");
    assert_string_equal(m->file, "m.py");
    assert_string_equal(m->qualname, "main");
    assert_int_equal(m->status, DF_CHANGED);
    assert_int_equal(m->before, 100);
    assert_int_equal(m->after, 120);
    assert_true(fabs(m->pct - 20.0) < 1e-9);
    const df_function *h = must_find(r, "pkg/util.py:Helper.run");
    assert_int_equal(h->status, DF_SAME);
    assert_string_equal(r->base_name, "base.json");
    assert_string_equal(r->new_name, "new.json");
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* A root that is only a string prefix of the file's folder does not count. */
static void test_match_root_is_a_folder(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/project/m.py", "main", 1, 10);
    add_simple(b, "/b/project/m.py", "main", 1, 10);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 2);
    assert_int_equal(must_find(r, "/a/project/m.py:main")->status, DF_REMOVED);
    assert_int_equal(must_find(r, "/b/project/m.py:main")->status, DF_ADDED);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* `--root /a/proj/` (a trailing slash, as shells complete it). */
static void test_match_root_trailing_slash(void **state)
{
    (void)state;
    /* Fixed bug: relative_file() wants file[strlen(root)] == '/',
     * so with root "/a/proj/" the file "/a/proj/m.py" stays absolute and
     * matches nothing in a profile with root "/b/proj": one REMOVED and one
     * ADDED function instead of one SAME. */
    pf_profile *a = profile_new("/a/proj/", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/proj/m.py", "main", 1, 10);
    add_simple(b, "/b/proj/m.py", "main", 1, 10);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 1);
    assert_int_equal(must_find(r, "m.py:main")->status, DF_SAME);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* The stdlib is matched relative to sys.base_prefix, which may differ. */
static void test_match_python_prefix(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", "/usr"), *b = profile_new("/b/proj", "/opt/py");
    add_simple(a, "/usr/lib/python3.12/json/decoder.py", "JSONDecoder.decode", 332, 300);
    add_simple(b, "/opt/py/lib/python3.12/json/decoder.py", "JSONDecoder.decode", 332, 290);
    add_simple(a, "<string>", "<module>", 1, 5);
    add_simple(b, "<string>", "<module>", 1, 5);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 2);
    const df_function *d =
        must_find(r, "<python>/lib/python3.12/json/decoder.py:JSONDecoder.decode");
    assert_string_equal(d->file, "<python>/lib/python3.12/json/decoder.py");
    assert_int_equal(d->status, DF_CHANGED);
    assert_int_equal(d->before, 300);
    assert_int_equal(d->after, 290);
    assert_int_equal(must_find(r, "<string>:<module>")->status, DF_SAME);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Editing code above a function moves it: it still matches. */
static void test_match_firstlineno_changed(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/proj/m.py", "work", 10, 40);
    add_simple(b, "/b/proj/m.py", "work", 25, 40);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 1);
    const df_function *d = must_find(r, "m.py:work");
    assert_int_equal(d->status, DF_SAME);
    assert_int_equal(d->line, 25);       /* the new run's line */
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Two lambdas of one file pair up in firstlineno order, whatever the
 * order of the functions in the profiles. */
static void test_match_duplicates_by_line(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/proj/m.py", "<lambda>", 20, 7);
    add_simple(a, "/a/proj/m.py", "<lambda>", 10, 1000);
    add_simple(b, "/b/proj/m.py", "<lambda>", 13, 1000);   /* first lambda, moved */
    add_simple(b, "/b/proj/m.py", "<lambda>", 23, 9);      /* second lambda */
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 2);
    int seen13 = 0, seen23 = 0;
    for (size_t i = 0; i < r->nfunctions; i++) {
        const df_function *d = &r->functions[i];
        assert_string_equal(d->key, "m.py:<lambda>");
        if (d->line == 13) {
            seen13++;
            assert_int_equal(d->before, 1000);
            assert_int_equal(d->after, 1000);
            assert_int_equal(d->status, DF_SAME);
        } else {
            assert_int_equal(d->line, 23);
            seen23++;
            assert_int_equal(d->before, 7);
            assert_int_equal(d->after, 9);
            assert_int_equal(d->status, DF_CHANGED);
        }
    }
    assert_int_equal(seen13, 1);
    assert_int_equal(seen23, 1);
    /* the third lambda of the new run has no partner */
    add_simple(b, "/b/proj/m.py", "<lambda>", 30, 4);
    df_result_release(r);
    r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 3);
    assert_int_equal(r->added, 1);
    for (size_t i = 0; i < r->nfunctions; i++)
        if (r->functions[i].status == DF_ADDED)
            assert_int_equal(r->functions[i].line, 30);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void test_added_and_removed(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/proj/m.py", "main", 1, 100);
    add_simple(a, "/a/proj/m.py", "old", 5, 30);
    add_simple(b, "/b/proj/m.py", "main", 1, 100);
    add_simple(b, "/b/proj/m.py", "new", 8, 20);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 3);
    const df_function *old = must_find(r, "m.py:old");
    assert_int_equal(old->status, DF_REMOVED);
    assert_int_equal(old->before, 30);
    assert_int_equal(old->after, 0);
    assert_int_equal(old->line, 5);      /* the base run's line */
    assert_true(fabs(old->pct + 100.0) < 1e-9);
    const df_function *nw = must_find(r, "m.py:new");
    assert_int_equal(nw->status, DF_ADDED);
    assert_int_equal(nw->before, 0);
    assert_int_equal(nw->after, 20);
    assert_true(isinf(nw->pct) && nw->pct > 0);
    assert_int_equal(r->added, 1);
    assert_int_equal(r->removed, 1);
    assert_int_equal(r->total_before, 130);
    assert_int_equal(r->total_after, 120);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void build_app(pf_profile *p, const char *root)
{
    char file[64];
    snprintf(file, sizeof file, "%s/app.py", root);
    const ins main_code[] = {{0, "RESUME", 1, 1}, {2, "LOAD_CONST", 2, 10},
                             {4, "CALL", 2, 10}, {6, "RETURN_VALUE", 3, 1}};
    add_fn_scope(p, file, "<module>", 1, PF_SCOPE_MODULE, 1, main_code, N(main_code));
    add_simple(p, file, "f", 5, 500);
    add_simple(p, file, "<lambda>", 9, 3);
    add_simple(p, "<frozen importlib._bootstrap>", "_find_and_load", 1165, 70);
}

static void test_identical(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", "/usr"), *b = profile_new("/b/proj", "/usr");
    build_app(a, "/a/proj");
    build_app(b, "/b/proj");
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 4);
    for (size_t i = 0; i < r->nfunctions; i++) {
        assert_int_equal(r->functions[i].status, DF_SAME);
        assert_int_equal(r->functions[i].over_limit, 0);
        assert_int_equal(r->functions[i].nops, 0);
        assert_true(r->functions[i].pct == 0.0);
    }
    assert_int_equal(r->total_after - r->total_before, 0);
    assert_int_equal(r->total_before, 1 + 10 + 10 + 1 + 500 + 3);   /* imports not gated */
    assert_true(r->total_pct == 0.0);
    assert_int_equal(r->total_over_limit, 0);
    assert_int_equal(r->regressions, 0);
    assert_int_equal(r->improvements, 0);
    assert_int_equal(r->added, 0);
    assert_int_equal(r->removed, 0);
    assert_int_equal(r->verdict, DF_OK);
    assert_int_equal(r->nwarnings, 0);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Two profiles with nothing in them compare fine; so does a function that
 * executed nothing (a profile may hold "code": []). */
static void test_empty_profiles(void **state)
{
    (void)state;
    /* Fixed bug: df_compare() calls qsort(r->functions, 0, ...)
     * with r->functions == NULL when neither profile has a function, and
     * add_function() qsort(d->ops, 0, ...) with d->ops == NULL for a
     * function without code in either run: undefined behaviour (glibc
     * declares the argument nonnull); `make SANITIZE=undefined test`
     * stops there ("null pointer passed as argument 1").  The results are
     * right in a plain build. */
    pf_profile *a = profile_new(NULL, NULL), *b = profile_new(NULL, NULL);
    df_result *r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 0);
    assert_int_equal(r->total_before, 0);
    assert_int_equal(r->total_after, 0);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    add_fn(a, "m.py", "never", 1, NULL, 0);
    add_fn(b, "m.py", "never", 1, NULL, 0);
    r = compare_default(a, b);
    assert_int_equal(r->nfunctions, 1);
    assert_int_equal(r->functions[0].status, DF_SAME);
    assert_int_equal(r->functions[0].nops, 0);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* ---- df_compare: opcode deltas -------------------------------------- */

static void test_opcode_deltas(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    /* different opname tables in the two profiles: matched by name */
    pf_opname_index(b, "BINARY_OP");
    pf_opname_index(b, "STORE_FAST");
    const ins before[] = {{0, "RESUME", 1, 1},      {2, "LOAD_FAST", 2, 100},
                          {4, "LOAD_FAST", 2, 100}, {6, "BINARY_OP", 2, 100},
                          {10, "STORE_FAST", 2, 100}, {12, "POP_TOP", 3, 40},
                          {14, "RETURN_VALUE", 4, 1}};
    const ins after[] = {{0, "RESUME", 1, 1},      {2, "LOAD_FAST", 2, 100},
                         {4, "LOAD_FAST", 2, 130}, {6, "BINARY_OP", 2, 70},
                         {10, "STORE_FAST", 2, 100}, {12, "CALL", 3, 5},
                         {14, "RETURN_VALUE", 4, 1}};
    add_fn(a, "/a/proj/m.py", "f", 1, before, N(before));
    add_fn(b, "/b/proj/m.py", "f", 1, after, N(after));
    df_result *r = compare_default(a, b);
    const df_function *d = must_find(r, "m.py:f");
    assert_int_equal(d->status, DF_CHANGED);
    assert_int_equal(d->before, 442);
    assert_int_equal(d->after, 407);
    /* POP_TOP -40; BINARY_OP -30 and LOAD_FAST +30 (ties by name); CALL +5 */
    assert_int_equal(d->nops, 4);
    assert_string_equal(d->ops[0].opname, "POP_TOP");
    assert_int_equal(d->ops[0].before, 40);
    assert_int_equal(d->ops[0].after, 0);
    assert_string_equal(d->ops[1].opname, "BINARY_OP");
    assert_int_equal(d->ops[1].before, 100);
    assert_int_equal(d->ops[1].after, 70);
    assert_string_equal(d->ops[2].opname, "LOAD_FAST");
    assert_int_equal(d->ops[2].before, 200);
    assert_int_equal(d->ops[2].after, 230);
    assert_string_equal(d->ops[3].opname, "CALL");
    assert_int_equal(d->ops[3].before, 0);
    assert_int_equal(d->ops[3].after, 5);
    for (size_t i = 0; i < d->nops; i++)
        assert_true(d->ops[i].before != d->ops[i].after);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* ---- df_compare: order ---------------------------------------------- */

static void test_sorted_by_abs_delta(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    static const struct {
        const char *name;
        uint64_t before, after;   /* 0 = absent */
    } fns[] = {
        {"same", 500, 500},   {"up10", 100, 110},   {"down50", 100, 50},
        {"gone", 70, 0},      {"new", 0, 30},       {"up300", 1000, 1300},
        {"b_tie", 10, 30},    {"a_tie", 30, 10},
    };
    for (size_t i = 0; i < N(fns); i++) {
        if (fns[i].before)
            add_simple(a, "/a/proj/m.py", fns[i].name, (int)i * 10 + 1, fns[i].before);
        if (fns[i].after)
            add_simple(b, "/b/proj/m.py", fns[i].name, (int)i * 10 + 1, fns[i].after);
    }
    df_result *r = compare_default(a, b);
    static const char *const order[] = {
        "m.py:up300", "m.py:gone", "m.py:down50", "m.py:new",
        "m.py:a_tie", "m.py:b_tie", "m.py:up10", "m.py:same",
    };
    assert_int_equal(r->nfunctions, N(order));
    for (size_t i = 0; i < N(order); i++)
        assert_string_equal(r->functions[i].key, order[i]);
    for (size_t i = 1; i < r->nfunctions; i++)
        assert_true(llabs(r->functions[i - 1].after - r->functions[i - 1].before) >=
                    llabs(r->functions[i].after - r->functions[i].before));
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_init),
        cmocka_unit_test(test_match_relative_to_root),
        cmocka_unit_test(test_match_root_is_a_folder),
        cmocka_unit_test(test_match_root_trailing_slash),
        cmocka_unit_test(test_match_python_prefix),
        cmocka_unit_test(test_match_firstlineno_changed),
        cmocka_unit_test(test_match_duplicates_by_line),
        cmocka_unit_test(test_added_and_removed),
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_empty_profiles),
        cmocka_unit_test(test_opcode_deltas),
        cmocka_unit_test(test_sorted_by_abs_delta),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
