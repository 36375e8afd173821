/*
 * profile_fixtures.h - building profiles by hand, comparing them, and a
 * temporary folder, for the unit tests of diff, merge and reading
 * profiles (test_diff.c, test_diff_gate.c, test_merge.c,
 * test_profile_read.c, test_profile_read_errors.c).
 */
#ifndef OPPROF_TEST_PROFILE_FIXTURES_H
#define OPPROF_TEST_PROFILE_FIXTURES_H

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
#include "../../reports/model/merge.h"
#include "../../reports/model/profile.h"
#include "../../reports/model/profile_json.h"
#include "../../reports/model/profile_read.h"


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

static inline void set(char **dst, const char *src)
{
    assert_int_equal(pf_set_string(dst, src), 0);
}

/* A profile of CPython 3.12.1 with a fixed hash seed (no warnings). */
static inline pf_profile *profile_new(const char *root, const char *prefix)
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
static inline size_t add_fn_scope(pf_profile *p, const char *file, const char *qualname, int first,
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

static inline size_t add_fn(pf_profile *p, const char *file, const char *qualname, int first,
                     const ins *code, size_t n)
{
    return add_fn_scope(p, file, qualname, first, PF_SCOPE_FUNCTION, 1, code, n);
}

/* A function that executed `count` LOAD_FAST instructions. */
static inline size_t add_simple(pf_profile *p, const char *file, const char *qualname, int first,
                         uint64_t count)
{
    const ins code[] = {{2, "LOAD_FAST", first + 1, count}};
    return add_fn(p, file, qualname, first, code, 1);
}

static inline uint32_t thread_idx(pf_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (strcmp(p->threads[i], name) == 0)
            return (uint32_t)i;
    char **v = realloc(p->threads, (p->nthreads + 1) * sizeof *v);
    assert_non_null(v);
    p->threads = v;
    uint32_t *tp = realloc(p->thread_process, (p->nthreads + 1) * sizeof *tp);
    assert_non_null(tp);
    p->thread_process = tp;
    tp[p->nthreads] = 0;
    p->threads[p->nthreads] = NULL;
    set(&p->threads[p->nthreads], name);
    return (uint32_t)p->nthreads++;
}

/* The call path `frames` (root first) on `thread` gets these opcode
 * counts as its own (self) instructions: the node of the path, and the
 * nodes above it with nothing of their own, as a run makes them. */
static inline void add_stack(pf_profile *p, const char *thread, const uint32_t *frames, size_t nframes,
                      const opc *ops, size_t nops)
{
    uint32_t t = thread_idx(p, thread);
    pf_node_index *x = pf_node_index_new(p);
    assert_non_null(x);
    int64_t k = pf_node_of_path(x, p, t, frames, nframes);
    pf_node_index_release(x);
    assert_true(k >= 0);
    pf_node *s = &p->nodes[k];
    s->ops = realloc(s->ops, (s->nops + nops + 1) * sizeof *s->ops);
    assert_non_null(s->ops);
    for (size_t i = 0; i < nops; i++) {
        int op = pf_opname_index(p, ops[i].op);
        assert_true(op >= 0);
        assert_int_equal(s->ntimes, 0);
        s->ops[s->nops++] = (pf_opval){.op = (uint16_t)op, .v = ops[i].count};
        s->instructions += ops[i].count;
    }
}

/* ---- looking at results -------------------------------------------- */

static inline const df_function *find(const df_result *r, const char *key)
{
    for (size_t i = 0; i < r->nfunctions; i++)
        if (strcmp(r->functions[i].key, key) == 0)
            return &r->functions[i];
    return NULL;
}

static inline const df_function *must_find(const df_result *r, const char *key)
{
    const df_function *d = find(r, key);
    if (!d)
        fail_msg("no function %s in the result", key);
    return d;
}

static inline df_result *compare(const pf_profile *a, const pf_profile *b, const df_options *o)
{
    char err[256] = "";
    df_result *r = NULL;
    int rc = df_compare(a, b, "base.json", "new.json", o, &r, err, sizeof err);
    if (rc != 0)
        fail_msg("df_compare failed: %s", err);
    assert_non_null(r);
    return r;
}

static inline df_result *compare_default(const pf_profile *a, const pf_profile *b)
{
    df_options o;
    df_options_init(&o);
    return compare(a, b, &o);
}

static inline size_t count_warnings_with(const df_result *r, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nwarnings; i++) {
        assert_non_null(r->warnings[i]);
        assert_null(strchr(r->warnings[i], '\n'));
        n += strstr(r->warnings[i], needle) != NULL;
    }
    return n;
}

