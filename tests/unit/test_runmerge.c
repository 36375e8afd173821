/*
 * test_runmerge.c - the processes of one run in the model: a child's part
 * merged as a process of its own (reports/model/merge_proc.c), the new
 * fields' round trip through the v2 file, and pf_drop_idle_functions.
 * Profiles are built by hand (profile_fixtures.h).
 */
#include "profile_fixtures.h"

#include "../../reports/model/merge.h"

#define RUN "0123456789abcdef0123456789abcdef"

/* One process of run RUN (or of no run: run NULL): pid, its parent's pid,
 * function work() with `calls` calls of `count` LOAD_FASTs, on a stack
 * main -> work on MainThread. */
static pf_profile *process(const char *run, int64_t pid, int64_t ppid, uint64_t calls,
                           uint64_t count, int status)
{
    pf_profile *p = profile_new("/p", NULL);
    if (run)
        set(&p->run_id, run);
    const ins code[] = {{2, "LOAD_FAST", 3, count}};
    add_simple(p, "/p/m.py", "main", 1, 1);
    add_fn_scope(p, "/p/m.py", "work", 2, PF_SCOPE_FUNCTION, calls, code, 1);
    const uint32_t path[] = {0, 1}, top[] = {0};
    const opc own[] = {{"LOAD_FAST", count}}, one[] = {{"LOAD_FAST", 1}};
    add_stack(p, "MainThread", top, 1, one, 1);
    add_stack(p, "MainThread", path, 2, own, 1);
    p->stacks_enabled = 1;
    p->exit_status = status;
    p->wall_ns = 1000;
    const char *argv[] = {pid == 100 ? "main.py" : "-c"};
    assert_int_equal(pf_set_argv(p, argv, 1), 0);
    assert_int_equal(pf_ensure_process(p), 0);
    p->processes[0].pid = pid;
    p->processes[0].ppid = ppid;
    p->processes[0].exit_status = status;
    set(&p->processes[0].ended, status == 143 ? "SIGTERM" : "exit");
    p->processes[0].start_ns = 1000 * (uint64_t)pid;
    p->processes[0].end_ns = 1000 * (uint64_t)pid + 500;
    return p;
}

static const pf_function *fn(const pf_profile *p, const char *qualname)
{
    for (size_t i = 0; i < p->nfunctions; i++)
        if (strcmp(p->functions[i].qualname, qualname) == 0)
            return &p->functions[i];
    fail_msg("no function %s", qualname);
    return NULL;
}

static pf_profile *merge_all(pf_profile **in, size_t n)
{
    pf_profile *out = NULL;
    char err[256] = "";
    if (pf_merge(in, n, &out, err, sizeof err) != 0)
        fail_msg("pf_merge: %s", err);
    return out;
}

static void check_two_processes(const pf_profile *m)
{
    assert_string_equal(m->run_id, RUN);
    assert_int_equal(m->nprocesses, 2);
    assert_int_equal(m->processes[0].pid, 100);
    assert_int_equal(m->processes[0].parent, -1);
    assert_int_equal(m->processes[1].pid, 200);
    assert_int_equal(m->processes[1].parent, 0);
    assert_int_equal(m->processes[1].exit_status, 143);
    assert_string_equal(m->processes[1].ended, "SIGTERM");
    assert_int_equal(m->processes[1].start_ns, 200000);
    /* the run's status and wall time are the parent's */
    assert_int_equal(m->exit_status, 0);
    assert_int_equal(m->wall_ns, 1000);
    assert_false(m->incomplete);
    /* one record, the sum, with each process's share beside it */
    const pf_function *w = fn(m, "work");
    assert_int_equal(w->calls, 5);
    assert_int_equal(w->code[0].count, 70);
    assert_int_equal(w->nper_process, 2);
    assert_int_equal(w->per_process[0].process, 0);
    assert_int_equal(w->per_process[0].calls, 2);
    assert_int_equal(w->per_process[0].instructions, 20);
    assert_int_equal(w->per_process[1].process, 1);
    assert_int_equal(w->per_process[1].calls, 3);
    assert_int_equal(w->per_process[1].instructions, 50);
    /* two MainThreads, one per process: their stacks stay apart */
    assert_int_equal(m->nthreads, 2);
    assert_string_equal(m->threads[0], "MainThread");
    assert_string_equal(m->threads[1], "MainThread");
    assert_int_equal(m->thread_process[0], 0);
    assert_int_equal(m->thread_process[1], 1);
    uint64_t by_thread[2] = {0, 0};
    for (size_t i = 0; i < m->nnodes; i++)
        by_thread[m->nodes[i].thread] += m->nodes[i].instructions;
    assert_int_equal(by_thread[0], 21);
    assert_int_equal(by_thread[1], 51);
}

static void test_child_is_a_process(void **state)
{
    (void)state;
    pf_profile *in[] = {process(RUN, 100, 1, 2, 20, 0), process(RUN, 200, 100, 3, 50, 143)};
    in[1]->incomplete = 1;   /* ended by SIGTERM: its own process says so */
    in[1]->processes[0].incomplete = 1;
    pf_profile *m = merge_all(in, 2);
    check_two_processes(m);
    assert_true(m->processes[1].incomplete);
    pf_profile_release(m);
    pf_profile_release(in[0]);
    pf_profile_release(in[1]);
}

