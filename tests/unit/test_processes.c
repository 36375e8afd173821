/*
 * test_processes.c - unit tests for multi-process profiles (run
 * --subprocesses) in the outputs: a frame "process PID: ARGV" at the root
 * of every flame-graph stack (folded, speedscope, html, --native, without
 * stacks) and of every pprof sample, processes kept apart though their
 * threads share a name, the report's processes section, and a profile of
 * one process exactly as before.  The profiles are built in memory: two
 * processes, each with a thread named "MainThread", a function of its own
 * and one they share (per_process keeps each one's share), and a third,
 * pending, that ran nothing here.
 */
#include "pprof_fixtures.h"

#include "../../reports/report_text.h"

static void set_argv(pf_process *pr, const char *const *argv, size_t n)
{
    pr->argv = calloc(n + 1, sizeof *pr->argv);
    assert_non_null(pr->argv);
    for (pr->argc = 0; pr->argc < n; pr->argc++)
        set(&pr->argv[pr->argc], argv[pr->argc]);
}

static pf_node *tree_node(pf_profile *p, uint32_t parent, uint32_t fn, uint32_t thread,
                          uint64_t instructions, uint64_t time_ns)
{
    pf_node *n = pf_add_node(p);
    assert_non_null(n);
    n->parent = parent;
    n->function = fn;
    n->thread = thread;
    n->instructions = instructions;
    n->time_ns = time_ns;
    return n;
}

#define WORKER_ARGV "worker.py --n 3"
#define MAIN_ARGV "main.py --jobs 2"
#define MAIN "process 4242: " MAIN_ARGV
#define WORKER "process 4250: " WORKER_ARGV

static pf_profile *two_processes(int stacks)
{
    static const char *const main_argv[] = {"main.py", "--jobs", "2"};
    static const char *const worker_argv[] = {"worker.py", "--n", "3"};
    static const char *const long_argv[] = {
        "/usr/lib/python3/dist-packages/some/deeply/nested/package/tool.py", "--verbose"};
    static const ins main_code[] = {{"LOAD_NAME", 100, 1000, 1}};
    static const ins worker_code[] = {{"LOAD_NAME", 50, 500, 1}};
    static const ins work_code[] = {{"LOAD_FAST", 50, 500, 1}};
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    set(&p->python_version, "3.12.1");
    set(&p->collector, "sys.monitoring control flow");
    set(&p->root, "/proj");
    assert_int_equal(pf_set_argv(p, main_argv, LEN(main_argv)), 0);
    p->wall_ns = 2000000000;
    p->counted = p->timed = 1;
    p->stacks_enabled = stacks;
    set(&p->timing_method, "sampling");
    p->rate_hz = 1000;
    p->processes = calloc(3, sizeof *p->processes);
    assert_non_null(p->processes);
    p->nprocesses = 3;
    pf_process *pr = p->processes;
    pr[0] = (pf_process){.pid = 4242, .parent = -1, .start_ns = 1700000000000000000ull,
                         .end_ns = 1700000002000000000ull};
    set(&pr[0].ended, "exit");
    set_argv(&pr[0], main_argv, LEN(main_argv));
    pr[1] = (pf_process){.pid = 4250, .parent = 0, .exit_status = 143,
                         .start_ns = 1700000000500000000ull, .end_ns = 1700000001250000000ull};
    set(&pr[1].ended, "SIGTERM");
    set_argv(&pr[1], worker_argv, LEN(worker_argv));
    pr[2] = (pf_process){.pid = 4251, .parent = 0, .pending = 1,
                         .start_ns = 1700000001000000000ull};
    set_argv(&pr[2], long_argv, LEN(long_argv));
    /* two threads of one name, one per process: pf_thread_index would
     * take the second for the first */
    assert_int_equal(pf_thread_index(p, "MainThread"), 0);
    assert_int_equal(pf_thread_index(p, "other"), 1);
    free(p->threads[1]);
    p->threads[1] = NULL;
    set(&p->threads[1], "MainThread");
    p->thread_process[0] = 0;
    p->thread_process[1] = 1;
    add_fn(p, TIMED, "/proj/main.py", "<module>", 1, PF_SCOPE_MODULE, main_code,
           LEN(main_code));
    add_fn(p, TIMED, "/proj/worker.py", "<module>", 1, PF_SCOPE_MODULE, worker_code,
           LEN(worker_code));
    add_fn(p, TIMED, "/proj/lib.py", "work", 5, PF_SCOPE_FUNCTION, work_code, LEN(work_code));
    p->functions[1].process = 1;
    pf_function *work = &p->functions[2];
    work->per_process = calloc(2, sizeof *work->per_process);
    assert_non_null(work->per_process);
    work->nper_process = 2;
    work->per_process[0] = (pf_proc_count){0, 1, 30, 300};
    work->per_process[1] = (pf_proc_count){1, 1, 20, 200};
    if (stacks) {
        tree_node(p, PF_NO_NODE, 0, 0, 100, 1000);
        tree_node(p, 0, 2, 0, 30, 300);
        tree_node(p, PF_NO_NODE, 1, 1, 50, 500);
        tree_node(p, 2, 2, 1, 20, 200);
    }
    p->samples = 3;
    p->sampled_ns = p->time_ns;
    return p;
}

