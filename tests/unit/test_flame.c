/*
 * test_flame.c - unit tests for the flame-graph outputs (reports/flame.c,
 * folded.c, speedscope.c, html.c).
 *
 * The profile is built by hand: a module calling `work` on the main thread
 * and from a worker thread, a function whose name needs escaping, a stdlib
 * frame outside the root; timed with stacks, and its --no-stacks, --no-time
 * and --time-only variants.  Folded and speedscope outputs are compared
 * byte for byte with tests/golden/flame/ (OPPROF_UPDATE_GOLDEN=1 rewrites
 * them; review the git diff).  Every variant, metric and --opcodes must
 * give lines matching ^(.*) (\d+)$ whose weights add up to the total, and
 * the same bytes once the profile has been saved and read back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../reports/flame.h"
#include "../../reports/model/profile.h"
#include "../../reports/model/profile_json.h"
#include "../../reports/model/profile_read.h"

#define GOLDEN_DIR "tests/golden/flame/"
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

static void set(char **dst, const char *s) { assert_int_equal(pf_set_string(dst, s), 0); }

static void add_fn(pf_profile *p, mode m, const char *file, const char *qualname, int line,
                   pf_scope scope, const ins *code, size_t n)
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
        f->code[i] = (pf_instr){(uint32_t)(2 * i), (uint16_t)op, line + 1,
                                m == TIME_ONLY ? 0 : code[i].count,
                                m == UNTIMED ? 0 : code[i].time_ns,
                                m == UNTIMED ? 0 : code[i].samples};
        f->instructions += f->code[i].count;
        f->time_ns += f->code[i].time_ns;
    }
    p->instructions += f->instructions;
    p->time_ns += f->time_ns;
}

static void add_stack(pf_profile *p, mode m, const char *thread, const uint32_t *frames,
                      size_t n, const opc *ops, size_t nops)
{
    int t = pf_thread_index(p, thread);
    assert_true(t >= 0);
    pf_stack *s = pf_add_stack(p);
    assert_non_null(s);
    s->thread = (uint32_t)t;
    s->frames = calloc(n, sizeof *s->frames);
    s->ops = calloc(nops, sizeof *s->ops);
    assert_non_null(s->frames);
    assert_non_null(s->ops);
    memcpy(s->frames, frames, n * sizeof *frames);
    s->nframes = n;
    for (size_t i = 0; i < nops; i++) {
        int op = pf_opname_index(p, ops[i].op);
        assert_true(op >= 0);
        s->ops[s->nops++] = (pf_opcount){(uint16_t)op, m == TIME_ONLY ? 0 : ops[i].count,
                                         m == UNTIMED ? 0 : ops[i].time_ns};
        s->instructions += s->ops[i].count;
        s->time_ns += s->ops[i].time_ns;
    }
}

/* fresh: a fresh run's opcode table, with unnamed slots, in another order */
static pf_profile *make_profile(mode m, int fresh)
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

static int setup_timed(void **state) { *state = make_profile(TIMED, 1); return 0; }
static int teardown(void **state) { pf_profile_release(*state); return 0; }

static fl_options opts(fl_metric m, int opcodes)
{
    fl_options o;
    fl_options_init(&o);
    o.metric = m;
    o.opcodes = opcodes;
    return o;
}

/* The writer's output, NUL-terminated; caller frees.  NULL when it fails. */
static char *render(const char *format, const pf_profile *p, const fl_options *o, char *err)
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

static char *must_render(const char *format, const pf_profile *p, const fl_options *o)
{
    char err[256] = "";
    char *s = render(format, p, o, err);
    if (!s)
        fail_msg("%s: %s", format, err);
    return s;
}

static pf_profile *read_back(const pf_profile *p)
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
static uint64_t folded_sum(const char *text)
{
    uint64_t sum = 0;
    const char *stacks[64];
    size_t lens[64], n = 0;
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
        assert_true(n < LEN(stacks));
        stacks[n] = line;
        lens[n] = (size_t)(sp - 1 - line);
        for (size_t k = 0; k < n; k++)
            assert_false(lens[k] == lens[n] && memcmp(stacks[k], line, lens[n]) == 0);
        n++;
        line = nl + 1;
    }
    return sum;
}

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
                fl_graph g;
                assert_int_equal(fl_build(p, &o, FL_BY_THREAD, &g, err, sizeof err), 0);
                assert_int_equal(g.total, want);
                uint64_t t = 0;
                for (size_t k = 0; k < g.nthreads; k++)
                    t += g.thread_total[k];
                assert_int_equal(t, want);
                fl_release(&g);
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
    assert_non_null(strstr(s, "\"samples\":[],\"weights\":[]"));
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
    p->stacks[1].instructions += 1;
    assert_null(render("folded", p, &o, err));
    assert_non_null(strstr(err, "inconsistent profile"));
    o.opcodes = 1;    /* the path is bigger than its opcodes: the rest stays on the path */
    assert_null(render("folded", p, &o, err));
    p->stacks[1].instructions -= 2;   /* the opcodes are bigger than the path */
    assert_null(render("speedscope", p, &o, err));
    assert_non_null(strstr(err, "inconsistent profile"));
}

/* By time, a path without samples is no line; the HTML keeps it for its
 * counts (FL_BOTH_METRICS). */
static void test_both_metrics(void **state)
{
    pf_profile *p = *state;
    p->stacks[2].time_ns = p->stacks[2].ops[0].time_ns = 0;
    p->time_ns -= 3000;
    fl_options o = opts(FL_METRIC_TIME, 0);
    fl_graph a, b;
    char err[256];
    assert_int_equal(fl_build(p, &o, 0, &a, err, sizeof err), 0);
    assert_int_equal(fl_build(p, &o, FL_BOTH_METRICS, &b, err, sizeof err), 0);
    assert_int_equal(b.nsamples, a.nsamples + 1);
    assert_int_equal(a.total, b.total);
    uint64_t ia = 0, ib = 0;
    for (size_t i = 0; i < a.nsamples; i++)
        ia += a.samples[i].instructions;
    for (size_t i = 0; i < b.nsamples; i++)
        ib += b.samples[i].instructions;
    assert_int_equal(ib, p->instructions);
    assert_int_equal(ia + 4, ib);
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
    /* the data's own "<" are escaped: only the page's two scripts end */
    size_t ends = 0;
    for (const char *c = s; (c = strstr(c, "</script>")); c++)
        ends++;
    assert_int_equal(ends, 2);
    assert_non_null(strstr(s, "\\u003cmodule> (app.py:1)"));
    /* self-contained: nothing to fetch */
    assert_null(strstr(s, "src="));
    assert_null(strstr(s, "<link"));
    assert_null(strstr(s, "import("));
    assert_non_null(strstr(s, "\"samples\":[[["));
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
    assert_string_equal(fl_format_names, "folded, speedscope, html");
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

#define WITH(test) cmocka_unit_test_setup_teardown(test, setup_timed, teardown)

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
