/*
 * test_diff_render.c - unit tests for the `opprof diff` renderers
 * (reports/diff_text.c, diff_markdown.c, diff_json.c).
 *
 * Results are built by hand: the renderers must not depend on diff.c.
 * Each format of the main fixture is compared byte for byte with a golden
 * file in tests/golden/diff/, read relative to the current directory (the
 * test runner runs from the repository root).  After an intended change of
 * a format, OPPROF_UPDATE_GOLDEN=1 rewrites the golden files; review the
 * git diff.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/diff.h"
#include "../../reports/diff_render.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden/diff/"
#endif

/* ---- building results by hand --------------------------------------- */

typedef struct op_spec {
    const char *name;
    int64_t before, after;
} op_spec;

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

static df_result *result_new(const char *base, const char *new_, size_t cap)
{
    df_result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->base_name = xstrdup(base);
    r->new_name = xstrdup(new_);
    r->functions = calloc(cap, sizeof *r->functions);
    assert_non_null(r->functions);
    return r;
}

/* Appends a function; the caller keeps the order diff.c would produce. */
static df_function *add_function(df_result *r, const char *file, const char *qualname,
                                 int line, df_status status, int gated, int64_t before,
                                 int64_t after, int over_limit, const op_spec *ops,
                                 size_t nops)
{
    df_function *f = &r->functions[r->nfunctions++];
    assert_true(asprintf(&f->key, "%s:%s", file, qualname) > 0);
    f->file = xstrdup(file);
    f->qualname = xstrdup(qualname);
    f->line = line;
    f->status = status;
    f->gated = gated;
    f->before = before;
    f->after = after;
    f->pct = before ? 100.0 * (double)(after - before) / (double)before
                    : (after ? INFINITY : 0.0);
    f->over_limit = over_limit;
    if (nops) {
        f->ops = calloc(nops, sizeof *f->ops);
        assert_non_null(f->ops);
        for (size_t i = 0; i < nops; i++) {
            f->ops[i].opname = xstrdup(ops[i].name);
            f->ops[i].before = ops[i].before;
            f->ops[i].after = ops[i].after;
        }
        f->nops = nops;
    }
    if (gated) {
        r->total_before += before;
        r->total_after += after;
    }
    return f;
}

static void add_warning(df_result *r, const char *line)
{
    char **w = realloc(r->warnings, (r->nwarnings + 1) * sizeof *w);
    assert_non_null(w);
    r->warnings = w;
    r->warnings[r->nwarnings++] = xstrdup(line);
}

static void set_total_pct(df_result *r)
{
    r->total_pct = r->total_before
                       ? 100.0 * (double)(r->total_after - r->total_before) /
                             (double)r->total_before
                       : 0.0;
}

/* diff.c's df_result_release() is not part of this unit. */
static void result_free(df_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfunctions; i++) {
        df_function *f = &r->functions[i];
        for (size_t k = 0; k < f->nops; k++)
            free(f->ops[k].opname);
        free(f->ops);
        free(f->key);
        free(f->file);
        free(f->qualname);
    }
    for (size_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r->functions);
    free(r->base_name);
    free(r->new_name);
    free(r);
}

/* Every kind of row: changed over the limit with three opcode deltas,
 * added, removed, improved, not gated, over the limit with more opcode
 * deltas than are shown, unchanged; a total over its limit; a warning.
 * Names hold characters every format must escape. */
