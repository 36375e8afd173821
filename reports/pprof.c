/*
 * pprof.c - a profile as pprof's gzip-compressed profile.proto (pprof.h):
 * the samples of the call tree, of the functions (no stacks) and of the
 * native stacks, streamed one message at a time into the gzip stream, then
 * the tables they refer to (pprof_tables.c).
 */
#include "pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/profile_json.h"
#include "profile.pb-c.h"

#define NO_RANK UINT32_MAX

/* Function keys (pp__function_find) of opcodes; a profile function's key
 * is its index, pprof_native.c's have bit 63. */
#define KEY_OPCODE (1ull << 62)       /* | the opcode's name rank */
#define KEY_PROCESS (1ull << 61)      /* | the process's index */

/* What a node or a function ran itself at one line (and opcode). */
typedef struct pp__entry {
    int64_t line;
    uint32_t rank;            /* the opcode's name rank; NO_RANK: not told apart */
    uint64_t count, time_ns;
} entry;

typedef pp__writer writer;

int pp__oom(writer *w)
{
    snprintf(w->err, w->errlen, "out of memory");
    return -1;
}

int pp__reserve(void *v, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    void *x = realloc(*(void **)v, c * size);
    if (!x)
        return -1;
    *(void **)v = x;
    *cap = c;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Opcodes by name: a fresh run's opcode numbers are not a read-back
 * profile's, and two numbers of one name are one frame. */
static int rank_opcodes(writer *w)
{
    const pf_profile *p = w->p;
    size_t n = p->nopnames;
    w->op_rank = malloc((n + 1) * sizeof *w->op_rank);
    w->rank_name = malloc((n + 1) * sizeof *w->rank_name);
    if (!w->op_rank || !w->rank_name)
        return -1;
    for (size_t i = 0; i < n; i++)   /* as profile_json.c names an unnamed one */
        w->rank_name[i] = p->opnames[i] ? p->opnames[i] : "<unknown>";
    qsort(w->rank_name, n, sizeof *w->rank_name, by_name);
    for (size_t i = 0; i < n; i++)
        if (!w->nranks || strcmp(w->rank_name[w->nranks - 1], w->rank_name[i]) != 0)
            w->rank_name[w->nranks++] = w->rank_name[i];
    for (size_t i = 0; i < n; i++) {
        const char *name = p->opnames[i] ? p->opnames[i] : "<unknown>";
        const char **at = bsearch(&name, w->rank_name, w->nranks, sizeof *at, by_name);
        w->op_rank[i] = (uint32_t)(at - w->rank_name);
    }
    return 0;
}

static uint32_t rank_of(const writer *w, unsigned op)
{
    return w->opcodes && op < w->p->nopnames ? w->op_rank[op] : NO_RANK;
}

/* ---- functions and locations ------------------------------------------- */

static uint64_t python_function(writer *w, size_t i)
{
    uint64_t id = pp__function_find(w->t, i);
    if (id)
        return id;
    const pf_function *f = &w->p->functions[i];
    const char *name = f->name ? f->name : "?", *qualname = f->qualname ? f->qualname : name;
    /* pprof takes a name equal to its system name for one still to
     * demangle, and strips the <...> of "<module>" as a C++ template's */
    return pp__function_add(w->t, i, qualname, strcmp(name, qualname) ? name : "",
                            f->file ? f->file : "?", f->firstlineno, w->python_mapping);
}

uint64_t pp__python_location(writer *w, size_t i, int64_t line)
{
    uint64_t f = python_function(w, i);
    return f ? pp__location(w->t, f, line) : 0;
}

/* "[LOAD_FAST]", as the folded stacks name an opcode frame. */
static uint64_t opcode_location(writer *w, uint32_t rank)
{
    uint64_t f = pp__function_find(w->t, KEY_OPCODE | rank);
    if (!f) {
        const char *op = w->rank_name[rank];
        size_t n = strlen(op) + 3;
        char *name = malloc(n);
        if (!name)
            return 0;
        snprintf(name, n, "[%s]", op);
        f = pp__function_add(w->t, KEY_OPCODE | rank, name, name, "", 0, w->python_mapping);
        free(name);
    }
    return f ? pp__location(w->t, f, 0) : 0;
}

/* The process's own function, at line 0: the root of its stacks. */
uint64_t pp__process_location(writer *w, uint32_t process)
{
    process = process < w->p->nprocesses ? process : 0;
    uint64_t f = pp__function_find(w->t, KEY_PROCESS | process);
    if (!f)
        f = pp__function_add(w->t, KEY_PROCESS | process, w->proc[process], "", "", 0,
                             w->python_mapping);
    return f ? pp__location(w->t, f, 0) : 0;
}

/* The line of byte offset `at` in function i: from its executed
 * instructions (the call ran), else its line table; its first line when
 * neither knows, or the offset was not recorded (-1). */
static int64_t line_at(const pf_function *f, int32_t at)
{
    if (at < 0)
        return f->firstlineno;
    size_t lo = 0, hi = f->ncode;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->code[mid].offset < (uint32_t)at)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < f->ncode && f->code[lo].offset == (uint32_t)at && f->code[lo].line >= 0)
        return f->code[lo].line;
    size_t place = 0;
    int line = f->codeinfo ? pf_code_line_next(f->codeinfo, (uint32_t)at, &place) : -1;
    return line >= 0 ? line : f->firstlineno;
}

