/*
 * profile_json.h - writes a profile as JSON, schema "opprof-profile" v1
 * (documented in README.md).
 */
#ifndef OPPROF_PROFILE_JSON_H
#define OPPROF_PROFILE_JSON_H

#include <stdio.h>

#include "profile.h"

/* Writes the whole document to `out`; 0, or -1 on a write error. */
int pf_json_write(const pf_profile *p, FILE *out);

/* pf_json_write as an of_write_fn (outfile.h): `profile` is the pf_profile. */
int pf_json_write_to(void *profile, FILE *out, char *err, size_t errlen);

/* Writes to `path` by outfile.h's rules (a regular file atomically, "-"
 * to standard output), nothing protected.  0, or -1 with a one-line
 * reason in err. */
int pf_json_save(const pf_profile *p, const char *path, char *err, size_t errlen);

#endif