static int setup_regression(void **state)
{
    static const op_spec work_ops[] = {
        {"LOAD_GLOBAL", 100000, 1300000}, {"LOAD_FAST", 900000, 600000},
        {"CALL", 200000, 500000}};
    static const op_spec helper_ops[] = {{"LOAD_FAST", 0, 300000}, {"BINARY_OP", 0, 200000}};
    static const op_spec old_ops[] = {{"LOAD_ATTR", 150000, 0}, {"CALL", 100000, 0}};
    static const op_spec setup_ops[] = {{"STORE_ATTR", 400000, 300000}};
    static const op_spec import_ops[] = {{"LOAD_FAST", 20000, 32000}};
    static const op_spec lambda_ops[] = {
        {"LOAD_CONST", 100, 700}, {"LOAD_FAST", 1000, 1500}, {"BINARY_OP", 200, 600},
        {"RETURN_VALUE", 300, 600}, {"CALL", 400, 600}, {"POP_TOP", 500, 400},
        {"LOAD_GLOBAL", 0, 100}};
    static const op_spec same_ops[] = {{"LOAD_FAST", 1000, 1000}};
    df_result *r = result_new("base.json", "new.json", 8);
    r->opts.metric = DF_INSTRUCTIONS;
    r->opts.threshold = 2.0;
    r->opts.function_threshold = 10.0;
    r->opts.min_instructions = 1000;
    r->opts.top = 3;
    add_function(r, "pkg/core.py", "Outer.work", 12, DF_CHANGED, 1, 4800000, 6000000, 1,
                 work_ops, 3);
    add_function(r, "pkg/util.py", "helper", 3, DF_ADDED, 1, 0, 500000, 0, helper_ops, 2);
    add_function(r, "pkg/util.py", "old_helper", 40, DF_REMOVED, 1, 250000, 0, 0, old_ops, 2);
    add_function(r, "pkg/core.py", "Outer.setup", 30, DF_CHANGED, 1, 1000000, 900000, 0,
                 setup_ops, 1);
    add_function(r, "<frozen importlib._bootstrap>", "_find_and_load", 1165, DF_CHANGED, 0,
                 50000, 62000, 0, import_ops, 1);
    add_function(r, "pkg/a|b,c:d&e's.py", "<lambda>", 7, DF_CHANGED, 1, 10000, 12000, 1,
                 lambda_ops, 7);
    add_function(r, "pkg/core.py", "Outer.__init__", 5, DF_SAME, 1, 3000, 3000, 0, same_ops, 1);
    set_total_pct(r);
    r->total_over_limit = 1;
    r->regressions = 2;
    r->improvements = 1;
    r->added = 1;
    r->removed = 1;
    r->verdict = DF_REGRESSION;
    add_warning(r, "new.json is \"incomplete\": 3 instructions unaccounted for (<0.1%)");
    *state = r;
    return 0;
}

/* Nothing changed: one unchanged function, the default hard limit of 0%. */
static int setup_ok(void **state)
{
    df_result *r = result_new("a.json", "b.json", 1);
    r->opts.metric = DF_INSTRUCTIONS;
    r->opts.threshold = 0.0;
    r->opts.function_threshold = -1.0;
    add_function(r, "m.py", "main", 1, DF_SAME, 1, 1000, 1000, 0, NULL, 0);
    set_total_pct(r);
    r->verdict = DF_OK;
    *state = r;
    return 0;
}

static int teardown_result(void **state)
{
    result_free(*state);
    return 0;
}

/* ---- rendering and golden files --------------------------------------- */

