/*
 * test_flame.c - unit tests for the flame-graph outputs (reports/flame.c,
 * folded.c, speedscope.c, html.c): golden files, what every variant must
 * give, and behaviour (metrics, notes, refusals, HTML, saving).
 *
 * The profile is built by hand (flame_fixtures.h): a module calling `work`
 * on the main thread and from a worker thread, a function whose name needs
 * escaping, a stdlib frame outside the root; timed with stacks, and its
 * --no-stacks, --no-time and --time-only variants.  Folded and speedscope
 * outputs are compared byte for byte with tests/golden/flame/
 * (OPPROF_UPDATE_GOLDEN=1 rewrites them; review the git diff).  Every
 * variant, metric and --opcodes must give lines matching ^(.*) (\d+)$ whose
 * weights add up to the total, a graph in the order flame.h promises,
 * speedscope events that nest, and the same bytes once the profile has
 * been saved and read back.  The tree itself is in test_flame_tree.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flame_fixtures.h"

#define GOLDEN_DIR "tests/golden/flame/"

/* ---- golden files ------------------------------------------------------ */

static void check_golden(const char *format, const pf_profile *p, const fl_options *o,
                         const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s", GOLDEN_DIR, name);
    char *s = must_render(format, p, o);
    golden_check(path, s);
    free(s);
}

static void test_golden(void **state)
{
    (void)state;
    pf_profile *p = make_profile(TIMED, 0), *n = make_profile(NO_STACKS, 0);
    fl_options time = opts(FL_METRIC_AUTO, 0), count_ops = opts(FL_METRIC_INSTRUCTIONS, 1);
    check_golden("folded", p, &time, "timed.folded");
    check_golden("folded", p, &count_ops, "instructions_opcodes.folded");
    check_golden("folded", n, &time, "no_stacks.folded");
    check_golden("speedscope", p, &time, "timed.speedscope.json");
    check_golden("speedscope", p, &count_ops, "instructions_opcodes.speedscope.json");
    check_golden("speedscope", n, &count_ops, "no_stacks_opcodes.speedscope.json");
    pf_profile_release(p);
    pf_profile_release(n);
}

/* ---- the property, on every variant ------------------------------------ */

static void test_sums_and_lines(void **state)
{
    (void)state;
    for (mode m = TIMED; m < NMODES; m++) {
        pf_profile *p = make_profile(m, m % 2);
        for (fl_metric metric = FL_METRIC_AUTO; metric <= FL_METRIC_TIME; metric++) {
            for (int ops = 0; ops <= 1; ops++) {
                fl_options o = opts(metric, ops);
                fl_metric resolved;
                char err[256];
                if (fl_metric_for(p, metric, &resolved, err, sizeof err) < 0) {
                    assert_null(render("folded", p, &o, err));
                    assert_non_null(strstr(err, "--metric"));
                    continue;
                }
                char *s = must_render("folded", p, &o);
                uint64_t want = resolved == FL_METRIC_TIME ? p->time_ns : p->instructions;
                assert_true(want > 0);
                assert_int_equal(folded_sum(s), want);
                free(s);
                s = must_render("speedscope", p, &o);
                check_speedscope(s, want);
                free(s);
                for (int flags = 0; flags <= (FL_BY_THREAD | FL_BOTH_METRICS); flags++) {
                    fl_graph g;
                    assert_int_equal(fl_build(p, &o, flags, &g, err, sizeof err), 0);
                    check_graph(&g, (flags & FL_BOTH_METRICS) != 0);
                    assert_int_equal(g.total, want);
                    assert_int_equal(g.nthreads, (flags & FL_BY_THREAD) && m != NO_STACKS ? 2 : 1);
                    fl_release(&g);
                }
            }
        }
        pf_profile_release(p);
    }
}

/* A fresh run (its opcode table, its thread list) and the profile read
 * back from disk give the same bytes in every format. */
