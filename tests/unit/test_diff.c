/*
 * test_diff.c - unit tests for comparing, merging and reading profiles:
 * reports/diff.c (df_compare), reports/merge.c (pf_merge) and
 * reports/profile_read.c (pf_read_file) against the writer,
 * reports/profile_json.c, and the model, reports/profile.c.
 *
 * Profiles are built by hand; files are written under a fresh mkdtemp()
 * directory and removed afterwards.
 *
 * Tests marked "Fixed bug" are regressions for defects these tests found.
 *
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../reports/diff.h"
#include "../../reports/merge.h"
#include "../../reports/profile.h"
#include "../../reports/profile_json.h"
#include "../../reports/profile_read.h"

/* ---- building profiles by hand -------------------------------------- */

typedef struct ins {
    uint32_t off;
    const char *op;
    int line;
    uint64_t count;
} ins;

typedef struct opc {
    const char *op;
    uint64_t count;
} opc;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void set(char **dst, const char *src)
{
    assert_int_equal(pf_set_string(dst, src), 0);
}

/* A profile of CPython 3.12.1 with a fixed hash seed (no warnings). */
static pf_profile *profile_new(const char *root, const char *prefix)
{
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    set(&p->python_version, "3.12.1");
    set(&p->implementation, "cpython");
    p->hexversion = 0x030c01f0;
    set(&p->python_build, "3.12.1 (main, Jan  1 2024, 00:00:00) [GCC 13.2.0]");
    p->specialization = 1;
    set(&p->executable, "/usr/bin/python3.12");
    set(&p->hash_seed, "0");
    set(&p->collector, "monitoring");
    if (root)
        set(&p->root, root);
    if (prefix)
        set(&p->python_prefix, prefix);
    return p;
}

/* Appends a function; returns its index (pf_function pointers move). */
static size_t add_fn_scope(pf_profile *p, const char *file, const char *qualname, int first,
                           pf_scope scope, uint64_t calls, const ins *code, size_t n)
{
    pf_function *f = pf_add_function(p);
    assert_non_null(f);
    size_t id = f->id;
    const char *dot = strrchr(qualname, '.');
    set(&f->file, file);
    set(&f->qualname, qualname);
    set(&f->name, dot ? dot + 1 : qualname);
    f->firstlineno = first;
    f->scope = scope;
    f->calls = calls;
    f->code = calloc(n + 1, sizeof *f->code);
    assert_non_null(f->code);
    for (size_t i = 0; i < n; i++) {
        int op = pf_opname_index(p, code[i].op);
        assert_true(op >= 0);
        f = &p->functions[id];
        f->code[i] = (pf_instr){.offset = code[i].off, .op = (uint16_t)op,
                                .line = code[i].line, .count = code[i].count};
        f->instructions += code[i].count;
    }
    f->ncode = n;
    p->instructions += f->instructions;
    return id;
}

static size_t add_fn(pf_profile *p, const char *file, const char *qualname, int first,
                     const ins *code, size_t n)
{
    return add_fn_scope(p, file, qualname, first, PF_SCOPE_FUNCTION, 1, code, n);
}

/* A function that executed `count` LOAD_FAST instructions. */
static size_t add_simple(pf_profile *p, const char *file, const char *qualname, int first,
                         uint64_t count)
{
    const ins code[] = {{2, "LOAD_FAST", first + 1, count}};
    return add_fn(p, file, qualname, first, code, 1);
}

static uint32_t thread_idx(pf_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (strcmp(p->threads[i], name) == 0)
            return (uint32_t)i;
    char **v = realloc(p->threads, (p->nthreads + 1) * sizeof *v);
    assert_non_null(v);
    p->threads = v;
    p->threads[p->nthreads] = NULL;
    set(&p->threads[p->nthreads], name);
    return (uint32_t)p->nthreads++;
}

static void add_stack(pf_profile *p, const char *thread, const uint32_t *frames, size_t nframes,
                      const opc *ops, size_t nops)
{
    uint32_t t = thread_idx(p, thread);
    pf_stack *s = pf_add_stack(p);
    assert_non_null(s);
    s->thread = t;
    s->frames = calloc(nframes + 1, sizeof *s->frames);
    s->ops = calloc(nops + 1, sizeof *s->ops);
    assert_non_null(s->frames);
    assert_non_null(s->ops);
    memcpy(s->frames, frames, nframes * sizeof *frames);
    s->nframes = nframes;
    for (size_t i = 0; i < nops; i++) {
        int op = pf_opname_index(p, ops[i].op);
        assert_true(op >= 0);
        s = &p->stacks[p->nstacks - 1];
        s->ops[s->nops++] = (pf_opcount){.op = (uint16_t)op, .count = ops[i].count};
        s->instructions += ops[i].count;
    }
}

/* ---- looking at results -------------------------------------------- */

static const df_function *find(const df_result *r, const char *key)
{
    for (size_t i = 0; i < r->nfunctions; i++)
        if (strcmp(r->functions[i].key, key) == 0)
            return &r->functions[i];
    return NULL;
}

static const df_function *must_find(const df_result *r, const char *key)
{
    const df_function *d = find(r, key);
    if (!d)
        fail_msg("no function %s in the result", key);
    return d;
}

static df_result *compare(const pf_profile *a, const pf_profile *b, const df_options *o)
{
    char err[256] = "";
    df_result *r = NULL;
    int rc = df_compare(a, b, "base.json", "new.json", o, &r, err, sizeof err);
    if (rc != 0)
        fail_msg("df_compare failed: %s", err);
    assert_non_null(r);
    return r;
}

static df_result *compare_default(const pf_profile *a, const pf_profile *b)
{
    df_options o;
    df_options_init(&o);
    return compare(a, b, &o);
}

static size_t count_warnings_with(const df_result *r, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nwarnings; i++) {
        assert_non_null(r->warnings[i]);
        assert_null(strchr(r->warnings[i], '\n'));
        n += strstr(r->warnings[i], needle) != NULL;
    }
    return n;
}

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
        a->functions[0].code[i].time_ns = ta[i];
        b->functions[0].code[i].time_ns = tb[i];
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

