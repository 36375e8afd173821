/*
 * test_report_text.c - unit tests for the terminal report
 * (reports/report_text.c, report_bars.c).
 *
 * The profile is built by hand: a module-level loop (LOAD_NAME/STORE_NAME)
 * and the same loop in a function (LOAD_FAST/STORE_FAST), a class body, a
 * method, a generator and a lambda; timed with samples and stacks, and its
 * untimed (--no-time) and --time-only variants.  Reports are compared byte
 * for byte with golden files in tests/golden/report/, read relative to the
 * current directory (the test runner runs from the repository root).
 * After an intended change of the report, OPPROF_UPDATE_GOLDEN=1 rewrites
 * the golden files; review the git diff.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden.h"

#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../reports/model/profile.h"
#include "../../reports/report_text.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden/report/"
#endif

/* ---- building profiles by hand ---------------------------------------- */

typedef enum mode { TIMED, UNTIMED, TIME_ONLY } mode;

typedef struct ins {
    const char *op;
    int line;
    uint64_t count, time_us, samples;
} ins;

#define LEN(a) (sizeof a / sizeof a[0])

static void add_fn(pf_profile *p, mode m, const char *file, const char *name,
                   const char *qualname, int line, pf_scope scope, uint64_t calls,
                   uint64_t cumulative_us, const ins *code, size_t n)
{
    pf_function *f = pf_add_function(p);
    assert_non_null(f);
    assert_int_equal(pf_set_string(&f->file, file), 0);
    assert_int_equal(pf_set_string(&f->name, name), 0);
    assert_int_equal(pf_set_string(&f->qualname, qualname), 0);
    f->firstlineno = line;
    f->scope = scope;
    f->calls = calls;
    f->code = calloc(n, sizeof *f->code);
    assert_non_null(f->code);
    f->ncode = n;
    for (size_t i = 0; i < n; i++) {
        int op = pf_opname_index(p, code[i].op);
        assert_true(op >= 0);
        pf_instr *in = &f->code[i];
        *in = (pf_instr){.offset = (uint32_t)(2 * i), .op = (uint16_t)op, .line = code[i].line,
                         .count = code[i].count};
        uint64_t t = m == UNTIMED ? 0 : code[i].time_us * 1000;
        assert_int_equal(pf_add_instr_time(f, i, t, m == UNTIMED ? 0 : code[i].samples), 0);
        if (m == TIME_ONLY)
            in->count = 0;
        f->instructions += in->count;
        f->time_ns += t;
    }
    f->cumulative_ns = m == UNTIMED ? 0 : cumulative_us * 1000;
    p->instructions += f->instructions;
    p->time_ns += f->time_ns;
}

/* A fresh run's opcode table: every opcode, some unnamed, in the
 * interpreter's order, before any instruction refers to it. */
static void fresh_opnames(pf_profile *p)
{
    static const char *const names[] = {
        NULL, "YIELD_VALUE", "STORE_NAME", "STORE_FAST", "STORE_ATTR", "RETURN_VALUE",
        NULL, "RETURN_GENERATOR", "RETURN_CONST", "RESUME", "PUSH_NULL", "POP_TOP",
        "MAKE_FUNCTION", "LOAD_NAME", "LOAD_GLOBAL", "LOAD_FAST", "LOAD_CONST",
        "LOAD_BUILD_CLASS", "JUMP_BACKWARD", "GET_ITER", "FOR_ITER", "END_FOR", "CALL",
        "BINARY_OP", NULL, "DELETE_NAME"};
    p->opnames = calloc(LEN(names), sizeof *p->opnames);
    assert_non_null(p->opnames);
    p->nopnames = LEN(names);
    for (size_t i = 0; i < LEN(names); i++)
        if (names[i])
            assert_int_equal(pf_set_string(&p->opnames[i], names[i]), 0);
}

