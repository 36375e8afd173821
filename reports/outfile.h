/*
 * outfile.h - where an output goes, decided before anything is written, so
 * that no output option can destroy a file opprof did not create.
 *
 * Every file opprof writes (the profile, the report, flame graphs, merge
 * and diff outputs) is planned here first (of_plan), before the run or the
 * work, and written at the end (of_write).  By what the path names:
 *  - "-", /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: the
 *    descriptor itself, duplicated at plan time (the script may close or
 *    redirect its own), never opened by name nor renamed over;
 *  - the null device (any character device 1:3): nothing is written;
 *  - another character device: opened at plan time, written directly;
 *  - a FIFO: opened non-blocking at plan time (no reader: refused), kept
 *    open, and written in blocking mode at the end;
 *  - anything else is a regular file: symlinks are followed and the final
 *    target is replaced atomically (a temporary file beside it, then
 *    rename), keeping its mode; a directory is refused.
 * Protected files (an of_guard: the script, opprof itself, a command's
 * inputs) are refused at plan time.  A regular target that turns out at
 * write time to be in the `executed` guard (a module the run imported) is
 * not touched: the output goes to PATH.opprof beside it (of_diverted).
 *
 * Ownership: an of_target and an of_guard belong to whoever made them and
 * are freed with of_release / of_guard_release; strings passed in are
 * copied.  Errors: -1 with a one-line reason in err (without the path,
 * which callers name).
 */
#ifndef OPPROF_OUTFILE_H
#define OPPROF_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct of_guard of_guard;
typedef struct of_target of_target;

/* `path` made absolute against `cwd` ("-" and absolute paths as they
 * are), so that the script's chdir cannot move an output; caller frees;
 * NULL on OOM. */
char *of_absolute(const char *path, const char *cwd);

/* "dir/name.PID.ext" for "dir/name.ext" ("dir/name.PID" without an
 * extension): where a child process's own output goes; caller frees;
 * NULL on OOM. */
char *of_pid_path(const char *path, long pid);

/* NULL on OOM. */
of_guard *of_guard_new(void);
void of_guard_release(of_guard *g);
/* Protects the file at `path` (by device and inode, so any name for it is
 * caught), described as `what` ("the script being profiled").  A path
 * that does not exist protects nothing.  0, or -1 on OOM. */
int of_guard_add(of_guard *g, const char *path, const char *what);

/* Protects the running program itself (/proc/self/exe) as "opprof's own
 * program".  0, or -1 on OOM. */
int of_guard_add_self(of_guard *g);

/* Plans the output to `path`, refusing what must not be written (a
 * protected file, a directory, a folder that cannot take the file, a
 * closed descriptor, a FIFO nobody reads).  `guard` may be NULL. */
int of_plan(const char *path, const of_guard *guard, of_target **out, char *err,
            size_t errlen);
void of_release(of_target *t);

/* 1 when t and u would write to the same place (not for discarded ones). */
int of_same(const of_target *t, const of_target *u);
/* 1 for a regular file (written by rename), 0 for a descriptor, device,
 * FIFO or discarded output. */
int of_is_file(const of_target *t);
/* 1 when nothing will be written (the null device). */
int of_discards(const of_target *t);
/* 1 when the output is the process's standard output or error. */
int of_is_std(const of_target *t);
/* The path as given to of_plan. */
const char *of_path(const of_target *t);
/* Where the output went: of_path, or PATH.opprof after a diverted write. */
const char *of_written_to(const of_target *t);
/* 1 after of_write diverted the output to PATH.opprof. */
int of_diverted(const of_target *t);

/* Writes through `fn` (its error in err), at most once per target.  For a
 * regular file in `executed` (may be NULL) the output goes to PATH.opprof.
 * A failed write of a regular file leaves the old file and no temporary. */
typedef int (*of_write_fn)(void *ctx, FILE *out, char *err, size_t errlen);
int of_write(of_target *t, const of_guard *executed, of_write_fn fn, void *ctx, char *err,
             size_t errlen);

#endif
