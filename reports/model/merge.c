/*
 * merge.c - profile + profile.
 */
#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_key(const pf_function *g, const pf_function *f)
{
    return g->firstlineno == f->firstlineno && g->scope == f->scope &&
           !strcmp(g->file, f->file) && !strcmp(g->qualname, f->qualname) &&
           !strcmp(g->name, f->name);
}

/* Adds f's instructions into g (union by offset); opmap takes p's
 * opcode indices to out's.  Times follow their instructions to their
 * places in the union. */
static int add_code(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    size_t n = 0, i = 0, j = 0;
    while (i < g->ncode || j < f->ncode) {   /* the union's size: most offsets are in both */
        int gi = j == f->ncode || (i < g->ncode && g->code[i].offset <= f->code[j].offset);
        int fj = i == g->ncode || (j < f->ncode && f->code[j].offset <= g->code[i].offset);
        i += gi;
        j += fj;
        n++;
    }
    pf_instr *v = malloc((n + 1) * sizeof *v);
    pf_itime *t = malloc((g->ntimes + f->ntimes + 1) * sizeof *t);
    if (!v || !t) {
        free(v);
        free(t);
        return -1;
    }
    size_t nt = 0, gt = 0, ft = 0;
    n = i = j = 0;
    while (i < g->ncode || j < f->ncode) {
        /* the times of g's i-th and f's j-th, if any, become the union's n-th */
        const pf_itime *a = gt < g->ntimes && g->times[gt].instr == i ? &g->times[gt] : NULL;
        if (j == f->ncode || (i < g->ncode && g->code[i].offset < f->code[j].offset)) {
            if (a) {
                t[nt++] = (pf_itime){(uint32_t)n, a->samples, a->time_ns};
                gt++;
            }
            v[n++] = g->code[i++];
            continue;
        }
        const pf_itime *b = ft < f->ntimes && f->times[ft].instr == j ? &f->times[ft] : NULL;
        pf_instr in = f->code[j++];
        in.op = opmap[in.op];
        uint64_t time = b ? b->time_ns : 0, samples = b ? b->samples : 0;
        ft += b != NULL;
        if (i < g->ncode && g->code[i].offset == in.offset) {
            /* the same offset with another opcode (edited code, same first
             * line): the name first seen stays, which keeps merging
             * associative */
            in.op = g->code[i].op;
            in.count = pf_add_sat(in.count, g->code[i].count);
            if (a) {
                time = pf_add_sat(time, a->time_ns);
                samples += a->samples;
                gt++;
            }
            i++;
        }
        if (time || samples)
            t[nt++] = (pf_itime){(uint32_t)n, pf_samples_sat(samples), time};
        v[n++] = in;
    }
    free(g->code);
    free(g->times);
    g->code = v;
    g->ncode = n;
    g->times = t;
    g->ntimes = nt;
    g->calls = pf_add_sat(g->calls, f->calls);
    g->instructions = pf_add_sat(g->instructions, f->instructions);
    g->time_ns = pf_add_sat(g->time_ns, f->time_ns);
    g->cumulative_ns = pf_add_sat(g->cumulative_ns, f->cumulative_ns);
    return 0;
}

/* The first profile's disassembly stays (the same key, the same code). */
static int copy_listing(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    if (f->codeinfo && !(g->codeinfo = pf_code_copy(f->codeinfo)))
        return -1;
    if (!f->nlisting)
        return 0;
    g->listing = calloc(f->nlisting, sizeof *g->listing);
    if (!g->listing)
        return -1;
    for (size_t i = 0; i < f->nlisting; i++) {
        pf_listing l = f->listing[i];
        l.argrepr = NULL;
        if (pf_set_string(&l.argrepr, f->listing[i].argrepr ? f->listing[i].argrepr : "") < 0)
            return -1;
        l.op = opmap[l.op];
        g->listing[g->nlisting++] = l;
    }
    return 0;
}

/* ---- functions by key -------------------------------------------------- */

/* Functions with one key form a chain, in order: `first` finds a key's
 * first function through a hash of its key, `next` links the others. */
