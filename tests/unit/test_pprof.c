/*
 * test_pprof.c - unit tests for the pprof output (reports/pprof*.c).
 *
 * The output is read back here with zlib and the same libprotobuf-c
 * messages, and checked for what pprof itself checks (string indices in
 * the table, ids that exist, one value per sample type) and for what
 * pprof.h promises: sample types and totals, leaf lines from a node's
 * sites, callers at the lines of their calls (from the caller's executed
 * instructions, else its line table, else its first line), opcode leaves
 * and labels, one-frame samples without stacks, no count type for
 * --time-only, native frames with their modules as mappings, the same
 * bytes for the same profile, and a one-line refusal of an inconsistent
 * profile before anything is written.  The call-tree sites are built by
 * hand: the collector does not record them yet.
 */
#include "pprof_fixtures.h"

#include <fcntl.h>

/* ---- profiles with sites ------------------------------------------------- */

typedef struct site_in {
    int line;
    const char *op;
    uint64_t v;
} site_in;

static void code_fn(pf_profile *p, const char *file, const char *qualname, const char *name,
                    int first, pf_scope scope, const uint32_t *offsets, const int *lines,
                    size_t n)
{
    pf_function *f = pf_add_function(p);
    assert_non_null(f);
    set(&f->file, file);
    set(&f->qualname, qualname);
    set(&f->name, name);
    f->firstlineno = first;
    f->scope = scope;
    f->code = calloc(n + 1, sizeof *f->code);
    assert_non_null(f->code);
    int op = pf_opname_index(p, "NOP");
    assert_true(op >= 0);
    for (size_t i = 0; i < n; i++)
        f->code[i] = (pf_instr){.offset = offsets[i], .line = lines[i], .op = (uint16_t)op};
    f->ncode = n;
}

static pf_node *node(pf_profile *p, uint32_t parent, uint32_t fn, int32_t callsite,
                     const char *thread, const site_in *counts, size_t nc,
                     const site_in *times, size_t nt)
{
    int t = pf_thread_index(p, thread);
    assert_true(t >= 0);
    pf_node *n = pf_add_node(p);
    assert_non_null(n);
    n->parent = parent;
    n->function = fn;
    n->callsite = callsite;
    n->thread = (uint32_t)t;
    n->sites = calloc(nc + nt + 1, sizeof *n->sites);
    assert_non_null(n->sites);
    for (size_t k = 0; k < nc + nt; k++) {
        const site_in *s = k < nc ? &counts[k] : &times[k - nc];
        int op = pf_opname_index(p, s->op);
        assert_true(op >= 0);
        n->sites[k] = (pf_site){.v = s->v, .line = s->line, .op = (uint16_t)op};
        *(k < nc ? &n->instructions : &n->time_ns) += s->v;
        *(k < nc ? &p->instructions : &p->time_ns) += s->v;
    }
    n->nsites = (uint32_t)nc;
    n->nsite_times = (uint32_t)nt;
    return n;
}

/* <module> (app.py:1) calls work (app.py:10) at line 5 (offset 10, an
 * executed CALL) and, on a worker thread, from an unrecorded place; work
 * calls Box.helper (lib.py:30) at offset 40, which only its line table
 * knows (line 13). */
static pf_profile *sites_profile(void)
{
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    static const char *const argv[] = {"app.py"};
    assert_int_equal(pf_set_argv(p, argv, 1), 0);
    set(&p->python_version, "3.12.1");
    set(&p->executable, "/usr/bin/python3.12");
    set(&p->root, "/proj");
    p->counted = p->timed = p->stacks_enabled = 1;
    p->rate_hz = 1000;
    p->wall_ns = 5000000;
    assert_int_equal(pf_ensure_process(p), 0);
    p->processes[0].pid = 4242;
    code_fn(p, "/proj/app.py", "<module>", "<module>", 1, PF_SCOPE_MODULE,
            (uint32_t[]){0, 10, 12}, (int[]){1, 5, 5}, 3);
    code_fn(p, "/proj/app.py", "work", "work", 10, PF_SCOPE_FUNCTION,
            (uint32_t[]){0, 2, 4, 6}, (int[]){10, 11, 11, 12}, 4);
    code_fn(p, "/proj/lib.py", "Box.helper", "helper", 30, PF_SCOPE_FUNCTION,
            (uint32_t[]){0}, (int[]){31}, 1);
    pf_code *c = calloc(1, sizeof *c);
    dz_line_range *r = calloc(1, sizeof *r);
    assert_true(c && r);
    *r = (dz_line_range){0, 60, 13};
    c->lines = r;
    c->nlines = 1;
    p->functions[1].codeinfo = c;
    static const site_in m0[] = {{1, "RESUME", 1}, {5, "CALL", 1}, {5, "RETURN_CONST", 1}};
    static const site_in w1[] = {{10, "RESUME", 1}, {11, "BINARY_OP", 3}, {11, "LOAD_FAST", 5},
                                 {12, "RETURN_VALUE", 1}};
    static const site_in w1t[] = {{11, "BINARY_OP", 700}, {12, "RETURN_VALUE", 300}};
    static const site_in h2[] = {{-1, "RESUME", 2}, {31, "LOAD_FAST", 4}};
    static const site_in h2t[] = {{31, "LOAD_FAST", 50}};
    static const site_in w3[] = {{11, "LOAD_FAST", 7}};
    node(p, PF_NO_NODE, 0, -1, "MainThread", m0, LEN(m0), NULL, 0);
    node(p, 0, 1, 10, "MainThread", w1, LEN(w1), w1t, LEN(w1t));
    node(p, 1, 2, 40, "MainThread", h2, LEN(h2), h2t, LEN(h2t));
    node(p, PF_NO_NODE, 0, -1, "worker", NULL, 0, NULL, 0);
    node(p, 3, 1, -1, "worker", w3, LEN(w3), NULL, 0);
    return p;
}

