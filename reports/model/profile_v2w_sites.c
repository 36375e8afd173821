/*
 * profile_v2w_sites.c - the v2 writer's node sites (profile_v2w.h): what
 * each call path ran per line and opcode, with --lines.
 *
 * A node's sites are counted over its function's sites (the distinct
 * (line, op) of the function's instructions, which a reader finds the
 * same way), as its ops are over the opset: a test suite's nodes wrote
 * 4x fewer bytes so than as (line, op, count) triples.
 */
#include "profile_v2w.h"

#include <stdlib.h>

/* Every function's sites, found once: keys[f], nkeys[f]. */
typedef struct sitesets {
    uint64_t **keys;
    size_t *nkeys;
    size_t n;
} sitesets;

static void sitesets_release(sitesets *s)
{
    for (size_t f = 0; s->keys && f < s->n; f++)
        free(s->keys[f]);
    free(s->keys);
    free(s->nkeys);
}

static int sitesets_make(sitesets *s, const pf_profile *p)
{
    s->n = p->nfunctions;
    s->keys = calloc(s->n + 1, sizeof *s->keys);
    s->nkeys = calloc(s->n + 1, sizeof *s->nkeys);
    if (!s->keys || !s->nkeys)
        return -1;
    for (size_t f = 0; f < s->n; f++)
        if (pf_function_sitekeys(&p->functions[f], &s->keys[f], &s->nkeys[f]) < 0)
            return -1;
    return 0;
}

/* The index of v's (line, op) in keys[0..n), searched from *at on (v
 * rises); -1 when it is not there. */
static int64_t site_index(const uint64_t *keys, size_t n, size_t *at, const pf_site *v)
{
    uint64_t k = pf_site_key(v->line, v->op);
    while (*at < n && keys[*at] < k)
        ++*at;
    return *at < n && keys[*at] == k ? (int64_t)*at : -1;
}

/* One node's counts over its function's sites, trailing zeros left out,
 * as runs; 0, or -1 when a site is not among the function's. */
static int put_counts(jw *w, const pf_node *n, const uint64_t *keys, size_t nkeys)
{
    v2w_runs r = {w, 0, 0, 0};
    size_t at = 0, next = 0;
    jw_begin_array(w);
    for (size_t k = 0; k < n->nsites; k++) {
        int64_t i = site_index(keys, nkeys, &at, &n->sites[k]);
        if (i < 0)
            return -1;
        for (; next < (size_t)i; next++)
            v2w_runs_put(&r, 0);
        v2w_runs_put(&r, n->sites[k].v);
        next++;
    }
    v2w_runs_flush(&r);
    jw_end_array(w);
    return 0;
}

void v2w_put_node_sites(v2 *x)
{
    jw *w = x->w;
    const pf_profile *p = x->p;
    int any = 0;
    for (size_t i = 0; i < p->nnodes && !any; i++)
        any = p->nodes[i].nsites || p->nodes[i].nsite_times;
    if (!any)
        return;
    sitesets s = {0};
    if (sitesets_make(&s, p) < 0) {
        x->oom = 1;
        sitesets_release(&s);
        return;
    }
    jw_key(w, "sites");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *n = &p->nodes[i];
        if (put_counts(w, n, s.keys[n->function], s.nkeys[n->function]) < 0)
            x->oom = 1;   /* not a profile opprof makes: the write fails */
    }
    jw_end_array(w);
    if (p->timed) {
        jw_key(w, "site_times");   /* node, site, time_ns: the order reads back */
        jw_begin_array(w);
        for (size_t i = 0; i < p->nnodes; i++) {
            const pf_node *n = &p->nodes[i];
            const pf_site *t = pf_node_site_times(n);
            size_t at = 0;
            for (size_t k = 0; k < n->nsite_times; k++) {
                int64_t j = site_index(s.keys[n->function], s.nkeys[n->function], &at, &t[k]);
                if (j < 0) {
                    x->oom = 1;
                    continue;
                }
                jw_uint(w, i);
                jw_uint(w, (uint64_t)j);
                jw_uint(w, t[k].v);
            }
        }
        jw_end_array(w);
    }
    sitesets_release(&s);
}
