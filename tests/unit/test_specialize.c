/*
 * test_specialize.c - the specialization view on hand-built profiles
 * (reports/specialize.c): kinds of forms, shares, the slow-site floor;
 * and what the model does with forms: merge (reports/model/merge_fn.c),
 * pf_check_function's form_times check, a JSON round trip.
 */
#include "profile_fixtures.h"

#include "../../reports/specialize.h"

/* A 3.12 function with a LOAD_ATTR at offset 4 (and a LOAD_FAST, which
 * cannot specialize), holding `form` at the end. */
static pf_function *attr_fn(pf_profile *p, const char *name, uint64_t count, const char *form)
{
    const ins code[] = {{2, "LOAD_FAST", 2, count}, {4, "LOAD_ATTR", 2, count}};
    size_t i = add_fn_scope(p, "/p/m.py", name, 1, PF_SCOPE_FUNCTION, 1, code, N(code));
    pf_function *f = &p->functions[i];
    f->forms = calloc(2, sizeof *f->forms);
    assert_non_null(f->forms);
    f->forms[0] = (uint16_t)pf_opname_index(p, "LOAD_FAST");
    f->forms[1] = form ? (uint16_t)pf_opname_index(p, form) : PF_NO_FORM;
    return f;
}

static void timed(pf_function *f, size_t k, uint64_t ns, uint64_t samples)
{
    assert_int_equal(pf_add_instr_time(f, k, ns, samples), 0);
    f->time_ns += ns;
}

static void test_kinds_and_shares(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    attr_fn(p, "a", 30, "LOAD_ATTR_INSTANCE_VALUE");
    attr_fn(p, "b", 10, "LOAD_ATTR");
    attr_fn(p, "c", 60, "INSTRUMENTED_LOAD_ATTR");
    sv_view v;
    assert_int_equal(sv_view_init(&v, p), 0);
    assert_null(sv_absent_reason(&v));
    assert_int_equal(sv_kind_at(&v, &p->functions[0], 1), SV_SPECIALIZED);
    assert_int_equal(sv_kind_at(&v, &p->functions[1], 1), SV_GENERIC);
    assert_int_equal(sv_kind_at(&v, &p->functions[0], 0), SV_NONE);  /* LOAD_FAST */
    assert_string_equal(sv_form_name(&v, &p->functions[0], 1), "LOAD_ATTR_INSTANCE_VALUE");
    sv_share s = {{0}};
    for (size_t i = 0; i < p->nfunctions; i++)
        sv_share_add(&v, &p->functions[i], &s);
    /* LOAD_FAST is left out; 3.12 has no INSTRUMENTED_LOAD_ATTR: not known */
    assert_int_equal(s.w[SV_SPECIALIZED], 30);
    assert_int_equal(s.w[SV_GENERIC], 10);
    assert_int_equal(s.w[SV_NONE], 60);
    sv_view_release(&v);
    pf_profile_release(p);
}

static void test_absent(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    add_simple(p, "/p/m.py", "f", 1, 5);
    sv_view v;
    assert_int_equal(sv_view_init(&v, p), 0);
    assert_non_null(strstr(sv_absent_reason(&v), "recorded no forms"));
    sv_view_release(&v);
    p->hexversion = 0x030b07f0;
    assert_int_equal(sv_view_init(&v, p), 0);
    assert_non_null(strstr(sv_absent_reason(&v), "3.11"));
    sv_view_release(&v);
    pf_profile_release(p);
}

/* One slow site among three: 2x after two standard errors, enough samples. */
static void test_slow_sites(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    p->timed = 1;
    pf_function *fast = attr_fn(p, "fast", 100000, "LOAD_ATTR_INSTANCE_VALUE");
    timed(fast, 1, 400000, 40);                       /* 4 ns */
    pf_function *slow = attr_fn(p, "slow", 100000, "LOAD_ATTR_INSTANCE_VALUE");
    timed(slow, 1, 1600000, 160);                     /* 16 ns: 4x */
    pf_function *rough = attr_fn(p, "rough", 1000, "LOAD_ATTR");
    timed(rough, 1, 100000, 10);                      /* 100 ns, but 10 samples */
    sv_view v;
    assert_int_equal(sv_view_init(&v, p), 0);
    sv_slow *s = NULL;
    size_t n = 0;
    assert_int_equal(sv_slow_sites(&v, &s, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].function, 1);
    assert_int_equal(s[0].instr, 1);
    assert_true(fabs(s[0].ns - 16.0) < 1e-9 && fabs(s[0].typical - 4.0) < 1e-9);
    free(s);
    /* the same 4x on 9 samples (fewer than 20) is not judged */
    slow->times[0].samples = 9;
    assert_int_equal(sv_slow_sites(&v, &s, &n), 0);
    assert_int_equal(n, 0);
    free(s);
    sv_view_release(&v);
    pf_profile_release(p);
}

