/*
 * store.h - the collector's counters: plain C, no libpython, no output.
 *
 * A record (st_record) is one distinct piece of bytecode: code objects with
 * the same file, name, first line and bytes share a record, so `exec` of the
 * same string in a loop or a module imported twice add up in one place, and
 * a code object freed during the run never loses its counts.  A node
 * (st_node) is a record in one call context: with stacks on, one node per
 * distinct (thread, call path); with stacks off, one node per record.  Every
 * node has `width` 64-bit counters per code unit (byte offset / 2): width 1
 * counts executions; width 2 counts entries and exits (blockmap.h).
 *
 * Ownership: the store owns every record, node and thread it hands out;
 * they live until st_store_release().  Callers serialize access (the GIL).
 */
#ifndef OPPROF_STORE_H
#define OPPROF_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_store st_store;
typedef struct st_node st_node;

typedef struct st_record {
    uint32_t index;          /* dense, in order of first execution */
    uint32_t ncounters;      /* code units */
    uint32_t width;          /* counters per code unit: 1 or 2 */
    uint64_t calls;          /* frame entries (not resumptions) */
    int32_t entry;           /* byte offset of the first RESUME, -1 if none */
    int jumps_reported;      /* width 2: JUMP events are on for its code */
    uint64_t cumulative_ns;  /* sampled time with this code on the stack... */
    uint64_t cumulative_mark;/* ...counted once per sample (recursion) */
    void *user;              /* owned by the caller (a code object) */
    const unsigned char *bytes; /* the key's bytecode, owned by the store */
    st_node *flat;           /* the stacks-off node */
} st_record;

struct st_node {
    uint32_t index;          /* st_node_at(index): parents come first */
    st_node *parent;         /* NULL for a thread's root */
    st_record *rec;          /* NULL for a thread's root */
    int32_t callsite;        /* code unit (byte offset / 2) of the call in the
                                parent's code as the interpreter held it (may be
                                a cache unit of the call); -1: not known */
    uint32_t thread;         /* index of the thread whose tree this is */
    uint64_t *counts;        /* rec->ncounters * rec->width entries */
    uint64_t *times;         /* sampled ns per code unit; NULL until the node's
                                first sample (st_node_times) */
    uint64_t *samples;       /* samples per code unit: times + ncounters (the
                                sampler computes it so, never reads it) */
    st_node *last_child[2];  /* the children st_push() found last, newest
                                first: a caller in a loop calls the same one
                                or two functions again (a generator it
                                resumes, a function it calls between),
                                found without hashing */
};

typedef struct st_frame {
    st_node *node;
    const void *code;        /* identity of the running code object */
    const void *frame;       /* identity of the frame, when the backend has one */
    uint64_t *unit_counts;   /* node->counts when it has one counter per code
                                unit (width 1), for the per-instruction path
                                to find without a lookup; else NULL... */
    unsigned long nunits;    /* ...and 0 */
} st_frame;

typedef struct st_thread {
    uint32_t index;
    unsigned long ident;
    char *name;              /* NULL until known */
    unsigned name_lookups;
    st_node *root;
    st_frame *stack;         /* stack[0] is the root */
    uint32_t depth;          /* frames above the root */
    uint32_t capacity;
    const void *thrown_code; /* gen.throw() just re-entered this code: the
                                RAISE that follows is not an exit */
    const void *entered;     /* the code of the last frame started (3.12+) */
    void *pyts;              /* the thread's PyThreadState, for the sampler */
    void *timer;             /* the sampler's, per thread */
    volatile int busy;       /* the stack array is being moved: do not read */
} st_thread;

/* `width` is 1 or 2 counters per code unit.  NULL when out of memory. */
st_store *st_store_new(int with_stacks, uint32_t width);
void st_store_release(st_store *s);
int st_store_with_stacks(const st_store *s);

