/*
 * test_cli.c - unit tests for profiler/cli.c (cli_parse_run).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../profiler/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof *(a)))

/* Parses argv, expecting success; err must stay untouched. */
static void parse_ok(int argc, char **argv, cli_run *o)
{
    char err[256] = "untouched";
    memset(o, 0xa5, sizeof *o);     /* the parser must set every field */
    int rc = cli_parse_run(argc, argv, o, err, sizeof err);
    if (rc != 0)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "untouched");
}

/* Parses argv, expecting failure with a one-line message. */
static void parse_fail(int argc, char **argv, char *err, size_t errlen)
{
    cli_run o;
    memset(err, 0, errlen);
    assert_int_equal(cli_parse_run(argc, argv, &o, err, errlen), -1);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
}

static void test_defaults(void **state)
{
    (void)state;
    char *argv[] = {"run", "s.py", NULL};
    cli_run o;
    parse_ok(2, argv, &o);
    assert_string_equal(o.output, "opprof.json");
    assert_int_equal(o.stacks, 1);
    assert_int_equal(o.quiet, 0);
    assert_int_equal(o.instruction_events, 0);
    assert_int_equal(o.help, 0);
    assert_int_equal(o.py_argc, 1);
    assert_ptr_equal(o.py_argv, &argv[1]);
    assert_string_equal(o.py_argv[0], "s.py");
    assert_null(o.py_argv[o.py_argc]);   /* argv's terminator is kept */
}

static void test_output_forms(void **state)
{
    (void)state;
    cli_run o;
    {
        char *argv[] = {"run", "-o", "out.json", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "out.json");
        assert_int_equal(o.py_argc, 1);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        char *argv[] = {"run", "-oout.json", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "out.json");
        assert_int_equal(o.py_argc, 1);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        char *argv[] = {"run", "--output", "out.json", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "out.json");
        assert_int_equal(o.py_argc, 1);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        char *argv[] = {"run", "--output=out.json", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "out.json");
        assert_int_equal(o.py_argc, 1);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        /* "-" is standard output; a value may start with '-' */
        char *argv[] = {"run", "-o", "-", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "-");
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        char *argv[] = {"run", "--output", "-q", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "-q");
        assert_int_equal(o.quiet, 0);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        /* "=" only splits the long form */
        char *argv[] = {"run", "-o=x.json", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "=x.json");
    }
    {
        /* the last one wins */
        char *argv[] = {"run", "-o", "a.json", "--output=b.json", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "b.json");
        assert_int_equal(o.py_argc, 1);
    }
}

static void test_output_is_borrowed(void **state)
{
    (void)state;
    char *argv[] = {"run", "-o", "p.json", "s.py"};
    cli_run o;
    parse_ok(ARGC(argv), argv, &o);
    assert_ptr_equal(o.output, argv[2]);
    char *argv2[] = {"run", "--output=q.json", "s.py"};
    parse_ok(ARGC(argv2), argv2, &o);
    assert_ptr_equal(o.output, argv2[1] + strlen("--output="));
}

static void test_flags(void **state)
{
    (void)state;
    cli_run o;
    {
        char *argv[] = {"run", "-q", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 1);
        assert_int_equal(o.stacks, 1);
        assert_string_equal(o.output, "opprof.json");
        assert_int_equal(o.py_argc, 1);
    }
    {
        char *argv[] = {"run", "--quiet", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 1);
        assert_int_equal(o.py_argc, 1);
    }
    {
        char *argv[] = {"run", "--no-stacks", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.stacks, 0);
        assert_int_equal(o.quiet, 0);
        assert_int_equal(o.py_argc, 1);
    }
    {
        char *argv[] = {"run", "--instruction-events", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.instruction_events, 1);
        assert_int_equal(o.stacks, 1);
        assert_int_equal(o.quiet, 0);
        assert_int_equal(o.py_argc, 1);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        /* no value form */
        char *argv[] = {"run", "--instruction-events=1", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.instruction_events, 0);
        assert_int_equal(o.py_argc, 2);
    }
    {
        char *argv[] = {"run", "--no-stacks", "-q", "-o", "o.json", "s.py", "x"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.stacks, 0);
        assert_int_equal(o.quiet, 1);
        assert_int_equal(o.help, 0);
        assert_string_equal(o.output, "o.json");
        assert_int_equal(o.py_argc, 2);
        assert_ptr_equal(o.py_argv, &argv[5]);
    }
}

