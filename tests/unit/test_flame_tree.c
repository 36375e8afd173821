/*
 * test_flame_tree.c - unit tests for the flame-graph outputs
 * (reports/flame.c, flame_tree.c, flame_native.c, folded.c): the tree of
 * threads, --opcodes leaves and --native stacks, and its size.
 *
 * On the profile built by hand in flame_fixtures.h.  A recursion 20,000
 * deep must give outputs (but folded) that grow linearly with the depth,
 * without C recursion.
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
#include <unistd.h>

#include "flame_fixtures.h"

/* ---- the tree ---------------------------------------------------------- */

/* Paths of one thread in another of the same name, and of another thread:
 * speedscope keeps one profile per thread name, folded and HTML merge
 * all threads; one node per (thread, path) either way. */
static void test_threads(void **state)
{
    pf_profile *p = *state;
    char **v = realloc(p->threads, (p->nthreads + 1) * sizeof *v);
    assert_non_null(v);
    p->threads = v;
    p->threads[p->nthreads++] = strdup("worker-1");   /* pf_thread_index would find the first */
    int other = pf_thread_index(p, "other");
    assert_true(other >= 0);
    const struct { uint32_t thread, path[2]; uint64_t count, time_ns; } more[] = {
        {(uint32_t)p->nthreads - 2, {3, 1}, 10, 1000}, {(uint32_t)other, {0, 1}, 5, 500}};
    pf_node_index *x = pf_node_index_new(p);
    assert_non_null(x);
    for (size_t i = 0; i < LEN(more); i++) {
        int64_t k = pf_node_of_path(x, p, more[i].thread, more[i].path, 2);
        assert_true(k >= 0);
        p->nodes[k].instructions = more[i].count;
        p->nodes[k].time_ns = more[i].time_ns;
        p->instructions += more[i].count;
        p->time_ns += more[i].time_ns;
    }
    pf_node_index_release(x);
    fl_options o = opts(FL_METRIC_TIME, 0);
    fl_graph g;
    char err[256];
    assert_int_equal(fl_build(p, &o, FL_BY_THREAD, &g, err, sizeof err), 0);
    check_graph(&g, 0);
    assert_int_equal(g.nthreads, 3);
    assert_string_equal(g.threads[1], "worker-1");
    assert_string_equal(g.threads[2], "other");
    assert_int_equal(g.thread_total[1], 37000 + 1000);
    assert_int_equal(g.thread_total[2], 500);
    assert_int_equal(g.nnodes, 5 + 2);   /* other: <module>;work */
    fl_release(&g);
    assert_int_equal(fl_build(p, &o, 0, &g, err, sizeof err), 0);
    check_graph(&g, 0);
    assert_int_equal(g.nthreads, 1);
    assert_int_equal(g.nnodes, 5);
    fl_release(&g);
    char *s = must_render("folded", p, &o);
    assert_non_null(strstr(s, "\n<module> (app.py:1);work (app.py:3) 66500\n"));
    assert_non_null(strstr(s, "\nThread.run (/usr/lib/python3.12/threading.py:990);"
                              "work (app.py:3) 35000\n"));
    free(s);
    s = must_render("speedscope", p, &o);
    assert_int_equal(check_speedscope(s, p->time_ns), 2 * 7);
    free(s);
}

/* --opcodes: a leaf per opcode name under the node that ran it, names
 * merged (two opcode numbers of one name are one leaf), what the opcodes
 * do not cover left on the node. */