/* --lines: nodes are told apart by call site too, and the snapshot keeps
 * what each ran per line (pf_node.sites).  Only with stacks; call before
 * the first record.  A test suite's tree grows ~3x (a test calls one
 * assertion from many lines). */
void st_store_enable_lines(st_store *s);
int st_store_with_lines(const st_store *s);

/* Nodes can get time arrays (st_node_times).  Call before the first record. */
void st_store_enable_times(st_store *s);
/* Gives n its time arrays if it has none: 0, or -1 when it cannot (not
 * timed, or the arena is used up: the sample is then unattributed).
 * Signal-safe: no malloc, no locks. */
int st_node_times(st_store *s, st_node *n);
int st_store_timed(const st_store *s);

/* Sticky: set when any allocation failed; counts from then on are partial. */
int st_store_oom(const st_store *s);

/* Finds the record for this key or adds one with `ncounters` counters.
 * `bytes` identifies the bytecode.  *created tells whether it is new.
 * Returns NULL when out of memory. */
st_record *st_record_get(st_store *s, const char *file, const char *name,
                         int firstlineno, const void *bytes, size_t nbytes,
                         uint32_t ncounters, int *created);

/* The key's file, name and first line.  Signal-safe: plain reads. */
const char *st_record_file(const st_record *r);
const char *st_record_name(const st_record *r);
int st_record_firstlineno(const st_record *r);

/* A new thread; NULL when out of memory. */
st_thread *st_thread_new(st_store *s, unsigned long ident);
int st_thread_set_name(st_thread *t, const char *name);

/* Push a frame running `rec` on thread `t`, called from code unit
 * `callsite` of the frame on top (-1: not known): with lines, calls from
 * different places are different nodes, but for a recursive call (rec
 * runs in one of the 8 frames above), which stays one node.  Returns 0, -1 when out of memory
 * (the thread's stack is then left unchanged). */
int st_push(st_store *s, st_thread *t, st_record *rec, const void *code,
            const void *frame, int32_t callsite);

static inline void st_pop(st_thread *t)
{
    if (t->depth > 0)
        t->depth--;
}

static inline st_frame *st_top(st_thread *t)
{
    return &t->stack[t->depth];
}

/* Width 1: one execution of the instruction at byte `offset`.
 * Width 2: one entry of control at `offset`. */
static inline void st_count(st_node *node, long offset)
{
    unsigned long i = (unsigned long)offset >> 1;
    if (node->rec && offset >= 0 && i < node->rec->ncounters)
        node->counts[i * node->rec->width]++;
}

/* Control left after the instruction at `offset` (width 2; nothing to
 * record at width 1). */
static inline void st_exit(st_node *node, long offset)
{
    unsigned long i = (unsigned long)offset >> 1;
    if (node->rec && node->rec->width == 2 && offset >= 0 && i < node->rec->ncounters)
        node->counts[2 * i + 1]++;
}

/* Credits `ns` of sampled time to the cumulative time of every record on
 * t's stack up to `depth` (the frames still running: t->depth, or less
 * when the mirror learns of returns late), once per record however often
 * it recurses; `mark` must be new for each sample.  Signal-safe: no
 * allocation, no locks. */
static inline void st_add_cumulative(st_thread *t, uint32_t depth, uint64_t ns, uint64_t mark)
{
    for (uint32_t d = 1; d <= depth && d <= t->depth; d++) {
        st_record *r = t->stack[d].node->rec;
        if (r && r->cumulative_mark != mark) {
            r->cumulative_mark = mark;
            r->cumulative_ns += ns;
        }
    }
}

/* Iteration for the snapshot.  Indices are dense from 0. */
size_t st_record_count(const st_store *s);
st_record *st_record_at(const st_store *s, size_t i);
size_t st_node_count(const st_store *s);
st_node *st_node_at(const st_store *s, size_t i);
size_t st_thread_count(const st_store *s);
st_thread *st_thread_at(const st_store *s, size_t i);

/* After fork(): the child keeps the structure and starts from zero. */
void st_store_zero(st_store *s);

#endif