static void test_fresh_equals_read_back(void **state)
{
    (void)state;
    static const char *const formats[] = {"folded", "speedscope", "html"};
    for (mode m = TIMED; m < NMODES; m++) {
        pf_profile *fresh = make_profile(m, 1), *back = read_back(fresh);
        for (size_t i = 0; i < LEN(formats); i++)
            for (int ops = 0; ops <= 1; ops++) {
                fl_options o = opts(FL_METRIC_AUTO, ops);
                char *a = must_render(formats[i], fresh, &o);
                char *b = must_render(formats[i], back, &o);
                assert_string_equal(a, b);
                free(a);
                free(b);
            }
        pf_profile_release(fresh);
        pf_profile_release(back);
    }
}

/* ---- behaviour --------------------------------------------------------- */

static void test_metric(void **state)
{
    (void)state;
    char err[256];
    fl_metric m;
    pf_profile *p = make_profile(TIME_ONLY, 0);
    assert_int_equal(fl_metric_for(p, FL_METRIC_INSTRUCTIONS, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "--time-only"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(fl_metric_for(p, FL_METRIC_AUTO, &m, err, sizeof err), 0);
    assert_int_equal(m, FL_METRIC_TIME);
    pf_profile_release(p);
    p = make_profile(UNTIMED, 0);
    assert_int_equal(fl_metric_for(p, FL_METRIC_TIME, &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "--no-time"));
    assert_int_equal(fl_metric_for(p, FL_METRIC_AUTO, &m, err, sizeof err), 0);
    assert_int_equal(m, FL_METRIC_INSTRUCTIONS);
    /* timed, but too short for a sample: the counts */
    p->timed = 1;
    assert_int_equal(fl_metric_for(p, FL_METRIC_AUTO, &m, err, sizeof err), 0);
    assert_int_equal(m, FL_METRIC_INSTRUCTIONS);
    pf_profile_release(p);
    assert_int_equal(fl_metric_from_name("time", &m), 0);
    assert_int_equal(m, FL_METRIC_TIME);
    assert_int_equal(fl_metric_from_name("instructions", &m), 0);
    assert_int_equal(m, FL_METRIC_INSTRUCTIONS);
    assert_int_equal(fl_metric_from_name("wall", &m), -1);
    assert_string_equal(fl_metric_name(FL_METRIC_TIME), "time");
}

static void test_notes(void **state)
{
    pf_profile *p = *state;
    fl_options o = opts(FL_METRIC_AUTO, 0);
    assert_null(fl_note(p, &o));
    pf_profile *n = make_profile(NO_STACKS, 0);
    assert_non_null(strstr(fl_note(n, &o), "no call stacks"));
    pf_profile_release(n);
    pf_profile *e = pf_profile_new();
    assert_non_null(e);
    e->counted = 1;
    assert_non_null(strstr(fl_note(e, &o), "nothing to draw"));
    char *s = must_render("folded", e, &o);
    assert_string_equal(s, "");
    free(s);
    s = must_render("speedscope", e, &o);
    assert_non_null(strstr(s, "\"unit\":\"none\",\"startValue\":0,\"endValue\":0,"
                              "\"events\":[]}]}"));
    free(s);
    s = must_render("html", e, &o);
    assert_non_null(strstr(s, "nothing to draw"));
    free(s);
    pf_profile_release(e);
}

static void test_inconsistent(void **state)
{
    pf_profile *p = *state;
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 0);
    char err[256];
    p->nodes[1].instructions += 1;   /* <module>;work: nodes are made in add_stack's order */
    assert_null(render("folded", p, &o, err));
    assert_non_null(strstr(err, "inconsistent profile"));
    o.opcodes = 1;    /* the path is bigger than its opcodes: the rest stays on the path */
    assert_null(render("folded", p, &o, err));
    p->nodes[1].instructions -= 2;   /* the opcodes are bigger than the path */
    assert_null(render("speedscope", p, &o, err));
    assert_non_null(strstr(err, "inconsistent profile"));
    p->nodes[1].instructions += 1;
    p->nodes[1].parent = 3;          /* a parent after its child */
    assert_null(render("html", p, &o, err));
    assert_non_null(strstr(err, "inconsistent profile: node 1"));
}

/* By time, a path without samples is no line; the HTML keeps it for its
 * counts (FL_BOTH_METRICS).  A caller without samples of its own stays,
 * with a weight of 0, on the path to its callees. */
static void test_both_metrics(void **state)
{
    pf_profile *p = *state;
    p->nodes[2].time_ns = pf_node_times(&p->nodes[2])[0].v = 0;   /* Thread.run: 4 instructions */
    p->nodes[4].time_ns = pf_node_times(&p->nodes[4])[0].v = 0;   /* <module>;odd: 5 */
    p->time_ns -= 3000 + 2000;
    fl_options o = opts(FL_METRIC_TIME, 0);
    fl_graph a, b;
    char err[256];
    assert_int_equal(fl_build(p, &o, 0, &a, err, sizeof err), 0);
    assert_int_equal(fl_build(p, &o, FL_BOTH_METRICS, &b, err, sizeof err), 0);
    check_graph(&a, 0);
    check_graph(&b, 1);
    assert_int_equal(b.nnodes, a.nnodes + 1);
    assert_int_equal(a.total, b.total);
    uint64_t ia = 0, ib = 0;
    int caller = 0;
    for (size_t i = 0; i < a.nnodes; i++) {
        ia += a.nodes[i].instructions;
        caller |= !a.nodes[i].weight && a.nodes[i].instructions == 4 &&
                  strncmp(a.frames[a.nodes[i].frame].name, "Thread.run", 10) == 0;
    }
    for (size_t i = 0; i < b.nnodes; i++)
        ib += b.nodes[i].instructions;
    assert_true(caller);
    assert_int_equal(ib, p->instructions);
    assert_int_equal(ia + 5, ib);
    fl_release(&a);
    fl_release(&b);
}

static void test_escaping(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        {"plain (a.py:1)", "plain (a.py:1)"},
        {"a;b", "a\\x3bb"},
        {"a\nb\r\tc\x7f", "a\\x0ab\\x0d\\x09c\\x7f"},
        {"back\\slash", "back\\\\slash"},
        {"caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93"},
        {"bad\xff\xc3(", "bad\\xff\\xc3("},
        {"cut\xe2\x9c", "cut\\xe2\\x9c"},
        {"ls\xe2\x80\xa8ps\xe2\x80\xa9", "ls\\xe2\\x80\\xa8ps\\xe2\\x80\\xa9"},
    };
    for (size_t i = 0; i < LEN(cases); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        assert_non_null(m);
        fl_put_folded_name(m, cases[i].in);
        assert_int_equal(fclose(m), 0);
        assert_string_equal(buf, cases[i].out);
        free(buf);
    }
}

