/*
 * merge.c - profile + profile.
 */
#include "merge.h"
#include "merge_fn.h"
#include "profile_read.h"
#include "sourcetext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- one input into the sum ------------------------------------------ */

#define NODE_UNSET UINT32_MAX

/* Where an input's parts go in the sum, built as the input is read
 * (pf_merger_read) or all at once (pf_merger_add). */
typedef struct input_map {
    int begun;
    uint16_t *opmap;          /* the input's opcode indices to the sum's */
    uint32_t *ids;            /* per input function: the sum's */
    size_t nids, capids;
    mf_index rx;              /* the input's functions by key: their ranks */
    uint32_t *nodemap;        /* per input node: the sum's, or NODE_UNSET */
    size_t capnodes;
    uint32_t *threads;        /* the input's threads to the sum's; NULL until known */
    int any_node, any_sites;  /* it has nodes; some with sites */
    mp_map procs;             /* its processes to the sum's; built when read */
    struct fn_share {
        uint32_t fn;          /* the sum's function */
        pf_proc_count c;      /* what one of the input's processes (its
                                 index) ran of it; into the sum once the
                                 input's processes are known */
    } *pp;
    size_t npp, cappp;
} input_map;

struct pf_merger {
    pf_profile *p;            /* the sum so far; NULL before the first */
    pf_profile *first;        /* its header: the interpreter all must share */
    pf_node_index *x;
    mf_index fx;              /* p's functions by key */
    size_t n;
    int no_sites;             /* an input had nodes without sites: the sum keeps none */
    input_map in;             /* the input being added */
};

static void input_release(input_map *im)
{
    free(im->opmap);
    free(im->ids);
    mf_index_release(&im->rx);
    free(im->nodemap);
    free(im->threads);
    mp_map_release(&im->procs);
    free(im->pp);
    memset(im, 0, sizeof *im);
}

/* Before an input's first function: its opcodes (read before its
 * functions) into the sum's table, and the sum itself for the first. */
static int begin_input(pf_merger *m, const pf_profile *p)
{
    input_map *im = &m->in;
    if (im->begun)
        return 0;
    if (!m->p && (!(m->p = pf_profile_new()) || !(m->x = pf_node_index_new(m->p))))
        return -1;
    if (!(im->opmap = calloc(p->nopnames + 1, sizeof *im->opmap)))
        return -1;
    for (size_t i = 0; i < p->nopnames; i++) {
        int op = pf_opname_index(m->p, pf_opname(p, (unsigned)i));
        if (op < 0)
            return -1;
        im->opmap[i] = (uint16_t)op;
    }
    im->begun = 1;
    return 0;
}

/* The input's function i (the next one) into the sum: the k-th function
 * of a key in the input is the k-th of that key in the sum. */
static int add_function(pf_merger *m, const pf_profile *p, size_t i, pf_function *own)
{
    input_map *im = &m->in;
    if (begin_input(m, p) < 0 || mf_add(&im->rx, p->functions, (uint32_t)i) < 0)
        return -1;
    size_t rank = 0;
    for (uint32_t k = mf_first(&im->rx, p->functions, &p->functions[i]); k != (uint32_t)i;
         k = im->rx.next[k])
        rank++;
    if (i >= im->capids) {
        size_t cap = im->capids ? 2 * im->capids : 1024;
        uint32_t *v = realloc(im->ids, cap * sizeof *v);
        if (!v)
            return -1;
        im->ids = v;
        im->capids = cap;
    }
    im->nids = i + 1;
    const pf_function *f = &p->functions[i];
    pf_proc_count whole = {f->process, f->calls, f->instructions, f->time_ns};
    const pf_proc_count *c = f->nper_process ? f->per_process : &whole;
    size_t n = f->nper_process ? f->nper_process : 1;
    if (im->npp + n > im->cappp) {
        size_t cap = im->cappp ? 2 * im->cappp : 1024;
        while (cap < im->npp + n)
            cap *= 2;
        struct fn_share *v = realloc(im->pp, cap * sizeof *v);
        if (!v)
            return -1;
        im->pp = v;
        im->cappp = cap;
    }
    if (mf_merge_function(m->p, &m->fx, f, own, rank, &im->ids[i], im->opmap) < 0)
        return -1;
    for (size_t k = 0; k < n; k++)
        im->pp[im->npp++] = (struct fn_share){im->ids[i], c[k]};
    return 0;
}

/* What each process of the input ran of each function, into the sum's
 * functions: a function new to the sum ran first in its first process. */
