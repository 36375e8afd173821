/*
 * test_diff_gate.c - unit tests for reports/diff.c (df_compare): gating
 * (limits and verdicts), refusals and warnings.  Profiles are built by
 * hand (profile_fixtures.h).
 */
#include "profile_fixtures.h"

/* ---- df_compare: gating -------------------------------------------- */

/* base: f 1000, g 1000, tiny 10.  new: as given. */
static void gate_pair(pf_profile **a, pf_profile **b, uint64_t f, uint64_t g, uint64_t tiny)
{
    *a = profile_new("/a/proj", NULL);
    *b = profile_new("/b/proj", NULL);
    add_simple(*a, "/a/proj/m.py", "f", 1, 1000);
    add_simple(*a, "/a/proj/m.py", "g", 10, 1000);
    add_simple(*a, "/a/proj/m.py", "tiny", 20, 10);
    add_simple(*b, "/b/proj/m.py", "f", 1, f);
    add_simple(*b, "/b/proj/m.py", "g", 10, g);
    add_simple(*b, "/b/proj/m.py", "tiny", 20, tiny);
}

static void test_gate_default_any_growth(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1001, 1000, 10);   /* +1 instruction in 2010 */
    df_result *r = compare_default(a, b);
    assert_int_equal(r->total_before, 2010);
    assert_int_equal(r->total_after, 2011);
    assert_true(r->total_pct > 0 && r->total_pct < 0.1);
    assert_int_equal(r->total_over_limit, 1);
    assert_int_equal(r->verdict, DF_REGRESSION);
    assert_int_equal(r->regressions, 1);
    assert_int_equal(must_find(r, "m.py:f")->over_limit, 1);
    assert_int_equal(must_find(r, "m.py:g")->over_limit, 0);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void test_gate_threshold(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1000 + 100, 1000, 10 + 0);   /* +100 of 2010: +4.98% */
    df_options o;
    df_options_init(&o);
    o.threshold = 10;
    df_result *r = compare(a, b, &o);
    assert_true(r->total_pct > 4.9 && r->total_pct < 5.0);
    assert_int_equal(r->total_over_limit, 0);
    assert_int_equal(r->verdict, DF_OK);
    assert_int_equal(r->regressions, 1);     /* it grew, but within the limit */
    for (size_t i = 0; i < r->nfunctions; i++)
        assert_int_equal(r->functions[i].over_limit, 0);
    df_result_release(r);
    /* 4% is past 3% */
    o.threshold = 3;
    r = compare(a, b, &o);
    assert_int_equal(r->total_over_limit, 1);
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    /* a negative threshold: no limit on the total */
    o.threshold = -1;
    r = compare(a, b, &o);
    assert_int_equal(r->total_over_limit, 0);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void test_gate_soft(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1500, 1000, 10);
    df_options o;
    df_options_init(&o);
    o.soft = 1;
    df_result *r = compare(a, b, &o);
    assert_int_equal(r->total_over_limit, 1);
    assert_int_equal(r->verdict, DF_WARNING);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void test_gate_function_threshold(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1200, 1050, 10);       /* f +20%, g +5% */
    df_options o;
    df_options_init(&o);
    o.threshold = -1;
    o.function_threshold = 10;
    df_result *r = compare(a, b, &o);
    assert_int_equal(must_find(r, "m.py:f")->over_limit, 1);
    assert_int_equal(must_find(r, "m.py:g")->over_limit, 0);
    assert_int_equal(must_find(r, "m.py:tiny")->over_limit, 0);
    assert_int_equal(r->total_over_limit, 0);
    assert_int_equal(r->regressions, 2);
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    /* with the default total limit too: the total fails, still only f is marked */
    o.threshold = 0;
    r = compare(a, b, &o);
    assert_int_equal(r->total_over_limit, 1);
    assert_int_equal(must_find(r, "m.py:f")->over_limit, 1);
    assert_int_equal(must_find(r, "m.py:g")->over_limit, 0);
    df_result_release(r);
    /* nobody past 25% */
    o.threshold = -1;
    o.function_threshold = 25;
    r = compare(a, b, &o);
    assert_int_equal(must_find(r, "m.py:f")->over_limit, 0);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Without a per-function limit, every function that grew gets the failure
 * of the total, unless it is below min_instructions. */