static void test_sites(void **state)
{
    (void)state;
    pf_profile *p = sites_profile();
    fl_options o = opts(FL_METRIC_AUTO, 0);
    out r = must_write(p, &o);
    pb *m = r.m;
    check_valid(m);
    assert_int_equal(m->n_sample_type, 2);
    assert_string_equal(str(m, m->sample_type[0]->type), "instructions");
    assert_string_equal(str(m, m->sample_type[0]->unit), "count");
    assert_string_equal(str(m, m->sample_type[1]->type), "cpu");
    assert_string_equal(str(m, m->sample_type[1]->unit), "nanoseconds");
    assert_non_null(m->period_type);
    assert_string_equal(str(m, m->period_type->type), "cpu");
    assert_int_equal(m->period, 1000000);
    assert_int_equal(m->duration_nanos, 5000000);
    assert_string_equal(str(m, m->default_sample_type), "cpu");
    assert_int_equal(total(m, "instructions"), p->instructions);
    assert_int_equal(total(m, "cpu"), p->time_ns);
    /* leaves at their sites' lines (a site without one: the first line),
     * opcodes of one line summed; callers at the lines of their calls */
    assert_int_equal(value_of(m, "<module>:1", "instructions"), 1);
    assert_int_equal(value_of(m, "<module>:5", "instructions"), 2);
    assert_int_equal(value_of(m, "work:10;<module>:5", "instructions"), 1);
    assert_int_equal(value_of(m, "work:11;<module>:5", "instructions"), 8);
    assert_int_equal(value_of(m, "work:11;<module>:5", "cpu"), 700);
    assert_int_equal(value_of(m, "work:12;<module>:5", "cpu"), 300);
    assert_int_equal(value_of(m, "Box.helper:30;work:13;<module>:5", "instructions"), 2);
    assert_int_equal(value_of(m, "Box.helper:31;work:13;<module>:5", "instructions"), 4);
    assert_int_equal(value_of(m, "Box.helper:31;work:13;<module>:5", "cpu"), 50);
    assert_int_equal(value_of(m, "work:11;<module>:1", "instructions"), 7);
    /* labels: the thread, its process's pid, the leaf function's scope */
    for (size_t i = 0; i < m->n_sample; i++) {
        char buf[256];
        int64_t pid = 0;
        stack_of(m, m->sample[i], buf, sizeof buf);
        assert_non_null(label(m, m->sample[i], "process", &pid));
        assert_int_equal(pid, 4242);
        assert_string_equal(label(m, m->sample[i], "thread", NULL),
                            strstr(buf, ";<module>:1") ? "worker" : "MainThread");
        assert_string_equal(label(m, m->sample[i], "scope", NULL),
                            strncmp(buf, "<module>", 8) == 0 ? "module" : "function");
        assert_null(label(m, m->sample[i], "opcode", NULL));
    }
    /* functions: qualname, its co_name when another, file, first line */
    int seen = 0;
    for (size_t i = 0; i < m->n_function; i++) {
        const Perftools__Profiles__Function *f = m->function[i];
        if (strcmp(str(m, f->name), "Box.helper") == 0) {
            assert_string_equal(str(m, f->system_name), "helper");
            assert_string_equal(str(m, f->filename), "/proj/lib.py");
            assert_int_equal(f->start_line, 30);
            seen++;
        }
    }
    assert_int_equal(seen, 1);
    assert_string_equal(str(m, m->mapping[0]->filename), "/usr/bin/python3.12");
    out_release(&r);
    pf_profile_release(p);
}