static void test_opcode_leaves(void **state)
{
    pf_profile *p = *state;
    char **names = realloc(p->opnames, (p->nopnames + 1) * sizeof *names);
    assert_non_null(names);
    p->opnames = names;
    p->opnames[p->nopnames++] = strdup("LOAD_FAST");
    pf_node *work = &p->nodes[1];   /* <module>;work */
    assert_int_equal(pf_node_add_op(work, (uint16_t)(p->nopnames - 1), 30, 0), 0);
    work->instructions += 30 + 7;
    p->instructions += 30 + 7;
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 1);
    fl_graph g;
    char err[256];
    assert_int_equal(fl_build(p, &o, 0, &g, err, sizeof err), 0);
    check_graph(&g, 0);
    size_t leaves = 0;
    for (size_t i = 0; i < g.nnodes; i++) {
        const fl_node *v = &g.nodes[i];
        const fl_frame *f = &g.frames[v->frame];
        if (f->function != FL_NO_FUNCTION)
            continue;
        leaves++;
        assert_true(f->name[0] == '[' && !f->file && f->line == -1);
        assert_true(i + 1 == g.nnodes || g.nodes[i + 1].depth <= v->depth);   /* a leaf */
        const fl_node *up = &g.nodes[v->parent];
        if (up->depth != 1 || strcmp(g.frames[up->frame].name, "work (app.py:3)") != 0 ||
            strcmp(g.frames[g.nodes[up->parent].frame].name, "<module> (app.py:1)") != 0)
            continue;
        assert_int_equal(up->weight, 7);
        if (strcmp(f->name, "[LOAD_FAST]") == 0)
            assert_int_equal(v->weight, 200 + 30);
    }
    assert_int_equal(leaves, 4 + 3 + 1 + 1 + 3);
    fl_release(&g);
    char *s = must_render("folded", p, &o);
    assert_non_null(strstr(s, "\n<module> (app.py:1);work (app.py:3) 7\n"
                              "<module> (app.py:1);work (app.py:3);[BINARY_OP] 60\n"
                              "<module> (app.py:1);work (app.py:3);[LOAD_FAST] 230\n"));
    assert_int_equal(folded_sum(s), p->instructions);
    free(s);
}

/* --native: mixed stacks through the same tree, the native frames below
 * the outermost Python frame left out, a stack without frames as "?". */
static void test_native(void **state)
{
    pf_profile *p = *state;
    static const char *const deep[] = {"_start [native]", "main [native]",
                                       "<module> (app.py:1)", "work (app.py:3)",
                                       "deflate [native]"};
    static const char *const only[] = {"_start [native]", "clone [native]"};
    p->native = 1;
    add_native(p, "MainThread", deep, 5, 700);
    add_native(p, "MainThread", deep, 4, 300);
    add_native(p, "MainThread", deep, 5, 1);
    add_native(p, "worker-1", only, 2, 50);
    add_native(p, "worker-1", only, 1, 0);   /* no time: not drawn */
    add_native(p, "MainThread", NULL, 0, 25);
    fl_options o = opts(FL_METRIC_TIME, 1);
    fl_graph g;
    char err[256];
    assert_int_equal(fl_build(p, &o, FL_BY_THREAD, &g, err, sizeof err), 0);
    check_graph(&g, 0);
    assert_int_equal(g.total, 1076);
    assert_int_equal(g.nthreads, 2);
    assert_int_equal(g.nframes, 6);   /* not "main [native]" */
    assert_string_equal(g.frames[0].name, "<module> (app.py:1)");
    assert_string_equal(g.frames[0].file, "app.py");
    assert_int_equal(g.frames[0].line, 1);
    assert_null(g.frames[3].file);
    fl_release(&g);
    char *s = must_render("folded", p, &o);
    assert_string_equal(s, "<module> (app.py:1);work (app.py:3) 300\n"
                           "<module> (app.py:1);work (app.py:3);deflate [native] 701\n"
                           "? 25\n_start [native];clone [native] 50\n");
    free(s);
    s = must_render("speedscope", p, &o);
    assert_int_equal(check_speedscope(s, 1076), 2 * 6);
    free(s);
}

static size_t rendered_size(const char *format, const pf_profile *p, int opcodes)
{
    fl_options o = opts(FL_METRIC_AUTO, opcodes);
    char *s = must_render(format, p, &o);
    size_t n = strlen(s);
    if (strcmp(format, "speedscope") == 0)
        assert_int_equal(check_speedscope(s, p->time_ns),
                         2 * p->nnodes * (opcodes ? 3 : 1));
    free(s);
    return n;
}