static void test_gate_total_marks_grown(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1100, 1001, 20);       /* all three grew */
    df_options o;
    df_options_init(&o);
    o.min_instructions = 50;
    df_result *r = compare(a, b, &o);
    assert_int_equal(r->total_over_limit, 1);
    assert_int_equal(must_find(r, "m.py:f")->over_limit, 1);
    assert_int_equal(must_find(r, "m.py:g")->over_limit, 1);
    assert_int_equal(must_find(r, "m.py:tiny")->over_limit, 0);   /* 20 < 50 */
    assert_int_equal(r->regressions, 2);
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    /* a function that shrank is never marked */
    pf_profile_release(b);
    b = profile_new("/b/proj", NULL);
    add_simple(b, "/b/proj/m.py", "f", 1, 1500);
    add_simple(b, "/b/proj/m.py", "g", 10, 900);
    add_simple(b, "/b/proj/m.py", "tiny", 20, 10);
    r = compare(a, b, &o);
    assert_int_equal(must_find(r, "m.py:f")->over_limit, 1);
    assert_int_equal(must_find(r, "m.py:g")->over_limit, 0);
    assert_int_equal(r->improvements, 1);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* A tiny function doubling is noise below min_instructions. */
static void test_gate_min_instructions(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1000, 1000, 20);       /* only tiny grew: 10 -> 20 */
    df_options o;
    df_options_init(&o);
    o.threshold = -1;
    o.function_threshold = 10;
    o.min_instructions = 100;
    df_result *r = compare(a, b, &o);
    const df_function *t = must_find(r, "m.py:tiny");
    assert_int_equal(t->status, DF_CHANGED);
    assert_int_equal(t->gated, 1);
    assert_int_equal(t->over_limit, 0);
    assert_int_equal(r->regressions, 0);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    /* at the limit it counts */
    o.min_instructions = 20;
    r = compare(a, b, &o);
    assert_int_equal(must_find(r, "m.py:tiny")->over_limit, 1);
    assert_int_equal(r->regressions, 1);
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    /* without a function limit, min_instructions does not hide the total */
    o.function_threshold = -1;
    o.threshold = 0;
    o.min_instructions = 100;
    r = compare(a, b, &o);
    assert_int_equal(r->total_over_limit, 1);
    assert_int_equal(must_find(r, "m.py:tiny")->over_limit, 0);
    assert_int_equal(r->regressions, 0);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Import machinery does more work with a cold __pycache__: not gated. */