typedef struct fn_index {
    uint32_t *slot;           /* first function of a key + 1; 0: empty */
    size_t cap, used;         /* cap: a power of two */
    uint32_t *next, *last;    /* per function: the next of its key; a chain's tail */
    size_t nfns;
} fn_index;

#define FN_NONE UINT32_MAX

static uint64_t fn_hash(const pf_function *f)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[] = {f->file, f->qualname, f->name};
    for (int i = 0; i < 3; i++)
        for (const char *c = parts[i] ? parts[i] : ""; ; c++) {
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (!*c)
                break;
        }
    h ^= (uint64_t)(uint32_t)f->firstlineno * 0x9e3779b97f4a7c15ull ^ (uint64_t)f->scope;
    return h ^ (h >> 29);
}

static void fn_index_release(fn_index *x)
{
    free(x->slot);
    free(x->next);
    free(x->last);
    memset(x, 0, sizeof *x);
}

/* The first function of f's key among fns, or FN_NONE. */
static uint32_t fn_first(const fn_index *x, const pf_function *fns, const pf_function *f)
{
    for (size_t j = fn_hash(f) & (x->cap - 1); x->slot[j]; j = (j + 1) & (x->cap - 1))
        if (same_key(&fns[x->slot[j] - 1], f))
            return x->slot[j] - 1;
    return FN_NONE;
}

/* Adds function i of fns (the newest) to the index.  0, or -1 on OOM. */
static int fn_add(fn_index *x, const pf_function *fns, uint32_t i)
{
    if (i >= x->nfns) {
        size_t n = x->nfns ? 2 * x->nfns : 256;
        uint32_t *nx = realloc(x->next, n * sizeof *nx), *ls = nx ? realloc(x->last, n * sizeof *ls) : NULL;
        if (nx)
            x->next = nx;
        if (!ls)
            return -1;
        x->last = ls;
        x->nfns = n;
    }
    x->next[i] = FN_NONE;
    uint32_t head = x->cap ? fn_first(x, fns, &fns[i]) : FN_NONE;
    if (head != FN_NONE) {
        x->next[x->last[head]] = i;
        x->last[head] = i;
        return 0;
    }
    if (2 * (x->used + 1) > x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 1024;
        uint32_t *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t k = 0; k < x->cap; k++) {
            if (!x->slot[k])
                continue;
            size_t j = fn_hash(&fns[x->slot[k] - 1]) & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = x->slot[k];
        }
        free(x->slot);
        x->slot = slot;
        x->cap = cap;
    }
    size_t j = fn_hash(&fns[i]) & (x->cap - 1);
    while (x->slot[j])
        j = (j + 1) & (x->cap - 1);
    x->slot[j] = i + 1;
    x->used++;
    x->last[i] = i;
    return 0;
}

/* The function in `out` that f is: the k-th function with f's key in
 * p (k = rank) is the k-th with that key in out, so two lambdas on one
 * line stay two functions, and merging stays associative. */
static int merge_function(pf_profile *out, fn_index *x, const pf_function *f, size_t rank,
                          uint32_t *id, const uint16_t *opmap)
{
    uint32_t k = x->cap ? fn_first(x, out->functions, f) : FN_NONE;
    while (k != FN_NONE && rank--)
        k = x->next[k];
    if (k != FN_NONE) {
        *id = k;
        return add_code(&out->functions[k], f, opmap);
    }
    pf_function *g = pf_add_function(out);
    if (!g)
        return -1;
    *id = g->id;
    g->firstlineno = f->firstlineno;
    g->scope = f->scope;
    if (pf_set_string(&g->file, f->file) < 0 || pf_set_string(&g->name, f->name) < 0 ||
        pf_set_string(&g->qualname, f->qualname) < 0 || copy_listing(g, f, opmap) < 0 ||
        fn_add(x, out->functions, g->id) < 0)
        return -1;
    return add_code(&out->functions[*id], f, opmap);
}