static int setup(void **state)
{
    *state = two_processes(1);
    return 0;
}

/* ---- the frames ----------------------------------------------------------- */

static void test_labels(void **state)
{
    pf_profile *p = *state;
    char **v = fl_process_labels(p);
    assert_non_null(v);
    assert_string_equal(v[0], MAIN);
    assert_string_equal(v[1], WORKER);
    /* 59 characters of argv and "…", then the pending mark */
    assert_string_equal(v[2], "process 4251: /usr/lib/python3/dist-packages/some/deeply/"
                              "nested/package/t\xe2\x80\xa6 (pending)");
    fl_process_labels_free(v, p->nprocesses);
    /* a pid reused in one run is still two processes */
    p->processes[1].pid = 4242;
    for (size_t i = 0; i < p->processes[1].argc; i++)
        free(p->processes[1].argv[i]);
    free(p->processes[1].argv);
    set_argv(&p->processes[1], (const char *const[]){"main.py", "--jobs", "2"}, 3);
    v = fl_process_labels(p);
    assert_non_null(v);
    assert_string_equal(v[0], MAIN);
    assert_string_equal(v[1], MAIN " #1");
    fl_process_labels_free(v, p->nprocesses);
}

static void test_folded(void **state)
{
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 0);
    char *s = must_render("folded", *state, &o);
    assert_string_equal(s, MAIN ";<module> (main.py:1) 100\n"
                           MAIN ";<module> (main.py:1);work (lib.py:5) 30\n"
                           WORKER ";<module> (worker.py:1) 50\n"
                           WORKER ";<module> (worker.py:1);work (lib.py:5) 20\n");
    free(s);
    o = opts(FL_METRIC_TIME, 1);
    s = must_render("folded", *state, &o);
    assert_int_equal(folded_sum(s), ((pf_profile *)*state)->time_ns);
    assert_string_equal(s, MAIN ";<module> (main.py:1) 1000\n"
                           MAIN ";<module> (main.py:1);work (lib.py:5) 300\n"
                           WORKER ";<module> (worker.py:1) 500\n"
                           WORKER ";<module> (worker.py:1);work (lib.py:5) 200\n");
    free(s);
}

/* Both threads are "MainThread": one thread of the graph, two roots. */
static void test_graph(void **state)
{
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 0);
    fl_graph g;
    char err[256];
    assert_int_equal(fl_build(*state, &o, FL_BY_THREAD | FL_BOTH_METRICS, &g, err, sizeof err),
                     0);
    check_graph(&g, 1);
    assert_int_equal(g.nthreads, 1);
    assert_string_equal(g.threads[0], "MainThread");
    size_t roots = 0;
    for (size_t i = 0; i < g.nnodes; i++)
        if (g.nodes[i].parent == FL_NO_NODE) {
            const fl_frame *f = &g.frames[g.nodes[i].frame];
            assert_string_equal(f->name, roots ? WORKER : MAIN);
            assert_null(f->file);
            assert_int_equal(f->function, FL_NO_FUNCTION);
            roots++;
        }
    assert_int_equal(roots, 2);
    assert_int_equal(g.height, 3);
    fl_release(&g);
}

static void test_speedscope(void **state)
{
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 0);
    char *s = must_render("speedscope", *state, &o);
    check_speedscope(s, ((pf_profile *)*state)->instructions);
    assert_non_null(strstr(s, "{\"name\":\"" MAIN "\"}"));
    assert_non_null(strstr(s, "{\"name\":\"" WORKER "\"}"));
    const char *prof = strstr(s, "\"profiles\":[");
    assert_non_null(prof);
    /* one profile for the thread name, both processes in it */
    assert_non_null(strstr(prof, "\"name\":\"MainThread\""));
    assert_null(strstr(strstr(prof, "\"name\":\"MainThread\"") + 1, "\"name\":\"MainThread\""));
    free(s);
}

