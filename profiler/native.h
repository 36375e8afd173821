/*
 * native.h - native stacks in the profile: `run --native` samples and the
 * backtrace of a crash.
 *
 * With --native the SIGPROF handler (sampler.c) captures each sample's
 * whole native stack with libunwind into a buffer reserved at start, with
 * the thread's Python stack from opprof's mirror and, on 3.11+, how many
 * Python frames each C call of the interpreter loop runs (read from the
 * interpreter's entry-frame markers, pycompat.h).  After the run the
 * samples are merged (nmerge.h): each interpreter-loop C frame is replaced
 * by the Python frames it ran, names are resolved (libunwind's symbol
 * tables, then dladdr, else "module+0xoffset"), and equal stacks are
 * summed into pf_profile.native_stacks.
 *
 * nv_reserve() and nv_commit() are async-signal-safe; the rest is not.
 */
#ifndef OPPROF_NATIVE_H
#define OPPROF_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "../reports/model/profile.h"
#include "crash.h"
#include "nstack.h"
#include "store.h"

#define NV_MAX_PYTHON 64
#define NV_MAX_GROUPS 32

typedef struct nv_sample {
    _Atomic int ready;
    uint32_t thread;
    int python_known;        /* 0: the thread's Python stack was not readable */
    uint64_t weight_ns;
    uint16_t nnative, npython, ngroups;
    uintptr_t native[NS_MAX_FRAMES];         /* leaf first */
    const st_record *python[NV_MAX_PYTHON];  /* root first (the innermost kept) */
    uint16_t groups[NV_MAX_GROUPS];          /* Python frames per eval C frame, innermost first */
} nv_sample;

/* Reserves the sample buffer.  0, or -1 with errno set. */
int nv_start(void);
int nv_enabled(void);

/* In a forked child: its profile holds only what it ran itself. */
void nv_after_fork(void);

/* In the SIGPROF handler: a slot to fill, or NULL when the buffer is full
 * (counted as dropped). */
nv_sample *nv_reserve(void);
/* Fills in the Python side from `t` (NULL: unknown thread) and publishes. */
/* depth: the entries of t's stack mirror that are running (t->depth, or
 * less when the mirror learns of returns late: cc_live_depth). */
void nv_commit(nv_sample *s, const st_thread *t, uint64_t weight_ns, size_t nnative,
               uint32_t depth);

/* Merges and resolves the samples into p->native_stacks; call after
 * snap_build() (the Python frames are named from p->functions).  0 or -1
 * (out of memory). */
int nv_build(pf_profile *p);

/* A crash's report into p->crash, in the child that writes the profile.
 * `thread` names the crashing thread (NULL: none known). */
int nv_add_crash(pf_profile *p, const cr_info *ci, const char *thread);

#endif
