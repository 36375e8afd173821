/*
 * flame.h - flame-graph outputs of a profile: Brendan Gregg's folded
 * (collapsed) stacks (folded.c), a speedscope file (speedscope.c) and a
 * self-contained HTML page with its own flame graph (html.c), in one table
 * of writers by format name.
 *
 * Every writer draws the same graph, built here from the model only, so a
 * fresh run and a profile read back from disk give the same bytes: frames
 * are ordered by name, threads are matched by name, opcodes by name (a
 * fresh run's opcode table has another order than a read-back one).
 *
 * The weights are integers of one metric, instructions or nanoseconds of
 * sampled CPU time, and they add up to the profile's total for it
 * (totals.instructions or totals.time_ns): fl_build() checks that and
 * refuses an inconsistent profile instead of drawing a wrong graph.
 *
 * With stacks recorded the graph is the profile's call tree: a node per
 * distinct (thread, path of frames), with what ran in that frame itself
 * (self).  Without them (--no-stacks) each function is a root frame with
 * its self weight: a flat graph, not an empty one; fl_note() says so, for
 * callers to tell the user.  Building and every writer take time and
 * memory linear in the nodes, and none recurses, however deep the tree
 * (folded output alone repeats each path in full, by its nature).
 */
#ifndef OPPROF_FLAME_H
#define OPPROF_FLAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "outfile.h"
#include "model/profile.h"

typedef enum fl_metric {
    FL_METRIC_AUTO,           /* time when the profile has sampled time, else instructions */
    FL_METRIC_INSTRUCTIONS,
    FL_METRIC_TIME,
} fl_metric;

struct hx_page;

typedef struct fl_options {
    fl_metric metric;
    int opcodes;              /* the executed opcode as a leaf frame: "[LOAD_FAST]" */
    struct hx_page *explorer; /* html: the explorer's data a reader built as it read the
                                 profile (explorer.h), or NULL: built from the profile */
} fl_options;

/* AUTO, no opcode frames. */
void fl_options_init(fl_options *o);

/* "instructions" or "time" -> *m; 0, or -1 for any other name. */
int fl_metric_from_name(const char *name, fl_metric *m);
const char *fl_metric_name(fl_metric m);       /* "instructions", "time" */

/* The metric `asked` resolves to for p (AUTO: see above); 0, or -1 with a
 * one-line reason when p lacks it (--time-only has no counts, --no-time no
 * times). */
int fl_metric_for(const pf_profile *p, fl_metric asked, fl_metric *out, char *err,
                  size_t errlen);

/* What a user should know about the graph of p, or NULL: it is flat (no
 * stacks), or there is nothing to draw (a total of 0).  A static string. */
const char *fl_note(const pf_profile *p, const fl_options *o);

/* ---- the graph every writer draws -------------------------------------- */

/* `file` relative to the profile's root when inside it, else as recorded
 * (a pointer into file; "?" for NULL). */
const char *fl_relative_file(const pf_profile *p, const char *file);

#define FL_NO_FUNCTION UINT32_MAX

typedef struct fl_frame {
    char *name;               /* "qualname (file:line)", or "[OPNAME]" for an opcode */
    char *file;               /* relative to the profile's root when inside it; NULL: opcode */
    int line;                 /* the function's first line; -1 for an opcode */
    uint32_t function;        /* a function id, FL_NO_FUNCTION for an opcode */
} fl_frame;

#define FL_NO_NODE UINT32_MAX

/* One node of the graph: a frame in one call context. */
typedef struct fl_node {
    uint32_t parent;          /* index into fl_graph.nodes, FL_NO_NODE for a root */
    uint32_t frame;           /* index into fl_graph.frames */
    uint32_t thread;          /* index into fl_graph.threads */
    uint32_t depth;           /* 0 for a root */
    uint64_t instructions;    /* self, both metrics, for viewers that show both */
    uint64_t time_ns;
    uint64_t weight;          /* self, of the graph's metric */
} fl_node;

/* The nodes come depth first, parents before children, roots by thread
 * then frame, siblings by frame (which is the order of their paths): a
 * node's subtree is the nodes after it of greater depth, and each thread's
 * nodes are together.  A node with a weight of 0 may only be on the path
 * to others (its subtree is never 0; with FL_BOTH_METRICS never 0 in both
 * metrics). */
typedef struct fl_graph {
    fl_metric metric;         /* resolved: never AUTO */
    int from_stacks;          /* 0: one root frame per function */
    fl_frame *frames;         /* by name; names are distinct, each used by a node */
    size_t nframes;
    const char **threads;     /* borrowed from the profile; "all threads" when merged */
    size_t nthreads;
    fl_node *nodes;
    size_t nnodes;
    size_t height;            /* the greatest depth + 1; 0 when there is no node */
    uint64_t total;           /* sum of weights = the profile's total for the metric */
    uint64_t *thread_total;   /* per thread */
} fl_graph;

enum {
    FL_BY_THREAD = 1,         /* one thread per thread name, else all merged */
    FL_BOTH_METRICS = 2,      /* keep paths the metric gives 0 but the other does not */
};

/* Builds the graph (flags: FL_*).  0, or -1 with a one-line reason (metric
 * missing, inconsistent profile, out of memory); g is then empty and
 * fl_release() is harmless. */
