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

#include "disasm.h"

#define PF_SCHEMA "opprof-profile"
#define PF_VERSION 2          /* what opprof writes; it reads 1 and 2 */

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

/* 24 bytes: a profile of a test suite holds millions of them; their
 * sampled time is apart (pf_function.times), as few have any. */
/* Packed (18 bytes, not 24): a test suite's profile holds half a million
 * of them, a merge two such arrays; x86-64 and arm64 load the unaligned
 * count at no cost.  Never take a member's address. */
typedef struct __attribute__((packed)) pf_instr {
    uint32_t offset;
    int32_t line;            /* -1 when the instruction has no line */
    uint64_t count;
    uint16_t op;             /* index into pf_profile.opnames */
} pf_instr;

/* The sampled self time of one instruction (timed profiles). */
typedef struct pf_itime {
    uint32_t instr;          /* index into pf_function.code */
    uint32_t samples;        /* at most PF_MAX_SAMPLES */
    uint64_t time_ns;
} pf_itime;

/* Samples of one instruction: 2^32-1 at 1 kHz is 50 days of CPU time on
 * it; readers refuse more, merge and the snapshot saturate. */
#define PF_MAX_SAMPLES UINT32_MAX
static inline uint32_t pf_samples_sat(uint64_t v)
{
    return v > PF_MAX_SAMPLES ? PF_MAX_SAMPLES : (uint32_t)v;
}

/* One instruction of the whole disassembly (executed or not), for
 * `opprof annotate` to print `dis`'s listing without the interpreter. */
typedef struct pf_listing {
    uint32_t offset;
    uint16_t op;             /* index into pf_profile.opnames */
    int32_t arg;             /* -1: no argument */
    int line;                /* -1: none */
    char *argrepr;           /* dis's rendering of the argument; "" if none */
} pf_listing;

/* What `opprof annotate` needs to disassemble a function at read time
 * (disasm.h): the code object's bytes and the strings dis prints. */
typedef struct pf_code {
    unsigned char *bytes;    /* co_code as dis reads it (unspecialized) */
    size_t nbytes;
    char **names;            /* co_names */
    size_t nnames;
    char **consts;           /* repr() of each constant, cut at 100 characters;
                                NULL for one no instruction loads */
    size_t nconsts;
    char **locals;           /* dz_code.locals */
    size_t nlocals;
    char **cells;            /* dz_code.cells (3.10) */
    size_t ncells;
    dz_line_range *lines;    /* co_lines() */
    size_t nlines;
    int borrowed;            /* the strings are pf_profile.pool's, not its own */
} pf_code;

#define PF_NO_FORM UINT16_MAX

/* Sampled time of one instruction while the interpreter held one form of
 * it (the specialization view). */
typedef struct pf_form_time {
    uint32_t instr;          /* index into pf_function.code */
    uint16_t op;             /* the form: index into pf_profile.opnames */
    uint64_t time_ns;
    uint64_t samples;
} pf_form_time;

/* What one process of a multi-process run ran of a function
 * (pf_function.per_process). */
typedef struct pf_proc_count {
    uint32_t process;        /* index into pf_profile.processes */
    uint64_t calls;
    uint64_t instructions;
    uint64_t time_ns;
} pf_proc_count;

typedef struct pf_function {
    uint32_t id;
    uint32_t process;        /* index into pf_profile.processes: the first
                                process it ran in */
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
    pf_itime *times;         /* by instr, rising; only those with time or samples */
    size_t ntimes;
    pf_listing *listing;     /* every instruction, by offset (v1 profiles); may be empty */
    size_t nlisting;
    pf_code *codeinfo;       /* NULL when not recorded (v1 profiles) */
    uint16_t *forms;         /* per code[] entry: the installed form at the end
                                (an opnames index, PF_NO_FORM: generic or not
                                known); NULL when not recorded */
    pf_form_time *form_times;
    size_t nform_times;
    pf_proc_count *per_process;  /* by process, rising: what each ran of the
                                    sums above; only when the profile has
                                    more than one process, else NULL */
    size_t nper_process;
} pf_function;

/* What ran of one opcode (scratch and summaries; nodes keep pf_opval). */
typedef struct pf_opcount {
    uint16_t op;
    uint64_t count;
    uint64_t time_ns;
} pf_opcount;

/* A node's count or time of one opcode: 16 bytes, as a test suite's tree
 * holds half a million, and times apart from counts, as few nodes have
 * any. */
