/*
 * pyconfig.h - `opprof run`'s python command line (everything after
 * opprof's own options) into a PyConfig, as python's main would read it:
 * the pre-configuration (-X dev, -E, -I), an active virtual environment of
 * the same version, and what the run will execute.
 */
#ifndef OPPROF_PYCONFIG_H
#define OPPROF_PYCONFIG_H

#include <limits.h>

#include "cli.h"
#include "pycompat.h"

/* What python will run, as opprof needs it before it starts. */
typedef struct pc_target {
    char script[PATH_MAX];   /* the script file, "" for -m, -c and - */
    char gate[PATH_MAX];     /* whose first code starts counting: the script,
                                "<string>", "<stdin>", or "" (from the start) */
    char root[PATH_MAX];     /* profile paths are matched relative to it */
    char hash_seed[32];      /* PYTHONHASHSEED in force, or "random" */
} pc_target;

/* Pre-initializes CPython and reads o's python command line into
 * `config` (which the caller clears), relative to `cwd`; fills *t.
 * Returns -1 when the run goes on, else the exit status to end with
 * (0 after python's -h or --version, a usage or missing-script error,
 * said in one line). */
int pc_configure(PyConfig *config, const cli_run *o, const char *cwd, pc_target *t);

#endif
