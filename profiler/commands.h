/*
 * commands.h - the commands that only read profiles (diff, merge, report,
 * annotate), and the steps `run` shares with them: the diff of `run
 * --compare` and writing flame graphs.  They use reports/ only, never libpython.
 * Exit codes: exitcode.h (0 ok, 2 usage or bad input, 3 regression).
 */
#ifndef OPPROF_COMMANDS_H
#define OPPROF_COMMANDS_H

#include <stdarg.h>
#include <stdio.h>

#include "../reports/flame.h"
#include "../reports/outfile.h"
#include "../reports/model/profile.h"
#include "../reports/report_text.h"
#include "cli.h"

int cmd_diff(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Diffs `new_` against `base` and renders the result to `out`.  Returns
 * the diff's verdict (DF_OK/DF_WARNING/DF_REGRESSION), or -1 with a
 * one-line reason in err. */
int cmd_compare(const pf_profile *base, const pf_profile *new_, const char *base_name,
                const char *new_name, const cli_gate *g, FILE *out, char *err, size_t errlen);

/* Writes flame-graph format `format` of p to the planned output t
 * (outfile.h; `executed` may be NULL), saying on stderr what the user
 * should know (fl_note) and, unless quiet, where it went; a failure or a
 * diverted write is one "opprof: " line and -1. */
int cmd_write_flame(const pf_profile *p, const char *format, of_target *t,
                    const of_guard *executed, const fl_options *o, int quiet);

/* The one line for an output that went to PATH.opprof (outfile.h): `what`
 * names it ("profile"). */
void cmd_say_diverted(const of_target *t, const char *what);

/* The flame-graph outputs of `run`, by index: --folded, --speedscope, --html,
 * and pprof's (--pprof), written the same way. */
#define CMD_NFLAME 4
extern const char *const cmd_flame_format[CMD_NFLAME];   /* "folded", ... */

/* The text report as an of_write_fn (outfile.h): `job` is a
 * cmd_report_job.  Width and colours come from the stream written to
 * (rt_options_for_terminal), unless `width` is set. */
typedef struct cmd_report_job {
    const pf_profile *p;
    rt_options ro;           /* top, sort, profile name */
    int width;               /* 0: the terminal's */
} cmd_report_job;
int cmd_write_report(void *job, FILE *out, char *err, size_t errlen);

/* One "opprof: " line on stderr. */
void cmd_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cmd_vsay(const char *fmt, va_list ap);

/* Checks a --format name; 0, or -1 with a one-line reason in err. */
int cmd_check_format(const char *format, char *err, size_t errlen);

#endif
