/*
 * profile_v2w.h - internal to profile_v2w*.c: the v2 writer's state and
 * the parts profile_v2w_pieces.c writes from a second thread.
 */
#ifndef OPPROF_PROFILE_V2W_H
#define OPPROF_PROFILE_V2W_H

#include <stdint.h>

#include "../jsonw.h"
#include "profile.h"
#include "strtab.h"

typedef struct v2 {
    jw *w;
    const pf_profile *p;
    st_tab strings;
    int oom;
    uint64_t *opsets;         /* per function, a bitset of nopnames bits */
    size_t words;             /* per bitset */
    /* The indexes intern_all found, in its order, which is the order the
     * writer asks for them again: a second hash lookup per string was a
     * fifth of the writing.  A string not at its place is looked up. */
    struct tape_entry { const char *s; uint32_t i; } *tape;
    size_t ntape, captape, at;
    int recording;
    int shared;               /* another thread writes too: look up, never add */
} v2;

/* A large profile is written in two pieces from this many functions on. */
#define V2W_SPLIT_MIN_FUNCTIONS 512

void v2w_put_function(v2 *x, const pf_function *f);
void v2w_put_nodes(v2 *x);
/* profile_v2w_sites.c: the nodes' "sites" and "site_times", when any node
 * has sites. */
void v2w_put_node_sites(v2 *x);

/* profile_v2w_src.c: "sources", when the profile has any or left some
 * out. */
void v2w_put_sources(v2 *x);

/* A column with runs: values put one by one, then flushed. */
typedef struct v2w_runs {
    jw *w;
    uint64_t last, more;
    int any;
} v2w_runs;
void v2w_runs_put(v2w_runs *r, uint64_t v);
void v2w_runs_flush(v2w_runs *r);
/* The strings, opnames, processes and threads, and the functions array
 * begun. */
void v2w_put_head_rest(v2 *x);
/* How many strings f adds to the tape (intern_all's order). */
size_t v2w_strings_of(const pf_function *f);

/* profile_v2w_pieces.c: where the second piece starts, and everything
 * from the strings on, the helper thread writing functions from `mid` and
 * the nodes (mid past nfunctions: one thread). */
size_t v2w_split_at(const pf_profile *p);
void v2w_put_rest(v2 *x, size_t mid);

#endif
