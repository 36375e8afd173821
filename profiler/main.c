/*
 * main.c - opprof's entry point: a table of commands.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "children.h"
#include "cli.h"
#include "commands.h"
#include "exitcode.h"
#include "explain_cmd.h"
#include "host.h"

#ifndef OPPROF_VERSION
#define OPPROF_VERSION "0.1.0"
#endif
#ifndef OPPROF_PY_VERSION
#define OPPROF_PY_VERSION "?"
#endif

static int cmd_run(int argc, char **argv)
{
    cli_run o;
    char err[256];
    if (cli_parse_run(argc, argv, &o, err, sizeof err) < 0) {
        fprintf(stderr, "opprof: %s\n", err);
        return OPPROF_EXIT_USAGE;
    }
    if (o.help) {
        fputs(cli_run_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    return host_run(&o);
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {
    {"run", cmd_run},
    {"diff", cmd_diff},
    {"merge", cmd_merge},
    {"report", cmd_report},
    {"annotate", cmd_annotate},
    {"explain", cmd_explain},
};

int main(int argc, char **argv)
{
    /* the report draws bars with block characters when the locale is UTF-8 */
    setlocale(LC_CTYPE, "");
    if (argc >= 1 && ch_is_launcher(argv[0]))   /* sys.executable of a --subprocesses run */
        return ch_launcher_main(argc, argv);
    if (argc < 2) {
        fputs(cli_main_usage, stderr);
        return OPPROF_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(cli_main_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("opprof %s (built for Python %s)\n", OPPROF_VERSION, OPPROF_PY_VERSION);
        return host_print_version(stdout) < 0 ? OPPROF_EXIT_BAD_INPUT : OPPROF_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "opprof: unknown command '%s' (see opprof --help)\n", argv[1]);
    return OPPROF_EXIT_USAGE;
}