static void test_html(void **state)
{
    fl_options o = opts(FL_METRIC_AUTO, 0);
    char *s = must_render("html", *state, &o);
    assert_non_null(strstr(s, MAIN));
    assert_non_null(strstr(s, WORKER));
    free(s);
}

/* Without stacks a function is a root under its process; one that ran in
 * both has each one's share there. */
static void test_no_stacks(void **state)
{
    (void)state;
    pf_profile *p = two_processes(0);
    fl_options o = opts(FL_METRIC_INSTRUCTIONS, 0);
    char *s = must_render("folded", p, &o);
    assert_string_equal(s, MAIN ";<module> (main.py:1) 100\n"
                           MAIN ";work (lib.py:5) 30\n"
                           WORKER ";<module> (worker.py:1) 50\n"
                           WORKER ";work (lib.py:5) 20\n");
    free(s);
    /* the opcodes of a function of one process stay */
    o = opts(FL_METRIC_INSTRUCTIONS, 1);
    s = must_render("folded", p, &o);
    assert_non_null(strstr(s, MAIN ";<module> (main.py:1);[LOAD_NAME] 100\n"));
    assert_non_null(strstr(s, WORKER ";work (lib.py:5) 20\n"));
    assert_int_equal(folded_sum(s), p->instructions);
    free(s);
    pf_profile_release(p);
}

static const char *const stack0[] = {"_start [native]", "<module> (main.py:1)",
                                     "work (lib.py:5)", "deflate [native]"};
static const char *const stack1[] = {"_start [native]", "<module> (worker.py:1)",
                                     "work (lib.py:5)", "deflate [native]"};

static void add_native_stacks(pf_profile *p)
{
    p->native = 1;
    add_native(p, "MainThread", stack0, LEN(stack0), 7000);
    pf_native_stack *s = pf_add_native_stack(p);   /* the second "MainThread" */
    assert_non_null(s);
    *s = p->native_stacks[0];
    s->frames = calloc(LEN(stack1), sizeof *s->frames);
    assert_non_null(s->frames);
    for (s->nframes = 0; s->nframes < LEN(stack1); s->nframes++)
        set(&s->frames[s->nframes], stack1[s->nframes]);
    s->thread = 1;
    s->time_ns = 3000;
}

static void test_native(void **state)
{
    pf_profile *p = *state;
    add_native_stacks(p);
    fl_options o = opts(FL_METRIC_TIME, 0);
    char *s = must_render("folded", p, &o);
    assert_string_equal(s, MAIN ";<module> (main.py:1);work (lib.py:5);deflate [native] 7000\n"
                           WORKER ";<module> (worker.py:1);work (lib.py:5);deflate [native] "
                           "3000\n");
    free(s);
    out r = must_write(p, &o);
    check_valid(r.m);
    assert_int_equal(value_of(r.m, "deflate:0;work:5;<module>:1;" MAIN ":0", "cpu"), 7000);
    assert_int_equal(value_of(r.m, "deflate:0;work:5;<module>:1;" WORKER ":0", "cpu"), 3000);
    out_release(&r);
}

/* ---- pprof ---------------------------------------------------------------- */

static int64_t process_label(const pb *m, const char *stack)
{
    char buf[1024];
    for (size_t i = 0; i < m->n_sample; i++) {
        stack_of(m, m->sample[i], buf, sizeof buf);
        int64_t pid = 0;
        if (strcmp(buf, stack) == 0 && label(m, m->sample[i], "process", &pid))
            return pid;
    }
    return -1;
}