/* Each function's rank among those of its key in p. */
static size_t *ranks_of(const pf_profile *p)
{
    fn_index x = {0};
    size_t *rank = calloc(p->nfunctions + 1, sizeof *rank);
    for (size_t i = 0; rank && i < p->nfunctions; i++) {
        if (fn_add(&x, p->functions, (uint32_t)i) < 0) {
            free(rank);
            rank = NULL;
            break;
        }
        uint32_t head = fn_first(&x, p->functions, &p->functions[i]);
        for (uint32_t k = head; k != (uint32_t)i; k = x.next[k])
            rank[i]++;
    }
    fn_index_release(&x);
    return rank;
}

static int add_ops(pf_node *t, const pf_node *s, const uint16_t *opmap)
{
    for (size_t i = 0; i < s->nops; i++)
        if (pf_node_add_op(t, opmap[s->ops[i].op], s->ops[i].v, 0) < 0)
            return -1;
    for (size_t i = 0; i < s->ntimes; i++)
        if (pf_node_add_op(t, opmap[pf_node_times(s)[i].op], 0, pf_node_times(s)[i].v) < 0)
            return -1;
    return 0;
}

/* p's nodes into out's tree: parents come first, so each node's parent
 * is already mapped (nodemap). */
static int merge_nodes(pf_profile *out, const pf_profile *p, const uint32_t *ids,
                       const uint16_t *opmap, pf_node_index *x)
{
    uint32_t *nodemap = malloc((p->nnodes + 1) * sizeof *nodemap);
    uint32_t *threads = malloc((p->nthreads + 1) * sizeof *threads);
    int rc = -1;
    if (!nodemap || !threads)
        goto done;
    for (size_t i = 0; i < p->nthreads; i++) {
        int t = pf_thread_index(out, p->threads[i] ? p->threads[i] : "?");
        if (t < 0)
            goto done;
        threads[i] = (uint32_t)t;
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i];
        uint32_t parent = s->parent == PF_NO_NODE ? PF_NO_NODE : nodemap[s->parent];
        uint32_t thread = s->thread < p->nthreads ? threads[s->thread] : 0;
        int64_t k = pf_node_get(x, out, parent, ids[s->function], s->callsite, thread);
        if (k < 0)
            goto done;
        nodemap[i] = (uint32_t)k;
        pf_node *t = &out->nodes[k];
        t->instructions = pf_add_sat(t->instructions, s->instructions);
        t->time_ns = pf_add_sat(t->time_ns, s->time_ns);
        if (add_ops(t, s, opmap) < 0)
            goto done;
    }
    rc = 0;
done:
    free(nodemap);
    free(threads);
    return rc;
}

static int copy_header(pf_profile *out, const pf_profile *p)
{
    out->hexversion = p->hexversion;
    out->timed = p->timed;
    out->counted = p->counted;
    out->rate_hz = p->rate_hz;
    out->specialization = p->specialization;
    out->stacks_enabled = p->stacks_enabled;
    out->exit_status = p->exit_status;
    struct { char **dst; const char *src; } s[] = {
        {&out->python_version, p->python_version}, {&out->implementation, p->implementation},
        {&out->python_build, p->python_build}, {&out->python_prefix, p->python_prefix},
        {&out->executable, p->executable}, {&out->root, p->root},
        {&out->hash_seed, p->hash_seed}, {&out->collector, p->collector},
        {&out->timing_method, p->timing_method}, {&out->timing_clock, p->timing_clock},
    };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        if (s[i].src && pf_set_string(s[i].dst, s[i].src) < 0)
            return -1;
    return pf_set_argv(out, (const char *const *)p->argv, p->argc);
}

