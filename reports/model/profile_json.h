/*
 * profile_json.h - writes a profile as JSON, schema "opprof-profile":
 * version 2 (profile-v2.md) as opprof writes it, and the v1 layout for
 * `report --format json-v1` (README.md).
 */
#ifndef OPPROF_PROFILE_JSON_H
#define OPPROF_PROFILE_JSON_H

#include <stdio.h>

#include "../jsonw.h"
#include "profile.h"

/* Writes the whole v2 document to `out`; 0, or -1 on a write error.  A
 * profile of many functions is written by two threads (the second's part
 * through memory), to the same bytes. */
int pf_json_write(const pf_profile *p, FILE *out);
/* The same with the second thread writing the functions from `mid`
 * (<= nfunctions) and the nodes; PF_WRITE_ONE_THREAD: one thread,
 * PF_WRITE_AUTO: what pf_json_write chooses.  For tests. */
#define PF_WRITE_ONE_THREAD ((size_t)-2)
#define PF_WRITE_AUTO ((size_t)-1)
int pf_json_write_split(const pf_profile *p, FILE *out, size_t mid);
/* The same in the v1 layout. */
int pf_json_write_v1(const pf_profile *p, FILE *out);

/* As of_write_fn's (outfile.h): `profile` is the pf_profile.  _gz_to
 * writes v2 gzip-compressed (mtime 0: equal profiles, equal bytes). */
int pf_json_write_to(void *profile, FILE *out, char *err, size_t errlen);
int pf_json_write_gz_to(void *profile, FILE *out, char *err, size_t errlen);
int pf_json_write_v1_to(void *profile, FILE *out, char *err, size_t errlen);

/* Runs fn(ctx, gz, ...) with gz a stream whose bytes reach `out`
 * gzip-compressed (level 6, mtime 0, no name: equal bytes in, equal bytes
 * out), and finishes the compressed stream: 0, or -1 with fn's reason or
 * strerror() of the failed write in err. */
int pf_gzip_to(FILE *out, int (*fn)(void *ctx, FILE *gz, char *err, size_t errlen), void *ctx,
               char *err, size_t errlen);

/* Whether a profile saved as `path` is compressed: its name ends in .gz. */
int pf_json_wants_gz(const char *path);

/* Writes v2 to `path` by outfile.h's rules (a regular file atomically,
 * "-" to standard output; compressed when pf_json_wants_gz), nothing
 * protected.  0, or -1 with a one-line reason in err. */
int pf_json_save(const pf_profile *p, const char *path, char *err, size_t errlen);

/* Internal to the writers: what both versions share. */
void pfj_header(jw *w, const pf_profile *p, int version);
void pfj_signal_and_native(jw *w, const pf_profile *p);
/* A function's calls, instructions and (timed) time_ns, cumulative_ns. */
void pfj_function_measures(jw *w, const pf_profile *p, const pf_function *f);

#endif
