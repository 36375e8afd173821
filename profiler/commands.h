/*
 * commands.h - the commands that only read profiles (diff, merge, report,
 * annotate), and the steps `run` shares with them: the diff of `run
 * --compare` and writing flame graphs.  They use reports/ only, never libpython.
 * Exit codes: exitcode.h (0 ok, 2 usage or bad input, 3 regression).
 */
#ifndef OPPROF_COMMANDS_H
#define OPPROF_COMMANDS_H

#include <stdio.h>

#include "../reports/flame.h"
#include "../reports/profile.h"
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

/* Writes flame-graph format `format` of p to `path` ("-": standard output),
 * saying on stderr what the user should know (fl_note) and, unless quiet,
 * where it went; a failure is one "opprof: " line.  0, or -1. */
int cmd_write_flame(const pf_profile *p, const char *format, const char *path,
                    const fl_options *o, int quiet);

/* The end of `run`, after the script: the report on stderr or in
 * --report (nothing with -q alone); a failure is one "opprof: " line. */
void cmd_run_report(const pf_profile *p, const cli_run *o, const char *profile_name);

/* The flame-graph outputs of `run`, by index: --folded, --speedscope, --html. */
#define CMD_NFLAME 3
extern const char *const cmd_flame_format[CMD_NFLAME];   /* "folded", ... */
/* Writes those of paths[] that are set, after the profile (a failure never
 * costs the profile); 0, or -1 when one could not be written. */
int cmd_run_flames(const pf_profile *p, const cli_run *o, char *const paths[CMD_NFLAME]);

/* Checks a --format name; 0, or -1 with a one-line reason in err. */
int cmd_check_format(const char *format, char *err, size_t errlen);

#endif