typedef struct __attribute__((packed)) pf_opval {   /* 10 bytes: as pf_instr */
    uint64_t v;
    uint16_t op;
} pf_opval;

/* A node's count or time at one (line, opcode) of its function: what one
 * call path ran line by line, for pprof's leaf locations (14 bytes). */
typedef struct __attribute__((packed)) pf_site {
    uint64_t v;
    int32_t line;            /* -1: no line */
    uint16_t op;             /* index into pf_profile.opnames */
} pf_site;

/* The key that orders sites by line, then opcode (a line of -1 first). */
static inline uint64_t pf_site_key(int32_t line, uint16_t op)
{
    return (uint64_t)(uint32_t)(line + 1) << 16 | op;
}
static inline int32_t pf_site_key_line(uint64_t key)
{
    return (int32_t)(uint32_t)(key >> 16) - 1;
}

#define PF_NO_NODE UINT32_MAX

/* One node of the call tree: a function in one call context (its thread
 * and the path of callers above it).  Nodes come parents first, so a
 * node's parent has a smaller index; roots have parent PF_NO_NODE.
 * instructions and time_ns are the node's own (self) measure, so the
 * tree holds each call path once however deep it is. */
typedef struct pf_node {
    uint32_t parent;         /* node index, or PF_NO_NODE */
    uint32_t function;       /* function id */
    int32_t callsite;        /* byte offset of the call in the parent's
                                function; -1 when not recorded */
    uint32_t thread;         /* index into pf_profile.threads */
    uint64_t instructions;
    uint64_t time_ns;
    pf_opval *ops;           /* nops counts (> 0), then ntimes times (> 0, in ns),
                                one per op each: pf_node_times() */
    uint32_t nops;
    uint32_t ntimes;
    pf_site *sites;          /* nsites counts (> 0), then nsite_times times (> 0),
                                each by (line, op) rising: pf_node_site_times();
                                both 0 when not recorded (v1, older v2 files):
                                ops then tell the opcodes but not the lines */
    uint32_t nsites;
    uint32_t nsite_times;
} pf_node;

static inline pf_opval *pf_node_times(const pf_node *n)
{
    return n->ops ? n->ops + n->nops : NULL;
}

static inline pf_site *pf_node_site_times(const pf_node *n)
{
    return n->sites ? n->sites + n->nsites : NULL;
}

/* One process of the run. */
typedef struct pf_process {
    int64_t pid;
    int64_t parent;          /* index into pf_profile.processes, -1: none */
    int64_t ppid;            /* the parent's pid (0: not known), which a
                                child's own file knows but not its index */
    char **argv;
    size_t argc;
    int exit_status;
    int incomplete;
    char *ended;             /* "exit", "os._exit", a signal's name ("SIGTERM");
                                NULL: not known */
    int pending;             /* still running when the profile was written:
                                its counts are not here (its own file has them) */
    uint64_t start_ns;       /* CLOCK_REALTIME since the epoch; 0: not known */
    uint64_t end_ns;
} pf_process;

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

/* --native: the shared object a native frame label's code is in (pprof's
 * mappings); labels without a known module are not listed. */
typedef struct pf_native_module {
    char *label;             /* as in pf_native_stack.frames: "name [native]" */
    char *module;            /* the shared object's path */
} pf_native_module;

typedef struct pf_native_stats {
    uint64_t samples;        /* native stacks captured */
    uint64_t merged;         /* ... merged with the thread's Python stack */
    uint64_t native_only;    /* ... with no Python stack to merge (kept) */
    uint64_t dropped;        /* ... lost: the buffer was full */
    uint64_t unresolved;     /* distinct frames shown by address */
} pf_native_stats;

/* The text of some source lines of one file, as the run read it at its
 * end (profile-v2.md, "sources"; sourcetext.h builds and reads it): the
 * lines of the functions that ran, so that a profile shows them after
 * the file changed or on another machine.  Line k (lines[k], rising) is
 * text[at[k], at[k + 1] - 1), followed by a '\n'; a line holds no '\n',
 * '\r' or NUL and is valid UTF-8. */