/* The location of node k's caller's frame, at the line of the call. */
static uint64_t caller_location(writer *w, size_t k)
{
    if (!w->callerloc[k]) {
        const pf_node *n = &w->p->nodes[k];
        size_t caller = w->p->nodes[n->parent].function;
        w->callerloc[k] = pp__python_location(w, caller,
                                          line_at(&w->p->functions[caller], n->callsite));
    }
    return w->callerloc[k];
}

/* ---- samples ----------------------------------------------------------- */

static int by_place(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Sorts the n entries by (line, opcode name) and sums equal places:
 * their number after it. */
static size_t merge_entries(entry *e, size_t n)
{
    qsort(e, n, sizeof *e, by_place);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && by_place(&e[m - 1], &e[i]) == 0) {
            e[m - 1].count += e[i].count;
            e[m - 1].time_ns += e[i].time_ns;
        } else {
            e[m++] = e[i];
        }
    }
    return m;
}

int pp__labels(writer *w, uint32_t thread, uint32_t process, const char *scope,
               pp__label **labels, size_t *n)
{
    const pf_profile *p = w->p;
    *n = 0;
    if (thread != UINT32_MAX && p->thread_process && thread < p->nthreads)
        process = p->thread_process[thread];   /* the thread knows better */
    if (thread != UINT32_MAX)
        labels[(*n)++] = pp__label_get(w->t, "thread", thread < p->nthreads &&
                                       p->threads[thread] ? p->threads[thread] : "?", 0);
    if (process < p->nprocesses && p->processes[process].pid > 0)   /* 0: not known */
        labels[(*n)++] = pp__label_get(w->t, "process", NULL, p->processes[process].pid);
    labels[(*n)++] = pp__label_get(w->t, "scope", scope, 0);
    for (size_t i = 0; i < *n; i++)
        if (!labels[i])
            return pp__oom(w);
    return 0;
}

/* One sample per entry with a value: its leaf (an opcode frame above the
 * line's with --opcodes), then `nup` callers (and the process's root)
 * already in w->locs + 2; labels of function fn on `thread` (UINT32_MAX:
 * not known) in `process`. */
