/*
 * flame_fixtures.h - profiles built by hand for the flame-graph tests
 * (test_flame.c, test_flame_tree.c), rendering them, and checking what
 * flame.h promises of a graph, of folded lines and of speedscope events.
 */
#ifndef OPPROF_TEST_FLAME_FIXTURES_H
#define OPPROF_TEST_FLAME_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../reports/flame.h"
#include "../../reports/model/profile.h"
#include "../../reports/model/profile_json.h"
#include "../../reports/model/profile_read.h"

#define LEN(a) (sizeof a / sizeof a[0])

typedef enum mode { TIMED, NO_STACKS, UNTIMED, TIME_ONLY, NMODES } mode;

typedef struct ins {
    const char *op;
    uint64_t count, time_ns, samples;
} ins;

typedef struct opc {
    const char *op;
    uint64_t count, time_ns;
} opc;

static inline void set(char **dst, const char *s)
{
    assert_int_equal(pf_set_string(dst, s), 0);
}

static inline void add_fn(pf_profile *p, mode m, const char *file, const char *qualname,
                          int line, pf_scope scope, const ins *code, size_t n)
{
    pf_function *f = pf_add_function(p);
    assert_non_null(f);
    set(&f->file, file);
    set(&f->qualname, qualname);
    set(&f->name, qualname);
    f->firstlineno = line;
    f->scope = scope;
    f->calls = 1;
    f->code = calloc(n, sizeof *f->code);
    assert_non_null(f->code);
    f->ncode = n;
    for (size_t i = 0; i < n; i++) {
        int op = pf_opname_index(p, code[i].op);
        assert_true(op >= 0);
        f->code[i] = (pf_instr){.offset = (uint32_t)(2 * i), .op = (uint16_t)op,
                                .line = line + 1,
                                .count = m == TIME_ONLY ? 0 : code[i].count};
        uint64_t t = m == UNTIMED ? 0 : code[i].time_ns;
        assert_int_equal(pf_add_instr_time(f, i, t, m == UNTIMED ? 0 : code[i].samples), 0);
        f->instructions += f->code[i].count;
        f->time_ns += t;
    }
    p->instructions += f->instructions;
    p->time_ns += f->time_ns;
}

/* The path's node (made with the nodes above it, with nothing of their
 * own, as a run makes them) gets these opcodes as its own. */
static inline void add_stack(pf_profile *p, mode m, const char *thread,
                             const uint32_t *frames, size_t n, const opc *ops, size_t nops)
{
    int t = pf_thread_index(p, thread);
    assert_true(t >= 0);
    pf_node_index *x = pf_node_index_new(p);
    assert_non_null(x);
    int64_t k = pf_node_of_path(x, p, (uint32_t)t, frames, n);
    pf_node_index_release(x);
    assert_true(k >= 0);
    pf_node *s = &p->nodes[k];
    for (size_t i = 0; i < nops; i++) {
        int op = pf_opname_index(p, ops[i].op);
        assert_true(op >= 0);
        pf_opcount c = {(uint16_t)op, m == TIME_ONLY ? 0 : ops[i].count,
                        m == UNTIMED ? 0 : ops[i].time_ns};
        assert_int_equal(pf_node_add_op(s, c.op, c.count, c.time_ns), 0);
        s->instructions += c.count;
        s->time_ns += c.time_ns;
    }
}

