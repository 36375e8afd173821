/*
 * profile.h - the profile model: what a run measured, as plain C data.
 *
 * The collector builds it once at the end of a run; report writers only
 * read it.  Nothing here knows about libpython.
 *
 * Ownership: a pf_profile owns everything reachable from it (strings,
 * arrays); pf_profile_release() frees it all.  The pf_*_set/add helpers
 * copy their string arguments.
 */
#ifndef OPPROF_PROFILE_H
#define OPPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PF_SCHEMA "opprof-profile"
#define PF_VERSION 1

typedef enum pf_scope {
    PF_SCOPE_MODULE,
    PF_SCOPE_CLASS,
    PF_SCOPE_FUNCTION,
    PF_SCOPE_LAMBDA,
    PF_SCOPE_COMPREHENSION,
    PF_SCOPE_GENERATOR,
    PF_SCOPE_COROUTINE,
    PF_SCOPE_ASYNC_GENERATOR,
    PF_SCOPE_COUNT
} pf_scope;

const char *pf_scope_name(pf_scope s);
/* The scope called `name`; PF_SCOPE_COUNT when there is none. */
pf_scope pf_scope_from_name(const char *name);

typedef struct pf_instr {
    uint32_t offset;
    uint16_t op;             /* index into pf_profile.opnames */
    int line;                /* -1 when the instruction has no line */
    uint64_t count;
    uint64_t time_ns;        /* sampled self time (timed profiles) */
    uint64_t samples;
} pf_instr;

/* One instruction of the whole disassembly (executed or not), for
 * `opprof annotate` to print `dis`'s listing without the interpreter. */
typedef struct pf_listing {
    uint32_t offset;
    uint16_t op;             /* index into pf_profile.opnames */
    int32_t arg;             /* -1: no argument */
    int line;                /* -1: none */
    char *argrepr;           /* dis's rendering of the argument; "" if none */
} pf_listing;

typedef struct pf_function {
    uint32_t id;
    char *file;
    char *name;
    char *qualname;
    int firstlineno;
    pf_scope scope;
    uint64_t calls;
    uint64_t instructions;   /* sum of code[].count */
    uint64_t time_ns;        /* self: sum of code[].time_ns */
    uint64_t cumulative_ns;  /* with callees, once per outermost activation */
    pf_instr *code;          /* executed instructions, by offset */
    size_t ncode;
    pf_listing *listing;     /* every instruction, by offset; may be empty */
    size_t nlisting;
} pf_function;

typedef struct pf_opcount {
    uint16_t op;
    uint64_t count;
    uint64_t time_ns;
} pf_opcount;

typedef struct pf_stack {
    uint32_t thread;         /* index into pf_profile.threads */
    uint32_t *frames;        /* function ids, root first */
    size_t nframes;
    uint64_t instructions;
    uint64_t time_ns;
    pf_opcount *ops;         /* by op index, count or time > 0 only */
    size_t nops;
} pf_stack;

/* A native frame: an address, named when the symbol tables can. */
typedef struct pf_native_frame {
    uint64_t address;
    char *function;          /* NULL when unresolved */
    uint64_t offset;         /* from the function's start (or the module's) */
    char *module;            /* the shared object's path; NULL when unknown */
} pf_native_frame;

typedef struct pf_crash_frame {
    char *function;
    char *file;
    int line;                /* the running line, else the def line; -1: none */
} pf_crash_frame;

/* What a fatal signal interrupted (crash.h). */
typedef struct pf_crash {
    char *thread;            /* NULL: not a thread running Python */
    uint64_t address;        /* the faulting address (SIGSEGV, SIGBUS) */
    pf_native_frame *native; /* most recent call first */
    size_t nnative;
    pf_crash_frame *python;  /* most recent call first */
    size_t npython;
} pf_crash;

/* --native: one distinct mixed stack and what was sampled in it. */
typedef struct pf_native_stack {
    uint32_t thread;         /* index into pf_profile.threads */
    char **frames;           /* root first: "f (file:line)" or "name [native]" */
    size_t nframes;
    uint64_t samples;
    uint64_t time_ns;
} pf_native_stack;

typedef struct pf_native_stats {
    uint64_t samples;        /* native stacks captured */
    uint64_t merged;         /* ... merged with the thread's Python stack */
    uint64_t native_only;    /* ... with no Python stack to merge (kept) */
    uint64_t dropped;        /* ... lost: the buffer was full */
    uint64_t unresolved;     /* distinct frames shown by address */
} pf_native_stats;