/* ---- files ---------------------------------------------------------- */

static char tmpdir[64] __attribute__((unused));

static inline int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/opprof_test_diff.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static inline int teardown_tmpdir(void **state)
{
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *path_in_tmp(const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
    return path;
}

static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static inline pf_profile *save_and_read(const pf_profile *p, const char *name)
{
    char *path = path_in_tmp(name);
    char err[512] = "x";
    if (pf_json_save(p, path, err, sizeof err) != 0)
        fail_msg("pf_json_save: %s", err);
    pf_profile *q = NULL;
    int rc = pf_read_file(path, &q, err, sizeof err);
    if (rc != 0)
        fail_msg("pf_read_file: %s", err);
    assert_non_null(q);
    free(path);
    return q;
}

/* The whole document in memory, as pf_json_write writes it; caller frees. */
static inline char *to_json(const pf_profile *p)
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

static inline const char *opname_of(const pf_profile *p, uint16_t op)
{
    assert_true(op < p->nopnames);
    assert_non_null(p->opnames[op]);
    return p->opnames[op];
}

static inline void assert_same_opt_string(const char *a, const char *b)
{
    assert_string_equal(a ? a : "", b ? b : "");
}

static inline pf_profile *full_profile(void)
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
    return p;
}

/* Gives p sampled times: instruction k of the profile gets k*1000 ns and
 * k samples; functions' self times, cumulative times (self + 7), stacks'
 * opcode times and the totals follow, as opprof's own profiles have them. */
static inline void add_times(pf_profile *p)
{
    p->timed = 1;
    set(&p->timing_method, "sampling");
    uint64_t t = 1;
    for (size_t i = 0; i < p->nfunctions; i++) {
        pf_function *f = &p->functions[i];
        for (size_t k = 0; k < f->ncode; k++) {
            assert_int_equal(pf_add_instr_time(f, k, t * 1000, t), 0);
            f->time_ns += t * 1000;
            t++;
        }
        f->cumulative_ns = f->time_ns + 7;
        p->time_ns += f->time_ns;
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        pf_node *s = &p->nodes[i];
        for (size_t k = 0; k < s->nops; k++) {
            assert_int_equal(pf_node_add_op(s, s->ops[k].op, 0, 500 + k), 0);
            s->time_ns += 500 + k;
        }
    }
}

static inline uint64_t stack_op_count(const pf_profile *p, const pf_node *s, const char *name)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nops; i++)
        if (strcmp(opname_of(p, s->ops[i].op), name) == 0)
            n += s->ops[i].v;
    return n;
}

static inline void assert_profiles_equal(const pf_profile *p, const pf_profile *q)
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
    assert_int_equal(p->nnodes, q->nnodes);
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i], *t = &q->nodes[i];
        assert_true(s->thread < p->nthreads);
        assert_true(t->thread < q->nthreads);
        assert_string_equal(p->threads[s->thread], q->threads[t->thread]);
        assert_int_equal(s->parent, t->parent);
        assert_int_equal(s->function, t->function);
        assert_int_equal(s->callsite, t->callsite);
        assert_int_equal(s->instructions, t->instructions);
        for (size_t k = 0; k < s->nops; k++) {
            const char *name = opname_of(p, s->ops[k].op);
            assert_int_equal(stack_op_count(p, s, name), stack_op_count(q, t, name));
        }
    }
}

#endif
