/*
 * cli.c - option tables and parsing.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_main_usage[] =
    "usage: opprof <command> [options]\n"
    "\n"
    "commands:\n"
    "  run      run a Python script under the profiler and write a profile\n"
    "  diff     compare two profiles; exit 3 on a regression past the limits\n"
    "  merge    sum profiles of the same interpreter into one\n"
    "  report   print the report of a saved profile\n"
    "  annotate print a function's bytecode with the run's numbers\n"
    "\n"
    "  opprof --help | --version | <command> --help\n";

#define GATE_HELP                                                                     \
    "  --metric instructions|time   what to compare (default instructions: exact)\n"   \
    "  --threshold PCT        limit on the growth of the total (default 0%)\n"        \
    "  --function-threshold PCT   limit on the growth of each function\n"             \
    "  --soft                 limits only warn (exit 0)\n"                            \
    "  --min-instructions N   do not gate functions below N instructions\n"           \
    "  --include-imports      gate the import machinery too (left out by default)\n"  \
    "  --allow-interpreter-mismatch   compare profiles of different interpreters\n"   \
    "  --format text|markdown|json|junit|github   (default text)\n"                   \
    "  --top N                rows shown in full (default 20)\n"

const char cli_run_usage[] =
    "usage: opprof run [opprof options] [python options] script.py [args]\n"
    "       opprof run [opprof options] [python options] -m module [args]\n"
    "       opprof run [opprof options] [python options] -c code [args]\n"
    "\n"
    "opprof options (they come first; the first argument opprof does not know\n"
    "starts python's own command line):\n"
    "  -o, --output FILE  write the profile to FILE (default opprof.json; - for stdout)\n"
    "  -q, --quiet        no report on stderr at exit\n"
    "  --report FILE      write the report to FILE instead of stderr\n"
    "  --sort time|count  opcode histograms by time (default) or count\n"
    "  --no-stacks        do not record call stacks (faster)\n"
    "  --no-time          exact counts only: no CPU-time sampling\n"
    "  --time-only        sampled CPU time only, no counting hook: the least\n"
    "                     perturbed times (no instruction counts)\n"
    "  --rate HZ          CPU-time samples a second per thread (default 1000)\n"
    "  --root DIR         files are matched across profiles relative to DIR\n"
    "                     (default: the script's folder; the current one for -m/-c)\n"
    "  --instruction-events  count with one event per instruction instead of\n"
    "                     control-flow events (3.12+; slower, same counts)\n"
    "  --compare BASELINE after the run, diff against BASELINE (report on stderr)\n"
    "                     and exit 3 on a regression; takes diff's limits:\n"
    GATE_HELP
    "  -h, --help         this help\n";

const char cli_diff_usage[] =
    "usage: opprof diff [options] BASE.json NEW.json\n"
    "\n"
    "Compares NEW against BASE function by function (matched by file relative\n"
    "to each profile's root, and qualname).  Exit 0: no regression past a hard\n"
    "limit; 3: regression; 2: usage error or bad input.\n"
    "\n"
    GATE_HELP
    "  -h, --help             this help\n";

const char cli_merge_usage[] =
    "usage: opprof merge -o OUT.json IN.json [IN.json ...]\n"
    "\n"
    "Sums counts, calls, wall time and stacks of profiles of one interpreter.\n";

const char cli_report_usage[] =
    "usage: opprof report PROFILE.json [--top N] [--sort time|count] [--width N]\n";

const char cli_annotate_usage[] =
    "usage: opprof annotate PROFILE.json [FUNCTION] [--top N]\n"
    "\n"
    "FUNCTION: a qualname (Outer.work), a name, or FILE:LINE (app.py:12);\n"
    "without it, the hottest --top functions (default 3).\n";

enum opt_id {
    OPT_OUTPUT, OPT_QUIET, OPT_NO_STACKS, OPT_INSTRUCTION_EVENTS, OPT_ROOT, OPT_COMPARE,
    OPT_HELP, OPT_NO_TIME, OPT_TIME_ONLY, OPT_RATE, OPT_METRIC, OPT_THRESHOLD, OPT_FUNCTION_THRESHOLD, OPT_SOFT,
    OPT_MIN_INSTRUCTIONS, OPT_INCLUDE_IMPORTS, OPT_ALLOW_MISMATCH, OPT_FORMAT, OPT_TOP,
    OPT_SORT, OPT_WIDTH, OPT_REPORT,
};

typedef struct option {
    const char *short_, *long_;
    enum opt_id id;
    int takes_value;
} option;

#define GATE_OPTIONS                                                  \
    {NULL, "--metric", OPT_METRIC, 1},                                \
    {NULL, "--threshold", OPT_THRESHOLD, 1},                          \
    {NULL, "--function-threshold", OPT_FUNCTION_THRESHOLD, 1},        \
    {NULL, "--soft", OPT_SOFT, 0},                                    \
    {NULL, "--min-instructions", OPT_MIN_INSTRUCTIONS, 1},            \
    {NULL, "--include-imports", OPT_INCLUDE_IMPORTS, 0},              \
    {NULL, "--allow-interpreter-mismatch", OPT_ALLOW_MISMATCH, 0},    \
    {NULL, "--format", OPT_FORMAT, 1},                                \
    {NULL, "--top", OPT_TOP, 1}

static const option run_options[] = {
    {"-o", "--output", OPT_OUTPUT, 1},
    {"-q", "--quiet", OPT_QUIET, 0},
    {NULL, "--no-stacks", OPT_NO_STACKS, 0},
    {NULL, "--instruction-events", OPT_INSTRUCTION_EVENTS, 0},
    {NULL, "--root", OPT_ROOT, 1},
    {NULL, "--compare", OPT_COMPARE, 1},
    {NULL, "--report", OPT_REPORT, 1},
    {NULL, "--sort", OPT_SORT, 1},
    {NULL, "--no-time", OPT_NO_TIME, 0},
    {NULL, "--time-only", OPT_TIME_ONLY, 0},
    {NULL, "--rate", OPT_RATE, 1},
    {"-h", "--help", OPT_HELP, 0},
    GATE_OPTIONS,
    {NULL, NULL, 0, 0},
};

static const option diff_options[] = {
    {"-h", "--help", OPT_HELP, 0},
    GATE_OPTIONS,
    {NULL, NULL, 0, 0},
};

static const option show_options[] = {
    {"-h", "--help", OPT_HELP, 0},
    {NULL, "--top", OPT_TOP, 1},
    {NULL, "--sort", OPT_SORT, 1},
    {NULL, "--width", OPT_WIDTH, 1},
    {NULL, NULL, 0, 0},
};

static const option merge_options[] = {
    {"-o", "--output", OPT_OUTPUT, 1},
    {"-h", "--help", OPT_HELP, 0},
    {NULL, NULL, 0, 0},
};

/* The option `arg` names in `table`; sets *value for "--opt=x" and "-ox". */
static const option *find_option(const option *table, const char *arg, const char **value)
{
    *value = NULL;
    for (const option *o = table; o->long_; o++) {
        size_t ln = strlen(o->long_);
        if ((o->short_ && strcmp(arg, o->short_) == 0) || strcmp(arg, o->long_) == 0)
            return o;
        if (o->takes_value && strncmp(arg, o->long_, ln) == 0 && arg[ln] == '=') {
            *value = arg + ln + 1;
            return o;
        }
        if (o->takes_value && o->short_ && strncmp(arg, o->short_, 2) == 0 && arg[2]) {
            *value = arg + 2;
            return o;
        }
    }
    return NULL;
}

