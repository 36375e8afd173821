/*
 * host.h - `opprof run`: embeds CPython through PyConfig, runs the script
 * exactly as python would, and writes the profile when the script is done.
 */
#ifndef OPPROF_HOST_H
#define OPPROF_HOST_H

#include <stdio.h>

#include "cli.h"

/* Runs the script; returns the process exit status (the script's own, or
 * an opprof_exit code for opprof's failures).  May not return at all when
 * the script exits through Py_Exit or dies of SIGINT: the profile is
 * written on those paths too. */
int host_run(const cli_run *o);

/* `opprof --version`'s lines about the embedded interpreter: its version
 * (sys.version, without starting it), the libpython it runs from and the
 * python whose stdlib it uses.  0, or -1 on a write error. */
int host_print_version(FILE *out);

#endif
