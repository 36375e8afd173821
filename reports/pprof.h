/*
 * pprof.h - a profile as pprof's profile.proto, gzip-compressed: the file
 * `go tool pprof`, Pyroscope and Parca read (`run --pprof FILE`, `report
 * --format pprof`).  The messages are encoded by Debian's libprotobuf-c,
 * from C generated at build time out of reports/pprof/profile.proto.
 *
 * What the file holds (README "pprof"):
 *  - sample types `instructions`/`count` when the profile is counted, then
 *    `cpu`/`nanoseconds` when it is timed; period cpu/nanoseconds =
 *    1e9 / rate_hz when timed; duration_nanos = wall_ns; the default
 *    sample type is the flame graphs' metric (fl_metric_for).
 *  - one sample per (call-tree node, line) with what the node ran itself
 *    there (per (node, line, opcode) with --opcodes, the opcode a leaf
 *    frame "[OPNAME]"), its callers' frames at the lines of their calls;
 *    without stacks, one one-frame sample per (function, line[, opcode]).
 *  - --native: the cpu values come from the mixed native stacks instead
 *    (their sampled time, overhead and unattributed time included), the
 *    instructions from the call tree; native frames point at a mapping per
 *    shared object.
 *  - with more than one process, a frame for the process at the root of
 *    every stack (flame.h's fl_process_labels), as the flame graphs have.
 *  - labels thread, process (the pid, a number), scope and, on an opcode
 *    leaf, opcode; every value and string table the same for the same
 *    profile, so the same profile gives the same bytes.
 * The values of each sample type add up to the profile's total for it
 * (totals.instructions, totals.time_ns; --native: the native stacks' time),
 * which the writer checks before it writes a byte.
 */
#ifndef OPPROF_PPROF_H
#define OPPROF_PPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flame.h"
#include "model/profile.h"

/* Writes p to `out` as a gzip-compressed profile.proto (an fl_write_fn:
 * the "pprof" format of flame.h's table; o->opcodes adds the opcode
 * leaves, o->metric picks the default sample type).  0, or -1 with a
 * one-line reason: an inconsistent profile, out of memory, a terminal
 * (binary data is not for one), or strerror() of a failed write. */
int pp_write(const pf_profile *p, const fl_options *o, FILE *out, char *err, size_t errlen);

/* ---- internal to pprof*.c ------------------------------------------------ */

typedef struct pp__tables pp__tables;
typedef struct Perftools__Profiles__Label pp__label;
typedef struct Perftools__Profiles__Profile pp__profile;
typedef struct pp__entry pp__entry;       /* pprof.c's: what ran at one line */
typedef struct pp__native pp__native;     /* pprof_native.c's lookups */

/* One pp_write's state. */
typedef struct pp__writer {
    const pf_profile *p;
    pp__tables *t;
    FILE *out;                /* the uncompressed stream */
    int opcodes;
    int counted, timed;       /* the sample types */
    int native;               /* cpu from the native stacks, not the call tree */
    int default_time;         /* the default sample type: cpu, else instructions */
    uint64_t python_mapping;  /* the interpreter's: Python functions' and opcodes' */
    char **proc;              /* multi-process: the processes' root frames (flame.h);
                                 else NULL */
    uint32_t *op_rank;        /* opcode index -> rank of its name */
    const char **rank_name;   /* distinct opcode names, sorted */
    size_t nranks;
    uint64_t *callerloc;      /* per node: its caller's frame at the call; 0: not yet */
    uint64_t *locs;           /* one sample's locations */
    size_t caplocs;
    pp__entry *entries;
    size_t capentries;
    pf_opcount *ops;
    size_t capops;
    pp__native *nat;
    char *err;
    size_t errlen;
} pp__writer;

/* The location of process `process`'s root frame (w->proc); 0 on OOM. */
uint64_t pp__process_location(pp__writer *w, uint32_t process);
/* "out of memory" into w->err; -1. */
int pp__oom(pp__writer *w);
/* Room for n entries of `size` in *v (capacity *cap); 0, or -1. */
int pp__reserve(void *v, size_t *cap, size_t n, size_t size);
/* The location of profile function i at `line`; 0 on OOM. */
uint64_t pp__python_location(pp__writer *w, size_t i, int64_t line);
/* Labels a sample carries: 0, or -1 on OOM.  thread, process: UINT32_MAX
 * when not known. */
int pp__labels(pp__writer *w, uint32_t thread, uint32_t process, const char *scope,
               pp__label **labels, size_t *n);
/* --native: the mixed stacks' samples (pprof_native.c); 0, or -1 with
 * w->err set. */
int pp__native_samples(pp__writer *w);
void pp__native_release(pp__writer *w);

/* ---- the tables every sample refers to (pprof_tables.c) ----------------- */

/* NULL when out of memory. */
pp__tables *pp__tables_new(void);
void pp__tables_release(pp__tables *t);

/* The string table's index of s (added when new; [0] is ""), -1 on OOM. */
int64_t pp__str(pp__tables *t, const char *s);

/* The id (> 0) of the function the caller keys `key` (distinct per thing
 * it stands for), 0 when there is none yet. */
uint64_t pp__function_find(pp__tables *t, uint64_t key);
/* Adds it: its id, or 0 on OOM.  `mapping`: the mapping id its locations
 * get (0: none). */
uint64_t pp__function_add(pp__tables *t, uint64_t key, const char *name,
                          const char *system_name, const char *file, int64_t start_line,
                          uint64_t mapping);
/* The id of the location of `function` at `line`, added when new; 0 on OOM. */
uint64_t pp__location(pp__tables *t, uint64_t function, int64_t line);
/* The id of the mapping of the object at `path`, added when new
 * (has_functions: pprof is not to symbolize it; has_filenames and
 * has_line_numbers with `lines`, for Python code); 0 on OOM. */
uint64_t pp__mapping(pp__tables *t, const char *path, int lines);
/* The label key=str (str non-NULL) or key=num, made once; NULL on OOM. */
pp__label *pp__label_get(pp__tables *t, const char *key, const char *str, int64_t num);

/* Writes one sample as a Profile message that holds only it: concatenated
 * messages are one message to a protobuf reader, so samples go out one by
 * one and the file is never whole in memory.  0, or -1 on a write error. */
int pp__write_sample(FILE *out, const uint64_t *loc, size_t nloc, const int64_t *value,
                     size_t nvalue, pp__label *const *label, size_t nlabel);
/* Writes `head` (sample types, period, ...: no samples) with the tables
 * filled in.  0, or -1 on a write error or OOM (errno ENOMEM). */
int pp__write_tables(FILE *out, pp__tables *t, pp__profile *head);

#endif