/* "2", "2%", "0.5%" -> 2.0, 2.0, 0.5; -1 if not a percentage. */
static double percentage(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || (*end && strcmp(end, "%") != 0) || !(v >= 0))
        return -1;
    return v;
}

/* Applies a gate option; 0, or -1 with a message. */
static int gate_option(cli_gate *g, enum opt_id id, const char *name, const char *value,
                       char *err, size_t errlen)
{
    char *end;
    switch (id) {
    case OPT_METRIC:
        if (strcmp(value, "instructions") == 0)
            g->opts.metric = DF_INSTRUCTIONS;
        else if (strcmp(value, "time") == 0)
            g->opts.metric = DF_TIME;
        else
            goto bad;
        return 0;
    case OPT_THRESHOLD:
    case OPT_FUNCTION_THRESHOLD: {
        double v = percentage(value);
        if (v < 0)
            goto bad;
        *(id == OPT_THRESHOLD ? &g->opts.threshold : &g->opts.function_threshold) = v;
        return 0;
    }
    case OPT_SOFT: g->opts.soft = 1; return 0;
    case OPT_INCLUDE_IMPORTS: g->opts.include_imports = 1; return 0;
    case OPT_ALLOW_MISMATCH: g->opts.allow_mismatch = 1; return 0;
    case OPT_FORMAT: g->format = value; return 0;
    case OPT_MIN_INSTRUCTIONS:
    case OPT_TOP: {
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || value[0] == '-')
            goto bad;
        if (id == OPT_TOP)
            g->opts.top = (size_t)v;
        else
            g->opts.min_instructions = v;
        return 0;
    }
    default:
        return 1;  /* not a gate option */
    }