static void test_pprof(void **state)
{
    fl_options o = opts(FL_METRIC_AUTO, 0);
    out r = must_write(*state, &o);
    const pb *m = r.m;
    check_valid(m);
    assert_int_equal(total(m, "instructions"), 200);
    assert_int_equal(total(m, "cpu"), 2000);
    /* leaf first: the process is the root, the last location */
    assert_int_equal(value_of(m, "<module>:1;" MAIN ":0", "instructions"), 100);
    assert_int_equal(value_of(m, "work:5;<module>:1;" MAIN ":0", "instructions"), 30);
    assert_int_equal(value_of(m, "<module>:1;" WORKER ":0", "instructions"), 50);
    assert_int_equal(value_of(m, "work:5;<module>:1;" WORKER ":0", "cpu"), 200);
    assert_int_equal(process_label(m, "work:5;<module>:1;" WORKER ":0"), 4250);
    assert_int_equal(process_label(m, "work:5;<module>:1;" MAIN ":0"), 4242);
    /* every sample ends at a process */
    for (size_t i = 0; i < m->n_sample; i++) {
        const Perftools__Profiles__Sample *s = m->sample[i];
        const Perftools__Profiles__Location *l = location(m, s->location_id[s->n_location_id - 1]);
        assert_int_equal(strncmp(str(m, function(m, l->line[0]->function_id)->name),
                                 "process ", 8), 0);
    }
    out_release(&r);
    pf_profile *p = two_processes(0);
    r = must_write(p, &o);
    check_valid(r.m);
    assert_int_equal(value_of(r.m, "work:5;" MAIN ":0", "instructions"), 30);
    assert_int_equal(value_of(r.m, "work:5;" WORKER ":0", "instructions"), 20);
    assert_int_equal(value_of(r.m, "<module>:2;" WORKER ":0", "instructions"), 50);
    assert_int_equal(process_label(r.m, "work:5;" WORKER ":0"), 4250);
    out_release(&r);
    /* shares that do not add up are refused, as the totals are */
    p->functions[2].per_process[1].instructions = 19;
    char err[256] = "";
    assert_int_equal(write_to(p, &o, &r, err), -1);
    assert_non_null(strstr(err, "inconsistent profile"));
    out_release(&r);
    pf_profile_release(p);
}

/* ---- the report ----------------------------------------------------------- */

static char *report(const pf_profile *p, int width)
{
    rt_options o;
    rt_options_init(&o);
    o.legend = 0;
    o.width = width;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(rt_render(p, &o, f), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_report(void **state)
{
    char *s = report(*state, 100);
    const char *at = strstr(s, "\nprocesses\n");
    assert_non_null(at);
    const char *want =
        "\nprocesses\n"
        "   pid  parent  ended    wall ms  instructions  share  command\n"
        "  4242       -  exit 0   2,000.0           130  65.0%  main.py --jobs 2\n"
        "  4250    4242  SIGTERM    750.0            70  35.0%  worker.py --n 3\n"
        /* the command cut to the width, 100 */
        "  4251    4242  pending        -             -      -  /usr/lib/python3/dist-"
        "packages/some/deeply/n…\n"
        "\nscope comparison\n";
    if (strncmp(at, want, strlen(want)) != 0)
        fail_msg("report:\n%s", at);
    free(s);
    /* narrow: the command is what is cut, never below 12 characters */
    s = report(*state, 60);
    assert_non_null(strstr(s, "main.py --jobs 2\n"));
    assert_non_null(strstr(s, "-      -  /usr/lib/py…\n"));
    free(s);
}

/* ---- one process ---------------------------------------------------------- */

/* A profile that lists its one process draws what one that lists none
 * does (the goldens of test_flame and test_pprof hold that one). */
static void test_one_process(void **state)
{
    (void)state;
    static const char *const formats[] = {"folded", "speedscope", "html"};
    for (int m = 0; m < NMODES; m++) {
        pf_profile *p = make_profile((mode)m, 1);
        pf_profile *q = make_profile((mode)m, 1);
        assert_int_equal(pf_ensure_process(q), 0);
        q->processes[0].pid = 99;
        for (int opcodes = 0; opcodes < 2; opcodes++) {
            fl_options o = opts(FL_METRIC_AUTO, opcodes);
            for (size_t k = 0; k < LEN(formats); k++) {
                char *a = must_render(formats[k], p, &o), *b = must_render(formats[k], q, &o);
                assert_string_equal(a, b);
                assert_null(strstr(a, "process "));
                free(a);
                free(b);
            }
        }
        char *a = report(p, 100), *b = report(q, 100);
        assert_string_equal(a, b);
        assert_null(strstr(a, "\nprocesses\n"));
        free(a);
        free(b);
        pf_profile_release(p);
        pf_profile_release(q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graph, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speedscope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html, setup, teardown),
        cmocka_unit_test(test_no_stacks),
        cmocka_unit_test_setup_teardown(test_native, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pprof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report, setup, teardown),
        cmocka_unit_test(test_one_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
