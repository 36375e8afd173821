/*
 * cli.h - option parsing for opprof's commands.  Pure: no libpython.
 *
 * `run` takes opprof's options first; from the first argument it does not
 * know (an option of python's, or the script) on, everything is python's
 * command line, handed unchanged to CPython's own parser.  The limits of
 * `diff` are accepted by `run --compare` too, from one table.
 */
#ifndef OPPROF_CLI_H
#define OPPROF_CLI_H

#include <stddef.h>

#include "../reports/diff.h"

typedef struct cli_gate {
    df_options opts;
    const char *format;      /* "text" unless --format */
} cli_gate;

typedef struct cli_run {
    const char *output;      /* "-" for stdout; default "opprof.json" */
    int quiet;
    int stacks;
    int lines;               /* --lines: the call tree by call site, sites per line */
    int instruction_events;  /* one event per instruction (3.12+: slower) */
    const char *root;        /* --root: NULL for the script's folder */
    int time;                /* sample CPU time per instruction (not --no-time) */
    int count;               /* count instructions (not --time-only) */
    unsigned rate_hz;        /* --rate */
    int native;              /* --native: mixed native + Python stacks */
    int subprocesses;        /* --subprocesses: children are profiled and merged */
    double subprocess_wait_s;/* --subprocess-wait: how long the parent waits for them */
    int subprocess_wait_set;
    const char *compare;     /* --compare BASELINE: diff after the run */
    const char *report;      /* --report FILE: the report there, not on stderr */
    int sort_by_count;       /* --sort count */
    cli_gate gate;
    int metric_set;          /* --metric given: flame graphs use gate.opts.metric */
    const char *folded;      /* --folded FILE: flame-graph outputs, NULL when not asked */
    const char *speedscope;  /* --speedscope FILE */
    const char *html;        /* --html FILE */
    const char *pprof;       /* --pprof FILE: pprof's profile.proto, gzip-compressed */
    int opcodes;             /* --opcodes: opcode leaf frames in them */
    int no_legend;           /* --no-legend: the report without the opcodes' meanings */
    int help;
    int py_argc;             /* python's arguments, borrowed from argv */
    char **py_argv;
} cli_run;

typedef struct cli_diff {
    const char *base, *new_;
    const char *output;      /* -o FILE: NULL for standard output */
    cli_gate gate;
    int help;
} cli_diff;

typedef struct cli_show {
    const char *profile;
    const char *function;    /* annotate: which one; NULL for the hottest */
    size_t top;              /* 0: the command's default */
    int sort_by_count;       /* report --sort count */
    int width;               /* report --width; 0: the terminal's */
    const char *format;      /* report --format: "text" unless given */
    const char *output;      /* report -o FILE: NULL for standard output */
    const char *metric;      /* report --metric instructions|time; NULL: the default */
    int opcodes;             /* report --opcodes */
    int no_legend;           /* report --no-legend */
    int explain;             /* annotate --explain: each instruction's meaning */
    int help;
} cli_show;

typedef struct cli_merge {
    const char *output;
    char **inputs;           /* the array is owned (free()), the strings borrowed */
    int ninputs;
    int help;
} cli_merge;

/* Each parses argv of its command (argv[0] is the command's name): 0, or
 * -1 with a one-line message in err. */
int cli_parse_run(int argc, char **argv, cli_run *o, char *err, size_t errlen);
int cli_parse_diff(int argc, char **argv, cli_diff *o, char *err, size_t errlen);
int cli_parse_merge(int argc, char **argv, cli_merge *o, char *err, size_t errlen);
/* report and annotate: `report` takes one operand, `annotate` one or two */
int cli_parse_show(int argc, char **argv, cli_show *o, int max_operands, char *err,
                   size_t errlen);
/* report, with its --format/-o/--metric/--opcodes; "text" is the only
 * format without --metric and --opcodes (they are the flame graphs' and
 * pprof's). */
int cli_parse_report(int argc, char **argv, cli_show *o, char *err, size_t errlen);

extern const char cli_main_usage[];
extern const char cli_run_usage[];
extern const char cli_diff_usage[];
extern const char cli_merge_usage[];
extern const char cli_report_usage[];
extern const char cli_annotate_usage[];
extern const char cli_explain_usage[];

#endif