static void test_html(void **state)
{
    pf_profile *p = *state;
    fl_options o = opts(FL_METRIC_AUTO, 1);
    char *s = must_render("html", p, &o);
    assert_int_equal(strncmp(s, "<!DOCTYPE html>\n", 16), 0);
    assert_non_null(strstr(s, "<title>opprof: app.py 10</title>"));
    assert_non_null(strstr(s, "id=\"opprof-data\""));
    /* the data's own "<" are escaped: only the page's scripts end, the
     * data, the explorer's chunks (base64) and the two scripts */
    size_t ends = 0, chunks = 0;
    for (const char *c = s; (c = strstr(c, "</script>")); c++)
        ends++;
    for (const char *c = s; (c = strstr(c, "<script type=\"application/octet-stream\" id=\"opprof-z"));
         c++)
        chunks++;
    assert_true(chunks >= 1);
    assert_int_equal(ends, 3 + chunks);
    assert_non_null(strstr(s, "\"explorer\":{\"files\":[["));
    assert_non_null(strstr(s, "\"means\":[["));
    assert_non_null(strstr(s, "\\u003cmodule> (app.py:1)"));
    /* self-contained: nothing to fetch */
    assert_null(strstr(s, "src="));
    assert_null(strstr(s, "<link"));
    assert_null(strstr(s, "import("));
    assert_non_null(strstr(s, "\"nodes\":[[-1,"));
    assert_null(strstr(s, "\"samples\":[["));
    assert_non_null(strstr(s, "\"report\":\"opprof report\\n"));
    free(s);
}

