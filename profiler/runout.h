/*
 * runout.h - the files one `opprof run` writes: the profile (-o), the
 * report (--report FILE, else stderr), the flame graphs (--folded,
 * --speedscope, --html).
 *
 * All of them are planned before the script runs (reports/outfile.h), so
 * a refused output costs the user nothing, and written once at the end.
 * A failure is said in one "opprof: " line on stderr by the function that
 * met it.  No libpython here: host.c feeds in what Python knows (the
 * files the run imported) through ro_note_executed.
 */
#ifndef OPPROF_RUNOUT_H
#define OPPROF_RUNOUT_H

#include "../reports/model/profile.h"
#include "cli.h"

typedef struct ro_outputs ro_outputs;   /* owned by the caller: ro_release() */

/* Plans o's outputs, made absolute against `cwd`, refusing the script
 * (`script`, may be NULL), opprof's own binary, the Python library
 * (`libpython`, may be NULL) and two outputs naming one file.  0, or -1
 * (said on stderr: the run must not start). */
int ro_plan(const cli_run *o, const char *cwd, const char *script, const char *libpython,
            ro_outputs **out);
void ro_release(ro_outputs *r);

/* In a forked child: outputs to regular files become NAME.<pid>.EXT (the
 * child writes its own); descriptors, devices and FIFOs are the parent's,
 * so the child drops them. */
void ro_after_fork(ro_outputs *r);

/* `path` was executed by the run (an imported module): an output that
 * turns out to be it goes to PATH.opprof instead.  0, or -1 on OOM. */
int ro_note_executed(ro_outputs *r, const char *path);

/* The profile's path as the user should see it in messages, or NULL
 * when it goes to a stream or nowhere. */
const char *ro_profile_name(const ro_outputs *r);

typedef enum ro_result {
    RO_OK,
    RO_OTHER_FAILED,     /* the profile is written; another output is not, or went elsewhere */
    RO_PROFILE_FAILED,   /* the profile could not be written, or went to PATH.opprof */
    RO_NO_PROFILE,       /* a forked child whose profile went to the parent's stream */
} ro_result;

/* Writes the report, then the flame graphs, then the profile (a failure
 * of one never costs the others), setting p->exit_ns: the time since
 * end_ns (CLOCK_MONOTONIC), when the script ended. */
ro_result ro_write(ro_outputs *r, pf_profile *p, const cli_run *o, uint64_t end_ns);

#endif
