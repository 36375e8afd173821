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
 * functions' code (annotate's disassembly), the call tree (flame graphs),
 * the nodes' counts by opcode (flame graphs with --opcodes, which implies
 * the tree) and the source text.  They are still read and checked. */
enum {
    PF_KEEP_CODE = 1,
    PF_KEEP_NODE_OPS = 2,
    PF_KEEP_NODES = 4,
    PF_KEEP_NODE_SITES = 8,   /* the nodes' sites (pprof, merge): implies the tree */
    PF_KEEP_SOURCES = 16,     /* the source text (annotate, the HTML page, merge) */
    PF_KEEP_ALL = 31
};
int pf_read_file_keep(const char *path, unsigned keep, pf_profile **out, char *err,
                      size_t errlen);

/* The same from an open stream (a pipe, memory); `name` is for messages.
 * The caller keeps `f`. */
int pf_read_stream(FILE *f, const char *name, pf_profile **out, char *err, size_t errlen);
int pf_read_stream_keep(FILE *f, const char *name, unsigned keep, pf_profile **out, char *err,
                        size_t errlen);

/* A v2 profile's parts handed over as they are read, so that a caller
 * that folds them into something else (merge) never holds the whole input:
 * - function(ctx, p, i): p->functions[i] is read and checked
 *   (pf_check_function); the hook may take its code, times, listing and
 *   codeinfo, leaving them empty: the reader checks them no more.  Of the
 *   header only p->hexversion is set then (pf_minor: to disassemble).
 * - node(ctx, p, i, n): node i is read (n: its parent, function, callsite,
 *   thread and totals, checked, p->threads read; its counts by opcode),
 *   and node_time(ctx, p, i, op, time_ns) then each of its times by
 *   opcode: the nodes handed over are not in p (p->nnodes is 0).
 * - node_sites(ctx, p, i, sites, nsites, ntimes): after every node, node
 *   i's sites counts (nsites) or times (ntimes; the other is 0), as
 *   pf_node.sites, in scratch memory; not called for a file without them.
 * Nodes are handed over where a file's order allows it (opprof writes
 * that order: the threads before the nodes, the other node columns before
 * ops and op_times); otherwise they are in p, as without hooks.  v1 files call
 * no hook.  A hook returns 0, or -1 when out of memory.  keep: as for
 * pf_read_file_keep (nodes are handed over only when kept). */
typedef struct pf_read_hooks {
    int (*function)(void *ctx, pf_profile *p, size_t i);
    int (*node)(void *ctx, const pf_profile *p, size_t i, const pf_node *n);
    int (*node_time)(void *ctx, const pf_profile *p, size_t i, uint16_t op, uint64_t time_ns);
    int (*node_sites)(void *ctx, const pf_profile *p, size_t i, const pf_site *sites,
                      uint32_t nsites, uint32_t ntimes);
    void *ctx;
} pf_read_hooks;
int pf_read_file_hooked(const char *path, unsigned keep, const pf_read_hooks *hooks,
                        pf_profile **out, char *err, size_t errlen);
int pf_read_stream_hooked(FILE *f, const char *name, unsigned keep, const pf_read_hooks *hooks,
                          pf_profile **out, char *err, size_t errlen);

#endif