/* ---- files ---------------------------------------------------------- */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/opprof_test_diff.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown_tmpdir(void **state)
{
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in_tmp(const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
    return path;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static pf_profile *save_and_read(const pf_profile *p, const char *name)
{
    char *path = path_in_tmp(name);
    assert_int_equal(pf_json_save(p, path), 0);
    char err[512] = "x";
    pf_profile *q = NULL;
    int rc = pf_read_file(path, &q, err, sizeof err);
    if (rc != 0)
        fail_msg("pf_read_file: %s", err);
    assert_non_null(q);
    free(path);
    return q;
}

/* The whole document in memory, as pf_json_write writes it; caller frees. */
static char *to_json(const pf_profile *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(pf_json_write(p, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(strlen(buf), len);
    return buf;
}

static const char *opname_of(const pf_profile *p, uint16_t op)
{
    assert_true(op < p->nopnames);
    assert_non_null(p->opnames[op]);
    return p->opnames[op];
}

static void assert_same_opt_string(const char *a, const char *b)
{
    assert_string_equal(a ? a : "", b ? b : "");
}

static pf_profile *full_profile(void)
{
    pf_profile *p = profile_new("/home/u/proj", "/usr");
    set(&p->collector, "sys.monitoring");
    const char *argv[] = {"script.py", "--n", "3", "caf\xc3\xa9 \"quoted\"\n"};
    assert_int_equal(pf_set_argv(p, argv, N(argv)), 0);
    p->exit_status = 3;
    assert_int_equal(pf_mark_incomplete(p, "stopped: SIGINT"), 0);
    assert_int_equal(pf_mark_incomplete(p, "a later reason"), 0);   /* first one kept */
    p->stacks_enabled = 1;
    p->wall_ns = 123456789012345ULL;
    const ins mod[] = {{0, "RESUME", -1, 1}, {2, "LOAD_CONST", 1, 1},
                       {4, "MAKE_FUNCTION", 1, 1}, {6, "STORE_NAME", 1, 1},
                       {8, "RETURN_CONST", 9, 1}};
    const ins work[] = {{0, "RESUME", 3, 3},        {2, "LOAD_FAST", 4, 3000000000ULL},
                        {4, "BINARY_OP", 4, 3000000000ULL}, {8, "STORE_FAST", 4, 17},
                        {260, "JUMP_BACKWARD", -1, 42}};
    const ins lam[] = {{0, "RESUME", 7, 2}, {2, "LOAD_FAST", 7, 2}, {4, "RETURN_VALUE", 7, 2}};
    const ins gen[] = {{0, "RETURN_GENERATOR", 11, 1}, {2, "POP_TOP", 11, 1},
                       {4, "RESUME", 11, 1}, {6, "YIELD_VALUE", 12, 5}};
    const ins dec[] = {{0, "RESUME", 120, 1}, {2, "LOAD_FAST", 121, 8}};
    add_fn_scope(p, "/home/u/proj/script.py", "<module>", 1, PF_SCOPE_MODULE, 1, mod, N(mod));
    add_fn_scope(p, "/home/u/proj/script.py", "Worker.work", 3, PF_SCOPE_FUNCTION, 3, work,
                 N(work));
    add_fn_scope(p, "/home/u/proj/script.py", "main.<locals>.<lambda>", 7, PF_SCOPE_LAMBDA, 2,
                 lam, N(lam));
    add_fn_scope(p, "/home/u/proj/script.py", "gen", 11, PF_SCOPE_GENERATOR, 1, gen, N(gen));
    add_fn_scope(p, "/usr/lib/python3.12/json/decoder.py", "JSONDecoder.decode", 120,
                 PF_SCOPE_FUNCTION, 4, dec, N(dec));
    add_fn_scope(p, "/home/u/proj/empty.py", "never", 1, PF_SCOPE_CLASS, 0, NULL, 0);
    const uint32_t s0[] = {0}, s1[] = {0, 1}, s2[] = {0, 1, 2}, s3[] = {3};
    const opc o0[] = {{"RESUME", 1}, {"LOAD_CONST", 1}, {"MAKE_FUNCTION", 1},
                      {"STORE_NAME", 1}, {"RETURN_CONST", 1}};
    const opc o1[] = {{"LOAD_FAST", 3000000000ULL}, {"BINARY_OP", 3000000000ULL},
                      {"RESUME", 3}, {"STORE_FAST", 17}, {"JUMP_BACKWARD", 42}};
    const opc o2[] = {{"RESUME", 2}, {"LOAD_FAST", 2}, {"RETURN_VALUE", 2}};
    const opc o3[] = {{"YIELD_VALUE", 5}, {"RETURN_GENERATOR", 1}};
    add_stack(p, "MainThread", s0, N(s0), o0, N(o0));
    add_stack(p, "MainThread", s1, N(s1), o1, N(o1));
    add_stack(p, "worker-1 \xe2\x9c\x93", s2, N(s2), o2, N(o2));
    add_stack(p, "worker-2", s3, N(s3), o3, N(o3));
    add_stack(p, "worker-2", s3, 0, NULL, 0);    /* no frames, no opcodes */
    return p;
}

static uint64_t stack_op_count(const pf_profile *p, const pf_stack *s, const char *name)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nops; i++)
        if (strcmp(opname_of(p, s->ops[i].op), name) == 0)
            n += s->ops[i].count;
    return n;
}

static void assert_profiles_equal(const pf_profile *p, const pf_profile *q)
{
    assert_same_opt_string(p->python_version, q->python_version);
    assert_same_opt_string(p->implementation, q->implementation);
    assert_int_equal(p->hexversion, q->hexversion);
    assert_same_opt_string(p->python_build, q->python_build);
    assert_same_opt_string(p->python_prefix, q->python_prefix);
    assert_int_equal(p->specialization, q->specialization);
    assert_same_opt_string(p->executable, q->executable);
    assert_same_opt_string(p->root, q->root);
    assert_same_opt_string(p->hash_seed, q->hash_seed);
    assert_same_opt_string(p->collector, q->collector);
    assert_int_equal(p->argc, q->argc);
    for (size_t i = 0; i < p->argc; i++)
        assert_string_equal(p->argv[i], q->argv[i]);
    assert_int_equal(p->exit_status, q->exit_status);
    assert_int_equal(p->incomplete, q->incomplete);
    if (p->incomplete_reason) {
        assert_non_null(q->incomplete_reason);
        assert_string_equal(p->incomplete_reason, q->incomplete_reason);
    } else {
        assert_null(q->incomplete_reason);
    }
    assert_int_equal(p->stacks_enabled, q->stacks_enabled);
    assert_int_equal(p->wall_ns, q->wall_ns);
    assert_int_equal(p->instructions, q->instructions);
    assert_int_equal(p->nfunctions, q->nfunctions);
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i], *g = &q->functions[i];
        assert_int_equal(g->id, i);
        assert_int_equal(f->id, g->id);
        assert_string_equal(f->file, g->file);
        assert_string_equal(f->name, g->name);
        assert_string_equal(f->qualname, g->qualname);
        assert_int_equal(f->firstlineno, g->firstlineno);
        assert_int_equal(f->scope, g->scope);
        assert_int_equal(f->calls, g->calls);
        assert_int_equal(f->instructions, g->instructions);
        assert_int_equal(f->ncode, g->ncode);
        for (size_t k = 0; k < f->ncode; k++) {
            assert_int_equal(f->code[k].offset, g->code[k].offset);
            assert_string_equal(opname_of(p, f->code[k].op), opname_of(q, g->code[k].op));
            assert_int_equal(f->code[k].line, g->code[k].line);
            assert_int_equal(f->code[k].count, g->code[k].count);
        }
    }
    assert_int_equal(p->nstacks, q->nstacks);
    for (size_t i = 0; i < p->nstacks; i++) {
        const pf_stack *s = &p->stacks[i], *t = &q->stacks[i];
        assert_true(s->thread < p->nthreads);
        assert_true(t->thread < q->nthreads);
        assert_string_equal(p->threads[s->thread], q->threads[t->thread]);
        assert_int_equal(s->nframes, t->nframes);
        for (size_t k = 0; k < s->nframes; k++)
            assert_int_equal(s->frames[k], t->frames[k]);
        assert_int_equal(s->instructions, t->instructions);
        assert_int_equal(s->nops, t->nops);
        for (size_t k = 0; k < s->nops; k++) {
            const char *name = opname_of(p, s->ops[k].op);
            assert_int_equal(stack_op_count(p, s, name), stack_op_count(q, t, name));
        }
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    pf_profile *p = full_profile();
    pf_profile *q = save_and_read(p, "full.json");
    assert_profiles_equal(p, q);
    /* spot checks, independent of the comparison helper */
    assert_string_equal(q->python_build, "3.12.1 (main, Jan  1 2024, 00:00:00) [GCC 13.2.0]");
    assert_string_equal(q->python_prefix, "/usr");
    assert_int_equal(q->specialization, 1);
    assert_int_equal(q->hexversion, 0x030c01f0);
    assert_string_equal(q->root, "/home/u/proj");
    assert_string_equal(q->hash_seed, "0");
    assert_string_equal(q->argv[3], "caf\xc3\xa9 \"quoted\"\n");
    assert_int_equal(q->exit_status, 3);
    assert_int_equal(q->incomplete, 1);
    assert_string_equal(q->incomplete_reason, "stopped: SIGINT");
    assert_string_equal(q->collector, "sys.monitoring");
    assert_int_equal(q->wall_ns, 123456789012345ULL);
    assert_int_equal(q->functions[0].code[0].line, -1);
    assert_int_equal(q->functions[1].code[4].line, -1);
    assert_int_equal(q->functions[1].code[4].offset, 260);
    assert_int_equal(q->functions[1].code[1].count, 3000000000ULL);
    assert_int_equal(q->functions[2].scope, PF_SCOPE_LAMBDA);
    assert_int_equal(q->functions[5].ncode, 0);
    assert_int_equal(q->nthreads, 3);
    assert_string_equal(q->threads[q->stacks[2].thread], "worker-1 \xe2\x9c\x93");
    assert_int_equal(q->stacks[4].nframes, 0);
    assert_int_equal(q->stacks[4].nops, 0);
    /* writing what was read gives the same document */
    char *j1 = to_json(p), *j2 = to_json(q);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    pf_profile_release(q);
    pf_profile_release(p);
}

/* The other values of the flags, and fields left unset. */
static void test_round_trip_defaults(void **state)
{
    (void)state;
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    set(&p->python_version, "3.11.9");
    set(&p->implementation, "cpython");
    p->hexversion = 0x030b09f0;
    p->stacks_enabled = 0;
    p->exit_status = -9;
    add_simple(p, "<string>", "<module>", 1, 4);
    pf_profile *q = save_and_read(p, "defaults.json");
    assert_int_equal(q->specialization, 0);
    assert_int_equal(q->stacks_enabled, 0);
    assert_int_equal(q->incomplete, 0);
    assert_null(q->incomplete_reason);
    assert_int_equal(q->exit_status, -9);
    assert_int_equal(q->argc, 0);
    assert_string_equal(q->hash_seed, "random");
    assert_int_equal(q->nstacks, 0);
    assert_int_equal(q->instructions, 4);
    assert_int_equal(q->functions[0].code[0].count, 4);
    assert_true(pf_same_interpreter(p, q));
    pf_profile_release(q);
    pf_profile_release(p);
}

/* A timed profile: the sampling fields read back too. */
static void test_round_trip_timed(void **state)
{
    (void)state;
    pf_profile *p = full_profile();
    p->timed = 1;
    set(&p->timing_method, "sampling");
    set(&p->timing_clock, "thread CPU time");
    p->rate_hz = 997;
    p->samples = 12345;
    p->sampled_ns = 9876543210ULL;
    p->overhead_ns = 1111;
    p->unattributed_ns = 2222;
    uint64_t t = 1;
    for (size_t i = 0; i < p->nfunctions; i++) {
        pf_function *f = &p->functions[i];
        for (size_t k = 0; k < f->ncode; k++) {
            f->code[k].time_ns = t * 1000;
            f->code[k].samples = t++;
            f->time_ns += f->code[k].time_ns;
        }
        f->cumulative_ns = f->time_ns + 7;
        p->time_ns += f->time_ns;
    }
    for (size_t i = 0; i < p->nstacks; i++) {
        pf_stack *s = &p->stacks[i];
        for (size_t k = 0; k < s->nops; k++) {
            s->ops[k].time_ns = 500 + k;
            s->time_ns += s->ops[k].time_ns;
        }
    }
    pf_profile *q = save_and_read(p, "timed.json");
    assert_profiles_equal(p, q);
    assert_int_equal(q->timed, 1);
    assert_string_equal(q->timing_method, "sampling");
    assert_string_equal(q->timing_clock, "thread CPU time");
    assert_int_equal(q->rate_hz, 997);
    assert_int_equal(q->samples, 12345);
    assert_int_equal(q->sampled_ns, 9876543210ULL);
    assert_int_equal(q->overhead_ns, 1111);
    assert_int_equal(q->unattributed_ns, 2222);
    assert_int_equal(q->time_ns, p->time_ns);
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i], *g = &q->functions[i];
        assert_int_equal(g->time_ns, f->time_ns);
        assert_int_equal(g->cumulative_ns, f->cumulative_ns);
        for (size_t k = 0; k < f->ncode; k++) {
            assert_int_equal(g->code[k].time_ns, f->code[k].time_ns);
            assert_int_equal(g->code[k].samples, f->code[k].samples);
        }
    }
    for (size_t i = 0; i < p->nstacks; i++) {
        const pf_stack *s = &p->stacks[i], *u = &q->stacks[i];
        assert_int_equal(u->time_ns, s->time_ns);
        for (size_t k = 0; k < s->nops; k++) {
            size_t m = 0;
            while (m < u->nops && strcmp(opname_of(q, u->ops[m].op), opname_of(p, s->ops[k].op)))
                m++;
            assert_true(m < u->nops);
            assert_int_equal(u->ops[m].time_ns, s->ops[k].time_ns);
        }
    }
    char *j1 = to_json(p), *j2 = to_json(q);
    assert_string_equal(j1, j2);
    free(j1);
    free(j2);
    /* an untimed profile reads back untimed */
    pf_profile_release(q);
    p->timed = 0;
    q = save_and_read(p, "untimed.json");
    assert_int_equal(q->timed, 0);
    assert_int_equal(q->functions[1].time_ns, 0);
    assert_int_equal(q->functions[1].code[1].time_ns, 0);
    pf_profile_release(q);
    pf_profile_release(p);
}