static pf_profile *make_profile(mode m, int fresh)
{
    static const ins module[] = {
        {"RESUME", 0, 1, 0, 0},           {"LOAD_CONST", 1, 1, 0, 0},
        {"STORE_NAME", 1, 1, 0, 0},       {"LOAD_CONST", 2, 1, 0, 0},
        {"STORE_NAME", 2, 1, 0, 0},       {"PUSH_NULL", 3, 1, 0, 0},
        {"LOAD_NAME", 3, 1, 0, 0},        {"LOAD_NAME", 3, 1, 0, 0},
        {"CALL", 3, 1, 0, 0},             {"GET_ITER", 3, 1, 0, 0},
        {"FOR_ITER", 3, 2000001, 20000, 20},
        {"STORE_NAME", 3, 2000000, 28000, 28},
        {"LOAD_NAME", 4, 2000000, 30000, 30},
        {"LOAD_NAME", 4, 2000000, 31000, 31},
        {"BINARY_OP", 4, 2000000, 40000, 40},
        {"STORE_NAME", 4, 2000000, 27000, 27},
        {"JUMP_BACKWARD", 4, 2000000, 8000, 8},
        {"END_FOR", 3, 1, 0, 0},          {"LOAD_CONST", 6, 1, 0, 0},
        {"MAKE_FUNCTION", 6, 1, 0, 0},    {"STORE_NAME", 6, 1, 0, 0},
        {"PUSH_NULL", 12, 1, 0, 0},       {"LOAD_NAME", 12, 1, 0, 0},
        {"LOAD_NAME", 12, 1, 0, 0},       {"CALL", 12, 1, 0, 0},
        {"POP_TOP", 12, 1, 0, 0},         {"PUSH_NULL", 14, 1, 0, 0},
        {"LOAD_BUILD_CLASS", 14, 1, 0, 0}, {"LOAD_CONST", 14, 1, 0, 0},
        {"MAKE_FUNCTION", 14, 1, 0, 0},   {"LOAD_CONST", 14, 1, 0, 0},
        {"CALL", 14, 1, 0, 0},            {"STORE_NAME", 14, 1, 0, 0},
        {"LOAD_NAME", 19, 1, 0, 0},       {"LOAD_NAME", 19, 1000, 0, 0},
        {"LOAD_NAME", 19, 1000, 0, 0},    {"CALL", 19, 1000, 1000, 1},
        {"DELETE_NAME", 20, 1, 0, 0},     {"RETURN_CONST", 20, 1, 0, 0},
    };
    static const ins function_loop[] = {
        {"RESUME", 6, 1, 0, 0},           {"LOAD_CONST", 7, 1, 0, 0},
        {"STORE_FAST", 7, 1, 0, 0},       {"LOAD_GLOBAL", 8, 1, 0, 0},
        {"LOAD_FAST", 8, 1, 0, 0},        {"CALL", 8, 1, 0, 0},
        {"GET_ITER", 8, 1, 0, 0},         {"FOR_ITER", 8, 2000001, 10000, 10},
        {"STORE_FAST", 8, 2000000, 5000, 5},
        {"LOAD_FAST", 9, 2000000, 4000, 4},
        {"LOAD_FAST", 9, 2000000, 4000, 4},
        {"BINARY_OP", 9, 2000000, 30000, 30},
        {"STORE_FAST", 9, 2000000, 5000, 5},
        {"JUMP_BACKWARD", 9, 2000000, 4000, 4},
        {"END_FOR", 8, 1, 0, 0},          {"LOAD_FAST", 10, 1, 0, 0},
        {"RETURN_VALUE", 10, 1, 0, 0},
    };
    static const ins point[] = {
        {"RESUME", 14, 1, 0, 0},          {"LOAD_NAME", 14, 1, 0, 0},
        {"STORE_NAME", 14, 1, 0, 0},      {"LOAD_CONST", 14, 1, 0, 0},
        {"STORE_NAME", 14, 1, 0, 0},      {"LOAD_CONST", 15, 1, 0, 0},
        {"MAKE_FUNCTION", 15, 1, 0, 0},   {"STORE_NAME", 15, 1, 0, 0},
        {"RETURN_CONST", 15, 1, 0, 0},
    };
    static const ins init[] = {
        {"RESUME", 15, 3, 0, 0},          {"LOAD_FAST", 16, 3, 0, 0},
        {"LOAD_FAST", 16, 3, 0, 0},       {"STORE_ATTR", 16, 3, 900, 1},
        {"RETURN_CONST", 16, 3, 0, 0},
    };
    static const ins genexpr[] = {
        {"RETURN_GENERATOR", 17, 1, 0, 0}, {"POP_TOP", 17, 1, 0, 0},
        {"RESUME", 17, 11, 0, 0},         {"LOAD_FAST", 17, 1, 0, 0},
        {"FOR_ITER", 17, 11, 0, 0},       {"STORE_FAST", 17, 10, 0, 0},
        {"LOAD_FAST", 17, 10, 0, 0},      {"LOAD_FAST", 17, 10, 0, 0},
        {"BINARY_OP", 17, 10, 0, 0},      {"YIELD_VALUE", 17, 10, 0, 0},
        {"RESUME", 17, 10, 0, 0},         {"POP_TOP", 17, 10, 0, 0},
        {"JUMP_BACKWARD", 17, 10, 0, 0},  {"END_FOR", 17, 1, 0, 0},
        {"RETURN_CONST", 17, 1, 0, 0},
    };
    static const ins lambda[] = {
        {"RESUME", 19, 1000, 0, 0},       {"LOAD_FAST", 19, 1000, 0, 0},
        {"LOAD_CONST", 19, 1000, 0, 0},   {"BINARY_OP", 19, 1000, 1000, 1},
        {"RETURN_VALUE", 19, 1000, 1000, 1},
    };
    static const char *const argv[] = {"scope_loop.py", "2000000"};
    const char *file = "/home/dev/project/scope_loop.py";
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    if (fresh)
        fresh_opnames(p);
    assert_int_equal(pf_set_string(&p->python_version, "3.12.1"), 0);
    assert_int_equal(pf_set_string(&p->collector, "sys.monitoring control flow"), 0);
    assert_int_equal(pf_set_argv(p, argv, 2), 0);
    p->wall_ns = 412345678;
    p->counted = m != TIME_ONLY;
    p->timed = m != UNTIMED;
    add_fn(p, m, file, "<module>", "<module>", 1, PF_SCOPE_MODULE, 1, 252900, module,
           LEN(module));
    add_fn(p, m, file, "function_loop", "function_loop", 6, PF_SCOPE_FUNCTION, 1, 62000,
           function_loop, LEN(function_loop));
    add_fn(p, m, file, "Point", "Point", 14, PF_SCOPE_CLASS, 1, 0, point, LEN(point));
    add_fn(p, m, file, "__init__", "Point.__init__", 15, PF_SCOPE_FUNCTION, 3, 900, init,
           LEN(init));
    add_fn(p, m, file, "<genexpr>", "<genexpr>", 17, PF_SCOPE_GENERATOR, 1, 0, genexpr,
           LEN(genexpr));
    add_fn(p, m, file, "<lambda>", "<lambda>", 19, PF_SCOPE_LAMBDA, 1000, 2000, lambda,
           LEN(lambda));
    if (m != UNTIMED) {
        assert_int_equal(pf_set_string(&p->timing_method, "sampling"), 0);
        p->rate_hz = 1000;
        p->overhead_ns = 31000000;
        p->unattributed_ns = 2000000;
        p->sampled_ns = p->time_ns + p->overhead_ns + p->unattributed_ns;
        p->samples = 285;
    }
    return p;
}