static int add_per_process(pf_merger *m, const pf_profile *p)
{
    input_map *im = &m->in;
    if (mp_map_input(m->p, p, m->n == 0, &im->procs) < 0)
        return -1;
    for (size_t k = 0; k < im->npp; k++) {
        pf_proc_count c = im->pp[k].c;
        c.process = c.process < im->procs.n ? im->procs.to[c.process] : 0;
        pf_function *g = &m->p->functions[im->pp[k].fn];
        if (!g->nper_process)
            g->process = c.process;
        if (pf_function_add_per_process(g, &c) < 0)
            return -1;
    }
    return 0;
}

/* Node i of the input, as s says (parents come first, so its parent has
 * its node in the sum), into its node in the sum: counts, times, totals. */
static int place_node(pf_merger *m, const pf_profile *p, size_t i, const pf_node *s)
{
    input_map *im = &m->in;
    if (!im->threads) {
        if (!(im->threads = malloc((p->nthreads + 1) * sizeof *im->threads)))
            return -1;
        if (mp_map_input(m->p, p, m->n == 0, &im->procs) < 0)
            return -1;
        for (size_t t = 0; t < p->nthreads; t++) {
            const char *name = p->threads[t] ? p->threads[t] : "?";
            uint32_t proc = p->thread_process[t];
            int k = im->procs.own_processes
                        ? pf_thread_index_in(m->p, name, proc < im->procs.n ? im->procs.to[proc]
                                                                            : 0)
                        : pf_thread_index(m->p, name);
            if (k < 0)
                return -1;
            im->threads[t] = (uint32_t)k;
        }
    }
    if (i >= im->capnodes) {
        size_t cap = im->capnodes ? 2 * im->capnodes : 4096;
        while (cap <= i)
            cap *= 2;
        uint32_t *v = realloc(im->nodemap, cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t k = im->capnodes; k < cap; k++)
            v[k] = NODE_UNSET;
        im->nodemap = v;
        im->capnodes = cap;
    }
    if (s->function >= im->nids || (s->parent != PF_NO_NODE && s->parent >= i))
        return -1;   /* the reader checked both */
    uint32_t parent = s->parent == PF_NO_NODE ? PF_NO_NODE : im->nodemap[s->parent];
    uint32_t thread = s->thread < p->nthreads ? im->threads[s->thread] : 0;
    int64_t k = pf_node_get(m->x, m->p, parent, im->ids[s->function], s->callsite, thread);
    if (k < 0)
        return -1;
    im->nodemap[i] = (uint32_t)k;
    pf_node *t = &m->p->nodes[k];
    t->instructions = pf_add_sat(t->instructions, s->instructions);
    t->time_ns = pf_add_sat(t->time_ns, s->time_ns);
    im->any_node = 1;
    if (s->nsites || s->nsite_times) {
        im->any_sites = 1;
        if (!m->no_sites && pf_node_add_sites(t, s->sites, s->nsites, s->nsite_times,
                                              im->opmap) < 0)
            return -1;
    }
    return add_ops(t, s, im->opmap);
}

static int hook_function(void *ctx, pf_profile *p, size_t i)
{
    pf_merger *m = ctx;
    pf_function *f = &p->functions[i];
    if (add_function(m, p, i, f) < 0)
        return -1;
    /* in the sum now (or taken by it): not kept twice */
    pf_function_drop_code(f);
    return 0;
}

static int hook_node(void *ctx, const pf_profile *p, size_t i, const pf_node *n)
{
    return place_node(ctx, p, i, n);
}

static int hook_node_time(void *ctx, const pf_profile *p, size_t i, uint16_t op, uint64_t t)
{
    (void)p;
    pf_merger *m = ctx;
    if (i >= m->in.capnodes || m->in.nodemap[i] == NODE_UNSET)
        return -1;   /* the reader hands every node over before any time */
    return pf_node_add_op(&m->p->nodes[m->in.nodemap[i]], m->in.opmap[op], 0, t);
}

static int hook_node_sites(void *ctx, const pf_profile *p, size_t i, const pf_site *sites,
                           uint32_t nsites, uint32_t ntimes)
{
    (void)p;
    pf_merger *m = ctx;
    if (i >= m->in.capnodes || m->in.nodemap[i] == NODE_UNSET)
        return -1;   /* the reader hands every node over before any site */
    m->in.any_sites = 1;
    return m->no_sites ? 0 : pf_node_add_sites(&m->p->nodes[m->in.nodemap[i]], sites, nsites,
                                               ntimes, m->in.opmap);
}