bad:
    snprintf(err, errlen, "bad value for %s: '%s'", name, value);
    return -1;
}

/* Walks argv[1..]: options from `table` until the first argument that is
 * not one of them (stop_at_unknown) or through all of it, collecting the
 * others as operands.  `apply` handles each option. */
typedef int (*apply_fn)(void *o, const option *opt, const char *arg, const char *value,
                        char *err, size_t errlen);

static int parse(int argc, char **argv, const option *table, int stop_at_unknown,
                 apply_fn apply, void *o, char **operands, int *noperands, char *err,
                 size_t errlen)
{
    int i = 1;
    *noperands = 0;
    for (; i < argc; i++) {
        const char *arg = argv[i], *value;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        const option *opt = find_option(table, arg, &value);
        if (!opt) {
            if (stop_at_unknown)
                break;
            if (arg[0] == '-' && arg[1]) {
                snprintf(err, errlen, "unknown option %s (see %s --help)", arg, argv[0]);
                return -1;
            }
            operands[(*noperands)++] = argv[i];
            continue;
        }
        if (opt->takes_value && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option %s needs a value", arg);
                return -1;
            }
            value = argv[++i];
        }
        if (apply(o, opt, arg, value, err, errlen) < 0)
            return -1;
    }
    if (!stop_at_unknown)
        for (; i < argc; i++)
            operands[(*noperands)++] = argv[i];
    return i;
}

static void gate_init(cli_gate *g)
{
    df_options_init(&g->opts);
    g->format = "text";
}

static int apply_run(void *p, const option *opt, const char *arg, const char *value,
                     char *err, size_t errlen)
{
    cli_run *o = p;
    switch (opt->id) {
    case OPT_OUTPUT:
        if (!*value) {
            snprintf(err, errlen, "option %s needs a file name", arg);
            return -1;
        }
        o->output = value;
        return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
    case OPT_NO_STACKS: o->stacks = 0; return 0;
    case OPT_INSTRUCTION_EVENTS: o->instruction_events = 1; return 0;
    case OPT_ROOT: o->root = value; return 0;
    case OPT_COMPARE: o->compare = value; return 0;
    case OPT_REPORT: o->report = value; return 0;
    case OPT_SORT:
        if (strcmp(value, "count") && strcmp(value, "time")) {
            snprintf(err, errlen, "bad value for %s: '%s' (time or count)", arg, value);
            return -1;
        }
        o->sort_by_count = strcmp(value, "count") == 0;
        return 0;
    case OPT_NO_TIME: o->time = 0; return 0;
    case OPT_TIME_ONLY: o->count = 0; return 0;
    case OPT_RATE: {
        char *end;
        unsigned long v = strtoul(value, &end, 10);
        if (end == value || *end || v < 1 || v > 100000) {
            snprintf(err, errlen, "bad value for %s: '%s' (1 to 100000 samples a second)", arg,
                     value);
            return -1;
        }
        o->rate_hz = (unsigned)v;
        return 0;
    }
    case OPT_HELP: o->help = 1; return 0;
    default: return gate_option(&o->gate, opt->id, arg, value, err, errlen);
    }
}