static void test_help(void **state)
{
    (void)state;
    cli_run o;
    {
        char *argv[] = {"run", "-h"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.help, 1);
        assert_int_equal(o.py_argc, 0);
    }
    {
        char *argv[] = {"run", "--help"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.help, 1);
        assert_int_equal(o.py_argc, 0);
    }
    {
        char *argv[] = {"run", "-q", "--help", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.help, 1);
        assert_int_equal(o.quiet, 1);
        assert_int_equal(o.py_argc, 1);
    }
    {
        /* after the script, -h is the script's */
        char *argv[] = {"run", "s.py", "-h"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.help, 0);
        assert_int_equal(o.py_argc, 2);
    }
    assert_non_null(strstr(cli_run_usage, "--no-stacks"));
    assert_non_null(strstr(cli_run_usage, "--instruction-events"));
    assert_non_null(strstr(cli_main_usage, "run"));
}

static void test_double_dash(void **state)
{
    (void)state;
    cli_run o;
    {
        char *argv[] = {"run", "--", "-q", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 0);
        assert_int_equal(o.py_argc, 2);
        assert_ptr_equal(o.py_argv, &argv[2]);
        assert_string_equal(o.py_argv[0], "-q");
    }
    {
        char *argv[] = {"run", "-q", "--", "-o", "x"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 1);
        assert_string_equal(o.output, "opprof.json");
        assert_int_equal(o.py_argc, 2);
        assert_string_equal(o.py_argv[0], "-o");
    }
    {
        /* only the first "--" is opprof's */
        char *argv[] = {"run", "--", "--", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.py_argc, 2);
        assert_string_equal(o.py_argv[0], "--");
    }
}

static void test_python_options_start_python_argv(void **state)
{
    (void)state;
    cli_run o;
    {
        char *argv[] = {"run", "-q", "-X", "dev", "-W", "error", "s.py", "a"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 1);
        assert_ptr_equal(o.py_argv, &argv[2]);
        assert_string_equal(o.py_argv[0], "-X");
        assert_int_equal(o.py_argc, 6);
        assert_string_equal(o.py_argv[5], "a");
    }
    {
        /* opprof's options after python's belong to python */
        char *argv[] = {"run", "-X", "dev", "-q", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 0);
        assert_int_equal(o.py_argc, 4);
        assert_string_equal(o.py_argv[0], "-X");
    }
    {
        char *argv[] = {"run", "-m", "pkg.mod", "-o", "x"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "opprof.json");
        assert_int_equal(o.py_argc, 4);
        assert_string_equal(o.py_argv[0], "-m");
    }
    {
        char *argv[] = {"run", "--no-stacks", "-c", "print(1)"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.stacks, 0);
        assert_int_equal(o.py_argc, 2);
        assert_string_equal(o.py_argv[0], "-c");
        assert_string_equal(o.py_argv[1], "print(1)");
    }
    {
        /* near misses of opprof's options are not opprof's */
        char *argv[] = {"run", "--outputx", "--quiet2", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "opprof.json");
        assert_int_equal(o.py_argc, 3);
        assert_string_equal(o.py_argv[0], "--outputx");
    }
    {
        char *argv[] = {"run", "-qq", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 0);
        assert_int_equal(o.py_argc, 2);
        assert_string_equal(o.py_argv[0], "-qq");
    }
    {
        /* "-" (script from stdin) is python's */
        char *argv[] = {"run", "-"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.py_argc, 1);
        assert_string_equal(o.py_argv[0], "-");
    }
}

