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

/* Writes to `path` atomically: a temporary file beside it, then rename(2),
 * so a reader never sees half a profile.  "-" means standard output.
 * Returns 0, or -1 with errno set. */
int pf_json_save(const pf_profile *p, const char *path);

/* Checks, before a run, that `path` can be created: creates and removes
 * the temporary file pf_json_save() would use.  0, or -1 with errno set. */
int pf_json_check_writable(const char *path);

#endif
