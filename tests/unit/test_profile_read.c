/*
 * test_profile_read.c - unit tests for reports/model/profile_read.c
 * (pf_read_file) against the writer, reports/model/profile_json.c: round
 * trips of what the writer writes.  Profiles are built by hand
 * (profile_fixtures.h); errors are in test_profile_read_errors.c.
 */
#include "profile_fixtures.h"

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
    /* nodes: [0], [0,1] on MainThread; [0], [0,1], [0,1,2] on worker-1; [3] */
    assert_int_equal(q->nnodes, 6);
    assert_string_equal(q->threads[q->nodes[4].thread], "worker-1 \xe2\x9c\x93");
    assert_int_equal(q->nodes[4].parent, 3);
    assert_int_equal(q->nodes[3].parent, 2);
    assert_int_equal(q->nodes[2].parent, PF_NO_NODE);
    assert_int_equal(q->nodes[2].instructions, 0);
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
    assert_int_equal(q->nnodes, 0);
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
    add_times(p);
    set(&p->timing_clock, "thread CPU time");
    p->rate_hz = 997;
    p->samples = 12345;
    p->sampled_ns = 9876543210ULL;
    p->overhead_ns = 1111;
    p->unattributed_ns = 2222;
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
    assert_true(p->functions[1].ntimes > 0);   /* times to read back */
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i], *g = &q->functions[i];
        assert_int_equal(g->time_ns, f->time_ns);
        assert_int_equal(g->cumulative_ns, f->cumulative_ns);
        for (size_t k = 0; k < f->ncode; k++) {
            assert_int_equal(pf_instr_time(g, k), pf_instr_time(f, k));
            assert_int_equal(pf_instr_samples(g, k), pf_instr_samples(f, k));
        }
        assert_int_equal(g->ntimes, f->ntimes);
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i], *u = &q->nodes[i];
        assert_int_equal(u->time_ns, s->time_ns);
        assert_int_equal(u->ntimes, s->ntimes);
        for (size_t k = 0; k < s->ntimes; k++) {
            size_t m = 0;
            const pf_opval *ut = pf_node_times(u), *st = pf_node_times(s);
            while (m < u->ntimes && strcmp(opname_of(q, ut[m].op), opname_of(p, st[k].op)))
                m++;
            assert_true(m < u->ntimes);
            assert_int_equal(ut[m].v, st[k].v);
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
    assert_int_equal(pf_instr_time(&q->functions[1], 1), 0);
    assert_int_equal(q->functions[1].ntimes, 0);
    pf_profile_release(q);
    pf_profile_release(p);
}

/* The line of an instruction of f running op (the last one). */
static int32_t line_of_op(const pf_function *f, uint16_t op)
{
    int32_t line = -2;
    for (size_t k = 0; k < f->ncode; k++)
        if (f->code[k].op == op)
            line = f->code[k].line;
    assert_int_not_equal(line, -2);
    return line;
}

/* Every node gets sites from its ops and times (each opcode on the line of
 * one of its function's instructions running it) and a callsite: what
 * opprof's own profiles hold with --lines. */
static void add_sites(pf_profile *p)
{
    for (size_t i = 0; i < p->nnodes; i++) {
        pf_node *s = &p->nodes[i];
        const pf_function *f = &p->functions[s->function];
        pf_site v[64];
        size_t n = 0;
        for (size_t k = 0; k < s->nops; k++)
            v[n++] = (pf_site){s->ops[k].v, line_of_op(f, s->ops[k].op), s->ops[k].op};
        for (size_t k = 0; k < s->ntimes; k++)
            v[n++] = (pf_site){pf_node_times(s)[k].v, line_of_op(f, pf_node_times(s)[k].op),
                               pf_node_times(s)[k].op};
        assert_int_equal(pf_node_add_sites(s, v, s->nops, s->ntimes, NULL), 0);
        if (s->parent != PF_NO_NODE)
            s->callsite = (int32_t)(2 * i);
    }
}

static void assert_same_sites(const pf_node *s, const pf_node *t)
{
    assert_int_equal(s->nsites, t->nsites);
    assert_int_equal(s->nsite_times, t->nsite_times);
    for (size_t k = 0; k < (size_t)s->nsites + s->nsite_times; k++) {
        assert_int_equal(s->sites[k].v, t->sites[k].v);
        assert_int_equal(s->sites[k].line, t->sites[k].line);
        assert_int_equal(s->sites[k].op, t->sites[k].op);
    }
}

/* Sites and callsites read back as written, timed or not; merging a
 * profile with itself doubles every site; a profile without sites in a
 * merge leaves the sum without any (they would not add up). */
static void test_round_trip_sites(void **state)
{
    (void)state;
    for (int timed = 0; timed < 2; timed++) {
        pf_profile *p = full_profile();
        if (timed)
            add_times(p);
        add_sites(p);
        char err[256];
        assert_int_equal(pf_check_sums(p, err, sizeof err), 0);
        pf_profile *q = save_and_read(p, timed ? "sites_t.json" : "sites.json");
        assert_profiles_equal(p, q);
        for (size_t i = 0; i < p->nnodes; i++) {
            assert_same_sites(&p->nodes[i], &q->nodes[i]);
            assert_true(p->nodes[i].nsites > 0 || p->nodes[i].nops == 0);
        }
        pf_profile *two[] = {p, q}, *sum = NULL;
        assert_int_equal(pf_merge(two, 2, &sum, err, sizeof err), 0);
        for (size_t i = 0; i < p->nnodes; i++) {
            const pf_node *s = &p->nodes[i], *t = &sum->nodes[i];
            assert_int_equal(t->callsite, s->callsite);
            assert_int_equal(t->nsites, s->nsites);
            assert_int_equal(t->nsite_times, s->nsite_times);
            for (size_t k = 0; k < (size_t)s->nsites + s->nsite_times; k++) {
                assert_int_equal(t->sites[k].v, 2 * s->sites[k].v);
                assert_int_equal(t->sites[k].line, s->sites[k].line);
            }
        }
        pf_profile_release(sum);
        for (size_t i = 0; i < q->nnodes; i++)
            pf_node_drop_sites(&q->nodes[i]);
        assert_int_equal(pf_merge(two, 2, &sum, err, sizeof err), 0);
        for (size_t i = 0; i < sum->nnodes; i++)
            assert_int_equal(sum->nodes[i].nsites + sum->nodes[i].nsite_times, 0);
        pf_profile_release(sum);
        /* sites that do not add up to the node's count are refused */
        p->nodes[1].sites[0].v++;
        assert_int_equal(pf_check_sums(p, err, sizeof err), -1);
        assert_non_null(strstr(err, "sites do not add up"));
        pf_profile_release(q);
        pf_profile_release(p);
    }
}

/* A file name that is not UTF-8 reads back with U+FFFD for the bad byte. */
static void test_round_trip_non_utf8_file(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/a/proj", NULL);
    add_simple(p, "/a/proj/caf\xff.py", "f", 1, 3);
    pf_profile *q = save_and_read(p, "ff.json");
    /* v2 keeps the bytes (strings_hex) */
    assert_string_equal(q->functions[0].file, "/a/proj/caf\xff.py");
    assert_string_equal(q->functions[0].qualname, "f");
    pf_profile_release(q);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_defaults),
        cmocka_unit_test(test_round_trip_timed),
        cmocka_unit_test(test_round_trip_sites),
        cmocka_unit_test(test_round_trip_non_utf8_file),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
