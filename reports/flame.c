/*
 * flame.c - the graph the flame-graph writers draw (flame.h): the call
 * tree of the profile with its frames merged by name, built and ordered
 * without recursion, in time and memory linear in its nodes.
 */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

/* ---- building ---------------------------------------------------------- */

typedef struct builder {
    const pf_profile *p;
    fl_graph *g;
    fl__tree t;
    int opcodes;
    uint32_t *op_name;        /* opcode index -> distinct-name index */
    const char **names;       /* distinct opcode names, sorted */
    size_t nnames;
    uint32_t *frame_of;       /* key -> frame; keys: function ids, then nfunctions + name,
                                 then proc_base + process */
    char **proc;              /* multi-process: the processes' root frames; else NULL */
    size_t proc_base;
    pf_opcount *by_name;      /* scratch: one node's opcodes summed by name ... */
    uint32_t *touched;        /* ... and which names they have */
} builder;

typedef struct named {
    const char *name;
    size_t index;
} named;

static int by_name(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->index > y->index) - (x->index < y->index);
}

static int opnames_init(builder *b)
{
    const pf_profile *p = b->p;
    size_t n = p->nopnames;
    named *v = malloc((n ? n : 1) * sizeof *v);
    b->op_name = malloc((n ? n : 1) * sizeof *b->op_name);
    b->names = malloc((n ? n : 1) * sizeof *b->names);
    b->by_name = calloc(n + 1, sizeof *b->by_name);
    b->touched = malloc((n + 1) * sizeof *b->touched);
    if (!v || !b->op_name || !b->names || !b->by_name || !b->touched) {
        free(v);
        return -1;
    }
    for (size_t i = 0; i < n; i++)   /* as profile_json.c names an unnamed one */
        v[i] = (named){p->opnames[i] ? p->opnames[i] : "<unknown>", i};
    qsort(v, n, sizeof *v, by_name);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i].name, v[i - 1].name) != 0)
            b->names[b->nnames++] = v[i].name;
        b->op_name[v[i].index] = (uint32_t)(b->nnames - 1);
    }
    free(v);
    return 0;
}

/* Adds a node's self counts: with --opcodes, a leaf per opcode name under
 * it (what the opcodes do not account for stays on the node itself). */
static int add_self(builder *b, uint32_t node, const pf_opcount *ops, size_t nops,
                    uint64_t instructions, uint64_t time_ns, char *err, size_t errlen)
{
    fl_graph *g = b->g;
    size_t nt = 0, base = b->p->nfunctions;
    uint64_t ci = 0, ct = 0;
    for (size_t i = 0; b->opcodes && i < nops; i++) {
        if (ops[i].op >= b->p->nopnames || (!ops[i].count && !ops[i].time_ns))
            continue;
        pf_opcount *s = &b->by_name[b->op_name[ops[i].op]];
        if (!s->count && !s->time_ns)
            b->touched[nt++] = b->op_name[ops[i].op];
        s->count += ops[i].count;
        s->time_ns += ops[i].time_ns;
        ci += ops[i].count;
        ct += ops[i].time_ns;
    }
    int inconsistent = ci > instructions || ct > time_ns, oom = 0;
    for (size_t i = 0; i < nt; i++) {   /* the scratch is left zeroed whatever happens */
        pf_opcount s = b->by_name[b->touched[i]];
        b->by_name[b->touched[i]] = (pf_opcount){0, 0, 0};
        if (inconsistent || oom)
            continue;
        int64_t k = fl__tree_node(&b->t, g->nodes[node].thread, node,
                                  b->frame_of[base + b->touched[i]]);
        if (k < 0) {
            oom = 1;
            continue;
        }
        g->nodes[k].instructions += s.count;
        g->nodes[k].time_ns += s.time_ns;
    }
    if (inconsistent || oom) {
        snprintf(err, errlen, "%s", oom ? "out of memory" : "inconsistent profile: the "
                 "opcodes of a path add up to more than the path");
        return -1;
    }
    g->nodes[node].instructions += instructions - ci;
    g->nodes[node].time_ns += time_ns - ct;
    return 0;
}

