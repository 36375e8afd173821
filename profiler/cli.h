/*
 * cli.h - option parsing for opprof's commands.  Pure: no libpython.
 *
 * `run` takes opprof's options first; from the first argument it does not
 * know (an option of python's, or the script) on, everything is python's
 * command line, handed unchanged to CPython's own parser.
 */
#ifndef OPPROF_CLI_H
#define OPPROF_CLI_H

#include <stddef.h>

typedef struct cli_run {
    const char *output;      /* "-" for stdout; default "opprof.json" */
    int quiet;
    int stacks;
    int instruction_events;  /* one event per instruction (3.12+: slower) */
    int help;
    int py_argc;             /* python's arguments, borrowed from argv */
    char **py_argv;
} cli_run;

/* Parses argv of `opprof run ...` (argv[0] is "run").  0, or -1 with a
 * one-line message in err. */
int cli_parse_run(int argc, char **argv, cli_run *o, char *err, size_t errlen);

extern const char cli_run_usage[];
extern const char cli_main_usage[];

#endif