/* fresh: a fresh run's opcode table, with unnamed slots, in another order */
static inline pf_profile *make_profile(mode m, int fresh)
{
    static const ins module[] = {{"RESUME", 1, 0, 0}, {"LOAD_NAME", 10, 5000, 5},
                                 {"CALL", 2, 1000, 1}, {"RETURN_CONST", 1, 0, 0}};
    static const ins work[] = {{"LOAD_FAST", 300, 30000, 30}, {"BINARY_OP", 100, 60000, 60},
                               {"STORE_FAST", 100, 10000, 10}};
    static const ins odd[] = {{"LOAD_GLOBAL", 5, 2000, 2}};
    static const ins run[] = {{"CALL", 4, 3000, 3}};
    static const opc s0[] = {{"RESUME", 1, 0}, {"LOAD_NAME", 10, 5000}, {"CALL", 2, 1000},
                             {"RETURN_CONST", 1, 0}};
    static const opc s1[] = {{"LOAD_FAST", 200, 20000}, {"BINARY_OP", 60, 40000},
                             {"STORE_FAST", 60, 6000}};
    static const opc s2[] = {{"CALL", 4, 3000}};
    static const opc s3[] = {{"LOAD_FAST", 100, 10000}, {"BINARY_OP", 40, 20000},
                             {"STORE_FAST", 40, 4000}};
    static const opc s4[] = {{"LOAD_GLOBAL", 5, 2000}};
    static const char *const argv[] = {"app.py", "10"};
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    if (fresh) {
        static const char *const names[] = {NULL, "STORE_FAST", "RETURN_CONST", NULL, "LOAD_NAME",
                                            "CALL", "BINARY_OP", "LOAD_GLOBAL", "RESUME",
                                            "LOAD_FAST"};
        p->opnames = calloc(LEN(names), sizeof *p->opnames);
        assert_non_null(p->opnames);
        p->nopnames = LEN(names);
        for (size_t i = 0; i < LEN(names); i++)
            if (names[i])
                set(&p->opnames[i], names[i]);
        /* every thread of the run, one of them without stacks */
        assert_true(pf_thread_index(p, "idle") >= 0);
    }
    set(&p->python_version, "3.12.1");
    set(&p->collector, "sys.monitoring control flow");
    set(&p->root, "/home/dev/proj/");
    assert_int_equal(pf_set_argv(p, argv, LEN(argv)), 0);
    p->wall_ns = 250000;
    p->counted = m != TIME_ONLY;
    p->timed = m != UNTIMED;
    p->stacks_enabled = m != NO_STACKS;
    if (p->timed) {
        set(&p->timing_method, "sampling");
        p->rate_hz = 1000;
        p->samples = 111;
    }
    add_fn(p, m, "/home/dev/proj/app.py", "<module>", 1, PF_SCOPE_MODULE, module, LEN(module));
    add_fn(p, m, "/home/dev/proj/app.py", "work", 3, PF_SCOPE_FUNCTION, work, LEN(work));
    add_fn(p, m, "/home/dev/proj/pkg/odd.py", "odd;name\nx\\y", 7, PF_SCOPE_FUNCTION, odd,
           LEN(odd));
    add_fn(p, m, "/usr/lib/python3.12/threading.py", "Thread.run", 990, PF_SCOPE_FUNCTION, run,
           LEN(run));
    p->sampled_ns = p->time_ns;
    if (m != NO_STACKS) {
        add_stack(p, m, "MainThread", (uint32_t[]){0}, 1, s0, LEN(s0));
        add_stack(p, m, "MainThread", (uint32_t[]){0, 1}, 2, s1, LEN(s1));
        add_stack(p, m, "worker-1", (uint32_t[]){3}, 1, s2, LEN(s2));
        add_stack(p, m, "worker-1", (uint32_t[]){3, 1}, 2, s3, LEN(s3));
        add_stack(p, m, "MainThread", (uint32_t[]){0, 2}, 2, s4, LEN(s4));
    }
    return p;
}

static inline int setup_timed(void **state)
{
    *state = make_profile(TIMED, 1);
    return 0;
}

static inline int teardown(void **state)
{
    pf_profile_release(*state);
    return 0;
}

/* For the tests that edit their profile: a fresh timed one each. */
#define WITH(test) cmocka_unit_test_setup_teardown(test, setup_timed, teardown)

static inline fl_options opts(fl_metric m, int opcodes)
{
    fl_options o;
    fl_options_init(&o);
    o.metric = m;
    o.opcodes = opcodes;
    return o;
}

/* The writer's output, NUL-terminated; caller frees.  NULL when it fails. */
static inline char *render(const char *format, const pf_profile *p, const fl_options *o, char *err)
{
    const fl_format *f = fl_format_find(format);
    assert_non_null(f);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    int rc = f->write(p, o, m, err, 256);
    assert_int_equal(fclose(m), 0);
    if (rc < 0) {
        free(buf);
        return NULL;
    }
    assert_int_equal(strlen(buf), len);
    return buf;
}

static inline char *must_render(const char *format, const pf_profile *p, const fl_options *o)
{
    char err[256] = "";
    char *s = render(format, p, o, err);
    if (!s)
        fail_msg("%s: %s", format, err);
    return s;
}

static inline pf_profile *read_back(const pf_profile *p)
{
    char path[] = "/tmp/opprof-test-flame-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(pf_json_write(p, f), 0);
    assert_int_equal(fclose(f), 0);
    pf_profile *q = NULL;
    char err[512];
    if (pf_read_file(path, &q, err, sizeof err) < 0)
        fail_msg("reading back: %s", err);
    unlink(path);
    return q;
}