static void test_formats(void **state)
{
    (void)state;
    assert_non_null(fl_format_find("folded"));
    assert_non_null(fl_format_find("speedscope"));
    assert_non_null(fl_format_find("html"));
    assert_null(fl_format_find("text"));
    assert_null(fl_format_find(NULL));
    assert_non_null(fl_format_find("pprof"));   /* test_pprof.c tests it */
    assert_string_equal(fl_format_names, "folded, speedscope, html, pprof");
}

static void test_write_error(void **state)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    static const char *const formats[] = {"folded", "speedscope", "html"};
    fl_options o = opts(FL_METRIC_AUTO, 1);
    for (size_t i = 0; i < LEN(formats); i++) {
        char err[256] = "";
        assert_int_equal(fl_format_find(formats[i])->write(*state, &o, f, err, sizeof err), -1);
        assert_true(err[0]);
        clearerr(f);
    }
    fclose(f);
}

/* fl_save through a planned output, as opprof's commands use it */
static int save_to(const fl_format *f, const pf_profile *p, const fl_options *o,
                   const char *path, char *err, size_t errlen)
{
    of_target *t;
    if (of_plan(path, NULL, &t, err, errlen) < 0)
        return -1;
    int rc = fl_save(f, p, o, t, NULL, err, errlen);
    of_release(t);
    return rc;
}

static void test_save(void **state)
{
    char dir[] = "/tmp/opprof-test-flame-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/out.folded", dir);
    fl_options o = opts(FL_METRIC_AUTO, 0);
    const fl_format *f = fl_format_find("folded");
    assert_int_equal(save_to(f, *state, &o, path, err, sizeof err), 0);
    char *want = must_render("folded", *state, &o), *got = golden_read(path);
    assert_string_equal(want, got);
    free(want);
    free(got);
    unlink(path);
    assert_int_equal(mkdir(path, 0755), 0);   /* rename onto a directory fails */
    assert_int_equal(save_to(f, *state, &o, path, err, sizeof err), -1);
    assert_true(err[0]);
    rmdir(path);
    snprintf(path, sizeof path, "%s/no/such/dir.folded", dir);
    assert_int_equal(save_to(f, *state, &o, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(rmdir(dir), 0);   /* no temporary file left behind */
}

/* A flat (--no-stacks) graph with --opcodes of a function that runs more
 * distinct instructions than the profile has opcode names (a read-back
 * profile holds only the names it uses): one frame per name, all of it. */
static void test_flat_opcodes_long_function(void **state)
{
    (void)state;
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    p->counted = 1;
    p->stacks_enabled = 0;
    ins code[300];
    const char *names[] = {"LOAD_FAST", "STORE_FAST", "BINARY_OP"};
    for (size_t i = 0; i < LEN(code); i++)
        code[i] = (ins){names[i % 3], i + 1, 0, 0};
    add_fn(p, UNTIMED, "/r/long.py", "long_one", 1, PF_SCOPE_FUNCTION, code, LEN(code));
    assert_int_equal(p->nopnames, 3);
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 1);
    char *text = must_render("folded", p, &o);
    assert_int_equal(folded_sum(text), p->instructions);
    assert_non_null(strstr(text, "long_one (/r/long.py:1);[LOAD_FAST] "));
    assert_non_null(strstr(text, "long_one (/r/long.py:1);[BINARY_OP] "));
    free(text);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_sums_and_lines),
        cmocka_unit_test(test_fresh_equals_read_back),
        cmocka_unit_test(test_metric),
        WITH(test_notes),
        WITH(test_inconsistent),
        WITH(test_both_metrics),
        cmocka_unit_test(test_escaping),
        WITH(test_html),
        cmocka_unit_test(test_formats),
        WITH(test_write_error),
        WITH(test_save),
        cmocka_unit_test(test_flat_opcodes_long_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
