/*
 * nodepass.h - the snapshot's pass over the store's nodes: each node's
 * counters resolved into per-instruction counts, summed per record, and
 * (with stacks) each node's own totals and opcode map kept for the tree.
 *
 * Plain C on the store, no Python: a helper thread runs it beside the
 * snapshot's pass over code objects, and the calling thread joins in when
 * that is done.  Records are shared out whole, so each record's sums and
 * each node's totals are written by one thread.
 *
 * Ownership: the pass owns the sums, the nodes' totals and the line
 * tables handed to it (np_set_lines); a caller may take a node's opcode
 * and site maps (np_own.ops, .sites), leaving NULL behind.
 */
#ifndef OPPROF_NODEPASS_H
#define OPPROF_NODEPASS_H

#include <stdint.h>

#include "../reports/model/profile.h"
#include "store.h"

/* Per code unit, what a record measured over all its nodes; time and
 * samples are NULL when no node of it was sampled. */
typedef struct np_sums {
    uint64_t *count, *time, *samples;
} np_sums;

/* What one node measured itself. */
typedef struct np_own {
    uint64_t instructions, time_ns;
    uint64_t subtree;        /* for the caller: it and its callees */
    pf_opval *ops;           /* as pf_node.ops: counts, then times */
    uint32_t nops;
    uint32_t ntimes;
    pf_site *sites;          /* as pf_node.sites: counts, then times */
    uint32_t nsites;
    uint32_t nsite_times;
    uint32_t out;            /* for the caller: its pf_node index */
} np_own;

typedef struct np_pass np_pass;

/* `counted`: counts mean something (not --time-only); `with_own`: keep
 * the nodes' own totals (and, when the store has lines, their sites).  It consumes the store's flow counters (they are
 * resolved in place).  NULL when out of memory. */
np_pass *np_new(st_store *s, int counted, int with_own);
/* Hands over each record's source line per code unit (lines[r], nrec
 * entries, each malloc'ed, filled in record order): the nodes' sites need
 * them.  A record's nodes wait until np_lines_ready() passes it.  Call
 * before np_start; the pass frees them (NULL entries too). */
void np_set_lines(np_pass *x, int **lines);
/* Records below `upto` have their lines. */
void np_lines_ready(np_pass *x, size_t upto);
/* Record r's line table (for the caller's `then`), NULL when not set. */
const int *np_record_lines(const np_pass *x, uint32_t record);
/* Starts the helper thread; without one, np_finish does all the work. */
void np_start(np_pass *x);
/* Work on one record once every node is summed: 0, or -1 (out of memory). */
typedef int (*np_record_fn)(void *arg, uint32_t record);
/* Works on the calling thread until every record's nodes are summed, then
 * runs `then` on every record (both threads sharing them, as the nodes),
 * then waits for the helper.  0, or -1 when out of memory or `then`
 * failed. */
int np_finish(np_pass *x, np_record_fn then, void *arg);
const np_sums *np_record_sums(const np_pass *x, uint32_t record);
np_own *np_node_own(np_pass *x, uint32_t node);     /* NULL without with_own */
/* Instructions whose flow counts did not add up. */
uint32_t np_inconsistent(const np_pass *x);
/* Waits for the helper if it still runs, frees what is left. */
void np_release(np_pass *x);

#endif
