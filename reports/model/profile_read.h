/*
 * profile_read.h - reads a profile JSON file (schema opprof-profile v1)
 * back into the model, with jansson (Debian's libjansson: a maintained,
 * strict parser; a hand-written one would be one more thing to fuzz).
 */
#ifndef OPPROF_PROFILE_READ_H
#define OPPROF_PROFILE_READ_H

#include <stddef.h>
#include <stdio.h>

#include "profile.h"

/* Reads `path` ("-" = standard input).  On success *out owns a new
 * profile and 0 is returned; on failure -1, and `err` holds one line
 * saying what is wrong (not found, not JSON, not an opprof profile, an
 * unknown version, a malformed field). */
int pf_read_file(const char *path, pf_profile **out, char *err, size_t errlen);

/* What a reader may leave out of the model, to read in less memory: the
 * functions' code (annotate's disassembly), the call tree (flame graphs)
 * and the nodes' counts by opcode (flame graphs with --opcodes, which
 * implies the tree).  They are still read and checked. */
enum { PF_KEEP_CODE = 1, PF_KEEP_NODE_OPS = 2, PF_KEEP_NODES = 4, PF_KEEP_ALL = 7 };
int pf_read_file_keep(const char *path, unsigned keep, pf_profile **out, char *err,
                      size_t errlen);

/* The same from an open stream (a pipe, memory); `name` is for messages.
 * The caller keeps `f`. */
int pf_read_stream(FILE *f, const char *name, pf_profile **out, char *err, size_t errlen);
int pf_read_stream_keep(FILE *f, const char *name, unsigned keep, pf_profile **out, char *err,
                        size_t errlen);

#endif