/* Every line matches ^(.*) (\d+)$ with a weight > 0, and no stack has
 * two lines; returns the sum of the weights. */
static inline uint64_t folded_sum(const char *text)
{
    uint64_t sum = 0;
    const char **stacks = NULL;
    size_t *lens = NULL, n = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);   /* every line ends with one */
        const char *sp = nl;
        while (sp > line && sp[-1] >= '0' && sp[-1] <= '9')
            sp--;
        assert_true(sp < nl && sp > line && sp[-1] == ' ');
        for (const char *c = line; c < nl; c++)
            assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
        uint64_t w = strtoull(sp, NULL, 10);
        assert_true(w > 0);
        sum += w;
        stacks = realloc(stacks, (n + 1) * sizeof *stacks);
        lens = realloc(lens, (n + 1) * sizeof *lens);
        assert_true(stacks && lens);
        stacks[n] = line;
        lens[n] = (size_t)(sp - 1 - line);
        for (size_t k = 0; k < n; k++)
            assert_false(lens[k] == lens[n] && memcmp(stacks[k], line, lens[n]) == 0);
        n++;
        line = nl + 1;
    }
    free(stacks);
    free(lens);
    return sum;
}

/* What flame.h promises of a graph: depth first, a parent before its
 * children, roots by thread then frame, siblings by frame, a callee on its
 * caller's thread; depths, height, weights and totals that add up; every
 * frame used, no subtree of 0 (in both metrics with `both`). */
static inline void check_graph(const fl_graph *g, int both)
{
    size_t n = g->nnodes, len = 0, height = 0;
    uint32_t *path = calloc(g->height + 1, sizeof *path);
    unsigned char *used = calloc(g->nframes + 1, 1), *any = calloc(n + 1, 1);
    uint64_t *sum = calloc(n + 1, sizeof *sum), *tt = calloc(g->nthreads + 1, sizeof *tt);
    uint64_t total = 0;
    assert_true(path && used && any && sum && tt);
    for (size_t i = 0; i < n; i++) {
        const fl_node *v = &g->nodes[i];
        assert_true(v->frame < g->nframes && v->thread < g->nthreads);
        assert_int_equal(v->weight, g->metric == FL_METRIC_TIME ? v->time_ns : v->instructions);
        if (v->parent == FL_NO_NODE) {
            assert_int_equal(v->depth, 0);
        } else {
            assert_true(v->parent < i);
            assert_int_equal(v->depth, g->nodes[v->parent].depth + 1);
            assert_int_equal(v->thread, g->nodes[v->parent].thread);
        }
        assert_true(v->depth < g->height && v->depth <= len);
        if (v->depth)   /* its parent is on the path the walk is in */
            assert_int_equal(path[v->depth - 1], v->parent);
        if (len > v->depth) {   /* after its previous sibling */
            const fl_node *prev = &g->nodes[path[v->depth]];
            assert_true(prev->thread < v->thread ||
                        (prev->thread == v->thread && prev->frame < v->frame));
        }
        path[v->depth] = (uint32_t)i;
        len = v->depth + 1;
        height = len > height ? len : height;
        used[v->frame] = 1;
        sum[i] = v->weight;
        any[i] = v->instructions || v->time_ns;
        total += v->weight;
        tt[v->thread] += v->weight;
    }
    for (size_t i = n; i-- > 0;) {
        assert_true(sum[i] || (both && any[i]));
        if (g->nodes[i].parent != FL_NO_NODE) {
            sum[g->nodes[i].parent] += sum[i];
            any[g->nodes[i].parent] |= any[i];
        }
    }
    assert_int_equal(height, g->height);
    assert_int_equal(total, g->total);
    for (size_t t = 0; t < g->nthreads; t++)
        assert_int_equal(tt[t], g->thread_total[t]);
    for (size_t f = 0; f < g->nframes; f++)
        assert_true(used[f]);
    free(path);
    free(used);
    free(any);
    free(sum);
    free(tt);
}

/* One speedscope profile's events (text from its "events":[ on): each
 * close closes the frame open on top, times never go back, all is closed
 * at the end, at endValue.  Returns the number of events. */