static int setup_timed(void **state) { *state = make_profile(TIMED, 0); return 0; }
static int setup_untimed(void **state) { *state = make_profile(UNTIMED, 0); return 0; }
static int setup_time_only(void **state) { *state = make_profile(TIME_ONLY, 0); return 0; }

static int teardown_profile(void **state)
{
    pf_profile_release(*state);
    return 0;
}

/* ---- rendering and golden files --------------------------------------- */

static rt_options opts(int width, int unicode, size_t top, const char *name)
{
    rt_options o;
    rt_options_init(&o);
    o.width = width;
    o.unicode = unicode;
    o.top = top;
    o.profile_name = name;
    return o;
}

/* The report, NUL-terminated; caller frees. */
static char *render(const pf_profile *p, const rt_options *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(rt_render(p, o, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    return buf;
}

static void check_golden(const pf_profile *p, const rt_options *o, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s%s", GOLDEN_DIR, name);
    char *got = render(p, o);
    golden_check(path, got);
    free(got);
}

/* ---- golden tests ------------------------------------------------------ */

static void test_timed_ascii_100(void **state)
{
    rt_options o = opts(100, 0, 0, "scope_loop.json");
    check_golden(*state, &o, "timed_ascii_100.txt");
}

static void test_timed_unicode_100(void **state)
{
    rt_options o = opts(100, 1, 0, "scope_loop.json");
    check_golden(*state, &o, "timed_unicode_100.txt");
}

static void test_timed_ascii_72(void **state)
{
    rt_options o = opts(72, 0, 5, "scope_loop.json");
    check_golden(*state, &o, "timed_ascii_72.txt");
}

static void test_timed_unicode_72(void **state)
{
    rt_options o = opts(72, 1, 5, "scope_loop.json");
    check_golden(*state, &o, "timed_unicode_72.txt");
}

static void test_untimed_ascii_100(void **state)
{
    rt_options o = opts(100, 0, 0, NULL);
    check_golden(*state, &o, "untimed_ascii_100.txt");
}

static void test_untimed_unicode_72(void **state)
{
    rt_options o = opts(72, 1, 5, NULL);
    check_golden(*state, &o, "untimed_unicode_72.txt");
}

static void test_time_only_ascii_100(void **state)
{
    rt_options o = opts(100, 0, 0, NULL);
    check_golden(*state, &o, "time_only_ascii_100.txt");
}

static void test_time_only_unicode_72(void **state)
{
    rt_options o = opts(72, 1, 5, "scope_loop.json");
    check_golden(*state, &o, "time_only_unicode_72.txt");
}

/* ---- behaviour --------------------------------------------------------- */

/* A fresh run's opcode table (every opcode, unnamed ones, another order)
 * and a read-back one give the same report. */
static void test_opcode_table_order(void **state)
{
    (void)state;
    for (mode m = TIMED; m <= TIME_ONLY; m++) {
        pf_profile *read_back = make_profile(m, 0), *fresh = make_profile(m, 1);
        assert_true(fresh->nopnames > read_back->nopnames);
        rt_options o = opts(100, 1, 0, "p.json");
        char *a = render(read_back, &o), *b = render(fresh, &o);
        assert_string_equal(a, b);
        free(a);
        free(b);
        pf_profile_release(read_back);
        pf_profile_release(fresh);
    }
}

static void test_verdict_and_marks(void **state)
{
    rt_options o = opts(1000, 0, 0, NULL);   /* wide: the verdict on one line */
    char *s = render(*state, &o);
    assert_non_null(strstr(s, "\nverdict: module-level code ran 13.2 ns/instruction, "
                              "function code ran 4.6 ns/instruction (module level 2.9x "
                              "slower); name access at module level is dict-based "
                              "(LOAD_NAME/STORE_NAME/DELETE_NAME: 8,002,010 of 8,002,010 "
                              "name accesses); name access in function code is array-based "
                              "(STORE_FAST/LOAD_FAST: 8,001,040 of 8,001,041 name "
                              "accesses)\n"));
    /* Point.__init__: one sample, so its time is rough */
    assert_non_null(strstr(s, "~0.9"));
    /* JUMP_BACKWARD at module level: 8 samples */
    assert_non_null(strstr(s, "~8.0"));
    assert_null(strchr(s, '\033'));
    free(s);
}

static void test_untimed_verdict(void **state)
{
    rt_options o = opts(1000, 0, 0, NULL);
    char *s = render(*state, &o);
    assert_non_null(strstr(s, "\nverdict: counts only (not timed): module-level code ran "
                              "14,003,030 instructions, function code ran 14,005,133 "
                              "instructions; name access at module level is dict-based"));
    assert_non_null(strstr(s, "opcodes, whole run (by count)"));
    assert_non_null(strstr(s, "top functions by instructions"));
    assert_null(strchr(s, '~'));
    free(s);
}

static void test_sort_by_count(void **state)
{
    rt_options o = opts(100, 0, 3, NULL);
    char *s = render(*state, &o);
    assert_non_null(strstr(s, "opcodes, whole run (by time)\n"));
    assert_non_null(strstr(s, "\n  BINARY_OP "));
    free(s);
    o.sort_by_count = 1;
    s = render(*state, &o);
    const char *h = strstr(s, "opcodes, whole run (by count)\n");
    assert_non_null(h);
    h = strchr(h, '\n') + 1;          /* column headings */
    h = strchr(h, '\n') + 1;
    assert_int_equal(strncmp(h, "  LOAD_NAME ", 12), 0);
    free(s);
}

/* With --time-only there are no counts to sort by. */
static void test_time_only_ignores_count_sort(void **state)
{
    rt_options o = opts(100, 0, 0, NULL);
    o.sort_by_count = 1;
    char *s = render(*state, &o);
    assert_non_null(strstr(s, "opcodes, whole run (by time)"));
    assert_non_null(strstr(s, "verdict: times only (not counted): "));
    free(s);
}

static void test_top_and_hint(void **state)
{
    rt_options o = opts(100, 0, 2, "my profile's.json");
    char *s = render(*state, &o);
    assert_non_null(strstr(s, "  ... 4 more functions\n"));
    assert_non_null(strstr(s, "annotate one: opprof annotate 'my profile'\\''s.json' "
                              "'<module>'\n"));
    free(s);
    o.profile_name = NULL;
    s = render(*state, &o);
    assert_null(strstr(s, "annotate"));
    free(s);
}

static void test_no_stacks(void **state)
{
    pf_profile *p = *state;
    p->stacks_enabled = 0;
    rt_options o = opts(100, 0, 0, NULL);
    char *s = render(p, &o);
    assert_non_null(strstr(s, "  stacks        off (no cumulative times)\n"));
    assert_null(strstr(s, "252.9"));   /* <module>'s cumulative time */
    free(s);
}

static void test_colour(void **state)
{
    rt_options o = opts(100, 1, 0, NULL);
    o.colour = 1;
    char *s = render(*state, &o);
    assert_int_equal(strncmp(s, "\033[1mopprof report\033[0m\n", 22), 0);
    assert_non_null(strstr(s, "\033[36m\u2588"));
    free(s);
}

static void test_empty_profile(void **state)
{
    (void)state;
    for (int timed = 0; timed <= 1; timed++) {
        pf_profile *p = pf_profile_new();
        assert_non_null(p);
        p->timed = timed;
        char *s = render(p, NULL);
        assert_non_null(strstr(s, "  no code ran\n"));
        assert_non_null(strstr(s, "  no functions ran\n"));
        assert_non_null(strstr(s, "  no instructions\n"));
        assert_null(strstr(s, "nan"));
        assert_null(strstr(s, "inf"));
        free(s);
        pf_profile_release(p);
    }
}

/* A function that ran but has neither counts nor time: no NaN anywhere. */
static void test_zero_function(void **state)
{
    (void)state;
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    p->timed = 1;
    pf_function *f = pf_add_function(p);
    assert_non_null(f);
    assert_int_equal(pf_set_string(&f->file, "x.py"), 0);
    assert_int_equal(pf_set_string(&f->qualname, "f\x1b[2J"), 0);
    f->calls = 2;
    rt_options o = opts(10, 0, 0, NULL);   /* below the minimum width */
    char *s = render(p, &o);
    assert_non_null(strstr(s, "f?[2J (x.py:0)"));
    assert_null(strstr(s, "nan"));
    assert_null(strchr(s, '\033'));
    free(s);
    pf_profile_release(p);
}

/* A full disk is reported, not ignored. */
static void test_write_error(void **state)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    rt_options o = opts(100, 1, 0, NULL);
    assert_int_equal(rt_render(*state, &o, f), -1);
    fclose(f);
}

static void test_options_init(void **state)
{
    (void)state;
    rt_options o;
    memset(&o, 0x55, sizeof o);
    rt_options_init(&o);
    assert_int_equal(o.top, 15);
    assert_int_equal(o.width, 100);
    assert_int_equal(o.unicode, 1);
    assert_int_equal(o.colour, 0);
    assert_int_equal(o.sort_by_count, 0);
    assert_null(o.profile_name);
}

static void test_terminal_columns(void **state)
{
    (void)state;
    int fd = open("/dev/null", O_WRONLY);
    assert_true(fd >= 0);
    rt_options o;
    rt_options_init(&o);
    setenv("COLUMNS", "77", 1);
    unsetenv("NO_COLOR");
    rt_options_for_terminal(&o, fd);
    assert_int_equal(o.width, 77);
    assert_int_equal(o.colour, 0);     /* not a tty */
    assert_int_equal(o.top, 15);       /* left alone */
    setenv("COLUMNS", "wide", 1);
    rt_options_for_terminal(&o, fd);
    assert_int_equal(o.width, 100);
    unsetenv("COLUMNS");
    rt_options_for_terminal(&o, fd);
    assert_int_equal(o.width, 100);
    close(fd);
}

/* On a pseudo-terminal: its size, and colour unless NO_COLOR. */
static void test_terminal_tty(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0)
        skip();
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int fd = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(fd >= 0);
    struct winsize ws = {.ws_row = 40, .ws_col = 123};
    assert_int_equal(ioctl(fd, TIOCSWINSZ, &ws), 0);
    rt_options o;
    rt_options_init(&o);
    unsetenv("COLUMNS");
    unsetenv("NO_COLOR");
    rt_options_for_terminal(&o, fd);
    assert_int_equal(o.width, 123);
    assert_int_equal(o.colour, 1);
    setenv("NO_COLOR", "1", 1);
    rt_options_for_terminal(&o, fd);
    assert_int_equal(o.colour, 0);
    setenv("COLUMNS", "77", 1);
    rt_options_for_terminal(&o, fd);
    assert_int_equal(o.width, 77);
    unsetenv("COLUMNS");
    unsetenv("NO_COLOR");
    close(fd);
    close(master);
}

