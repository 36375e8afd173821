/*
 * cli.c - option tables and parsing.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
    OPT_OUTPUT, OPT_QUIET, OPT_NO_STACKS, OPT_LINES, OPT_INSTRUCTION_EVENTS, OPT_ROOT, OPT_COMPARE,
    OPT_HELP, OPT_NO_TIME, OPT_TIME_ONLY, OPT_RATE, OPT_METRIC, OPT_THRESHOLD, OPT_FUNCTION_THRESHOLD, OPT_SOFT,
    OPT_MIN_INSTRUCTIONS, OPT_INCLUDE_IMPORTS, OPT_ALLOW_MISMATCH, OPT_FORMAT, OPT_TOP,
    OPT_SORT, OPT_WIDTH, OPT_REPORT, OPT_FOLDED, OPT_SPEEDSCOPE, OPT_HTML, OPT_PPROF, OPT_OPCODES,
    OPT_NATIVE, OPT_NO_LEGEND, OPT_EXPLAIN, OPT_SUBPROCESSES, OPT_SUBPROCESS_WAIT,
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
    {NULL, "--lines", OPT_LINES, 0},
    {NULL, "--instruction-events", OPT_INSTRUCTION_EVENTS, 0},
    {NULL, "--root", OPT_ROOT, 1},
    {NULL, "--compare", OPT_COMPARE, 1},
    {NULL, "--report", OPT_REPORT, 1},
    {NULL, "--sort", OPT_SORT, 1},
    {NULL, "--no-time", OPT_NO_TIME, 0},
    {NULL, "--time-only", OPT_TIME_ONLY, 0},
    {NULL, "--rate", OPT_RATE, 1},
    {NULL, "--native", OPT_NATIVE, 0},
    {NULL, "--subprocesses", OPT_SUBPROCESSES, 0},
    {NULL, "--subprocess-wait", OPT_SUBPROCESS_WAIT, 1},
    {NULL, "--folded", OPT_FOLDED, 1},
    {NULL, "--speedscope", OPT_SPEEDSCOPE, 1},
    {NULL, "--html", OPT_HTML, 1},
    {NULL, "--pprof", OPT_PPROF, 1},
    {NULL, "--opcodes", OPT_OPCODES, 0},
    {NULL, "--no-legend", OPT_NO_LEGEND, 0},
    {"-h", "--help", OPT_HELP, 0},
    GATE_OPTIONS,
    {NULL, NULL, 0, 0},
};

static const option diff_options[] = {
    {"-o", "--output", OPT_OUTPUT, 1},
    {"-h", "--help", OPT_HELP, 0},
    GATE_OPTIONS,
    {NULL, NULL, 0, 0},
};

static const option show_options[] = {
    {"-h", "--help", OPT_HELP, 0},
    {NULL, "--top", OPT_TOP, 1},
    {NULL, "--sort", OPT_SORT, 1},
    {NULL, "--width", OPT_WIDTH, 1},
    {NULL, "--explain", OPT_EXPLAIN, 0},
    {NULL, NULL, 0, 0},
};

static const option report_options[] = {
    {"-h", "--help", OPT_HELP, 0},
    {NULL, "--top", OPT_TOP, 1},
    {NULL, "--sort", OPT_SORT, 1},
    {NULL, "--width", OPT_WIDTH, 1},
    {NULL, "--format", OPT_FORMAT, 1},
    {"-o", "--output", OPT_OUTPUT, 1},
    {NULL, "--metric", OPT_METRIC, 1},
    {NULL, "--opcodes", OPT_OPCODES, 0},
    {NULL, "--no-legend", OPT_NO_LEGEND, 0},
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
    case OPT_LINES: o->lines = 1; return 0;
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
    case OPT_NATIVE: o->native = 1; return 0;
    case OPT_SUBPROCESSES: o->subprocesses = 1; return 0;
    case OPT_SUBPROCESS_WAIT: {
        char *end;
        double v = strtod(value, &end);
        if (end == value || *end || !(v >= 0 && v <= 3600)) {
            snprintf(err, errlen, "bad value for %s: '%s' (0 to 3600 seconds)", arg, value);
            return -1;
        }
        o->subprocess_wait_s = v;
        o->subprocess_wait_set = 1;
        return 0;
    }
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
    case OPT_FOLDED:
    case OPT_SPEEDSCOPE:
    case OPT_HTML:
    case OPT_PPROF:
        /* standard output is the script's */
        if (!*value || strcmp(value, "-") == 0) {
            snprintf(err, errlen, "option %s needs a file name", arg);
            return -1;
        }
        *(opt->id == OPT_FOLDED ? &o->folded : opt->id == OPT_HTML ? &o->html
          : opt->id == OPT_PPROF ? &o->pprof : &o->speedscope) = value;
        return 0;
    case OPT_OPCODES: o->opcodes = 1; return 0;
    case OPT_NO_LEGEND: o->no_legend = 1; return 0;
    case OPT_HELP: o->help = 1; return 0;
    default:
        o->metric_set |= opt->id == OPT_METRIC;   /* one --metric: --compare's and the graphs' */
        return gate_option(&o->gate, opt->id, arg, value, err, errlen);
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
    o->subprocess_wait_s = 10;
    gate_init(&o->gate);
    int n;
    int i = parse(argc, argv, run_options, 1, apply_run, o, NULL, &n, err, errlen);
    if (i < 0)
        return -1;
    o->py_argc = argc - i;
    o->py_argv = argv + i;
    if (!o->help && o->py_argc == 0) {
        snprintf(err, errlen, "run needs a script, -m module, -c code or - (see opprof run --help)");
        return -1;
    }
    if (!o->count && !o->time) {
        snprintf(err, errlen, "--time-only and --no-time together leave nothing to measure");
        return -1;
    }
    if (o->subprocess_wait_set && !o->subprocesses) {
        snprintf(err, errlen, "--subprocess-wait goes with --subprocesses");
        return -1;
    }
    if (o->native && !o->time) {
        snprintf(err, errlen, "--native samples with the CPU-time sampler: it cannot go with --no-time");
        return -1;
    }
    if (!o->count && o->compare && o->gate.opts.metric == DF_INSTRUCTIONS) {
        snprintf(err, errlen, "--time-only has no counts to compare: add --metric time");
        return -1;
    }
    int flame = o->folded || o->speedscope || o->html || o->pprof;
    if (flame && o->metric_set && !o->count && o->gate.opts.metric == DF_INSTRUCTIONS) {
        snprintf(err, errlen, "--metric instructions: --time-only records no instruction "
                 "counts to draw; use --metric time");
        return -1;
    }
    if (flame && o->metric_set && !o->time && o->gate.opts.metric == DF_TIME) {
        snprintf(err, errlen, "--metric time: --no-time records no times to draw; "
                 "use --metric instructions");
        return -1;
    }
    if (o->opcodes && !flame) {
        snprintf(err, errlen, "--opcodes needs a flame-graph output (--folded, --speedscope, "
                 "--html or --pprof)");
        return -1;
    }
    if (o->pprof)   /* its locations: each call's line and each leaf's */
        o->lines = 1;
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
    if (opt->id == OPT_OUTPUT) {
        o->output = value;
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
    case OPT_FORMAT: o->format = value; return 0;
    case OPT_OUTPUT:
        if (!*value)
            break;
        o->output = value;
        return 0;
    case OPT_METRIC:
        if (strcmp(value, "instructions") && strcmp(value, "time"))
            break;
        o->metric = value;
        return 0;
    case OPT_OPCODES: o->opcodes = 1; return 0;
    case OPT_NO_LEGEND: o->no_legend = 1; return 0;
    case OPT_EXPLAIN: o->explain = 1; return 0;
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

static int parse_show(int argc, char **argv, cli_show *o, int max_operands,
                      const option *table, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->format = "text";
    char *operands[3];
    char **ops = calloc((size_t)argc + 1, sizeof *ops);
    int n = 0;
    if (!ops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = parse(argc, argv, table, 0, apply_show, o, ops, &n, err, errlen);
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

int cli_parse_show(int argc, char **argv, cli_show *o, int max_operands, char *err,
                   size_t errlen)
{
    return parse_show(argc, argv, o, max_operands, show_options, err, errlen);
}

int cli_parse_report(int argc, char **argv, cli_show *o, char *err, size_t errlen)
{
    if (parse_show(argc, argv, o, 1, report_options, err, errlen) < 0)
        return -1;
    if (strcmp(o->format, "text") == 0 && (o->metric || o->opcodes)) {
        snprintf(err, errlen, "%s applies to the flame-graph formats (--format folded, "
                 "speedscope, html or pprof)", o->metric ? "--metric" : "--opcodes");
        return -1;
    }
    return 0;
}