typedef struct pf_source {
    char *file;              /* as the functions name it */
    uint32_t *lines;
    uint32_t *at;            /* nlines + 1 offsets into text */
    char *text;              /* at[nlines] bytes, then a NUL */
    size_t nlines, cap, textcap;
} pf_source;

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
    char *run_id;            /* --subprocesses: shared by every process of the
                                run (merge folds a child in by it); else NULL */
    char **argv;
    size_t argc;
    int exit_status;
    int incomplete;
    char *incomplete_reason; /* NULL when complete */
    int stacks_enabled;
    uint64_t wall_ns;
    uint64_t exit_ns;        /* the end-of-run work: snapshot and outputs */
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
    uint32_t *thread_process;/* per thread: index into processes */
    size_t nthreads;
    pf_process *processes;   /* [0]: the process opprof ran */
    size_t nprocesses;
    char **pool;             /* strings pf_code.borrowed codes point into */
    size_t npool;
    pf_function *functions;
    size_t nfunctions, capfunctions;   /* cap: what the array holds */
    pf_node *nodes;
    size_t nnodes, capnodes;
    char *signal;            /* "SIGSEGV": the run ended by it; NULL otherwise */
    pf_crash *crash;         /* a fatal signal's report; NULL otherwise */
    int native;              /* --native: the fields below are set */
    pf_native_stats native_stats;
    pf_native_stack *native_stacks;
    size_t nnative_stacks;
    pf_native_module *native_modules;   /* by label, distinct */
    size_t nnative_modules;
    pf_source *sources;      /* by file (strcmp), each file once */
    size_t nsources, capsources;
    uint64_t sources_omitted;/* functions whose text the size cap left out */
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
/* Appends a zeroed node (parent PF_NO_NODE, callsite -1); NULL on OOM. */
pf_node *pf_add_node(pf_profile *p);
/* Room for n nodes in all, exactly (a reader that knows how many): 0, or
 * -1 when out of memory. */
int pf_reserve_nodes(pf_profile *p, size_t n);
/* Drops the functions that did nothing (no call, instruction, time or
 * node), renumbering the rest and the nodes' references.  0, or -1 when
 * out of memory (p unchanged). */
int pf_drop_idle_functions(pf_profile *p);
/* The functions array cut to its length (a reader, once they are all read). */
void pf_fit_functions(pf_profile *p);
/* The process list, made of p's own pid 0 and argv when empty; 0 or -1. */
int pf_ensure_process(pf_profile *p);

/* The call path of node i, root first, as function ids into path (which
 * has room for pf_node_depth(p, i) entries).  Returns the depth. */
size_t pf_node_depth(const pf_profile *p, size_t i);
size_t pf_node_path(const pf_profile *p, size_t i, uint32_t *path);

/* Finding a node by (parent, function, callsite, thread), for building
 * trees from paths (v1 stacks, merge, tests) in time linear in nodes.
 * The index refers to nodes by number: it survives p->nodes moving, and
 * sees only nodes added through pf_node_get (and those there at _new). */
typedef struct pf_node_index pf_node_index;
pf_node_index *pf_node_index_new(const pf_profile *p);   /* NULL on OOM */
void pf_node_index_release(pf_node_index *x);
/* The node, added (zero counts) when missing.  Its index, or -1 on OOM. */
int64_t pf_node_get(pf_node_index *x, pf_profile *p, uint32_t parent, uint32_t function,
                    int32_t callsite, uint32_t thread);
/* The node of call path `fns` (root first) on `thread`, callsites -1,
 * adding what is missing: its index, or -1 on OOM. */
int64_t pf_node_of_path(pf_node_index *x, pf_profile *p, uint32_t thread, const uint32_t *fns,
                        size_t n);

void pf_code_release(pf_code *c);
/* A deep copy; NULL on OOM. */
pf_code *pf_code_copy(const pf_code *c);
/* The line of byte offset `offset` in c's line table, -1 when none.
 * For rising offsets: *at (0 at first) keeps the place, so a function's
 * instructions cost one pass over the table (a lower offset starts over). */
int pf_code_line_next(const pf_code *c, uint32_t offset, size_t *at);
/* c as the disassembler takes it, for Python 3.<minor>; *out borrows c's
 * memory. */
void pf_code_as_dz(const pf_code *c, int minor, dz_code *out);

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
/* The same among the threads of process `process` (a new one is its). */
int pf_thread_index_in(pf_profile *p, const char *name, uint32_t process);
/* Appends a zeroed process (parent -1); NULL when out of memory.  The
 * pointer is valid until the next call. */
pf_process *pf_add_process(pf_profile *p);
/* A deep copy of `src`'s fields into *dst (which owns nothing yet); 0 or -1. */
int pf_process_copy(pf_process *dst, const pf_process *src);
/* Adds c (its process an index of p's) to f's per_process, kept by
 * process; 0, or -1 when out of memory. */