static void test_terminal_locale(void **state)
{
    (void)state;
    rt_options o;
    rt_options_init(&o);
    assert_non_null(setlocale(LC_CTYPE, "C"));
    rt_options_for_terminal(&o, STDERR_FILENO);
    assert_int_equal(o.unicode, 0);
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        skip();
    rt_options_for_terminal(&o, STDERR_FILENO);
    assert_int_equal(o.unicode, 1);
    setlocale(LC_CTYPE, "C");
}

#define WITH(test, setup) cmocka_unit_test_setup_teardown(test, setup, teardown_profile)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WITH(test_timed_ascii_100, setup_timed),
        WITH(test_timed_unicode_100, setup_timed),
        WITH(test_timed_ascii_72, setup_timed),
        WITH(test_timed_unicode_72, setup_timed),
        WITH(test_untimed_ascii_100, setup_untimed),
        WITH(test_untimed_unicode_72, setup_untimed),
        WITH(test_time_only_ascii_100, setup_time_only),
        WITH(test_time_only_unicode_72, setup_time_only),
        cmocka_unit_test(test_opcode_table_order),
        WITH(test_verdict_and_marks, setup_timed),
        WITH(test_untimed_verdict, setup_untimed),
        WITH(test_sort_by_count, setup_timed),
        WITH(test_time_only_ignores_count_sort, setup_time_only),
        WITH(test_top_and_hint, setup_timed),
        WITH(test_no_stacks, setup_timed),
        WITH(test_colour, setup_timed),
        cmocka_unit_test(test_empty_profile),
        cmocka_unit_test(test_zero_function),
        WITH(test_write_error, setup_timed),
        cmocka_unit_test(test_options_init),
        cmocka_unit_test(test_terminal_columns),
        cmocka_unit_test(test_terminal_tty),
        cmocka_unit_test(test_terminal_locale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