static int write_entries(writer *w, size_t fn, const entry *e, size_t n, size_t nup,
                         uint32_t thread, uint32_t process)
{
    const pf_function *f = &w->p->functions[fn];
    pp__label *labels[4];
    size_t nl;
    if (pp__reserve(&w->locs, &w->caplocs, 2 + nup, sizeof *w->locs) < 0)
        return pp__oom(w);
    if (pp__labels(w, thread, process, pf_scope_name(f->scope), labels, &nl) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int64_t v[2];
        size_t nv = 0;
        if (w->counted)
            v[nv++] = (int64_t)e[i].count;
        if (w->timed)
            v[nv++] = w->native ? 0 : (int64_t)e[i].time_ns;
        if (!(nv && v[0]) && !(nv > 1 && v[1]))
            continue;
        size_t from = 1, k = nl;
        if (!(w->locs[1] = pp__python_location(w, fn, e[i].line)))
            return pp__oom(w);
        if (e[i].rank != NO_RANK) {
            if (!(w->locs[0] = opcode_location(w, e[i].rank)) ||
                !(labels[k++] = pp__label_get(w->t, "opcode", w->rank_name[e[i].rank], 0)))
                return pp__oom(w);
            from = 0;
        }
        if (pp__write_sample(w->out, w->locs + from, 2 - from + nup, v, nv, labels, k) < 0)
            return fl_write_error(w->err, w->errlen);
    }
    return 0;
}

/* Node i's entries into w->entries: its sites (line and opcode), else its
 * opcodes (--opcodes) at its first line, else all of it there; what they
 * do not account for at its first line.  Their number, or -1 on OOM. */
static int64_t node_entries(writer *w, const pf_node *n)
{
    const pf_function *f = &w->p->functions[n->function];
    size_t most = n->nsites + n->nsite_times + n->nops + n->ntimes + 1, m = 0;
    if (pp__reserve(&w->entries, &w->capentries, most, sizeof *w->entries) < 0 ||
        pp__reserve(&w->ops, &w->capops, most, sizeof *w->ops) < 0)
        return -1;
    entry *e = w->entries;
    uint64_t count = 0, time_ns = 0;
    if (n->nsites || n->nsite_times) {
        for (size_t k = 0; k < (size_t)n->nsites + n->nsite_times; k++) {
            const pf_site *s = &n->sites[k];
            int is_time = k >= n->nsites;
            uint64_t v = s->v;
            e[m++] = (entry){s->line >= 0 ? s->line : f->firstlineno, rank_of(w, s->op),
                             is_time ? 0 : v, is_time ? v : 0};
            *(is_time ? &time_ns : &count) += v;
        }
    } else if (w->opcodes) {
        size_t nops = pf_node_opcounts(n, w->ops);
        for (size_t k = 0; k < nops; k++) {
            e[m++] = (entry){f->firstlineno, rank_of(w, w->ops[k].op), w->ops[k].count,
                             w->ops[k].time_ns};
            count += w->ops[k].count;
            time_ns += w->ops[k].time_ns;
        }
    }
    /* check() made sure they never exceed the node's */
    e[m++] = (entry){f->firstlineno, NO_RANK, n->instructions - count, n->time_ns - time_ns};
    return (int64_t)merge_entries(e, m);
}

static int tree_samples(writer *w)
{
    const pf_profile *p = w->p;
    w->callerloc = calloc(p->nnodes + 1, sizeof *w->callerloc);
    if (!w->callerloc)
        return pp__oom(w);
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *n = &p->nodes[i];
        if (!(w->counted && n->instructions) && !(w->timed && !w->native && n->time_ns))
            continue;
        int64_t m = node_entries(w, n);
        if (m < 0)
            return pp__oom(w);
        size_t nup = 0;
        for (size_t k = i; p->nodes[k].parent != PF_NO_NODE; k = p->nodes[k].parent) {
            if (pp__reserve(&w->locs, &w->caplocs, nup + 3, sizeof *w->locs) < 0 ||
                !(w->locs[2 + nup] = caller_location(w, k)))
                return pp__oom(w);
            nup++;
        }
        if (w->proc && (pp__reserve(&w->locs, &w->caplocs, nup + 3, sizeof *w->locs) < 0 ||
                        !(w->locs[2 + nup++] =
                              pp__process_location(w, fl_thread_process(p, n->thread)))))
            return pp__oom(w);
        if (write_entries(w, n->function, w->entries, (size_t)m, nup, n->thread,
                          p->functions[n->function].process) < 0)
            return -1;
    }
    return 0;
}