/* Threads by name, in order of first appearance on a call tree's root. */
static int group_threads(builder *b, int by_thread, uint32_t **group_of)
{
    const pf_profile *p = b->p;
    fl_graph *g = b->g;
    *group_of = calloc(p->nthreads + 1, sizeof **group_of);
    g->threads = calloc(p->nthreads + 1, sizeof *g->threads);
    if (!*group_of || !g->threads)
        return -1;
    if (!by_thread || !g->from_stacks) {
        g->threads[g->nthreads++] = "all threads";
        return 0;
    }
    for (size_t i = 0; i < p->nthreads; i++)
        (*group_of)[i] = UINT32_MAX;
    for (size_t i = 0; i < p->nnodes; i++) {
        uint32_t t = p->nodes[i].thread;
        if (p->nodes[i].parent != PF_NO_NODE || t >= p->nthreads ||
            (*group_of)[t] != UINT32_MAX)
            continue;
        const char *name = p->threads[t] ? p->threads[t] : "?";
        size_t k = 0;
        while (k < g->nthreads && strcmp(g->threads[k], name) != 0)
            k++;
        if (k == g->nthreads)
            g->threads[g->nthreads++] = name;
        (*group_of)[t] = (uint32_t)k;
    }
    if (!g->nthreads)   /* nodes that name no thread (not from opprof) */
        g->threads[g->nthreads++] = "?";
    return 0;
}

/* The profile's call tree, node by node (parents come first). */
static int collect_nodes(builder *b, const uint32_t *group_of, char *err, size_t errlen)
{
    const pf_profile *p = b->p;
    uint32_t *at = malloc((p->nnodes + 1) * sizeof *at);   /* profile node -> graph node */
    size_t most = 1;
    for (size_t i = 0; i < p->nnodes; i++)
        most = p->nodes[i].nops + p->nodes[i].ntimes > most
                   ? p->nodes[i].nops + p->nodes[i].ntimes : most;
    pf_opcount *ops = malloc(most * sizeof *ops);   /* one node's, counts and times */
    if (!at || !ops) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i];
        if (s->function >= p->nfunctions || (s->parent != PF_NO_NODE && s->parent >= i)) {
            snprintf(err, errlen, "inconsistent profile: node %zu has no function, or its "
                     "parent comes after it", i);
            goto fail;
        }
        uint32_t parent = s->parent == PF_NO_NODE ? FL_NO_NODE : at[s->parent];
        /* a callee runs on its caller's thread */
        uint32_t thread = parent != FL_NO_NODE ? b->g->nodes[parent].thread
                          : s->thread < p->nthreads && group_of[s->thread] != UINT32_MAX
                              ? group_of[s->thread] : 0;
        if (parent == FL_NO_NODE && b->proc) {
            int64_t r = fl__tree_node(&b->t, thread, FL_NO_NODE,
                                      b->frame_of[b->proc_base + fl_thread_process(p, s->thread)]);
            if (r < 0) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            parent = (uint32_t)r;
        }
        int64_t k = fl__tree_node(&b->t, thread, parent, b->frame_of[s->function]);
        if (k < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        at[i] = (uint32_t)k;
        size_t nops = pf_node_opcounts(s, ops);
        if (add_self(b, at[i], ops, nops, s->instructions, s->time_ns, err, errlen) < 0)
            goto fail;
    }
    free(ops);
    free(at);
    return 0;
fail:
    free(ops);
    free(at);
    return -1;
}

static uint32_t process_frame(const builder *b, uint32_t process)
{
    return b->frame_of[b->proc_base + (process < b->p->nprocesses ? process : 0)];
}

/* Without stacks, a function that ran in several processes: each its
 * share under its process.  Which opcodes ran in which process is not
 * kept, so it has no opcode frames. */