static int merge_one(pf_profile *out, const pf_profile *p, pf_node_index *x, fn_index *fx)
{
    uint32_t *ids = calloc(p->nfunctions + 1, sizeof *ids);
    uint16_t *opmap = calloc(p->nopnames + 1, sizeof *opmap);
    size_t *rank = ranks_of(p);
    int rc = ids && opmap && rank ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < p->nopnames; i++) {
        int op = pf_opname_index(out, pf_opname(p, (unsigned)i));
        rc = op < 0 ? -1 : 0;
        opmap[i] = (uint16_t)op;
    }
    for (size_t i = 0; rc == 0 && i < p->nfunctions; i++)
        rc = merge_function(out, fx, &p->functions[i], rank[i], &ids[i], opmap);
    if (rc == 0)
        rc = merge_nodes(out, p, ids, opmap, x);
    free(ids);
    free(opmap);
    free(rank);
    if (rc < 0)
        return -1;
    out->instructions = pf_add_sat(out->instructions, p->instructions);
    out->wall_ns = pf_add_sat(out->wall_ns, p->wall_ns);
    out->exit_ns = pf_add_sat(out->exit_ns, p->exit_ns);
    out->time_ns = pf_add_sat(out->time_ns, p->time_ns);
    out->samples = pf_add_sat(out->samples, p->samples);
    out->sampled_ns = pf_add_sat(out->sampled_ns, p->sampled_ns);
    out->overhead_ns = pf_add_sat(out->overhead_ns, p->overhead_ns);
    out->unattributed_ns = pf_add_sat(out->unattributed_ns, p->unattributed_ns);
    out->timed &= p->timed;  /* times of some runs only would mislead */
    out->counted &= p->counted;
    out->stacks_enabled &= p->stacks_enabled;
    if (!out->exit_status)
        out->exit_status = p->exit_status;
    if (p->incomplete)
        return pf_mark_incomplete(out, p->incomplete_reason ? p->incomplete_reason : "?");
    return 0;
}

struct pf_merger {
    pf_profile *p;            /* the sum so far; NULL before the first */
    pf_profile *first;        /* its header: the interpreter all must share */
    pf_node_index *x;
    fn_index fx;              /* p's functions by key */
    size_t n;
};

pf_merger *pf_merger_new(void)
{
    return calloc(1, sizeof(pf_merger));
}

void pf_merger_release(pf_merger *m)
{
    if (!m)
        return;
    pf_node_index_release(m->x);
    fn_index_release(&m->fx);
    pf_profile_release(m->p);
    pf_profile_release(m->first);
    free(m);
}

int pf_merger_add(pf_merger *m, const pf_profile *in, char *err, size_t errlen)
{
    if (m->first && !pf_same_interpreter(m->first, in)) {
        snprintf(err, errlen, "profile %zu comes from another interpreter (%s, not %s): "
                 "merging would mix different bytecode", m->n + 1,
                 in->python_version ? in->python_version : "?",
                 m->first->python_version ? m->first->python_version : "?");
        return -1;
    }
    int rc = 0;
    if (!m->p) {
        m->p = pf_profile_new();
        m->first = pf_profile_new();
        rc = m->p && m->first && copy_header(m->p, in) == 0 && copy_header(m->first, in) == 0 &&
             (m->x = pf_node_index_new(m->p)) ? 0 : -1;
    }
    if (rc == 0)
        rc = merge_one(m->p, in, m->x, &m->fx);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    m->n++;
    return 0;
}

int pf_merger_finish(pf_merger *m, pf_profile **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!m->p) {
        snprintf(err, errlen, "nothing to merge");
        return -1;
    }
    if (pf_ensure_process(m->p) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* sums past what a profile holds saturated: refused here, never
     * written for opprof to refuse later */
    char why[256];
    if (pf_check_sums(m->p, why, sizeof why) < 0) {
        snprintf(err, errlen, "the merged profile cannot be written: %s", why);
        return -1;
    }
    *out = m->p;
    m->p = NULL;
    return 0;
}

int pf_merge(pf_profile *const *in, size_t n, pf_profile **out, char *err, size_t errlen)
{
    *out = NULL;
    pf_merger *m = pf_merger_new();
    int rc = m ? 0 : -1;
    if (!m)
        snprintf(err, errlen, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = pf_merger_add(m, in[i], err, errlen);
    if (rc == 0)
        rc = pf_merger_finish(m, out, err, errlen);
    pf_merger_release(m);
    return rc;
}