/* A file name that is not UTF-8 reads back with U+FFFD for the bad byte. */
static void test_round_trip_non_utf8_file(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/a/proj", NULL);
    add_simple(p, "/a/proj/caf\xff.py", "f", 1, 3);
    pf_profile *q = save_and_read(p, "ff.json");
    assert_string_equal(q->functions[0].file, "/a/proj/caf\xef\xbf\xbd.py");
    assert_string_equal(q->functions[0].qualname, "f");
    pf_profile_release(q);
    pf_profile_release(p);
}

/* ---- pf_read_file errors -------------------------------------------- */

/* A minimal valid profile; the numbers make it invalid in chosen ways. */
static char *minimal_doc(int version, int total, int id, int frame)
{
    char *doc = NULL;
    assert_true(asprintf(&doc,
        "{\"schema\": \"opprof-profile\", \"version\": %d,\n"
        " \"python\": {\"version\": \"3.12.1\", \"implementation\": \"cpython\","
        " \"hexversion\": 51118576},\n"
        " \"argv\": [\"m.py\"], \"exit_status\": 0,\n"
        " \"totals\": {\"instructions\": %d, \"wall_ns\": 10},\n"
        " \"functions\": [\n"
        "  {\"id\": 0, \"file\": \"m.py\", \"name\": \"f\", \"qualname\": \"f\","
        " \"firstlineno\": 1, \"scope\": \"function\", \"calls\": 1, \"instructions\": 5,"
        " \"code\": [{\"offset\": 0, \"opname\": \"RESUME\", \"line\": null, \"count\": 2},"
        " {\"offset\": 2, \"opname\": \"LOAD_FAST\", \"line\": 1, \"count\": 3}]},\n"
        "  {\"id\": %d, \"file\": \"m.py\", \"name\": \"g\", \"qualname\": \"g\","
        " \"firstlineno\": 4, \"scope\": \"function\", \"calls\": 0, \"instructions\": 0,"
        " \"code\": []}\n"
        " ],\n"
        " \"stacks\": [{\"thread\": \"MainThread\", \"frames\": [%d], \"instructions\": 5,"
        " \"opcodes\": {\"LOAD_FAST\": {\"count\": 3}, \"RESUME\": {\"count\": 2}}}]}\n",
        version, total, id, frame) > 0);
    return doc;
}