static void test_gate_imports(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    add_simple(a, "/a/proj/m.py", "main", 1, 100);
    add_simple(a, "<frozen importlib._bootstrap>", "_find_and_load", 1165, 1000);
    add_simple(a, "<frozen importlib._bootstrap_external>", "SourceLoader.get_code", 1000,
               2000);
    add_simple(b, "/b/proj/m.py", "main", 1, 100);
    add_simple(b, "<frozen importlib._bootstrap>", "_find_and_load", 1165, 5000);
    add_simple(b, "<frozen importlib._bootstrap_external>", "SourceLoader.get_code", 1000,
               9000);
    add_simple(b, "<frozen importlib._bootstrap>", "_lock_unlock_module", 400, 50);
    df_options o;
    df_options_init(&o);
    df_result *r = compare(a, b, &o);
    const df_function *fl = must_find(r, "<frozen importlib._bootstrap>:_find_and_load");
    const df_function *gc =
        must_find(r, "<frozen importlib._bootstrap_external>:SourceLoader.get_code");
    const df_function *lk = must_find(r, "<frozen importlib._bootstrap>:_lock_unlock_module");
    assert_int_equal(fl->gated, 0);
    assert_int_equal(gc->gated, 0);
    assert_int_equal(lk->gated, 0);
    assert_int_equal(fl->over_limit, 0);
    assert_int_equal(gc->over_limit, 0);
    assert_int_equal(must_find(r, "m.py:main")->gated, 1);
    assert_int_equal(r->total_before, 100);
    assert_int_equal(r->total_after, 100);
    assert_int_equal(r->regressions, 0);
    assert_int_equal(r->added, 0);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    o.include_imports = 1;
    r = compare(a, b, &o);
    assert_int_equal(must_find(r, "<frozen importlib._bootstrap>:_find_and_load")->gated, 1);
    assert_int_equal(r->total_before, 3100);
    assert_int_equal(r->total_after, 14150);
    assert_int_equal(r->regressions, 3);
    assert_int_equal(r->added, 1);
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Getting faster never fails, whatever the limits. */
static void test_gate_improvements_never_fail(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 500, 900, 1);
    df_options o;
    df_options_init(&o);
    o.function_threshold = 0;
    df_result *r = compare(a, b, &o);
    assert_int_equal(r->improvements, 3);
    assert_int_equal(r->regressions, 0);
    assert_true(r->total_pct < 0);
    assert_int_equal(r->total_over_limit, 0);
    for (size_t i = 0; i < r->nfunctions; i++)
        assert_int_equal(r->functions[i].over_limit, 0);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    /* removing a function is an improvement */
    pf_profile_release(b);
    b = profile_new("/b/proj", NULL);
    add_simple(b, "/b/proj/m.py", "f", 1, 1000);
    r = compare(a, b, &o);
    assert_int_equal(r->removed, 2);
    assert_int_equal(r->improvements, 2);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* An added function grew by +inf %: past any function limit. */
static void test_added_pct_inf(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1000, 1000, 10);
    add_simple(b, "/b/proj/m.py", "fresh", 30, 5);
    df_options o;
    df_options_init(&o);
    o.threshold = -1;
    o.function_threshold = 1e9;
    df_result *r = compare(a, b, &o);
    const df_function *d = must_find(r, "m.py:fresh");
    assert_int_equal(d->status, DF_ADDED);
    assert_true(isinf(d->pct) && d->pct > 0);
    assert_int_equal(d->over_limit, 1);
    assert_int_equal(r->added, 1);
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* ---- df_compare: refusals and warnings ------------------------------ */

static void test_refuse_other_interpreter(void **state)
{
    (void)state;
    for (int what = 0; what < 2; what++) {
        pf_profile *a, *b;
        gate_pair(&a, &b, 1000, 1000, 10);
        if (what == 0) {
            set(&b->python_version, "3.13.0");
            b->hexversion = 0x030d00f0;
        } else {
            set(&b->python_build, "3.12.1 (main, Feb  2 2024, 00:00:00) [Clang 17.0.0]");
        }
        df_options o;
        df_options_init(&o);
        char err[256] = "";
        df_result *r = (df_result *)&o;    /* must be reset */
        assert_int_equal(df_compare(a, b, "a", "b", &o, &r, err, sizeof err), -1);
        assert_null(r);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
        assert_non_null(strstr(err, "different interpreters"));
        if (what == 0)
            assert_non_null(strstr(err, "3.13.0"));
        o.allow_mismatch = 1;
        r = compare(a, b, &o);
        assert_int_equal(count_warnings_with(r, "different interpreters"), 1);
        assert_int_equal(r->nfunctions, 3);
        assert_int_equal(r->verdict, DF_OK);
        df_result_release(r);
        pf_profile_release(a);
        pf_profile_release(b);
    }
}

/* --metric time needs times in both profiles. */
static void test_refuse_time_metric(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1000, 1000, 10);
    df_options o;
    df_options_init(&o);
    o.metric = DF_TIME;
    for (int timed = 0; timed < 3; timed++) {   /* none, base only, new only */
        a->timed = timed == 1;
        b->timed = timed == 2;
        char err[256] = "";
        df_result *r = (df_result *)&o;    /* must be reset */
        assert_int_equal(df_compare(a, b, "base.json", "new.json", &o, &r, err, sizeof err),
                         -1);
        assert_null(r);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
        assert_non_null(strstr(err, "time"));
        assert_non_null(strstr(err, timed == 1 ? "new.json" : "base.json"));
    }
    pf_profile_release(a);
    pf_profile_release(b);
}