static void test_opcodes(void **state)
{
    (void)state;
    pf_profile *p = sites_profile();
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 1);
    out r = must_write(p, &o);
    pb *m = r.m;
    check_valid(m);
    assert_string_equal(str(m, m->default_sample_type), "instructions");
    assert_int_equal(total(m, "instructions"), p->instructions);
    assert_int_equal(total(m, "cpu"), p->time_ns);
    assert_int_equal(value_of(m, "[BINARY_OP]:0;work:11;<module>:5", "instructions"), 3);
    assert_int_equal(value_of(m, "[BINARY_OP]:0;work:11;<module>:5", "cpu"), 700);
    assert_int_equal(value_of(m, "[LOAD_FAST]:0;work:11;<module>:5", "instructions"), 5);
    assert_int_equal(value_of(m, "[LOAD_FAST]:0;work:11;<module>:1", "instructions"), 7);
    assert_int_equal(value_of(m, "[RESUME]:0;Box.helper:30;work:13;<module>:5", "instructions"),
                     2);
    for (size_t i = 0; i < m->n_sample; i++) {
        char buf[256];
        stack_of(m, m->sample[i], buf, sizeof buf);
        const char *op = label(m, m->sample[i], "opcode", NULL);
        assert_non_null(op);   /* every instruction has its opcode here */
        assert_int_equal(strncmp(buf + 1, op, strlen(op)), 0);
    }
    out_release(&r);
    pf_profile_release(p);
}

/* What the sites leave out of a node stays on it at its first line; a
 * node without sites (older files) is all there, by opcode with --opcodes. */
static void test_remainder_and_ops(void **state)
{
    (void)state;
    pf_profile *p = sites_profile();
    p->nodes[4].instructions += 3;   /* sites say 7 of its 10 */
    p->instructions += 3;
    int load = pf_opname_index(p, "LOAD_FAST"), call = pf_opname_index(p, "CALL");
    assert_true(load >= 0 && call >= 0);
    pf_node *n = &p->nodes[0];   /* <module>: no sites, opcodes only */
    free(n->sites);
    n->sites = NULL;
    n->nsites = n->nsite_times = 0;
    assert_int_equal(pf_node_add_op(n, (uint16_t)call, 2, 0), 0);
    fl_options plain = opts(FL_METRIC_AUTO, 0), ops = opts(FL_METRIC_AUTO, 1);
    out r = must_write(p, &plain), q = must_write(p, &ops);
    check_valid(r.m);
    check_valid(q.m);
    assert_int_equal(value_of(r.m, "work:10;<module>:1", "instructions"), 3);
    assert_int_equal(value_of(r.m, "work:11;<module>:1", "instructions"), 7);
    assert_int_equal(value_of(r.m, "<module>:1", "instructions"), 3);
    assert_int_equal(value_of(q.m, "[CALL]:0;<module>:1", "instructions"), 2);
    assert_int_equal(value_of(q.m, "<module>:1", "instructions"), 1);
    assert_int_equal(value_of(q.m, "work:10;<module>:1", "instructions"), 3);
    assert_int_equal(total(q.m, "instructions"), p->instructions);
    out_release(&r);
    out_release(&q);
    pf_profile_release(p);
}