/* The rest of an input once read: its header, what no hook took, and its
 * totals. */
static int end_input(pf_merger *m, const pf_profile *p, char *err, size_t errlen)
{
    input_map *im = &m->in;
    if (m->first && !pf_same_interpreter(m->first, p)) {
        snprintf(err, errlen, "profile %zu comes from another interpreter (%s, not %s): "
                 "merging would mix different bytecode", m->n + 1,
                 p->python_version ? p->python_version : "?",
                 m->first->python_version ? m->first->python_version : "?");
        return -1;
    }
    snprintf(err, errlen, "out of memory");
    if (begin_input(m, p) < 0)
        return -1;
    if (!m->first && (!(m->first = pf_profile_new()) || copy_header(m->first, p) < 0 ||
                      copy_header(m->p, p) < 0))
        return -1;
    for (size_t i = im->nids; i < p->nfunctions; i++)
        if (add_function(m, p, i, NULL) < 0)
            return -1;
    if (add_per_process(m, p) < 0)
        return -1;
    pf_profile *out = m->p;
    int child = im->procs.same_run;   /* a process of the sum's run */
    for (size_t i = 0; i < p->nnodes; i++)   /* those no hook took */
        if (place_node(m, p, i, &p->nodes[i]) < 0)
            return -1;
    if (stx_merge(out, p) < 0)   /* the first input's text of a line wins */
        return -1;
    out->instructions = pf_add_sat(out->instructions, p->instructions);
    if (!child) {   /* a child ran within its parent's wall time */
        out->wall_ns = pf_add_sat(out->wall_ns, p->wall_ns);
        out->exit_ns = pf_add_sat(out->exit_ns, p->exit_ns);
    }
    out->time_ns = pf_add_sat(out->time_ns, p->time_ns);
    out->samples = pf_add_sat(out->samples, p->samples);
    out->sampled_ns = pf_add_sat(out->sampled_ns, p->sampled_ns);
    out->overhead_ns = pf_add_sat(out->overhead_ns, p->overhead_ns);
    out->unattributed_ns = pf_add_sat(out->unattributed_ns, p->unattributed_ns);
    out->timed &= p->timed;  /* times of some runs only would mislead */
    out->counted &= p->counted;
    out->stacks_enabled &= p->stacks_enabled;
    if (!out->exit_status && !child)
        out->exit_status = p->exit_status;
    /* a child's status and completeness are its process's, not the run's */
    if (p->incomplete && !child &&
        pf_mark_incomplete(out, p->incomplete_reason ? p->incomplete_reason : "?") < 0)
        return -1;
    /* sites of some runs only would not add up to the nodes' counts */
    if (im->any_node && !im->any_sites && !m->no_sites) {
        m->no_sites = 1;
        for (size_t i = 0; i < out->nnodes; i++)
            pf_node_drop_sites(&out->nodes[i]);
    }
    input_release(im);
    m->n++;
    err[0] = 0;
    return 0;
}

pf_merger *pf_merger_new(void)
{
    return calloc(1, sizeof(pf_merger));
}

void pf_merger_release(pf_merger *m)
{
    if (!m)
        return;
    input_release(&m->in);
    pf_node_index_release(m->x);
    mf_index_release(&m->fx);
    pf_profile_release(m->p);
    pf_profile_release(m->first);
    free(m);
}

int pf_merger_add(pf_merger *m, const pf_profile *in, char *err, size_t errlen)
{
    return end_input(m, in, err, errlen);
}

/* path or f: pf_read_file_hooked or pf_read_stream_hooked */
static int merger_read(pf_merger *m, const char *path, FILE *f, char *err, size_t errlen)
{
    pf_read_hooks h = {hook_function, hook_node, hook_node_time, hook_node_sites, m};
    pf_profile *in = NULL;
    int rc = (f ? pf_read_stream_hooked(f, path, PF_KEEP_ALL, &h, &in, err, errlen)
                : pf_read_file_hooked(path, PF_KEEP_ALL, &h, &in, err, errlen)) < 0
                 ? -1
                 : end_input(m, in, err, errlen);
    pf_profile_release(in);
    return rc;
}

int pf_merger_read(pf_merger *m, const char *path, char *err, size_t errlen)
{
    return merger_read(m, path, NULL, err, errlen);
}

int pf_merger_read_stream(pf_merger *m, FILE *f, const char *name, char *err, size_t errlen)
{
    return merger_read(m, name, f, err, errlen);
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