int fl_build(const pf_profile *p, const fl_options *o, int flags, fl_graph *g, char *err,
             size_t errlen);
void fl_release(fl_graph *g);

/* Internal to flame*.c.  A --native profile's time graph is its mixed
 * native + Python stacks (flame_native.c; --opcodes does not apply);
 * fl_build() calls it. */
int fl__build_native(const pf_profile *p, int flags, fl_graph *g, char *err, size_t errlen);

/* Internal: growing a graph.  g->frames holds the frames nodes may use
 * (by name, distinct), g->metric and g->threads are set; nodes are added
 * parents first, in any order otherwise, and their self instructions and
 * time_ns added in place.  fl__tree_finish() then sets the weights, drops
 * what is 0 and the frames no node uses, puts the nodes in fl_graph's
 * order and computes depths and totals (not checked against the profile). */
typedef struct fl__tree {
    fl_graph *g;
    size_t cap;               /* of g->nodes */
    uint32_t *slot;           /* node + 1 by (thread, parent, frame); 0: empty */
    size_t nslots;            /* a power of two */
} fl__tree;

void fl__tree_init(fl__tree *t, fl_graph *g);
/* The node (thread, parent, frame), added with zero counts when missing:
 * its index, or -1 when out of memory.  g->nodes may move. */
int64_t fl__tree_node(fl__tree *t, uint32_t thread, uint32_t parent, uint32_t frame);
/* 0, or -1 when out of memory; the table is released either way. */
int fl__tree_finish(fl__tree *t, int both_metrics);
void fl__tree_release(fl__tree *t);

/* The folded output's size past which fl_write_folded() says on stderr
 * that it grows with the square of the depth (tests lower it). */
extern uint64_t fl__folded_warn_bytes;

/* ---- processes (flame_process.c) --------------------------------------- */

/* More than one process (run --subprocesses): every graph and pprof put a
 * frame for the process at the root of each stack, so that the stacks of
 * two processes stay apart even where their threads share a name.  With
 * one process the graph stays as it always was. */
int fl_multiprocess(const pf_profile *p);

/* The process thread t ran in (an index into p->processes); 0 when the
 * profile does not say. */
uint32_t fl_thread_process(const pf_profile *p, uint32_t t);

#define FL_PROCESS_ARGV 60    /* characters of argv a process frame shows */

/* The root frame of each process: "process 4242: worker.py --n 3" (argv
 * cut at FL_PROCESS_ARGV characters with "…"), " (pending)" after one still
 * running when the profile was written.  Distinct: a pid seen twice in a
 * run (reused) gets " #INDEX".  p->nprocesses strings, or NULL when out of
 * memory; fl_process_labels_free() frees them. */
char **fl_process_labels(const pf_profile *p);
void fl_process_labels_free(char **v, size_t n);

/* ---- the writers ------------------------------------------------------- */

/* Each writes one document to `out`: 0, or -1 with a one-line reason (a
 * bad profile, out of memory, or strerror() of a failed write). */
typedef int (*fl_write_fn)(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                           size_t errlen);

typedef struct fl_format {
    const char *name;         /* "folded", "speedscope", "html", "pprof" (pprof.h) */
    fl_write_fn write;
} fl_format;

/* The writer called `name`, or NULL. */
const fl_format *fl_format_find(const char *name);
/* "folded, speedscope, html, pprof": for messages. */
extern const char fl_format_names[];

/* One line per distinct path with a weight: "frame;frame;frame WEIGHT\n",
 * root first.  Names are escaped (fl_put_folded_name) so that every line
 * matches ^(.*) (\d+)$ and splits on ';' into its frames.  Each line
 * repeats its whole path, so a deep tree makes a big file: past
 * fl__folded_warn_bytes it says so on stderr, once. */
int fl_write_folded(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                    size_t errlen);
/* https://www.speedscope.app/file-format-schema.json: evented profiles,
 * one per thread, unit "none" (instructions) or "nanoseconds": a node
 * opens where its caller's children reach, its children follow, then its
 * self weight, and it closes; two events per node. */
int fl_write_speedscope(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                        size_t errlen);
/* One HTML file, no external resource: flame graph (SVG, zoom on click,
 * counts/time/% on hover), scope comparison, top functions, the text report. */
int fl_write_html(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                  size_t errlen);

/* Writes `name`'s characters for a folded line: ';' as "\x3b", '\' as
 * "\\", control characters, U+2028/U+2029 and bytes that are not UTF-8 as
 * "\xNN" (so a line is one line for every reader, and valid UTF-8).
 * Returns the number of bytes written. */
size_t fl_put_folded_name(FILE *out, const char *name);

/* Writes format `f` of p to the planned output `t` (outfile.h: a regular
 * file atomically; `executed` as of_write takes it, may be NULL).  0, or -1
 * with a reason as the writers give it (callers name the file). */
int fl_save(const fl_format *f, const pf_profile *p, const fl_options *o, of_target *t,
            const of_guard *executed, char *err, size_t errlen);

/* For writers: strerror(errno) (EIO when errno is 0) into err; returns -1. */
int fl_write_error(char *err, size_t errlen);

#endif
