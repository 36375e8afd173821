/*
 * cli.c - option tables and parsing.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

const char cli_main_usage[] =
    "usage: opprof <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      run a Python script under the profiler and write a profile\n"
    "\n"
    "  opprof --help | --version | <command> --help\n";

const char cli_run_usage[] =
    "usage: opprof run [opprof options] [python options] script.py [args]\n"
    "       opprof run [opprof options] [python options] -m module [args]\n"
    "       opprof run [opprof options] [python options] -c code [args]\n"
    "\n"
    "opprof options (they come first; the first argument opprof does not know\n"
    "starts python's own command line):\n"
    "  -o, --output FILE  write the profile to FILE (default opprof.json; - for stdout)\n"
    "  -q, --quiet        no summary on stderr at exit\n"
    "  --no-stacks        do not record call stacks (faster)\n"
    "  --instruction-events  count with one event per instruction instead of\n"
    "                     control-flow events (3.12+; slower, same counts)\n"
    "  -h, --help         this help\n";

enum { OPT_OUTPUT, OPT_QUIET, OPT_NO_STACKS, OPT_INSTRUCTION_EVENTS, OPT_HELP };

static const struct {
    const char *short_, *long_;
    int id, takes_value;
} run_options[] = {
    {"-o", "--output", OPT_OUTPUT, 1},
    {"-q", "--quiet", OPT_QUIET, 0},
    {NULL, "--no-stacks", OPT_NO_STACKS, 0},
    {NULL, "--instruction-events", OPT_INSTRUCTION_EVENTS, 0},
    {"-h", "--help", OPT_HELP, 0},
};

/* Index into run_options; sets *value for "--output=x" and "-ox" forms. */
static int find_option(const char *arg, const char **value)
{
    *value = NULL;
    for (size_t i = 0; i < sizeof run_options / sizeof *run_options; i++) {
        const char *s = run_options[i].short_, *l = run_options[i].long_;
        size_t ln = strlen(l);
        if ((s && strcmp(arg, s) == 0) || strcmp(arg, l) == 0)
            return (int)i;
        if (run_options[i].takes_value && strncmp(arg, l, ln) == 0 && arg[ln] == '=') {
            *value = arg + ln + 1;
            return (int)i;
        }
        if (run_options[i].takes_value && s && strncmp(arg, s, 2) == 0 && arg[2]) {
            *value = arg + 2;
            return (int)i;
        }
    }
    return -1;
}

int cli_parse_run(int argc, char **argv, cli_run *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->output = "opprof.json";
    o->stacks = 1;
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i], *value;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        int k = find_option(arg, &value);
        if (k < 0)
            break;  /* python's from here on */
        if (run_options[k].takes_value && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option %s needs a value", arg);
                return -1;
            }
            value = argv[++i];
        }
        switch (run_options[k].id) {
        case OPT_OUTPUT:
            if (!*value) {
                snprintf(err, errlen, "option %s needs a file name", arg);
                return -1;
            }
            o->output = value;
            break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_NO_STACKS: o->stacks = 0; break;
        case OPT_INSTRUCTION_EVENTS: o->instruction_events = 1; break;
        case OPT_HELP: o->help = 1; break;
        }
    }
    o->py_argc = argc - i;
    o->py_argv = argv + i;
    if (!o->help && o->py_argc == 0) {
        snprintf(err, errlen, "run needs a script, -m module or -c code (see opprof run --help)");
        return -1;
    }
    return 0;
}
