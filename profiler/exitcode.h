/*
 * exitcode.h - the exit codes of the whole tool, in one table (README.md
 * documents the same table).
 *
 * `run` exits with the script's own status when the script ran; its own
 * failures use sysexits(3) values so they cannot be mistaken for small
 * script statuses.  Commands that only read profiles use 0/2/3.
 */
#ifndef OPPROF_EXITCODE_H
#define OPPROF_EXITCODE_H

#define OPPROF_EXIT_CODES(X)                                              \
    X(OK, 0, "success")                                                   \
    X(BAD_INPUT, 2, "usage error or bad input (read-only commands)")      \
    X(REGRESSION, 3, "regression found (diff)")                           \
    X(USAGE, 64, "usage error (run)")                                     \
    X(DATAERR, 65, "bad data, e.g. an unreadable baseline (run)")         \
    X(NOINPUT, 66, "script or input not found (run)")                     \
    X(SOFTWARE, 70, "internal error (run)")                               \
    X(CANTCREAT, 73, "cannot create the output file (run)")

typedef enum opprof_exit {
#define X(name, value, text) OPPROF_EXIT_##name = value,
    OPPROF_EXIT_CODES(X)
#undef X
} opprof_exit;

#endif