/* The document `fn` writes for r, NUL-terminated; caller frees. */
static char *render(df_render_fn fn, const df_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(r, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

static void check_golden(const char *format, const df_result *r, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s", GOLDEN_DIR, name);
    df_render_fn fn = df_renderer(format);
    assert_non_null(fn);
    char *got = render(fn, r);
    golden_check(path, got);
    free(got);
}

/* ---- tests ------------------------------------------------------------ */

static void test_golden_text(void **state) { check_golden("text", *state, "result.txt"); }
static void test_golden_markdown(void **state) { check_golden("markdown", *state, "result.md"); }
static void test_golden_json(void **state) { check_golden("json", *state, "result.json"); }
static void test_golden_junit(void **state) { check_golden("junit", *state, "result.junit.xml"); }
static void test_golden_github(void **state) { check_golden("github", *state, "result.github"); }

static void test_ok_no_change(void **state)
{
    const df_result *r = *state;
    char *s = render(df_render_text, r);
    assert_string_equal(s, "opprof diff: a.json -> b.json (instructions)\n"
                           "total: 1,000 -> 1,000  no change  limit 0.0%\n"
                           "\n"
                           "no function changed\n"
                           "\n"
                           "0 regressions, 0 improvements, 0 added, 0 removed\n"
                           "verdict: ok\n");
    free(s);
    s = render(df_render_junit, r);
    assert_string_equal(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<testsuite name=\"opprof diff\" tests=\"2\" failures=\"0\" "
                           "errors=\"0\">\n"
                           "  <testcase classname=\"opprof\" name=\"total\"/>\n"
                           "  <testcase classname=\"opprof\" name=\"m.py:main\"/>\n"
                           "</testsuite>\n");
    free(s);
    s = render(df_render_markdown, r);
    assert_non_null(strstr(s, "**opprof: no regression** — instructions unchanged "
                              "(limit 0.0%): 1,000 → 1,000\n"));
    assert_non_null(strstr(s, "No function changed.\n"));
    assert_null(strstr(s, "<details>"));
    free(s);
    s = render(df_render_github, r);
    assert_string_equal(s, "::notice title=opprof::ok: instructions 1,000 -> 1,000 "
                           "(0.0%25); 0 regressions, 0 improvements, 0 added, 0 removed "
                           "(a.json -> b.json)\n");
    free(s);
    s = render(df_render_json, r);
    assert_non_null(strstr(s, "\"verdict\": \"ok\""));
    assert_non_null(strstr(s, "\"function_threshold\": null"));
    assert_non_null(strstr(s, "\"pct\": 0,"));
    free(s);
}

/* With --soft, limits warn: no JUnit failure, ::warning not ::error. */
static void test_soft(void **state)
{
    df_result *r = *state;
    r->opts.soft = 1;
    r->verdict = DF_WARNING;
    char *s = render(df_render_junit, r);
    assert_non_null(strstr(s, "tests=\"7\" failures=\"0\""));
    assert_null(strstr(s, "<failure"));
    assert_non_null(strstr(s, "<system-out>total instructions +22.3% (limit 2.0%)\n"
                              "base.json -&gt; new.json: 6,063,000 -&gt; 7,415,000 "
                              "instructions, +1,352,000 (+22.3%)</system-out>"));
    free(s);
    s = render(df_render_github, r);
    assert_null(strstr(s, "::error"));
    assert_non_null(strstr(s, "::warning file=pkg/core.py,line=12,title=opprof::"));
    assert_non_null(strstr(s, "\n::warning title=opprof::total instructions"));
    free(s);
    s = render(df_render_text, r);
    assert_non_null(strstr(s, "\nverdict: warning\n"));
    free(s);
    s = render(df_render_markdown, r);
    assert_int_equal(strncmp(s, "**opprof: warning** — ", strlen("**opprof: warning** — ")), 0);
    free(s);
}

/* Code spans survive backticks; '|' is escaped in table cells only. */
static void test_markdown_escapes(void **state)
{
    (void)state;
    df_result *r = result_new("b`ase.json", "new.json", 1);
    r->opts.threshold = -1.0;
    r->opts.function_threshold = -1.0;
    add_function(r, "dir/x_y*z.py", "we`ird|name", 1, DF_CHANGED, 1, 10, 20, 0, NULL, 0);
    set_total_pct(r);
    r->regressions = 1;
    r->verdict = DF_OK;
    char *s = render(df_render_markdown, r);
    assert_non_null(strstr(s, "**opprof: no regression** — instructions +100.0%: 10 → 20\n"));
    assert_non_null(strstr(s, "``b`ase.json`` → `new.json`: 1 regression, 0 improvements"));
    assert_non_null(strstr(s, "| ``we`ird\\|name`` (dir/x_y\\*z.py:1) | 10 | 20 | +10 | +100.0% |\n"));
    free(s);
    result_free(r);
}

/* With --metric time the amounts are nanoseconds. */
static void test_time_metric(void **state)
{
    df_result *r = *state;
    r->opts.metric = DF_TIME;
    char *s = render(df_render_text, r);
    assert_int_equal(strncmp(s, "opprof diff: base.json -> new.json (time (ns))\n", 47), 0);
    free(s);
    s = render(df_render_github, r);
    assert_non_null(strstr(s, "::Outer.work: +1,200,000 ns (+25.0%25, limit 10.0%25)\n"));
    assert_non_null(strstr(s, "::total time (ns) +22.3%25 (limit 2.0%25)\n"));
    free(s);
    s = render(df_render_json, r);
    assert_non_null(strstr(s, "\"metric\": \"time\""));
    free(s);
    s = render(df_render_junit, r);
    assert_non_null(strstr(s, "4,800,000 -&gt; 6,000,000 ns, +1,200,000 (+25.0%)"));
    free(s);
}

/* XML 1.0 holds neither bytes that are not UTF-8 nor most control
 * characters, and a file name can hold both: they become U+FFFD. */
static void test_junit_hostile_names(void **state)
{
    (void)state;
    static const op_spec ops[] = {{"<op>", 1, 3}};
    df_result *r = result_new("b\xc3\xa9se.json", "new.json", 1);
    r->opts.threshold = -1.0;
    r->opts.function_threshold = 5.0;
    add_function(r, "bad\xff\x01\"x\".py", "f\x0b\xef\xbf\xbe", 2, DF_CHANGED, 1, 10, 20, 1,
                 ops, 1);
    set_total_pct(r);
    r->verdict = DF_REGRESSION;
    add_warning(r, "tab\there\nand there");
    char *s = render(df_render_junit, r);
    assert_string_equal(
        s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<testsuite name=\"opprof diff\" tests=\"2\" failures=\"1\" errors=\"0\">\n"
           "  <testcase classname=\"opprof\" name=\"total\"/>\n"
           "  <testcase classname=\"opprof\" "
           "name=\"bad\xef\xbf\xbd\xef\xbf\xbd&quot;x&quot;.py:f\xef\xbf\xbd\xef\xbf\xbd\">\n"
           "    <failure message=\"f\xef\xbf\xbd\xef\xbf\xbd: +10 instructions (+100.0%, "
           "limit 5.0%)\">bad\xef\xbf\xbd\xef\xbf\xbd&quot;x&quot;.py:2: 10 -&gt; 20 "
           "instructions, +10 (+100.0%)\n+2 &lt;op&gt;</failure>\n"
           "  </testcase>\n"
           "  <system-out>warning: tab&#9;here&#10;and there</system-out>\n"
           "</testsuite>\n");
    free(s);
    result_free(r);
}

static void test_renderer_table(void **state)
{
    (void)state;
    assert_ptr_equal(df_renderer("text"), df_render_text);
    assert_ptr_equal(df_renderer("markdown"), df_render_markdown);
    assert_ptr_equal(df_renderer("json"), df_render_json);
    assert_ptr_equal(df_renderer("junit"), df_render_junit);
    assert_ptr_equal(df_renderer("github"), df_render_github);
    assert_null(df_renderer("nope"));
    assert_null(df_renderer(""));
    assert_null(df_renderer("TEXT"));
    assert_string_equal(df_formats, "text, markdown, json, junit, github");
    /* every name the help text lists works */
    char list[64];
    assert_true(strlen(df_formats) < sizeof list);
    strcpy(list, df_formats);
    for (char *save, *name = strtok_r(list, ", ", &save); name;
         name = strtok_r(NULL, ", ", &save))
        assert_non_null(df_renderer(name));
}

/* A full disk is reported, not ignored. */
static void test_write_error(void **state)
{
    const df_result *r = *state;
    const char *const formats[] = {"text", "markdown", "json", "junit", "github"};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        FILE *f = fopen("/dev/full", "w");
        if (!f)
            skip();
        assert_int_equal(df_renderer(formats[i])(r, f), -1);
        fclose(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden_text, setup_regression, teardown_result),
        cmocka_unit_test_setup_teardown(test_golden_markdown, setup_regression,
                                        teardown_result),
        cmocka_unit_test_setup_teardown(test_golden_json, setup_regression, teardown_result),
        cmocka_unit_test_setup_teardown(test_golden_junit, setup_regression, teardown_result),
        cmocka_unit_test_setup_teardown(test_golden_github, setup_regression, teardown_result),
        cmocka_unit_test_setup_teardown(test_ok_no_change, setup_ok, teardown_result),
        cmocka_unit_test_setup_teardown(test_soft, setup_regression, teardown_result),
        cmocka_unit_test_setup_teardown(test_time_metric, setup_regression, teardown_result),
        cmocka_unit_test(test_markdown_escapes),
        cmocka_unit_test(test_junit_hostile_names),
        cmocka_unit_test(test_renderer_table),
        cmocka_unit_test_setup_teardown(test_write_error, setup_regression, teardown_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