/* --no-stacks, a function that ran in several processes: each its share
 * under its process, at its first line (which lines and opcodes ran in
 * which process is not kept), as the flame graphs draw it. */
static int split_function(writer *w, size_t i)
{
    const pf_function *f = &w->p->functions[i];
    if (pp__reserve(&w->locs, &w->caplocs, 3, sizeof *w->locs) < 0)
        return pp__oom(w);
    for (size_t k = 0; k < f->nper_process; k++) {
        const pf_proc_count *c = &f->per_process[k];
        entry e = {f->firstlineno, NO_RANK, c->instructions, c->time_ns};
        if (!(w->locs[2] = pp__process_location(w, c->process)))
            return pp__oom(w);
        if (write_entries(w, i, &e, 1, 1, UINT32_MAX, c->process) < 0)
            return -1;
    }
    return 0;
}

/* --no-stacks: each function's instructions, by line (and opcode), under
 * its process with several. */
static int function_samples(writer *w)
{
    const pf_profile *p = w->p;
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        if (w->proc && f->nper_process > 1) {
            if (split_function(w, i) < 0)
                return -1;
            continue;
        }
        uint32_t proc = f->nper_process ? f->per_process[0].process : f->process;
        if (w->proc && (pp__reserve(&w->locs, &w->caplocs, 3, sizeof *w->locs) < 0 ||
                        !(w->locs[2] = pp__process_location(w, proc))))
            return pp__oom(w);
        if (pp__reserve(&w->entries, &w->capentries, f->ncode + 1, sizeof *w->entries) < 0)
            return pp__oom(w);
        entry *e = w->entries;
        uint64_t count = 0, time_ns = 0;
        size_t m = 0;
        for (size_t k = 0; k < f->ncode; k++) {
            uint64_t c = f->code[k].count, t = pf_instr_time(f, k);
            e[m++] = (entry){f->code[k].line >= 0 ? f->code[k].line : f->firstlineno,
                             rank_of(w, f->code[k].op), c, t};
            count += c;
            time_ns += t;
        }
        e[m++] = (entry){f->firstlineno, NO_RANK, f->instructions - count, f->time_ns - time_ns};
        if (write_entries(w, i, e, merge_entries(e, m), w->proc != NULL, UINT32_MAX, proc) < 0)
            return -1;
    }
    return 0;
}

/* ---- the whole ----------------------------------------------------------- */

static int inconsistent(writer *w, const char *what, size_t i)
{
    snprintf(w->err, w->errlen, "inconsistent profile: %s %zu", what, i);
    return -1;
}

/* Checks, before a byte is written, what the samples rely on: nodes in
 * order, parts that do not exceed their whole, and wholes that add up to
 * the profile's totals. */
