/*
 * profile_read_v2.h - internal to the readers: the v2 reader
 * (profile_read_v2.c) and what it shares with the v1 reader
 * (profile_read.c).
 */
#ifndef OPPROF_PROFILE_READ_V2_H
#define OPPROF_PROFILE_READ_V2_H

#include <jansson.h>

#include "jsonpull.h"
#include "profile.h"
#include "profile_read.h"

/* The fields of a profile's header (python, argv, totals, timing, crash,
 * native, ...) from `root`, which holds them as in a v1 file (extra keys
 * are ignored).  0, or -1 with a reason in err. */
int pfr_header(pf_profile *p, json_t *root, char *err, size_t errlen);

/* The rest of a v2 profile: jp is just past the value of "version".
 * Fills p; 0, or -1 with the reason in jp_error(jp) or err. */
int pfr_v2(jp_reader *jp, pf_profile *p, unsigned keep, char *err, size_t errlen);

#endif