static inline size_t check_events(const char *text, uint64_t end_value)
{
    uint32_t *open = NULL;
    size_t depth = 0, cap = 0, n = 0;
    uint64_t last = 0;
    const char *e = text + strlen("\"events\":[");
    while (*e == '{') {   /* sscanf would measure the whole rest of the text each time */
        static const char O[] = "{\"type\":\"", F[] = "\",\"frame\":", A[] = ",\"at\":";
        char *end;
        assert_int_equal(strncmp(e, O, strlen(O)), 0);
        char type = e[strlen(O)];
        assert_int_equal(strncmp(e + strlen(O) + 1, F, strlen(F)), 0);
        unsigned long frame = strtoul(e + strlen(O) + 1 + strlen(F), &end, 10);
        assert_int_equal(strncmp(end, A, strlen(A)), 0);
        unsigned long long at = strtoull(end + strlen(A), &end, 10);
        assert_int_equal(*end, '}');
        assert_true(at >= last);
        last = at;
        if (type == 'O') {
            if (depth == cap) {
                cap = cap ? 2 * cap : 64;
                open = realloc(open, cap * sizeof *open);
                assert_non_null(open);
            }
            open[depth++] = (uint32_t)frame;
        } else {
            assert_int_equal(type, 'C');
            assert_true(depth > 0);
            assert_int_equal(open[--depth], frame);
        }
        n++;
        e = end + 1;
        if (*e == ',')
            e++;
    }
    assert_int_equal(*e, ']');
    assert_int_equal(depth, 0);
    assert_int_equal(last, n ? end_value : last);
    free(open);
    return n;
}

/* Every profile of a speedscope file: its events, and endValues adding
 * up to `total`.  Returns the number of events. */
static inline size_t check_speedscope(const char *text, uint64_t total)
{
    size_t events = 0;
    uint64_t sum = 0;
    assert_null(strstr(text, "\"samples\""));
    for (const char *p = text; (p = strstr(p, "\"endValue\":")); p++) {
        unsigned long long end = strtoull(p + strlen("\"endValue\":"), NULL, 10);
        const char *ev = strstr(p, "\"events\":[");
        assert_non_null(ev);
        events += check_events(ev, end);
        sum += end;
    }
    assert_int_equal(sum, total);
    return events;
}

static inline void add_native(pf_profile *p, const char *thread, const char *const *frames,
                              size_t n, uint64_t time_ns)
{
    pf_native_stack *s = pf_add_native_stack(p);
    assert_non_null(s);
    int t = pf_thread_index(p, thread);
    assert_true(t >= 0);
    s->thread = (uint32_t)t;
    s->frames = calloc(n + 1, sizeof *s->frames);
    assert_non_null(s->frames);
    for (s->nframes = 0; s->nframes < n; s->nframes++)
        set(&s->frames[s->nframes], frames[s->nframes]);
    s->time_ns = time_ns;
}

/* A function calling itself `depth` times, as pf_add_node makes it; one
 * node in `every` (and the deepest) runs two LOAD_FAST and a CALL of its
 * own, 3000 ns. */
static inline pf_profile *recursion(size_t depth, size_t every)
{
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    static const char *const argv[] = {"rec.py"};
    assert_int_equal(pf_set_argv(p, argv, 1), 0);
    set(&p->python_version, "3.12.1");
    set(&p->root, "/r");
    p->counted = p->timed = p->stacks_enabled = 1;
    int load = pf_opname_index(p, "LOAD_FAST"), call = pf_opname_index(p, "CALL");
    int t = pf_thread_index(p, "MainThread");
    assert_true(load >= 0 && call >= 0 && t >= 0);
    uint64_t ran = 0;
    for (size_t d = 0; d < depth; d++) {
        pf_node *n = pf_add_node(p);
        assert_non_null(n);
        n->parent = d ? (uint32_t)(d - 1) : PF_NO_NODE;
        n->thread = (uint32_t)t;
        if (d % every != every - 1 && d != depth - 1)
            continue;
        assert_int_equal(pf_node_add_op(n, (uint16_t)load, 2, 2000), 0);
        assert_int_equal(pf_node_add_op(n, (uint16_t)call, 1, 1000), 0);
        n->instructions = 3;
        n->time_ns = 3000;
        ran++;
    }
    ins code[] = {{"LOAD_FAST", 2 * ran, 2000 * ran, 2 * ran}, {"CALL", ran, 1000 * ran, ran}};
    add_fn(p, TIMED, "/r/rec.py", "r", 1, PF_SCOPE_FUNCTION, code, LEN(code));
    p->functions[0].calls = depth;
    p->samples = p->sampled_ns = p->time_ns;
    return p;
}

#endif