int pf_function_add_per_process(pf_function *f, const pf_proc_count *c);

/* The last component of a path ("?" for NULL): a pointer into path. */
const char *pf_basename(const char *path);

/* The interpreter's minor version (12 for 3.12), from hexversion. */
int pf_minor(const pf_profile *p);

/* Whether two profiles come from the same interpreter build: version,
 * build string, implementation and specialization. */
int pf_same_interpreter(const pf_profile *a, const pf_profile *b);

/* Sums counts and times by opcode: out[op] for op < p->nopnames.  `out`
 * has p->nopnames entries and is zeroed first. */
void pf_function_opcodes(const pf_profile *p, const pf_function *f, pf_opcount *out);
/* A node's counts and times by opcode, one entry per op (in ops' order,
 * then the ops with time only): out holds nops + ntimes; returns how many. */
size_t pf_node_opcounts(const pf_node *n, pf_opcount *out);
/* Adds count and time (saturating) to n's entries for op, making them
 * where they are needed.  0, or -1 when out of memory. */
int pf_node_add_op(pf_node *n, uint16_t op, uint64_t count, uint64_t time_ns);
/* Adds nsites counts, then ntimes times (as pf_node.sites) to n's, their
 * ops through opmap when it is not NULL (another profile's opnames), and
 * keeps them by (line, op), one entry each.  0, or -1 when out of memory
 * (n unchanged). */
int pf_node_add_sites(pf_node *n, const pf_site *sites, uint32_t nsites, uint32_t ntimes,
                      const uint16_t *opmap);
void pf_node_drop_sites(pf_node *n);
/* f's sites: the distinct (line, op) of its instructions as pf_site_key()s,
 * rising - every site its nodes can have, which a file counts them over.
 * *keys is malloc'ed (the caller frees it).  0, or -1 when out of memory. */
int pf_function_sitekeys(const pf_function *f, uint64_t **keys, size_t *n);
/* Sets n's time of op (a reader's: the file says it once).  0, or -1. */
int pf_node_set_time(pf_node *n, uint16_t op, uint64_t time_ns);

/* code[i]'s time entry, or NULL when it has none. */
const pf_itime *pf_instr_times(const pf_function *f, size_t i);
/* The executed instruction at byte `offset` of f, NULL if none ran there
 * (f->code is by offset: pf_check_sums refuses it otherwise). */
const pf_instr *pf_instr_at(const pf_function *f, uint32_t offset);
static inline uint64_t pf_instr_time(const pf_function *f, size_t i)
{
    const pf_itime *t = f->ntimes ? pf_instr_times(f, i) : NULL;
    return t ? t->time_ns : 0;
}
static inline uint32_t pf_instr_samples(const pf_function *f, size_t i)
{
    const pf_itime *t = f->ntimes ? pf_instr_times(f, i) : NULL;
    return t ? t->samples : 0;
}
/* Adds time and samples (saturating) to code[i]'s; nothing when both are
 * 0.  0, or -1 when out of memory. */
int pf_add_instr_time(pf_function *f, size_t i, uint64_t time_ns, uint64_t samples);
/* All of f's samples. */
uint64_t pf_function_samples(const pf_function *f);

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
/* Its two parts: function i's own (its code, times and their sums), and
 * the rest (totals over the functions, nodes, native stacks), for a
 * reader that checks each function as it reads it (pf_read_hooks). */
int pf_check_function(const pf_profile *p, size_t i, char *err, size_t errlen);
int pf_check_totals(const pf_profile *p, char *err, size_t errlen);

/* Function indices, hottest first: by self time, then instructions, then
 * calls in a timed profile; by instructions, then calls, otherwise; ties
 * by id.  The report and annotate agree on "hottest" through it.  Caller
 * frees; NULL when out of memory. */
size_t *pf_functions_by_weight(const pf_profile *p);
/* Frees f's per-instruction data (code, times, listing, codeinfo, forms),
 * leaving its totals: for a reader's hook that needs them no more. */
void pf_function_drop_code(pf_function *f);
/* Frees only its listing and codeinfo: what disassembles it. */
void pf_function_drop_disassembly(pf_function *f);
/* 1 when a comes before b in that order (timed: as in a timed profile). */
int pf_function_outranks(const pf_function *a, const pf_function *b, int timed);

#endif