static void expect_read_error(const char *name, const char *text, const char *needle)
{
    char *path = path_in_tmp(name);
    if (text)
        write_text(path, text);
    char err[512];
    memset(err, 0, sizeof err);
    pf_profile *p = (pf_profile *)err;      /* must be reset */
    int rc = pf_read_file(path, &p, err, sizeof err);
    if (rc != -1)
        fail_msg("%s: read without error", name);
    assert_null(p);
    if (err[0] == 0)
        fail_msg("%s: empty error message", name);
    if (strchr(err, '\n'))
        fail_msg("%s: error message on several lines: %s", name, err);
    if (needle && !strstr(err, needle))
        fail_msg("%s: error \"%s\" does not mention \"%s\"", name, err, needle);
    free(path);
}

static void test_read_minimal(void **state)
{
    (void)state;
    char *doc = minimal_doc(1, 5, 1, 1);
    char *path = path_in_tmp("minimal.json");
    write_text(path, doc);
    char err[256] = "";
    pf_profile *p = NULL;
    int rc = pf_read_file(path, &p, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(p->nfunctions, 2);
    assert_int_equal(p->instructions, 5);
    assert_int_equal(p->wall_ns, 10);
    assert_int_equal(p->functions[0].code[0].line, -1);
    assert_int_equal(p->functions[0].code[1].line, 1);
    assert_int_equal(p->nstacks, 1);
    assert_int_equal(p->stacks[0].frames[0], 1);
    assert_int_equal(stack_op_count(p, &p->stacks[0], "RESUME"), 2);
    assert_int_equal(p->stacks_enabled, 0);     /* absent: false */
    assert_null(p->root);
    pf_profile_release(p);
    free(path);
    free(doc);
}

static void test_read_errors(void **state)
{
    (void)state;
    char *doc = minimal_doc(1, 5, 1, 1);
    char *truncated = strdup(doc);
    assert_non_null(truncated);
    truncated[strlen(truncated) / 2] = 0;
    expect_read_error("missing.json", NULL, "missing.json");
    expect_read_error("empty.json", "", "not valid JSON");
    expect_read_error("text.json", "opprof was here\n", "not valid JSON");
    expect_read_error("truncated.json", truncated, "not valid JSON");
    expect_read_error("array.json", "[1, 2, 3]", "not an opprof profile");
    expect_read_error("other.json", "{\"schema\":\"other\"}", "not an opprof profile");
    expect_read_error("noschema.json", "{\"version\": 1}", "not an opprof profile");
    expect_read_error("dup.json", "{\"schema\":\"opprof-profile\",\"schema\":\"x\"}", NULL);
    free(truncated);
    free(doc);
    struct {
        const char *name;
        int version, total, id, frame;
        const char *needle;
    } bad[] = {
        {"v2.json", 2, 5, 1, 1, "version 2"},
        {"v0.json", 0, 5, 1, 1, "version"},
        {"total.json", 1, 6, 1, 1, "totals.instructions"},
        {"total0.json", 1, 0, 1, 1, "totals.instructions"},
        {"frame.json", 1, 5, 1, 2, "stack 0"},
        {"frame-neg.json", 1, 5, 1, -1, "stack 0"},
        {"id.json", 1, 5, 7, 1, "id"},
        {"id0.json", 1, 5, 0, 0, "id"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        doc = minimal_doc(bad[i].version, bad[i].total, bad[i].id, bad[i].frame);
        expect_read_error(bad[i].name, doc, bad[i].needle);
        free(doc);
    }
    /* a directory is not a file */
    expect_read_error(".", NULL, NULL);
}

/* ---- pf_merge ------------------------------------------------------- */

static pf_profile *merge2(pf_profile *a, pf_profile *b)
{
    pf_profile *in[] = {a, b}, *out = NULL;
    char err[256] = "";
    if (pf_merge(in, 2, &out, err, sizeof err) != 0)
        fail_msg("pf_merge: %s", err);
    assert_non_null(out);
    return out;
}

static const pf_instr *instr_at(const pf_function *f, uint32_t offset)
{
    for (size_t i = 0; i < f->ncode; i++)
        if (f->code[i].offset == offset)
            return &f->code[i];
    return NULL;
}

static const pf_stack *find_stack(const pf_profile *p, const char *thread,
                                  const uint32_t *frames, size_t n)
{
    for (size_t i = 0; i < p->nstacks; i++) {
        const pf_stack *s = &p->stacks[i];
        if (strcmp(p->threads[s->thread], thread) || s->nframes != n)
            continue;
        if (n == 0 || memcmp(s->frames, frames, n * sizeof *frames) == 0)
            return s;
    }
    return NULL;
}

static void test_merge_sums(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/p", NULL), *b = profile_new("/p", NULL);
    /* b's opname table is in another order */
    pf_opname_index(b, "CALL");
    pf_opname_index(b, "RETURN_VALUE");
    const ins fa[] = {{0, "RESUME", 1, 1}, {2, "LOAD_FAST", 2, 10}, {4, "CALL", 2, 10}};
    const ins fb[] = {{0, "RESUME", 1, 2}, {4, "CALL", 2, 5}, {6, "RETURN_VALUE", 3, 2}};
    add_fn_scope(a, "/p/m.py", "main", 1, PF_SCOPE_FUNCTION, 1, fa, N(fa));
    add_simple(a, "/p/m.py", "only_a", 10, 7);
    add_simple(b, "/p/m.py", "only_b", 20, 9);
    add_fn_scope(b, "/p/m.py", "main", 1, PF_SCOPE_FUNCTION, 2, fb, N(fb));
    a->wall_ns = 1000;
    b->wall_ns = 2500;
    const uint32_t a_main[] = {0}, a_only[] = {0, 1}, b_main[] = {1}, b_only[] = {1, 0};
    const opc oa[] = {{"LOAD_FAST", 10}, {"CALL", 10}, {"RESUME", 1}};
    const opc ob[] = {{"CALL", 5}, {"RESUME", 2}, {"RETURN_VALUE", 2}};
    const opc o7[] = {{"LOAD_FAST", 7}}, o9[] = {{"LOAD_FAST", 9}};
    add_stack(a, "MainThread", a_main, 1, oa, N(oa));
    add_stack(a, "MainThread", a_only, 2, o7, 1);
    add_stack(b, "T2", b_main, 1, ob, 1);            /* CALL 5 in another thread */
    add_stack(b, "MainThread", b_main, 1, ob + 1, 2); /* RESUME 2, RETURN_VALUE 2 */
    add_stack(b, "MainThread", b_only, 2, o9, 1);
    b->exit_status = 4;
    assert_int_equal(pf_mark_incomplete(b, "timeout"), 0);
    /* times add up like counts */
    a->timed = b->timed = 1;
    a->functions[0].code[2].time_ns = 50;      /* CALL at 4 */
    b->functions[1].code[1].time_ns = 70;
    a->functions[0].time_ns = a->time_ns = 50;
    b->functions[1].time_ns = b->time_ns = 70;
    a->samples = 5;
    b->samples = 7;

    pf_profile *m = merge2(a, b);
    assert_true(pf_same_interpreter(m, a));
    assert_string_equal(m->root, "/p");
    assert_int_equal(m->wall_ns, 3500);
    assert_int_equal(m->instructions, 21 + 7 + 9 + 9);
    assert_int_equal(m->exit_status, 4);
    assert_int_equal(m->incomplete, 1);
    assert_string_equal(m->incomplete_reason, "timeout");
    assert_int_equal(m->nfunctions, 3);
    /* order of first appearance: main, only_a (from a), only_b (from b) */
    assert_string_equal(m->functions[0].qualname, "main");
    assert_string_equal(m->functions[1].qualname, "only_a");
    assert_string_equal(m->functions[2].qualname, "only_b");
    uint64_t sum = 0;
    for (size_t i = 0; i < m->nfunctions; i++) {
        assert_int_equal(m->functions[i].id, i);
        sum += m->functions[i].instructions;
    }
    assert_int_equal(sum, m->instructions);
    const pf_function *f = &m->functions[0];
    assert_int_equal(f->calls, 3);
    assert_int_equal(f->instructions, 30);
    assert_int_equal(f->ncode, 4);
    static const struct {
        uint32_t off;
        const char *op;
        uint64_t count;
    } want[] = {{0, "RESUME", 3}, {2, "LOAD_FAST", 10}, {4, "CALL", 15}, {6, "RETURN_VALUE", 2}};
    for (size_t i = 0; i < N(want); i++) {
        assert_int_equal(f->code[i].offset, want[i].off);   /* sorted by offset */
        assert_string_equal(opname_of(m, f->code[i].op), want[i].op);
        assert_int_equal(f->code[i].count, want[i].count);
    }
    assert_int_equal(m->functions[2].instructions, 9);
    assert_int_equal(m->timed, 1);
    assert_int_equal(m->time_ns, 120);
    assert_int_equal(m->samples, 12);
    assert_int_equal(f->time_ns, 120);
    assert_int_equal(instr_at(f, 4)->time_ns, 120);
    /* stacks: same thread and frames add up; ids are the merged ones */
    assert_int_equal(m->nstacks, 4);
    const uint32_t m_main[] = {0}, m_a[] = {0, 1}, m_b[] = {0, 2};
    const pf_stack *s = find_stack(m, "MainThread", m_main, 1);
    assert_non_null(s);
    assert_int_equal(s->instructions, 21 + 4);
    assert_int_equal(stack_op_count(m, s, "RESUME"), 3);
    assert_int_equal(stack_op_count(m, s, "CALL"), 10);
    assert_int_equal(stack_op_count(m, s, "RETURN_VALUE"), 2);
    assert_int_equal(stack_op_count(m, s, "LOAD_FAST"), 10);
    s = find_stack(m, "T2", m_main, 1);
    assert_non_null(s);
    assert_int_equal(s->instructions, 5);
    assert_int_equal(stack_op_count(m, s, "CALL"), 5);
    s = find_stack(m, "MainThread", m_a, 2);
    assert_non_null(s);
    assert_int_equal(s->instructions, 7);
    s = find_stack(m, "MainThread", m_b, 2);
    assert_non_null(s);
    assert_int_equal(s->instructions, 9);
    /* the result writes and reads back */
    pf_profile *q = save_and_read(m, "merged.json");
    assert_profiles_equal(m, q);
    pf_profile_release(q);
    pf_profile_release(m);
    /* times of some of the runs only would mislead: dropped */
    b->timed = 0;
    m = merge2(a, b);
    assert_int_equal(m->timed, 0);
    pf_profile_release(m);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* Merging does not change its inputs; one profile merges into a copy. */
static void test_merge_keeps_inputs(void **state)
{
    (void)state;
    pf_profile *a = full_profile(), *b = full_profile();
    char *ja = to_json(a);
    pf_profile *m = merge2(a, b);
    char *ja2 = to_json(a), *jb2 = to_json(b);
    assert_string_equal(ja, ja2);
    assert_string_equal(ja, jb2);
    assert_int_equal(m->nfunctions, a->nfunctions);
    assert_int_equal(m->nstacks, a->nstacks);
    assert_int_equal(m->instructions, 2 * a->instructions);
    assert_int_equal(m->wall_ns, 2 * a->wall_ns);
    pf_profile *in[] = {a}, *one = NULL;
    char err[128] = "";
    assert_int_equal(pf_merge(in, 1, &one, err, sizeof err), 0);
    char *j1 = to_json(one);
    assert_string_equal(ja, j1);
    free(j1);
    free(ja);
    free(ja2);
    free(jb2);
    pf_profile_release(one);
    pf_profile_release(m);
    pf_profile_release(a);
    pf_profile_release(b);
}

/* The same name and line but other code at one offset: another function
 * (the file was edited between the runs). */
static void test_merge_same_key_different_code(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/p", NULL), *b = profile_new("/p", NULL);
    const ins fa[] = {{0, "RESUME", 1, 1}, {2, "LOAD_CONST", 2, 1}};
    const ins fb[] = {{0, "RESUME", 1, 1}, {2, "LOAD_FAST", 2, 1}};
    const ins fc[] = {{0, "RESUME", 1, 1}, {4, "LOAD_FAST", 2, 1}};   /* no common offset */
    add_fn(a, "/p/m.py", "f", 1, fa, N(fa));
    add_fn(b, "/p/m.py", "f", 1, fb, N(fb));
    /* one key, one function, whatever the code (identity by key is what
     * keeps merging associative); the first opname seen at an offset stays */
    pf_profile *m = merge2(a, b);
    assert_int_equal(m->nfunctions, 1);
    assert_string_equal(opname_of(m, instr_at(&m->functions[0], 2)->op), "LOAD_CONST");
    assert_int_equal(instr_at(&m->functions[0], 2)->count, 2);
    assert_int_equal(m->functions[0].instructions, 4);
    assert_int_equal(m->instructions, 4);
    pf_profile_release(m);
    /* a different first line or file is another function too */
    pf_profile_release(b);
    b = profile_new("/p", NULL);
    add_fn(b, "/p/m.py", "f", 2, fa, N(fa));
    add_fn(b, "/p/n.py", "f", 1, fa, N(fa));
    add_fn(b, "/p/m.py", "f", 1, fc, N(fc));   /* agrees where it overlaps: same */
    m = merge2(a, b);
    assert_int_equal(m->nfunctions, 3);
    assert_int_equal(m->functions[0].ncode, 3);
    assert_int_equal(m->functions[0].instructions, 4);
    pf_profile_release(m);
    pf_profile_release(a);
    pf_profile_release(b);
}

static void test_merge_refuses_other_interpreter(void **state)
{
    (void)state;
    for (int what = 0; what < 3; what++) {
        pf_profile *a = profile_new("/p", NULL), *b = profile_new("/p", NULL);
        add_simple(a, "/p/m.py", "f", 1, 1);
        add_simple(b, "/p/m.py", "f", 1, 1);
        if (what == 0) {
            b->hexversion = 0x030d00f0;
            set(&b->python_version, "3.13.0");
        } else if (what == 1) {
            set(&b->python_build, "3.12.1 (main) [Clang]");
        } else {
            b->specialization = 0;
        }
        pf_profile *in[] = {a, a, b}, *out = (pf_profile *)in;
        char err[256] = "";
        assert_int_equal(pf_merge(in, 3, &out, err, sizeof err), -1);
        assert_null(out);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
        assert_non_null(strstr(err, "profile 3"));
        pf_profile_release(a);
        pf_profile_release(b);
    }
    pf_profile *out = NULL;
    char err[64] = "";
    assert_int_equal(pf_merge(NULL, 0, &out, err, sizeof err), -1);
    assert_null(out);
    assert_true(strlen(err) > 0);
}

/* Three runs of one program that overlap in part, in several threads. */
static pf_profile *assoc_profile(int which)
{
    pf_profile *p = profile_new("/p", "/usr");
    const ins common[] = {{0, "RESUME", 1, 1}, {2, "LOAD_GLOBAL", 2, 3u + (unsigned)which},
                          {12, "CALL", 2, 3u + (unsigned)which}};
    const ins branch_a[] = {{0, "RESUME", 5, 40}, {2, "LOAD_FAST", 6, 400}, {8, "RETURN_VALUE", 7, 40}};
    const ins branch_b[] = {{0, "RESUME", 5, 7}, {4, "COMPARE_OP", 6, 77}, {8, "RETURN_VALUE", 7, 7}};
    const ins worker[] = {{0, "RESUME", 20, 2}, {2, "LOAD_ATTR", 21, 900}, {6, "STORE_FAST", 22, 123}};
    const ins lib[] = {{0, "RESUME", 332, 11}, {2, "LOAD_DEREF", 333, 61}};
    uint32_t mod = (uint32_t)add_fn_scope(p, "/p/m.py", "<module>", 1, PF_SCOPE_MODULE, 1,
                                          common, N(common));
    if (which == 0) {
        uint32_t f = (uint32_t)add_fn(p, "/p/m.py", "step", 5, branch_a, N(branch_a));
        uint32_t w = (uint32_t)add_fn(p, "/p/m.py", "Worker.run", 20, worker, N(worker));
        const uint32_t s1[] = {mod, f}, s2[] = {w};
        const opc o1[] = {{"LOAD_FAST", 400}, {"RESUME", 40}, {"RETURN_VALUE", 40}};
        const opc o2[] = {{"LOAD_ATTR", 900}, {"STORE_FAST", 123}, {"RESUME", 2}};
        add_stack(p, "MainThread", s1, 2, o1, N(o1));
        add_stack(p, "Thread-1", s2, 1, o2, N(o2));
        p->wall_ns = 111;
    } else if (which == 1) {
        uint32_t l = (uint32_t)add_fn(p, "/usr/lib/python3.12/json/decoder.py",
                                      "JSONDecoder.decode", 332, lib, N(lib));
        uint32_t f = (uint32_t)add_fn(p, "/p/m.py", "step", 5, branch_b, N(branch_b));
        const uint32_t s1[] = {mod, f}, s2[] = {mod, l}, s3[] = {f};
        const opc o1[] = {{"COMPARE_OP", 77}, {"RESUME", 7}, {"RETURN_VALUE", 7}};
        const opc o2[] = {{"LOAD_DEREF", 61}, {"RESUME", 11}};
        add_stack(p, "Thread-2", s3, 1, o1, 1);
        add_stack(p, "MainThread", s1, 2, o1 + 1, 2);
        add_stack(p, "MainThread", s2, 2, o2, N(o2));
        p->wall_ns = 2222;
        p->exit_status = 1;
    } else {
        uint32_t w = (uint32_t)add_fn(p, "/p/m.py", "Worker.run", 20, worker, N(worker));
        uint32_t f = (uint32_t)add_fn(p, "/p/m.py", "step", 5, branch_a, N(branch_a));
        const uint32_t s1[] = {mod, f}, s2[] = {w}, s3[] = {mod};
        const opc o1[] = {{"LOAD_FAST", 400}, {"RESUME", 40}, {"RETURN_VALUE", 40}};
        const opc o2[] = {{"LOAD_ATTR", 900}, {"STORE_FAST", 123}, {"RESUME", 2}};
        const opc o3[] = {{"LOAD_GLOBAL", 5}, {"CALL", 5}, {"RESUME", 1}};
        add_stack(p, "Thread-1", s2, 1, o2, N(o2));
        add_stack(p, "MainThread", s1, 2, o1, N(o1));
        add_stack(p, "MainThread", s3, 1, o3, N(o3));
        add_stack(p, "Thread-2", s2, 1, o2, 1);
        p->wall_ns = 33333;
        assert_int_equal(pf_mark_incomplete(p, "SIGINT"), 0);
    }
    return p;
}

static void check_associative(pf_profile *a, pf_profile *b, pf_profile *c)
{
    pf_profile *bc = merge2(b, c), *ab = merge2(a, b);
    pf_profile *left = merge2(a, bc), *right = merge2(ab, c);
    pf_profile *in[] = {a, b, c}, *all = NULL;
    char err[256] = "";
    assert_int_equal(pf_merge(in, 3, &all, err, sizeof err), 0);
    char *jl = to_json(left), *jr = to_json(right), *ja = to_json(all);
    assert_string_equal(jl, jr);
    assert_string_equal(jl, ja);
    free(jl);
    free(jr);
    free(ja);
    pf_profile_release(all);
    pf_profile_release(left);
    pf_profile_release(right);
    pf_profile_release(ab);
    pf_profile_release(bc);
}

static void test_merge_associative(void **state)
{
    (void)state;
    pf_profile *a = assoc_profile(0), *b = assoc_profile(1), *c = assoc_profile(2);
    check_associative(a, b, c);
    check_associative(c, b, a);
    check_associative(b, a, c);
    pf_profile_release(a);
    pf_profile_release(b);
    pf_profile_release(c);
}

static void test_merge_associative_opcode_ties(void **state)
{
    (void)state;
    /* Fixed bug: pf_json_write lists a function's "opcodes" most
     * frequent first and breaks ties by the position of the opcode in
     * p->opnames; pf_merge fills out->opnames in the order it walks the
     * code of the (already merged) inputs, by offset, so the table's order
     * depends on how the merges were grouped.  Here b executed only the
     * CALL at offset 4 and c only the LOAD_FAST at offset 2, five times
     * each: merge(merge(a, b), c) writes "CALL" before "LOAD_FAST",
     * merge(a, merge(b, c)) the other way round. */
    pf_profile *a = profile_new("/p", NULL), *b = profile_new("/p", NULL),
               *c = profile_new("/p", NULL);
    const ins fa[] = {{0, "RESUME", 1, 1}};
    const ins fb[] = {{0, "RESUME", 1, 1}, {4, "CALL", 2, 5}};
    const ins fc[] = {{0, "RESUME", 1, 1}, {2, "LOAD_FAST", 2, 5}};
    add_fn(a, "/p/m.py", "f", 1, fa, N(fa));
    add_fn(b, "/p/m.py", "f", 1, fb, N(fb));
    add_fn(c, "/p/m.py", "f", 1, fc, N(fc));
    check_associative(a, b, c);
    pf_profile_release(a);
    pf_profile_release(b);
    pf_profile_release(c);
}

static void test_merge_associative_partial_code(void **state)
{
    (void)state;
    /* Fixed bug: same_function() compares opcodes only at the
     * offsets both functions executed, so "same" is not transitive.  a ran
     * f's LOAD_CONST at offset 2, b only the CALL at 4, c (after an edit
     * below f's first line) LOAD_FAST at 2 and CALL at 4.
     * merge(merge(a, b), c): a+b agree (no common offset), c differs at 2:
     *   two functions, {2 LOAD_CONST, 4 CALL} and {2 LOAD_FAST, 4 CALL}.
     * merge(a, merge(b, c)): b+c agree at 4, a differs at 2:
     *   {2 LOAD_CONST} and {2 LOAD_FAST, 4 CALL: 2}.
     * merge.h promises the same file either way. */
    pf_profile *a = profile_new("/p", NULL), *b = profile_new("/p", NULL),
               *c = profile_new("/p", NULL);
    const ins fa[] = {{2, "LOAD_CONST", 2, 1}};
    const ins fb[] = {{4, "CALL", 2, 1}};
    const ins fc[] = {{2, "LOAD_FAST", 2, 1}, {4, "CALL", 2, 1}};
    add_fn(a, "/p/m.py", "f", 1, fa, N(fa));
    add_fn(b, "/p/m.py", "f", 1, fb, N(fb));
    add_fn(c, "/p/m.py", "f", 1, fc, N(fc));
    check_associative(a, b, c);
    pf_profile_release(a);
    pf_profile_release(b);
    pf_profile_release(c);
}

/* Two generator expressions on one line of one run are two functions. */
static void test_merge_one_profile_same_line(void **state)
{
    (void)state;
    /* Fixed bug: merge_function() looks for a partner among all
     * the functions of the output, including those that came from the same
     * input, so two distinct code objects of one run with the same file,
     * qualname, first line and opcodes (sum(x for x in a) +
     * sum(y for y in b)) become one function: merging a single profile
     * changes it, and `opprof diff` of merged against unmerged profiles
     * then pairs one <genexpr> with nothing. */
    pf_profile *p = profile_new("/p", NULL);
    const ins g[] = {{0, "RETURN_GENERATOR", 3, 1}, {2, "POP_TOP", 3, 1}, {4, "RESUME", 3, 1},
                     {6, "LOAD_FAST", 3, 4}, {8, "FOR_ITER", 3, 4}};
    const ins g2[] = {{0, "RETURN_GENERATOR", 3, 1}, {2, "POP_TOP", 3, 1}, {4, "RESUME", 3, 1},
                     {6, "LOAD_FAST", 3, 9}, {8, "FOR_ITER", 3, 9}};
    add_fn_scope(p, "/p/m.py", "<genexpr>", 3, PF_SCOPE_GENERATOR, 1, g, N(g));
    add_fn_scope(p, "/p/m.py", "<genexpr>", 3, PF_SCOPE_GENERATOR, 1, g2, N(g2));
    pf_profile *in[] = {p}, *m = NULL;
    char err[64];
    assert_int_equal(pf_merge(in, 1, &m, err, sizeof err), 0);
    assert_int_equal(m->nfunctions, 2);
    assert_int_equal(m->functions[0].instructions, 11);
    assert_int_equal(m->functions[1].instructions, 21);
    char *jp = to_json(p), *jm = to_json(m);
    assert_string_equal(jp, jm);
    free(jp);
    free(jm);
    pf_profile_release(m);
    pf_profile_release(p);
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
        cmocka_unit_test(test_gate_default_any_growth),
        cmocka_unit_test(test_gate_threshold),
        cmocka_unit_test(test_gate_soft),
        cmocka_unit_test(test_gate_function_threshold),
        cmocka_unit_test(test_gate_total_marks_grown),
        cmocka_unit_test(test_gate_min_instructions),
        cmocka_unit_test(test_gate_imports),
        cmocka_unit_test(test_gate_improvements_never_fail),
        cmocka_unit_test(test_added_pct_inf),
        cmocka_unit_test(test_opcode_deltas),
        cmocka_unit_test(test_refuse_other_interpreter),
        cmocka_unit_test(test_refuse_time_metric),
        cmocka_unit_test(test_time_metric),
        cmocka_unit_test(test_hash_seed_warnings),
        cmocka_unit_test(test_incomplete_warning),
        cmocka_unit_test(test_sorted_by_abs_delta),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_defaults),
        cmocka_unit_test(test_round_trip_timed),
        cmocka_unit_test(test_round_trip_non_utf8_file),
        cmocka_unit_test(test_read_minimal),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_merge_sums),
        cmocka_unit_test(test_merge_keeps_inputs),
        cmocka_unit_test(test_merge_same_key_different_code),
        cmocka_unit_test(test_merge_refuses_other_interpreter),
        cmocka_unit_test(test_merge_associative),
        cmocka_unit_test(test_merge_associative_opcode_ties),
        cmocka_unit_test(test_merge_associative_partial_code),
        cmocka_unit_test(test_merge_one_profile_same_line),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
