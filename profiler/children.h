/*
 * children.h - `opprof run --subprocesses`: every Python process of the
 * run is profiled, and the parent's profile holds them all.
 *
 * How children find opprof: the parent makes a private folder for the
 * run (under TMPDIR) holding a launcher, `bin/python3.X`, a symlink to
 * opprof's own binary, and sets sys.executable to it, so subprocess and
 * multiprocessing (spawn, forkserver) start the launcher where they would
 * start python.  opprof started under a name beginning with "python" is
 * the launcher: it profiles python's command line with the run's options,
 * which the environment carries (OPPROF_RUN_*); where the program cleared
 * that environment it execs the real python, unprofiled.  sys.executable
 * keeps behaving as python for the children's own children, venv (which
 * uses sys._base_executable, the real one) and pip.  A forked child of
 * any profiled process becomes a child of the run the same way.
 *
 * How the parent gets their work: a child announces itself when it starts
 * (`parts/PID.started`: its parent's pid and argv) and leaves its profile
 * at its end as `parts/PID.json` (written aside, then renamed), however it
 * ends: exit, os._exit, SIGTERM.  At its end the parent waits (a bounded
 * time, polling: opprof starts no thread) for every child it saw start,
 * then renames `parts` away: a child that ends later finds no folder and
 * writes its own file beside the parent's profile (NAME.PID.json), with
 * the run id that lets `opprof merge` fold it in.  The parent merges the
 * parts into its profile (reports/model/merge.h: a child of the same run
 * is a process of its own) and lists the children still running as
 * pending.
 *
 * No libpython here except ch_set_executable; state is per process.
 */
#ifndef OPPROF_CHILDREN_H
#define OPPROF_CHILDREN_H

#include <stdint.h>

#include "../reports/model/profile.h"
#include "cli.h"

typedef enum ch_role {
    CH_NONE,                 /* no --subprocesses */
    CH_PARENT,               /* the process opprof ran, with --subprocesses */
    CH_CHILD,                /* a child of such a run: its profile is a part */
} ch_role;

ch_role ch_role_now(void);

/* 1 when opprof runs under a launcher's name (argv[0]). */
int ch_is_launcher(const char *argv0);
/* The launcher: python's command line in argv, profiled as a child of
 * the run, or exec'ed as plain python when the environment has no run.
 * Returns the exit status (or does not return: exec). */
int ch_launcher_main(int argc, char **argv);

/* The parent, before python starts: the run's folder, launcher, run id
 * and the environment children find them by.  `profile_path`: where the
 * parent's profile goes when it is a regular file (a pending child writes
 * its own beside it), NULL for a stream.  0, or -1 (said on stderr). */
int ch_parent_start(const cli_run *o, const char *root, const char *profile_path);

/* After python started: sys.executable is the launcher (parent and
 * children).  0, or -1 with a Python error set. */
int ch_set_executable(void);

/* Every run, as python starts: this process's pid, parent and start,
 * and its command line (borrowed: it must outlive the run). */
void ch_begin(int argc, char **argv);

/* At the end of a process of the run, once counting stopped and the
 * script's atexit handlers ran: multiprocessing's forkserver and
 * resource tracker, which live until their parent's process is gone,
 * are stopped as the interpreter's exit would stop them, so that their
 * parts (and the forkserver's workers') are in before the parent writes. */
void ch_stop_helpers(void);

/* In a forked child, from Python's after-fork hook, once the collector
 * has dropped the parent's counts: a child of a --subprocesses run
 * announces itself.  (Its pid, start and role changed in fork() itself:
 * without --subprocesses SIGTERM and SIGHUP are python's again there.) */
void ch_after_fork(void);
/* A child on its way out: SIGTERM and SIGHUP wait until it is gone, so
 * that its part is written whole (a pool terminates a worker that is
 * leaving; python's would already be gone). */
void ch_hold_termination(void);
/* 1 in a forked child before ch_after_fork: its counts are its parent's. */
int ch_counts_inherited(void);

/* Fills process 0 of p (made when missing): pid, parent pid, argv, how
 * it ended ("exit", "os._exit", "SIGTERM"...) and when it started and
 * ended (CLOCK_REALTIME), and the run id.  0, or -1 when out of memory. */
int ch_mark_process(pf_profile *p, const char *ended);

/* A child's end: its profile as its part of the run, or, when the parent
 * has written already, as its own file beside the parent's profile (or
 * one line on stderr when that was a stream).  0, or -1 (said). */
int ch_write_part(const pf_profile *p);

/* The parent's end: waits up to wait_s for the children it saw start,
 * merges their parts into *p (which it replaces), lists those still
 * running as pending and those that died without a part as incomplete,
 * and removes the folder.  On failure (said) *p is left as it was. */
int ch_collect(pf_profile **p, double wait_s);

#endif