/* The parent listed the child pending; the child's own file, merged in
 * later, fills that entry (opprof merge OUT OUT.PID.json). */
static void test_pending_child_folded_in(void **state)
{
    (void)state;
    pf_profile *parent = process(RUN, 100, 1, 2, 20, 0);
    pf_process *pr = pf_add_process(parent);
    assert_non_null(pr);
    pr->pid = 200;
    pr->ppid = 100;
    pr->parent = 0;
    pr->pending = 1;
    pf_profile *child = process(RUN, 200, 100, 3, 50, 143);
    pf_profile *in[] = {parent, child};
    pf_profile *m = merge_all(in, 2);
    check_two_processes(m);
    assert_false(m->processes[1].pending);
    assert_int_equal(m->processes[1].argc, 1);
    assert_string_equal(m->processes[1].argv[0], "-c");
    pf_profile_release(m);
    pf_profile_release(parent);
    pf_profile_release(child);
}

/* Unrelated runs (no run id, or another one) add up as before: one
 * process, threads by name. */
static void test_unrelated_runs_add_up(void **state)
{
    (void)state;
    const char *ids[][2] = {{NULL, NULL}, {RUN, "ffffffffffffffffffffffffffffffff"}};
    for (size_t k = 0; k < 2; k++) {
        pf_profile *in[] = {process(ids[k][0], 100, 1, 2, 20, 0),
                            process(ids[k][1], 200, 100, 3, 50, 0)};
        pf_profile *m = merge_all(in, 2);
        assert_int_equal(m->nprocesses, 1);
        assert_int_equal(m->nthreads, 1);
        assert_int_equal(m->wall_ns, 2000);
        assert_int_equal(fn(m, "work")->calls, 5);
        pf_profile_release(m);
        pf_profile_release(in[0]);
        pf_profile_release(in[1]);
    }
}

/* The file keeps what the model has; merging files (the streaming path
 * `opprof merge` takes) gives what merging in memory gives. */
static void test_round_trip_and_streaming(void **state)
{
    (void)state;
    pf_profile *in[] = {process(RUN, 100, 1, 2, 20, 0), process(RUN, 200, 100, 3, 50, 143)};
    pf_profile *m = merge_all(in, 2);
    pf_profile *back = save_and_read(m, "merged.json");
    check_two_processes(back);
    assert_int_equal(back->processes[1].ppid, 100);
    assert_int_equal(back->processes[1].end_ns, 200500);
    char *a = to_json(m), *b = to_json(back);
    assert_string_equal(a, b);

    char *p0 = path_in_tmp("p0.json"), *p1 = path_in_tmp("p1.json"), err[256] = "";
    assert_int_equal(pf_json_save(in[0], p0, err, sizeof err), 0);
    assert_int_equal(pf_json_save(in[1], p1, err, sizeof err), 0);
    pf_merger *mg = pf_merger_new();
    pf_profile *streamed = NULL;
    assert_int_equal(pf_merger_read(mg, p0, err, sizeof err), 0);
    assert_int_equal(pf_merger_read(mg, p1, err, sizeof err), 0);
    assert_int_equal(pf_merger_finish(mg, &streamed, err, sizeof err), 0);
    pf_merger_release(mg);
    check_two_processes(streamed);
    char *c = to_json(streamed);
    assert_string_equal(a, c);
    free(a), free(b), free(c), free(p0), free(p1);
    pf_profile_release(streamed);
    pf_profile_release(back);
    pf_profile_release(m);
    pf_profile_release(in[0]);
    pf_profile_release(in[1]);
}

static void test_drop_idle_functions(void **state)
{
    (void)state;
    pf_profile *p = process(RUN, 200, 100, 3, 50, 0);
    const ins none[] = {{2, "LOAD_FAST", 9, 0}};
    add_fn_scope(p, "/p/m.py", "idle", 8, PF_SCOPE_FUNCTION, 0, none, 0);
    add_simple(p, "/p/m.py", "after", 12, 4);
    assert_int_equal(p->nfunctions, 4);
    const uint32_t path[] = {0, 3};
    const opc four[] = {{"LOAD_FAST", 4}};
    add_stack(p, "MainThread", path, 2, four, 1);
    assert_int_equal(pf_drop_idle_functions(p), 0);
    assert_int_equal(p->nfunctions, 3);
    assert_string_equal(p->functions[2].qualname, "after");
    assert_int_equal(p->functions[2].id, 2);
    int seen = 0;
    for (size_t i = 0; i < p->nnodes; i++)
        if (p->nodes[i].instructions == 4)
            seen = 1, assert_int_equal(p->nodes[i].function, 2);
    assert_true(seen);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_is_a_process),
        cmocka_unit_test(test_pending_child_folded_in),
        cmocka_unit_test(test_unrelated_runs_add_up),
        cmocka_unit_test(test_round_trip_and_streaming),
        cmocka_unit_test(test_drop_idle_functions),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