static void test_inconsistent(void **state)
{
    (void)state;
    pf_profile *p = sites_profile();
    fl_options o = opts(FL_METRIC_AUTO, 0);
    char err[256] = "";
    out r = {0};
    p->nodes[1].instructions -= 1;   /* its sites say more */
    p->instructions -= 1;
    assert_int_equal(write_to(p, &o, &r, err), -1);
    assert_non_null(strstr(err, "inconsistent profile"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(r.ngz, 0);   /* nothing written */
    out_release(&r);
    p->nodes[1].instructions += 1;   /* the nodes add up to more than the total */
    memset(&r, 0, sizeof r);
    assert_int_equal(write_to(p, &o, &r, err), -1);
    assert_non_null(strstr(err, "add up to"));
    assert_int_equal(r.ngz, 0);
    out_release(&r);
    p->instructions += 1;
    p->nodes[2].parent = 3;   /* a parent after it */
    memset(&r, 0, sizeof r);
    assert_int_equal(write_to(p, &o, &r, err), -1);
    assert_non_null(strstr(err, "inconsistent profile"));
    out_release(&r);
    pf_profile_release(p);
}

static void test_same_bytes(void **state)
{
    (void)state;
    pf_profile *p = sites_profile();
    fl_options o = opts(FL_METRIC_AUTO, 1);
    out a = must_write(p, &o), b = must_write(p, &o);
    assert_int_equal(a.ngz, b.ngz);
    assert_memory_equal(a.gz, b.gz, a.ngz);
    assert_true(a.gz[0] == 0x1f && a.gz[1] == 0x8b);
    assert_memory_equal(a.gz + 4, "\0\0\0\0", 4);   /* mtime 0 */
    out_release(&a);
    out_release(&b);
    pf_profile_release(p);
}

/* ---- the flame graphs' profiles: every mode ----------------------------- */

static void test_modes(void **state)
{
    (void)state;
    for (mode md = TIMED; md < NMODES; md++) {
        for (int fresh = 0; fresh <= 1; fresh++) {
            pf_profile *p = make_profile(md, fresh);
            for (int ops = 0; ops <= 1; ops++) {
                fl_options o = opts(FL_METRIC_AUTO, ops);
                out r = must_write(p, &o);
                check_valid(r.m);
                assert_int_equal(r.m->n_sample_type, (size_t)(p->counted + p->timed));
                assert_int_equal(type_index(r.m, "instructions") >= 0, md != TIME_ONLY);
                assert_int_equal(type_index(r.m, "cpu") >= 0, md != UNTIMED);
                if (p->counted)
                    assert_int_equal(total(r.m, "instructions"), p->instructions);
                if (p->timed)
                    assert_int_equal(total(r.m, "cpu"), p->time_ns);
                assert_int_equal(r.m->period_type != NULL, p->timed);
                for (size_t i = 0; i < r.m->n_sample; i++) {
                    const Perftools__Profiles__Sample *s = r.m->sample[i];
                    /* without stacks: one frame (and its opcode), no thread known */
                    if (md == NO_STACKS) {
                        assert_true(s->n_location_id == 1u + (size_t)ops);
                        assert_null(label(r.m, s, "thread", NULL));
                    } else {
                        assert_non_null(label(r.m, s, "thread", NULL));
                    }
                    assert_non_null(label(r.m, s, "scope", NULL));
                }
                out_release(&r);
            }
            pf_profile_release(p);
        }
    }
}

/* A profile written and read back gives the same bytes (without sites:
 * the JSON does not hold them yet). */
static void test_read_back(void **state)
{
    (void)state;
    for (mode md = TIMED; md < NMODES; md++) {
        pf_profile *p = make_profile(md, 1);
        assert_int_equal(pf_ensure_process(p), 0);   /* a run's profile has its process */
        pf_profile *q = read_back(p);
        fl_options o = opts(FL_METRIC_AUTO, 1);
        out a = must_write(p, &o), b = must_write(q, &o);
        assert_int_equal(a.ngz, b.ngz);
        assert_memory_equal(a.gz, b.gz, a.ngz);
        out_release(&a);
        out_release(&b);
        pf_profile_release(p);
        pf_profile_release(q);
    }
}

static void test_native(void **state)
{
    (void)state;
    pf_profile *p = make_profile(TIMED, 0);
    static const char *const s1[] = {"_start [native]", "PyEval_EvalCode [native]",
                                     "<module> (app.py:1)", "work (app.py:3)",
                                     "deflate [native]"};
    static const char *const s2[] = {"_start [native]", "main [native]"};
    static const char *const s3[] = {"_start [native]", "gone (other.py:5)", "memcpy [native]"};
    p->native = 1;
    add_native(p, "MainThread", s1, LEN(s1), 9000);
    add_native(p, "MainThread", s2, LEN(s2), 500);
    add_native(p, "worker-1", s3, LEN(s3), 250);
    p->native_modules = calloc(2, sizeof *p->native_modules);
    assert_non_null(p->native_modules);
    set(&p->native_modules[0].label, "deflate [native]");
    set(&p->native_modules[0].module, "/lib/libz.so.1");
    set(&p->native_modules[1].label, "memcpy [native]");
    set(&p->native_modules[1].module, "/lib/libc.so.6");
    p->nnative_modules = 2;
    fl_options o = opts(FL_METRIC_AUTO, 1);
    out r = must_write(p, &o);
    pb *m = r.m;
    check_valid(m);
    /* cpu: the native stacks' time; instructions: the call tree's */
    assert_int_equal(total(m, "cpu"), 9750);
    assert_int_equal(total(m, "instructions"), p->instructions);
    /* the frames before the outermost Python one are left out */
    assert_int_equal(value_of(m, "deflate:0;work:3;<module>:1", "cpu"), 9000);
    assert_int_equal(value_of(m, "main:0;_start:0", "cpu"), 500);
    assert_int_equal(value_of(m, "memcpy:0;gone:5", "cpu"), 250);
    for (size_t i = 0; i < m->n_sample; i++) {
        const Perftools__Profiles__Sample *s = m->sample[i];
        char buf[256];
        stack_of(m, s, buf, sizeof buf);
        const char *scope = label(m, s, "scope", NULL);
        if (strncmp(buf, "deflate", 7) == 0)
            assert_string_equal(scope, "function");
        if (strncmp(buf, "main:0", 6) == 0)
            assert_string_equal(scope, "native");
        if (strncmp(buf, "memcpy", 6) == 0)
            assert_string_equal(label(m, s, "thread", NULL), "worker-1");
        if (s->value[type_index(m, "cpu")])   /* native samples: no opcode, cpu only */
            assert_int_equal(s->value[type_index(m, "instructions")], 0);
    }
    /* a mapping per module, native frames' locations on it */
    size_t libs = 0;
    for (size_t i = 0; i < m->n_location; i++) {
        const Perftools__Profiles__Location *l = m->location[i];
        const char *name = str(m, function(m, l->line[0]->function_id)->name);
        const char *map = l->mapping_id ? str(m, m->mapping[l->mapping_id - 1]->filename) : "";
        if (strcmp(name, "deflate") == 0)
            assert_string_equal(map, "/lib/libz.so.1"), libs++;
        if (strcmp(name, "memcpy") == 0)
            assert_string_equal(map, "/lib/libc.so.6"), libs++;
        if (strcmp(name, "main") == 0)
            assert_int_equal(l->mapping_id, 0);
        if (strcmp(name, "gone") == 0) {
            assert_int_equal(l->mapping_id, 1);
            assert_string_equal(str(m, function(m, l->line[0]->function_id)->filename),
                                "other.py");
        }
    }
    assert_int_equal(libs, 2);
    assert_false(m->mapping[1]->has_line_numbers);
    out_release(&r);
    /* --time-only --native: the stacks alone */
    pf_profile *t = make_profile(TIME_ONLY, 0);
    t->native = 1;
    add_native(t, "MainThread", s1, LEN(s1), 777);
    r = must_write(t, &o);
    check_valid(r.m);
    assert_int_equal(r.m->n_sample_type, 1);
    assert_int_equal(total(r.m, "cpu"), 777);
    assert_int_equal(r.m->n_sample, 1);
    out_release(&r);
    pf_profile_release(t);
    pf_profile_release(p);
}

/* A recursion 20,000 deep: samples repeat their path (the format's), the
 * writer neither recurses nor holds them. */
static void test_deep(void **state)
{
    (void)state;
    pf_profile *p = recursion(20000, 1000);
    fl_options o = opts(FL_METRIC_AUTO, 0);
    out r = must_write(p, &o);
    check_valid(r.m);
    assert_int_equal(total(r.m, "instructions"), p->instructions);
    assert_int_equal(r.m->n_sample, 20);
    assert_int_equal(r.m->sample[r.m->n_sample - 1]->n_location_id, 20000);
    out_release(&r);
    pf_profile_release(p);
}

static void test_refusals(void **state)
{
    (void)state;
    pf_profile *p = sites_profile();
    fl_options o = opts(FL_METRIC_AUTO, 0);
    char err[256] = "";
    FILE *f = fopen("/dev/full", "w");
    if (f) {
        assert_int_equal(pp_write(p, &o, f, err, sizeof err), -1);
        assert_true(err[0] && !strchr(err, '\n'));
        fclose(f);
    }
    /* binary data is not for a terminal */
    int mfd = posix_openpt(O_RDWR | O_NOCTTY);
    if (mfd >= 0 && grantpt(mfd) == 0 && unlockpt(mfd) == 0) {
        FILE *tty = fopen(ptsname(mfd), "w");
        assert_non_null(tty);
        err[0] = 0;
        assert_int_equal(pp_write(p, &o, tty, err, sizeof err), -1);
        assert_non_null(strstr(err, "terminal"));
        fclose(tty);
    }
    if (mfd >= 0)
        close(mfd);
    /* the table has it, under its name */
    const fl_format *pf = fl_format_find("pprof");
    assert_non_null(pf);
    assert_ptr_equal(pf->write, pp_write);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sites),
        cmocka_unit_test(test_opcodes),
        cmocka_unit_test(test_remainder_and_ops),
        cmocka_unit_test(test_inconsistent),
        cmocka_unit_test(test_same_bytes),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_native),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