static int check(writer *w)
{
    const pf_profile *p = w->p;
    uint64_t count = 0, time_ns = 0;
    for (size_t i = 0; p->stacks_enabled && i < p->nnodes; i++) {
        const pf_node *n = &p->nodes[i];
        if (n->function >= p->nfunctions || (n->parent != PF_NO_NODE && n->parent >= i))
            return inconsistent(w, "has no function, or a parent after it, at node", i);
        uint64_t c = 0, t = 0;
        if (n->nsites || n->nsite_times) {
            for (size_t k = 0; k < (size_t)n->nsites + n->nsite_times; k++)
                *(k < n->nsites ? &c : &t) = pf_add_sat(k < n->nsites ? c : t, n->sites[k].v);
        } else if (w->opcodes) {
            for (size_t k = 0; k < n->nops; k++)
                c = pf_add_sat(c, n->ops[k].v);
            for (size_t k = 0; k < n->ntimes; k++)
                t = pf_add_sat(t, pf_node_times(n)[k].v);
        }
        if (c > n->instructions || t > n->time_ns)
            return inconsistent(w, "has lines or opcodes that add up to more than the node, "
                                "at node", i);
        count = pf_add_sat(count, n->instructions);
        time_ns = pf_add_sat(time_ns, n->time_ns);
    }
    for (size_t i = 0; !p->stacks_enabled && i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        uint64_t c = 0, t = 0;
        for (size_t k = 0; k < f->ncode; k++) {
            c = pf_add_sat(c, f->code[k].count);
            t = pf_add_sat(t, pf_instr_time(f, k));
        }
        if (c > f->instructions || t > f->time_ns)
            return inconsistent(w, "has instructions that add up to more than it, function",
                                i);
        uint64_t pc = 0, pt = 0;
        for (size_t k = 0; k < f->nper_process; k++) {
            pc = pf_add_sat(pc, f->per_process[k].instructions);
            pt = pf_add_sat(pt, f->per_process[k].time_ns);
        }
        if (f->nper_process > 1 && p->nprocesses > 1 && (pc != f->instructions ||
                                                         pt != f->time_ns))
            return inconsistent(w, "has processes' shares that do not add up to it, function",
                                i);
        count = pf_add_sat(count, f->instructions);
        time_ns = pf_add_sat(time_ns, f->time_ns);
    }
    const char *whole = p->stacks_enabled ? "stacks" : "functions";
    if (w->counted && count != p->instructions) {
        snprintf(w->err, w->errlen, "inconsistent profile: its %s add up to %llu instructions, "
                 "its total is %llu", whole, (unsigned long long)count,
                 (unsigned long long)p->instructions);
        return -1;
    }
    if (w->timed && !w->native && time_ns != p->time_ns) {
        snprintf(w->err, w->errlen, "inconsistent profile: its %s add up to %llu ns, its total "
                 "is %llu", whole, (unsigned long long)time_ns, (unsigned long long)p->time_ns);
        return -1;
    }
    uint64_t native = 0;
    for (size_t i = 0; w->native && i < p->nnative_stacks; i++)
        native = pf_add_sat(native, p->native_stacks[i].time_ns);
    if (count > PF_MAX_COUNT || time_ns > PF_MAX_COUNT || native > PF_MAX_COUNT) {
        snprintf(w->err, w->errlen, "inconsistent profile: a total beyond 2^63-1");
        return -1;
    }
    return 0;
}

/* The messages after the samples: sample types, period, duration,
 * comments and the tables. */