static void test_merge_forms(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/p", NULL), *b = profile_new("/p", NULL), *c = profile_new("/p", NULL);
    pf_opname_index(b, "RESUME");   /* b's opnames in another order */
    pf_function *fa = attr_fn(a, "f", 10, "LOAD_ATTR_INSTANCE_VALUE");
    pf_function *fb = attr_fn(b, "f", 5, "LOAD_ATTR_INSTANCE_VALUE");
    attr_fn(c, "f", 5, "LOAD_ATTR");
    a->timed = b->timed = 1;
    timed(fa, 1, 100, 2);
    timed(fb, 1, 50, 1);
    uint16_t ia = (uint16_t)pf_opname_index(a, "LOAD_ATTR_INSTANCE_VALUE");
    uint16_t ib = (uint16_t)pf_opname_index(b, "LOAD_ATTR_INSTANCE_VALUE");
    fa->form_times = calloc(1, sizeof *fa->form_times);
    fb->form_times = calloc(1, sizeof *fb->form_times);
    fa->form_times[0] = (pf_form_time){1, ia, 100, 2};
    fb->form_times[0] = (pf_form_time){1, ib, 50, 1};
    fa->nform_times = fb->nform_times = 1;
    pf_profile *in[] = {a, b}, *out = NULL;
    char err[256];
    assert_int_equal(pf_merge(in, 2, &out, err, sizeof err), 0);
    const pf_function *g = &out->functions[0];
    assert_non_null(g->forms);
    assert_string_equal(pf_opname(out, g->forms[1]), "LOAD_ATTR_INSTANCE_VALUE");
    assert_int_equal(g->nform_times, 1);
    assert_int_equal(g->form_times[0].time_ns, 150);
    assert_int_equal(g->form_times[0].samples, 3);
    assert_string_equal(pf_opname(out, g->form_times[0].op), "LOAD_ATTR_INSTANCE_VALUE");
    assert_int_equal(pf_check_sums(out, err, sizeof err), 0);
    /* a run that ended generic there: neither form is "the" final one */
    pf_profile *in2[] = {out, c}, *out2 = NULL;
    assert_int_equal(pf_merge(in2, 2, &out2, err, sizeof err), 0);
    assert_int_equal(out2->functions[0].forms[1], PF_NO_FORM);
    assert_string_equal(pf_opname(out2, out2->functions[0].forms[0]), "LOAD_FAST");
    /* a run without forms (3.11, an older profile): none are anyone's */
    pf_profile *d = profile_new("/p", NULL), *out3 = NULL;
    const ins code[] = {{2, "LOAD_FAST", 2, 5}, {4, "LOAD_ATTR", 2, 5}};
    add_fn_scope(d, "/p/m.py", "f", 1, PF_SCOPE_FUNCTION, 1, code, N(code));
    pf_profile *in3[] = {out, d};
    assert_int_equal(pf_merge(in3, 2, &out3, err, sizeof err), 0);
    assert_null(out3->functions[0].forms);
    assert_int_equal(out3->functions[0].nform_times, 0);
    pf_profile_release(out3);
    pf_profile_release(d);
    pf_profile_release(out2);
    pf_profile_release(out);
    pf_profile_release(a);
    pf_profile_release(b);
    pf_profile_release(c);
}

static void test_check_form_times(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    p->timed = 1;
    pf_function *f = attr_fn(p, "f", 10, "LOAD_ATTR_INSTANCE_VALUE");
    timed(f, 1, 100, 2);
    uint16_t op = f->forms[1];
    f->form_times = calloc(2, sizeof *f->form_times);
    f->form_times[0] = (pf_form_time){1, op, 100, 3};   /* 3 samples of 2 */
    f->nform_times = 1;
    char err[256] = "";
    assert_int_equal(pf_check_function(p, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "more samples by form"));
    f->form_times[0].samples = 2;
    assert_int_equal(pf_check_function(p, 0, err, sizeof err), 0);
    f->form_times[1] = (pf_form_time){0, op, 0, 0};      /* out of order */
    f->nform_times = 2;
    assert_int_equal(pf_check_function(p, 0, err, sizeof err), -1);
    pf_profile_release(p);
}

/* forms and form_times survive the v2 writer and reader. */
static void test_round_trip(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    p->timed = 1;
    pf_function *f = attr_fn(p, "f", 10, "LOAD_ATTR_INSTANCE_VALUE");
    timed(f, 1, 100, 2);
    f->form_times = calloc(1, sizeof *f->form_times);
    f->form_times[0] = (pf_form_time){1, f->forms[1], 60, 1};
    f->nform_times = 1;
    p->time_ns = 100;
    pf_profile *q = save_and_read(p, "forms.json");
    const pf_function *g = &q->functions[0];
    assert_non_null(g->forms);
    assert_string_equal(pf_opname(q, g->forms[1]), "LOAD_ATTR_INSTANCE_VALUE");
    assert_string_equal(pf_opname(q, g->forms[0]), "LOAD_FAST");
    assert_int_equal(g->nform_times, 1);
    assert_int_equal(g->form_times[0].time_ns, 60);
    pf_profile_release(q);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_shares),
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_slow_sites),
        cmocka_unit_test(test_merge_forms),
        cmocka_unit_test(test_check_form_times),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