static int split_function(builder *b, size_t i, char *err, size_t errlen)
{
    const pf_function *f = &b->p->functions[i];
    for (size_t k = 0; k < f->nper_process; k++) {
        const pf_proc_count *c = &f->per_process[k];
        int64_t r = fl__tree_node(&b->t, 0, FL_NO_NODE, process_frame(b, c->process));
        int64_t n = r < 0 ? -1 : fl__tree_node(&b->t, 0, (uint32_t)r, b->frame_of[i]);
        if (n < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        b->g->nodes[n].instructions += c->instructions;
        b->g->nodes[n].time_ns += c->time_ns;
    }
    return 0;
}

/* Without stacks: each function a root (under its process with several),
 * its instructions as its opcodes. */
static int collect_functions(builder *b, char *err, size_t errlen)
{
    const pf_profile *p = b->p;
    /* one entry per executed instruction: a function can run more than
     * there are opcode names (add_self sums them by name) */
    size_t most = 0;
    for (size_t i = 0; i < p->nfunctions; i++)
        most = p->functions[i].ncode > most ? p->functions[i].ncode : most;
    pf_opcount *ops = calloc(most + 1, sizeof *ops);
    if (!ops) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        size_t nops = 0;
        if (b->proc && f->nper_process > 1) {
            rc = split_function(b, i, err, errlen);
            continue;
        }
        for (size_t k = 0; b->opcodes && k < f->ncode; k++)
            ops[nops++] = (pf_opcount){f->code[k].op, f->code[k].count, pf_instr_time(f, k)};
        uint32_t proc = f->nper_process ? f->per_process[0].process : f->process;
        int64_t r = b->proc ? fl__tree_node(&b->t, 0, FL_NO_NODE, process_frame(b, proc))
                            : FL_NO_NODE;
        int64_t k = r < 0 ? -1 : fl__tree_node(&b->t, 0, (uint32_t)r, b->frame_of[i]);
        if (k < 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            rc = add_self(b, (uint32_t)k, ops, nops, f->instructions, f->time_ns, err, errlen);
        }
    }
    free(ops);
    return rc;
}

/* ---- frames ------------------------------------------------------------ */

static char *dupf(const char *fmt, const char *a, const char *b, int n)
{
    size_t len = strlen(fmt) + strlen(a) + strlen(b) + 16;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, fmt, a, b, n);
    return s;
}

const char *fl_relative_file(const pf_profile *p, const char *file)
{
    size_t n = p->root ? strlen(p->root) : 0;
    while (n > 0 && p->root[n - 1] == '/')
        n--;
    if (!file)
        return "?";
    if (n > 0 && strncmp(file, p->root, n) == 0 && file[n] == '/' && file[n + 1])
        return file + n + 1;
    return file;
}

static int key_frame(builder *b, uint32_t key, fl_frame *fr)
{
    const pf_profile *p = b->p;
    if (key >= b->proc_base) {
        fr->name = strdup(b->proc[key - b->proc_base]);
        fr->file = NULL;
        fr->line = -1;
        fr->function = FL_NO_FUNCTION;
        return fr->name ? 0 : -1;
    }
    if (key >= p->nfunctions) {
        fr->name = dupf("[%s]%s", b->names[key - p->nfunctions], "", 0);
        fr->file = NULL;
        fr->line = -1;
        fr->function = FL_NO_FUNCTION;
        return fr->name ? 0 : -1;
    }
    const pf_function *f = &p->functions[key];
    fr->file = strdup(fl_relative_file(p, f->file));
    fr->name = fr->file ? dupf("%s (%s:%d)", f->qualname ? f->qualname : "?", fr->file,
                               f->firstlineno)
                        : NULL;
    fr->line = f->firstlineno;
    fr->function = key;
    return fr->name ? 0 : -1;
}

typedef struct keyed {
    fl_frame frame;
    uint32_t key;
} keyed;

static int by_frame_name(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int d = strcmp(x->frame.name, y->frame.name);
    return d ? d : (x->key > y->key) - (x->key < y->key);
}

/* The frames nodes may use (the functions on the call tree, or all of
 * them without stacks; the opcode names with --opcodes), by name, one per
 * name: frame_of[key].  fl__tree_finish() keeps those in use. */