typedef struct pf_profile {
    char *python_version;    /* "3.12.1" */
    char *implementation;
    unsigned long hexversion;
    char *python_build;      /* sys.version: build date and compiler */
    char *python_prefix;     /* sys.base_prefix: the stdlib lives under it */
    int specialization;      /* the adaptive interpreter specializes (3.11+) */
    char *executable;
    char *root;              /* the script's folder (cwd for -m/-c), or --root */
    char *hash_seed;         /* PYTHONHASHSEED in force, or "random" */
    char *collector;         /* how the counts were obtained */
    char **argv;
    size_t argc;
    int exit_status;
    int incomplete;
    char *incomplete_reason; /* NULL when complete */
    int stacks_enabled;
    uint64_t wall_ns;
    uint64_t instructions;   /* sum over functions */
    int counted;             /* instruction counts are there (not --time-only) */
    int timed;               /* the time fields below and *_ns above are set */
    uint64_t time_ns;        /* attributed sampled time, sum over functions */
    char *timing_method;     /* "sampling" */
    char *timing_clock;      /* what the sampler measured */
    unsigned rate_hz;        /* asked sampling rate */
    uint64_t samples;        /* delivered samples (weights: overruns) */
    uint64_t sampled_ns;     /* all sampled time */
    uint64_t overhead_ns;    /* samples in opprof's own code */
    uint64_t unattributed_ns;/* samples with no Python instruction to credit */
    char **opnames;          /* opcode number -> base name */
    size_t nopnames;
    char **threads;
    size_t nthreads;
    pf_function *functions;
    size_t nfunctions;
    pf_stack *stacks;
    size_t nstacks;
    char *signal;            /* "SIGSEGV": the run ended by it; NULL otherwise */
    pf_crash *crash;         /* a fatal signal's report; NULL otherwise */
    int native;              /* --native: the fields below are set */
    pf_native_stats native_stats;
    pf_native_stack *native_stacks;
    size_t nnative_stacks;
} pf_profile;

/* Returns NULL when out of memory. */
pf_profile *pf_profile_new(void);
void pf_profile_release(pf_profile *p);

/* Each returns 0, or -1 when out of memory. */
int pf_set_string(char **dst, const char *src);
int pf_set_argv(pf_profile *p, const char *const *argv, size_t argc);
int pf_mark_incomplete(pf_profile *p, const char *reason);
/* Appends a function with zeroed fields (id set); NULL when out of memory.
 * The pointer is valid until the next pf_add_function(). */
pf_function *pf_add_function(pf_profile *p);
pf_stack *pf_add_stack(pf_profile *p);

/* NULL when out of memory (the array may move). */
pf_native_stack *pf_add_native_stack(pf_profile *p);
/* Allocates p->crash (zeroed) if not there; NULL when out of memory. */
pf_crash *pf_crash_get(pf_profile *p);

/* The index of opcode name `name` in p->opnames, added if new; -1 on OOM. */
int pf_opname_index(pf_profile *p, const char *name);
/* The name of opcode index `op`, "?" when the table has none. */
const char *pf_opname(const pf_profile *p, unsigned op);
/* The index of thread `name` in p->threads, added if new; -1 on OOM. */
int pf_thread_index(pf_profile *p, const char *name);

/* Whether two profiles come from the same interpreter build: version,
 * build string, implementation and specialization. */
int pf_same_interpreter(const pf_profile *a, const pf_profile *b);

/* Sums counts and times by opcode: out[op] for op < p->nopnames.  `out`
 * has p->nopnames entries and is zeroed first. */
void pf_function_opcodes(const pf_profile *p, const pf_function *f, pf_opcount *out);

/* The largest count or time a profile holds: JSON readers (jansson
 * among them) read integers as int64. */
#define PF_MAX_COUNT ((uint64_t)INT64_MAX)

/* a + b, or UINT64_MAX when that overflows (pf_check_sums then refuses). */
uint64_t pf_add_sat(uint64_t a, uint64_t b);

/* Checks what the model's sums promise: each function's code is in
 * offset order and its instructions are the sum of its code's counts,
 * totals.instructions the sum over functions, and every count, time and sum fits PF_MAX_COUNT, so that any
 * arithmetic a reader does on them in int64 cannot overflow.  0, or -1
 * with one line in err. */
int pf_check_sums(const pf_profile *p, char *err, size_t errlen);

/* Function indices, hottest first: by self time, then instructions, then
 * calls in a timed profile; by instructions, then calls, otherwise; ties
 * by id.  The report and annotate agree on "hottest" through it.  Caller
 * frees; NULL when out of memory. */
size_t *pf_functions_by_weight(const pf_profile *p);

#endif