int cli_parse_run(int argc, char **argv, cli_run *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->output = "opprof.json";
    o->stacks = 1;
    o->time = 1;
    o->count = 1;
    o->rate_hz = 1000;
    gate_init(&o->gate);
    int n;
    int i = parse(argc, argv, run_options, 1, apply_run, o, NULL, &n, err, errlen);
    if (i < 0)
        return -1;
    o->py_argc = argc - i;
    o->py_argv = argv + i;
    if (!o->help && o->py_argc == 0) {
        snprintf(err, errlen, "run needs a script, -m module or -c code (see opprof run --help)");
        return -1;
    }
    if (!o->count && !o->time) {
        snprintf(err, errlen, "--time-only and --no-time together leave nothing to measure");
        return -1;
    }
    if (!o->count && o->compare && o->gate.opts.metric == DF_INSTRUCTIONS) {
        snprintf(err, errlen, "--time-only has no counts to compare: add --metric time");
        return -1;
    }
    return 0;
}

static int apply_diff(void *p, const option *opt, const char *arg, const char *value,
                      char *err, size_t errlen)
{
    cli_diff *o = p;
    if (opt->id == OPT_HELP) {
        o->help = 1;
        return 0;
    }
    return gate_option(&o->gate, opt->id, arg, value, err, errlen);
}

int cli_parse_diff(int argc, char **argv, cli_diff *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    gate_init(&o->gate);
    char **operands = calloc((size_t)argc + 1, sizeof *operands);
    int n = 0;
    if (!operands) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = parse(argc, argv, diff_options, 0, apply_diff, o, operands, &n, err, errlen);
    if (rc >= 0 && !o->help && n != 2) {
        snprintf(err, errlen, "diff needs two profiles: BASE.json NEW.json (see opprof diff --help)");
        rc = -1;
    }
    if (rc >= 0 && n == 2) {
        o->base = operands[0];
        o->new_ = operands[1];
    }
    free(operands);
    return rc < 0 ? -1 : 0;
}

static int apply_merge(void *p, const option *opt, const char *arg, const char *value,
                       char *err, size_t errlen)
{
    cli_merge *o = p;
    (void)arg, (void)err, (void)errlen;
    if (opt->id == OPT_HELP)
        o->help = 1;
    else
        o->output = value;
    return 0;
}

int cli_parse_merge(int argc, char **argv, cli_merge *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    if (!o->inputs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (parse(argc, argv, merge_options, 0, apply_merge, o, o->inputs, &o->ninputs, err,
              errlen) < 0)
        return -1;
    if (o->help)
        return 0;
    if (!o->output || !*o->output) {
        snprintf(err, errlen, "merge needs -o OUT.json (see opprof merge --help)");
        return -1;
    }
    if (o->ninputs < 1) {
        snprintf(err, errlen, "merge needs at least one profile to read");
        return -1;
    }
    return 0;
}

static int apply_show(void *p, const option *opt, const char *arg, const char *value,
                      char *err, size_t errlen)
{
    cli_show *o = p;
    char *end;
    unsigned long v;
    switch (opt->id) {
    case OPT_HELP:
        o->help = 1;
        return 0;
    case OPT_SORT:
        if (strcmp(value, "count") && strcmp(value, "time"))
            break;
        o->sort_by_count = strcmp(value, "count") == 0;
        return 0;
    default:  /* --top, --width */
        v = strtoul(value, &end, 10);
        if (end == value || *end || value[0] == '-' || v == 0 || v > 100000)
            break;
        if (opt->id == OPT_TOP)
            o->top = v;
        else
            o->width = (int)v;
        return 0;
    }
    snprintf(err, errlen, "bad value for %s: '%s'", arg, value);
    return -1;
}

int cli_parse_show(int argc, char **argv, cli_show *o, int max_operands, char *err,
                   size_t errlen)
{
    memset(o, 0, sizeof *o);
    char *operands[3];
    char **ops = calloc((size_t)argc + 1, sizeof *ops);
    int n = 0;
    if (!ops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = parse(argc, argv, show_options, 0, apply_show, o, ops, &n, err, errlen);
    for (int i = 0; i < n && i < 3; i++)
        operands[i] = ops[i];
    free(ops);
    if (rc < 0)
        return -1;
    if (o->help)
        return 0;
    if (n < 1 || n > max_operands) {
        snprintf(err, errlen, "%s needs %s (see opprof %s --help)", argv[0],
                 max_operands == 1 ? "one profile" : "a profile and at most one function",
                 argv[0]);
        return -1;
    }
    o->profile = operands[0];
    o->function = n > 1 ? operands[1] : NULL;
    return 0;
}