static int write_head(writer *w)
{
    const pf_profile *p = w->p;
    typedef Perftools__Profiles__ValueType value_type;
    value_type types[2], period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT, *ptypes[2];
    pp__profile head = PERFTOOLS__PROFILES__PROFILE__INIT;
    int64_t comment[3];
    char text[512];
    size_t nt = 0;
    int64_t ins = pp__str(w->t, "instructions"), count = pp__str(w->t, "count");
    int64_t cpu = pp__str(w->t, "cpu"), ns = pp__str(w->t, "nanoseconds");
    snprintf(text, sizeof text, "opprof, CPython %s: %s%s%s%s", p->python_version ?
             p->python_version : "?", p->counted ? "instructions are exact counts of executed "
             "bytecode instructions" : "", p->counted && p->timed ? ", " : "",
             p->timed ? "cpu is sampled CPU time" : "", w->native ? " (of the --native stacks: "
             "it includes opprof's overhead and unattributed samples)" : "");
    comment[head.n_comment++] = pp__str(w->t, text);
    if (p->incomplete) {
        snprintf(text, sizeof text, "incomplete: %s", p->incomplete_reason ?
                 p->incomplete_reason : "?");
        comment[head.n_comment++] = pp__str(w->t, text);
    }
    for (size_t i = 0; i < head.n_comment; i++)
        if (comment[i] < 0)
            return pp__oom(w);
    if (ins < 0 || count < 0 || cpu < 0 || ns < 0)
        return pp__oom(w);
    if (w->counted) {
        types[nt] = (value_type)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
        types[nt].type = ins;
        types[nt++].unit = count;
    }
    if (w->timed) {
        types[nt] = (value_type)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
        types[nt].type = cpu;
        types[nt++].unit = ns;
        period.type = cpu;
        period.unit = ns;
        head.period_type = &period;
        head.period = p->rate_hz ? 1000000000 / p->rate_hz : 0;
    }
    for (size_t i = 0; i < nt; i++)
        ptypes[i] = &types[i];
    head.sample_type = ptypes;
    head.n_sample_type = nt;
    head.comment = comment;
    head.duration_nanos = p->wall_ns > PF_MAX_COUNT ? (int64_t)PF_MAX_COUNT : (int64_t)p->wall_ns;
    head.default_sample_type = w->default_time ? cpu : ins;
    return pp__write_tables(w->out, w->t, &head) < 0 ? fl_write_error(w->err, w->errlen) : 0;
}

static int write_body(void *ctx, FILE *gz, char *err, size_t errlen)
{
    writer *w = ctx;
    (void)err, (void)errlen;   /* w has them */
    w->out = gz;
    /* the string table starts with the sample types, for a human reader */
    if (pp__str(w->t, "instructions") < 0 || pp__str(w->t, "count") < 0 ||
        pp__str(w->t, "cpu") < 0 || pp__str(w->t, "nanoseconds") < 0)
        return pp__oom(w);
    /* mapping 1, the "main binary" to pprof: the interpreter, which ran
     * the Python code; a mapping with functions is one pprof never tries
     * to symbolize (it would say the binary is not there) */
    if (!(w->python_mapping = pp__mapping(w->t, w->p->executable && w->p->executable[0]
                                                    ? w->p->executable : "python", 1)))
        return pp__oom(w);
    if (w->counted || !w->native) {
        if ((w->p->stacks_enabled ? tree_samples(w) : function_samples(w)) < 0)
            return -1;
    }
    if (w->native && pp__native_samples(w) < 0)
        return -1;
    return write_head(w);
}

int pp_write(const pf_profile *p, const fl_options *o, FILE *out, char *err, size_t errlen)
{
    int saved = errno, tty = isatty(fileno(out));
    errno = saved;
    if (tty) {
        snprintf(err, errlen, "pprof data is binary: not written to a terminal (give -o FILE, "
                 "or redirect standard output)");
        return -1;
    }
    fl_metric m;
    if (fl_metric_for(p, o->metric, &m, err, errlen) < 0)
        return -1;
    if (!p->counted && !p->timed) {
        snprintf(err, errlen, "the profile has neither counts nor times");
        return -1;
    }
    writer w = {.p = p, .opcodes = o->opcodes, .counted = p->counted, .timed = p->timed,
                .native = p->native && p->nnative_stacks && p->timed,
                .default_time = m == FL_METRIC_TIME, .err = err, .errlen = errlen};
    int rc = -1;
    err[0] = 0;
    if (!(w.t = pp__tables_new()) || rank_opcodes(&w) < 0 ||
        (fl_multiprocess(p) && !(w.proc = fl_process_labels(p))))
        pp__oom(&w);
    else if (check(&w) == 0)
        rc = pf_gzip_to(out, write_body, &w, err, errlen);
    pp__tables_release(w.t);
    free(w.op_rank);
    free(w.rank_name);
    free(w.callerloc);
    free(w.locs);
    free(w.entries);
    free(w.ops);
    pp__native_release(&w);
    fl_process_labels_free(w.proc, p->nprocesses);
    return rc;
}