/* Deep recursion: every output but folded grows linearly with the depth,
 * and no C code recurses once per level (300,000 levels of that would not
 * fit a thread's stack). */
static void test_deep_recursion(void **state)
{
    (void)state;
    pf_profile *small = recursion(1000, 1), *big = recursion(20000, 1);
    for (int ops = 0; ops <= 1; ops++) {
        size_t ss[2] = {rendered_size("speedscope", small, ops),
                        rendered_size("speedscope", big, ops)};
        size_t html[2] = {rendered_size("html", small, ops), rendered_size("html", big, ops)};
        print_message("depth 1,000 / 20,000%s: speedscope %zu / %zu bytes, html %zu / %zu\n",
                      ops ? " --opcodes" : "", ss[0], ss[1], html[0], html[1]);
        assert_true(html[1] < 20 * html[0]);
        /* bytes per node: a node is two events, or a few numbers */
        assert_true((ss[1] - ss[0]) / (19000 * (ops ? 3 : 1)) < 80);
        assert_true((html[1] - html[0]) / (19000 * (ops ? 3 : 1)) < 40);
    }
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 1);
    fl_graph g;
    char err[256];
    assert_int_equal(fl_build(big, &o, FL_BOTH_METRICS, &g, err, sizeof err), 0);
    check_graph(&g, 1);
    assert_int_equal(g.nnodes, 3 * 20000);
    assert_int_equal(g.height, 20000 + 1);
    assert_int_equal(g.total, 3 * 20000);
    fl_release(&g);
    pf_profile_release(small);
    pf_profile_release(big);
    /* folded repeats each path: a line every 1,000 levels keeps it small */
    pf_profile *sparse = recursion(20000, 1000);
    o = opts(FL_METRIC_TIME, 0);
    char *s = must_render("folded", sparse, &o);
    assert_int_equal(folded_sum(s), 20 * 3000);
    assert_non_null(strstr(s, "r (rec.py:1);r (rec.py:1)"));
    free(s);
    o.opcodes = 1;
    s = must_render("folded", sparse, &o);
    assert_int_equal(folded_sum(s), 20 * 3000);
    free(s);
    pf_profile_release(sparse);
    /* 300,000 levels: a recursion of them would not fit a thread's stack */
    pf_profile *huge = recursion(300000, 1);
    o = opts(FL_METRIC_TIME, 0);
    assert_int_equal(fl_build(huge, &o, FL_BY_THREAD, &g, err, sizeof err), 0);
    assert_int_equal(g.height, 300000);
    fl_release(&g);
    assert_true(rendered_size("speedscope", huge, 0) < 80 * 300000);
    assert_true(rendered_size("html", huge, 0) < 40 * 300000);
    pf_profile_release(huge);
}

/* Past fl__folded_warn_bytes, one line on stderr, once. */
static void test_folded_warning(void **state)
{
    (void)state;
    pf_profile *p = recursion(500, 1);   /* about 1.7 MB of folded lines */
    char path[] = "/tmp/opprof-test-flame-err-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0 && dup2(fd, 2) == 2);
    uint64_t was = fl__folded_warn_bytes;
    fl__folded_warn_bytes = 1000000;
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 0);
    char *s = must_render("folded", p, &o);
    fl__folded_warn_bytes = was;
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    close(fd);
    assert_true(strlen(s) > 1000000);
    assert_int_equal(folded_sum(s), 3 * 500);
    free(s);
    char *said = golden_read(path);
    unlink(path);
    assert_string_equal(said, "opprof: the folded output passed 1 MB: folded stacks repeat "
                              "every path in full; speedscope or html grow linearly\n");
    free(said);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        WITH(test_threads),
        WITH(test_opcode_leaves),
        WITH(test_native),
        cmocka_unit_test(test_deep_recursion),
        cmocka_unit_test(test_folded_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
