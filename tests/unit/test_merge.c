/*
 * test_merge.c - unit tests for reports/model/merge.c (pf_merge): sums, identity, refusals, associativity.
 * Profiles are built by hand (profile_fixtures.h).
 */
#include "profile_fixtures.h"

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

static const pf_node *find_stack(const pf_profile *p, const char *thread,
                                 const uint32_t *frames, size_t n)
{
    uint32_t path[16];
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i];
        if (strcmp(p->threads[s->thread], thread) || pf_node_depth(p, i) != n)
            continue;
        pf_node_path(p, i, path);
        if (memcmp(path, frames, n * sizeof *frames) == 0)
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
    assert_int_equal(pf_add_instr_time(&a->functions[0], 2, 50, 5), 0);   /* CALL at 4 */
    assert_int_equal(pf_add_instr_time(&b->functions[1], 1, 70, 7), 0);
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
    assert_int_equal(pf_instr_time(f, (size_t)(instr_at(f, 4) - f->code)), 120);
    assert_int_equal(pf_instr_samples(f, (size_t)(instr_at(f, 4) - f->code)), 12);
    /* the times moved with their instructions into the union */
    for (size_t i = 0; i < f->ntimes; i++)
        assert_true(f->times[i].instr < f->ncode && (!i || f->times[i].instr > f->times[i - 1].instr));
    assert_int_equal(f->ntimes, 1);
    /* stacks: same thread and frames add up; ids are the merged ones */
    assert_int_equal(m->nnodes, 4);
    const uint32_t m_main[] = {0}, m_a[] = {0, 1}, m_b[] = {0, 2};
    const pf_node *s = find_stack(m, "MainThread", m_main, 1);
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
    assert_int_equal(m->nnodes, a->nnodes);
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

/* Sums past what a profile holds are refused, never written: opprof
 * would refuse to read them back. */
static void test_merge_refuses_overflow(void **state)
{
    (void)state;
    pf_profile *a = profile_new("/p", NULL);
    add_simple(a, "/p/m.py", "f", 1, PF_MAX_COUNT / 2 + 1);
    pf_profile *in[] = {a, a}, *out = (pf_profile *)in;
    char err[256] = "";
    assert_int_equal(pf_merge(in, 2, &out, err, sizeof err), -1);
    assert_null(out);
    assert_non_null(strstr(err, "2^63-1"));
    /* three of them would wrap an unsigned sum: saturated, still refused */
    pf_profile *three[] = {a, a, a};
    assert_int_equal(pf_merge(three, 3, &out, err, sizeof err), -1);
    assert_int_equal(pf_merge(in, 1, &out, err, sizeof err), 0);
    pf_profile_release(out);
    pf_profile_release(a);
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
        cmocka_unit_test(test_merge_sums),
        cmocka_unit_test(test_merge_keeps_inputs),
        cmocka_unit_test(test_merge_same_key_different_code),
        cmocka_unit_test(test_merge_refuses_other_interpreter),
        cmocka_unit_test(test_merge_associative),
        cmocka_unit_test(test_merge_associative_opcode_ties),
        cmocka_unit_test(test_merge_associative_partial_code),
        cmocka_unit_test(test_merge_one_profile_same_line),
        cmocka_unit_test(test_merge_refuses_overflow),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