static int make_frames(builder *b)
{
    const pf_profile *p = b->p;
    fl_graph *g = b->g;
    size_t nkeys = b->proc_base + (b->proc ? p->nprocesses : 0), n = 0;
    keyed *v = NULL;
    int rc = -1;
    b->frame_of = malloc((nkeys + 1) * sizeof *b->frame_of);
    if (!b->frame_of)
        return -1;
    memset(b->frame_of, 0xff, (nkeys + 1) * sizeof *b->frame_of);
    for (size_t i = 0; !g->from_stacks && i < p->nfunctions; i++)
        b->frame_of[i] = 0;   /* 0: wanted, for now */
    for (size_t i = 0; g->from_stacks && i < p->nnodes; i++)
        if (p->nodes[i].function < p->nfunctions)
            b->frame_of[p->nodes[i].function] = 0;
    for (size_t k = 0; b->opcodes && k < b->nnames; k++)
        b->frame_of[p->nfunctions + k] = 0;
    for (size_t key = b->proc_base; key < nkeys; key++)
        b->frame_of[key] = 0;
    for (size_t key = 0; key < nkeys; key++)
        n += b->frame_of[key] != UINT32_MAX;
    v = calloc(n + 1, sizeof *v);
    g->frames = calloc(n + 1, sizeof *g->frames);
    if (!v || !g->frames)
        goto done;
    n = 0;
    for (uint32_t key = 0; key < nkeys; key++)
        if (b->frame_of[key] != UINT32_MAX) {
            v[n].key = key;
            if (key_frame(b, key, &v[n++].frame) < 0)
                goto done;
        }
    qsort(v, n, sizeof *v, by_frame_name);
    for (size_t i = 0; i < n; i++) {
        if (g->nframes && strcmp(g->frames[g->nframes - 1].name, v[i].frame.name) == 0) {
            free(v[i].frame.name);   /* two lambdas of one line look the same anyway */
            free(v[i].frame.file);
        } else {
            g->frames[g->nframes++] = v[i].frame;
        }
        v[i].frame.name = v[i].frame.file = NULL;
        b->frame_of[v[i].key] = (uint32_t)(g->nframes - 1);
    }
    rc = 0;
done:
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].frame.name);
        free(v[i].frame.file);
    }
    free(v);
    return rc;
}

static void builder_release(builder *b, uint32_t *group_of)
{
    fl__tree_release(&b->t);
    free(b->op_name);
    free(b->names);
    free(b->frame_of);
    free(b->by_name);
    free(b->touched);
    fl_process_labels_free(b->proc, b->p->nprocesses);
    free(group_of);
}

int fl_build(const pf_profile *p, const fl_options *o, int flags, fl_graph *g, char *err,
             size_t errlen)
{
    memset(g, 0, sizeof *g);
    builder b = {.p = p, .g = g, .opcodes = o->opcodes};
    uint32_t *group_of = NULL;
    fl__tree_init(&b.t, g);
    err[0] = 0;
    if (fl_metric_for(p, o->metric, &g->metric, err, errlen) < 0)
        return -1;
    if (p->native && p->nnative_stacks && g->metric == FL_METRIC_TIME)
        return fl__build_native(p, flags, g, err, errlen);
    g->from_stacks = p->stacks_enabled;
    if (opnames_init(&b) < 0)
        goto fail;
    b.proc_base = p->nfunctions + b.nnames;
    if ((fl_multiprocess(p) && !(b.proc = fl_process_labels(p))) ||
        group_threads(&b, (flags & FL_BY_THREAD) != 0, &group_of) < 0 || make_frames(&b) < 0)
        goto fail;
    if ((g->from_stacks ? collect_nodes(&b, group_of, err, errlen)
                        : collect_functions(&b, err, errlen)) < 0 ||
        fl__tree_finish(&b.t, (flags & FL_BOTH_METRICS) != 0) < 0)
        goto fail;
    uint64_t want = g->metric == FL_METRIC_TIME ? p->time_ns : p->instructions;
    if (g->total != want) {
        snprintf(err, errlen, "inconsistent profile: its %s add up to %llu %s, its total is "
                 "%llu", g->from_stacks ? "stacks" : "functions", (unsigned long long)g->total,
                 g->metric == FL_METRIC_TIME ? "ns" : "instructions",
                 (unsigned long long)want);
        goto fail;
    }
    builder_release(&b, group_of);
    return 0;
fail:
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    builder_release(&b, group_of);
    fl_release(g);
    return -1;
}

void fl_release(fl_graph *g)
{
    for (size_t i = 0; i < g->nframes; i++) {
        free(g->frames[i].name);
        free(g->frames[i].file);
    }
    free(g->frames);
    free(g->nodes);
    free(g->threads);
    free(g->thread_total);
    memset(g, 0, sizeof *g);
}