/* With times in both, the values compared are the sampled self times. */
static void test_time_metric(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/a/proj", NULL), *b = profile_new("/b/proj", NULL);
    const ins code[] = {{0, "RESUME", 1, 1}, {2, "LOAD_FAST", 2, 100}, {4, "CALL", 2, 100}};
    add_fn(a, "/a/proj/m.py", "f", 1, code, N(code));
    add_fn(b, "/b/proj/m.py", "f", 1, code, N(code));
    a->timed = b->timed = 1;
    const uint64_t ta[] = {0, 1000, 9000}, tb[] = {0, 1000, 12000};
    for (size_t i = 0; i < N(code); i++) {
        assert_int_equal(pf_add_instr_time(&a->functions[0], i, ta[i], 0), 0);
        assert_int_equal(pf_add_instr_time(&b->functions[0], i, tb[i], 0), 0);
    }
    a->functions[0].time_ns = a->time_ns = 10000;
    b->functions[0].time_ns = b->time_ns = 13000;
    df_options o;
    df_options_init(&o);
    o.metric = DF_TIME;
    o.threshold = 10;
    df_result *r = compare(a, b, &o);
    const df_function *d = must_find(r, "m.py:f");
    assert_int_equal(d->status, DF_CHANGED);      /* same counts, other times */
    assert_int_equal(d->before, 10000);
    assert_int_equal(d->after, 13000);
    assert_int_equal(d->nops, 1);
    assert_string_equal(d->ops[0].opname, "CALL");
    assert_int_equal(d->ops[0].before, 9000);
    assert_int_equal(d->ops[0].after, 12000);
    assert_int_equal(r->total_over_limit, 1);     /* +30% */
    assert_int_equal(r->verdict, DF_REGRESSION);
    df_result_release(r);
    /* the same profiles by instructions: nothing changed */
    r = compare_default(a, b);
    assert_int_equal(must_find(r, "m.py:f")->status, DF_SAME);
    assert_int_equal(r->verdict, DF_OK);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void test_hash_seed_warnings(void **state)
{
    (void)state;
    static const struct {
        const char *base, *new_;
        size_t warnings;
    } cases[] = {
        {"0", "0", 0},
        {"123", "123", 0},
        {"random", "random", 1},
        {NULL, NULL, 1},          /* not recorded: random */
        {"0", "random", 1},
        {"0", "1", 1},
        {NULL, "0", 1},
    };
    for (size_t i = 0; i < N(cases); i++) {
        pf_profile *a, *b;
        gate_pair(&a, &b, 1000, 1000, 10);
        free(a->hash_seed);
        free(b->hash_seed);
        a->hash_seed = b->hash_seed = NULL;
        if (cases[i].base)
            set(&a->hash_seed, cases[i].base);
        if (cases[i].new_)
            set(&b->hash_seed, cases[i].new_);
        df_result *r = compare_default(a, b);
        assert_int_equal(r->nwarnings, cases[i].warnings);
        assert_int_equal(count_warnings_with(r, "hash seed"), cases[i].warnings);
        assert_int_equal(r->verdict, DF_OK);    /* a warning is not a verdict */
        df_result_release(r);
        pf_profile_release(a);
        pf_profile_release(b);
    }
}

static void test_incomplete_warning(void **state)
{
    (void)state;
    pf_profile *a, *b;
    gate_pair(&a, &b, 1000, 1000, 10);
    assert_int_equal(pf_mark_incomplete(b, "killed by SIGTERM"), 0);
    df_result *r = compare_default(a, b);
    assert_int_equal(count_warnings_with(r, "killed by SIGTERM"), 1);
    df_result_release(r);
    pf_profile_release(a);
    pf_profile_release(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_default_any_growth),
        cmocka_unit_test(test_gate_threshold),
        cmocka_unit_test(test_gate_soft),
        cmocka_unit_test(test_gate_function_threshold),
        cmocka_unit_test(test_gate_total_marks_grown),
        cmocka_unit_test(test_gate_min_instructions),
        cmocka_unit_test(test_gate_imports),
        cmocka_unit_test(test_gate_improvements_never_fail),
        cmocka_unit_test(test_added_pct_inf),
        cmocka_unit_test(test_refuse_other_interpreter),
        cmocka_unit_test(test_refuse_time_metric),
        cmocka_unit_test(test_time_metric),
        cmocka_unit_test(test_hash_seed_warnings),
        cmocka_unit_test(test_incomplete_warning),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
