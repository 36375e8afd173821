/*
 * commands.h - the commands that only read profiles (diff, merge), and the
 * diff step of `run --compare`.  They use reports/ only, never libpython.
 * Exit codes: exitcode.h (0 ok, 2 usage or bad input, 3 regression).
 */
#ifndef OPPROF_COMMANDS_H
#define OPPROF_COMMANDS_H

#include <stdio.h>

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

/* Checks a --format name; 0, or -1 with a one-line reason in err. */
int cmd_check_format(const char *format, char *err, size_t errlen);

#endif