static void test_options_after_script_are_scripts(void **state)
{
    (void)state;
    cli_run o;
    {
        char *argv[] = {"run", "s.py", "-o", "x"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.output, "opprof.json");
        assert_ptr_equal(o.py_argv, &argv[1]);
        assert_int_equal(o.py_argc, 3);
        assert_string_equal(o.py_argv[1], "-o");
    }
    {
        char *argv[] = {"run", "s.py", "--quiet", "--no-stacks",
                        "--instruction-events", "--", "-h"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.quiet, 0);
        assert_int_equal(o.stacks, 1);
        assert_int_equal(o.instruction_events, 0);
        assert_int_equal(o.help, 0);
        assert_int_equal(o.py_argc, 6);
    }
}

static void test_error_missing_value(void **state)
{
    (void)state;
    char err[256];
    {
        char *argv[] = {"run", "-o"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
        assert_non_null(strstr(err, "-o"));
    }
    {
        char *argv[] = {"run", "-q", "--output"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
        assert_non_null(strstr(err, "--output"));
    }
}

static void test_error_empty_value(void **state)
{
    (void)state;
    char err[256];
    {
        char *argv[] = {"run", "--output=", "s.py"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
        assert_non_null(strstr(err, "--output"));
    }
    {
        char *argv[] = {"run", "-o", "", "s.py"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
        assert_non_null(strstr(err, "-o"));
    }
    {
        char *argv[] = {"run", "--output", "", "s.py"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
    }
}

static void test_error_no_script(void **state)
{
    (void)state;
    char err[256];
    {
        char *argv[] = {"run"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
    }
    {
        char *argv[] = {"run", "-q", "--no-stacks", "-o", "x.json"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
    }
    {
        char *argv[] = {"run", "--"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
    }
    {
        char *argv[] = {"run", "-q", "--"};
        parse_fail(ARGC(argv), argv, err, sizeof err);
    }
}

static void test_error_message_truncated(void **state)
{
    (void)state;
    /* the message fits the caller's buffer, NUL-terminated */
    char err[9];
    memset(err, 'z', sizeof err);
    char *argv[] = {"run"};
    cli_run o;
    assert_int_equal(cli_parse_run(1, argv, &o, err, 8), -1);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(err[8], 'z');
}

/* Flame-graph outputs of run: several at once, one --metric for them and
 * --compare, and the combinations that cannot be drawn refused. */
static void test_flame_outputs(void **state)
{
    (void)state;
    cli_run o;
    char err[256];
    {
        char *argv[] = {"run", "--folded", "a.folded", "--speedscope=b.json", "--html", "c.html",
                        "--opcodes", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.folded, "a.folded");
        assert_string_equal(o.speedscope, "b.json");
        assert_string_equal(o.html, "c.html");
        assert_int_equal(o.opcodes, 1);
        assert_int_equal(o.metric_set, 0);
        assert_string_equal(o.py_argv[0], "s.py");
    }
    {
        char *argv[] = {"run", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_null(o.folded);
        assert_null(o.speedscope);
        assert_null(o.html);
        assert_int_equal(o.opcodes, 0);
    }
    {
        char *argv[] = {"run", "--folded", "a", "--metric", "time", "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_int_equal(o.metric_set, 1);
        assert_int_equal(o.gate.opts.metric, DF_TIME);
    }
    {   /* pprof's output is one of them: --opcodes and --metric apply */
        char *argv[] = {"run", "--pprof=p.pb.gz", "--opcodes", "--metric", "instructions",
                        "s.py"};
        parse_ok(ARGC(argv), argv, &o);
        assert_string_equal(o.pprof, "p.pb.gz");
        assert_null(o.folded);
        assert_int_equal(o.opcodes, 1);
    }
    char *bad[][6] = {
        {"run", "--folded", "-", "s.py"},
        {"run", "--html", "", "s.py"},
        {"run", "--opcodes", "s.py"},
        {"run", "--pprof", "-", "s.py"},
        {"run", "--time-only", "--metric", "instructions", "--html", "x.html"},
        {"run", "--no-time", "--metric", "time", "--folded", "x"},
        {"run", "--no-time", "--metric", "time", "--pprof", "x"},
    };
    int n[] = {4, 4, 3, 4, 6, 6, 6};
    for (size_t i = 0; i < sizeof n / sizeof *n; i++) {
        char *argv[8] = {0};
        memcpy(argv, bad[i], (size_t)n[i] * sizeof *argv);
        if (i >= 4)
            argv[n[i]++] = "s.py";
        parse_fail(n[i], argv, err, sizeof err);
    }
}

static void test_report_options(void **state)
{
    (void)state;
    cli_show o;
    char err[256];
    {
        char *argv[] = {"report", "p.json"};
        assert_int_equal(cli_parse_report(ARGC(argv), argv, &o, err, sizeof err), 0);
        assert_string_equal(o.format, "text");
        assert_null(o.output);
        assert_null(o.metric);
    }
    {
        char *argv[] = {"report", "--format", "folded", "-o", "x.folded", "p.json", "--metric",
                        "instructions", "--opcodes"};
        assert_int_equal(cli_parse_report(ARGC(argv), argv, &o, err, sizeof err), 0);
        assert_string_equal(o.format, "folded");
        assert_string_equal(o.output, "x.folded");
        assert_string_equal(o.metric, "instructions");
        assert_int_equal(o.opcodes, 1);
        assert_string_equal(o.profile, "p.json");
    }
    {
        char *argv[] = {"report", "p.json", "--metric", "wall", "--format", "html"};
        assert_int_equal(cli_parse_report(ARGC(argv), argv, &o, err, sizeof err), -1);
    }
    {
        char *argv[] = {"report", "p.json", "--opcodes"};   /* text has no opcode frames */
        assert_int_equal(cli_parse_report(ARGC(argv), argv, &o, err, sizeof err), -1);
        assert_non_null(strstr(err, "--opcodes"));
    }
    {
        char *argv[] = {"annotate", "p.json", "--format", "html"};   /* report's only */
        assert_int_equal(cli_parse_show(ARGC(argv), argv, &o, 2, err, sizeof err), -1);
    }
}

static void test_reparse_resets(void **state)
{
    (void)state;
    cli_run o;
    char *a1[] = {"run", "-q", "--no-stacks", "--instruction-events", "-o",
                  "x.json", "-h"};
    char err[64];
    assert_int_equal(cli_parse_run(ARGC(a1), a1, &o, err, sizeof err), 0);
    assert_int_equal(o.quiet, 1);
    assert_int_equal(o.instruction_events, 1);
    char *a2[] = {"run", "s.py"};
    parse_ok(ARGC(a2), a2, &o);
    assert_int_equal(o.quiet, 0);
    assert_int_equal(o.stacks, 1);
    assert_int_equal(o.instruction_events, 0);
    assert_int_equal(o.help, 0);
    assert_string_equal(o.output, "opprof.json");
}

static void test_diff_output(void **state)
{
    (void)state;
    char err[256];
    cli_diff o;
    char *a1[] = {"diff", "a.json", "b.json"};
    assert_int_equal(cli_parse_diff(ARGC(a1), a1, &o, err, sizeof err), 0);
    assert_null(o.output);
    char *a2[] = {"diff", "-o", "d.txt", "a.json", "b.json"};
    assert_int_equal(cli_parse_diff(ARGC(a2), a2, &o, err, sizeof err), 0);
    assert_string_equal(o.output, "d.txt");
    assert_string_equal(o.base, "a.json");
    assert_string_equal(o.new_, "b.json");
    char *a3[] = {"diff", "a.json", "b.json", "--output"};
    assert_int_equal(cli_parse_diff(ARGC(a3), a3, &o, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_output_forms),
        cmocka_unit_test(test_output_is_borrowed),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_double_dash),
        cmocka_unit_test(test_python_options_start_python_argv),
        cmocka_unit_test(test_options_after_script_are_scripts),
        cmocka_unit_test(test_error_missing_value),
        cmocka_unit_test(test_error_empty_value),
        cmocka_unit_test(test_error_no_script),
        cmocka_unit_test(test_error_message_truncated),
        cmocka_unit_test(test_reparse_resets),
        cmocka_unit_test(test_flame_outputs),
        cmocka_unit_test(test_report_options),
        cmocka_unit_test(test_diff_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
