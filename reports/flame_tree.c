/*
 * flame_tree.c - growing a flame graph's tree (flame.h's fl__tree): nodes
 * found by (thread, parent, frame) in a hash table as the builders add
 * them, then put in the graph's order without recursion.
 */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

void fl__tree_init(fl__tree *t, fl_graph *g)
{
    memset(t, 0, sizeof *t);
    t->g = g;
}

void fl__tree_release(fl__tree *t)
{
    free(t->slot);
    t->slot = NULL;
    t->nslots = 0;
}

static uint64_t key_hash(uint32_t thread, uint32_t parent, uint32_t frame)
{
    uint64_t h = ((uint64_t)parent << 32 | frame) * 0x9e3779b97f4a7c15ull;
    h ^= (h >> 31) ^ (uint64_t)thread * 0xff51afd7ed558ccdull;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static int rehash(fl__tree *t, size_t nslots)
{
    uint32_t *slot = calloc(nslots, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < t->g->nnodes; i++) {
        const fl_node *n = &t->g->nodes[i];
        size_t j = key_hash(n->thread, n->parent, n->frame) & (nslots - 1);
        while (slot[j])
            j = (j + 1) & (nslots - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->nslots = nslots;
    return 0;
}

int64_t fl__tree_node(fl__tree *t, uint32_t thread, uint32_t parent, uint32_t frame)
{
    fl_graph *g = t->g;
    if (2 * (g->nnodes + 1) > t->nslots && rehash(t, t->nslots ? 2 * t->nslots : 64) < 0)
        return -1;
    size_t j = key_hash(thread, parent, frame) & (t->nslots - 1);
    for (; t->slot[j]; j = (j + 1) & (t->nslots - 1)) {
        const fl_node *n = &g->nodes[t->slot[j] - 1];
        if (n->thread == thread && n->parent == parent && n->frame == frame)
            return t->slot[j] - 1;
    }
    if (g->nnodes >= FL_NO_NODE - 1)
        return -1;
    if (g->nnodes == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        fl_node *v = realloc(g->nodes, cap * sizeof *v);
        if (!v)
            return -1;
        g->nodes = v;
        t->cap = cap;
    }
    g->nodes[g->nnodes] = (fl_node){parent, frame, thread, 0, 0, 0, 0};
    t->slot[j] = (uint32_t)g->nnodes + 1;
    return (int64_t)g->nnodes++;
}

typedef struct kid {
    uint64_t key;             /* a root's thread and frame; a child's frame */
    uint32_t node;
} kid;

static int by_key(const void *a, const void *b)
{
    const kid *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

/* The kept nodes by parent, the roots as the children of n: the
 * children of i are kids[first[i] .. first[i + 1]), sorted. */
static void group_kids(const fl_graph *g, const unsigned char *keep, uint32_t *first, kid *kids)
{
    size_t n = g->nnodes;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            first[g->nodes[i].parent == FL_NO_NODE ? n : g->nodes[i].parent]++;
    for (size_t i = 0; i < n; i++)   /* first[i]: where i's group ends */
        first[i + 1] += first[i];
    first[n + 1] = first[n];
    for (size_t i = n; i-- > 0;) {
        if (!keep[i])
            continue;
        const fl_node *v = &g->nodes[i];
        int root = v->parent == FL_NO_NODE;
        kids[--first[root ? n : v->parent]] =
            (kid){root ? (uint64_t)v->thread << 32 | v->frame : v->frame, (uint32_t)i};
    }
    for (size_t i = 0; i <= n; i++)
        if (first[i + 1] - first[i] > 1)
            qsort(kids + first[i], first[i + 1] - first[i], sizeof *kids, by_key);
}

/* keep[i]: node i's subtree weighs something (in either metric with
 * `both`); subtree sums from the leaves up, as children come after their
 * parent. */
static void keep_nonzero(const fl_graph *g, int both, uint64_t *sum, unsigned char *keep)
{
    size_t n = g->nnodes;
    for (size_t i = 0; i < n; i++) {
        sum[i] = g->nodes[i].weight;
        keep[i] = g->nodes[i].instructions || g->nodes[i].time_ns;
    }
    for (size_t i = n; i-- > 0;) {
        uint32_t up = g->nodes[i].parent;
        if (up != FL_NO_NODE) {
            sum[up] = pf_add_sat(sum[up], sum[i]);
            keep[up] |= keep[i];
        }
    }
    for (size_t i = 0; i < n; i++)
        keep[i] = sum[i] || (both && keep[i]);
}

/* The frames the nodes use, in their order; the others freed. */
static void drop_frames(fl_graph *g, uint32_t *to)
{
    size_t k = 0;
    for (size_t i = 0; i < g->nnodes; i++)
        to[g->nodes[i].frame] = 1;
    for (size_t f = 0; f < g->nframes; f++) {
        if (to[f]) {
            g->frames[k] = g->frames[f];
            to[f] = (uint32_t)k++;
        } else {
            free(g->frames[f].name);
            free(g->frames[f].file);
        }
    }
    g->nframes = k;
    for (size_t i = 0; i < g->nnodes; i++)
        g->nodes[i].frame = to[g->nodes[i].frame];
}

int fl__tree_finish(fl__tree *t, int both)
{
    fl_graph *g = t->g;
    size_t n = g->nnodes, m = 0, top = 0;
    fl__tree_release(t);
    uint64_t *sum = malloc((n + 1) * sizeof *sum);
    unsigned char *keep = malloc(n + 1);
    uint32_t *first = calloc(n + 2, sizeof *first), *order = malloc((n + 1) * sizeof *order);
    uint32_t *stack = malloc((n + 1) * sizeof *stack);
    uint32_t *frame_to = calloc(g->nframes + 1, sizeof *frame_to);
    kid *kids = malloc((n + 1) * sizeof *kids);
    fl_node *out = NULL;
    int rc = -1;
    g->thread_total = calloc(g->nthreads + 1, sizeof *g->thread_total);
    if (!sum || !keep || !first || !order || !stack || !frame_to || !kids || !g->thread_total)
        goto done;
    for (size_t i = 0; i < n; i++) {
        fl_node *v = &g->nodes[i];
        v->weight = g->metric == FL_METRIC_TIME ? v->time_ns : v->instructions;
    }
    keep_nonzero(g, both, sum, keep);
    group_kids(g, keep, first, kids);
    /* depth first, with a stack of our own: a deep tree is a deep recursion */
    for (size_t k = first[n + 1]; k-- > first[n];)
        stack[top++] = kids[k].node;
    while (top) {
        uint32_t v = stack[--top];
        order[v] = (uint32_t)m++;
        for (size_t k = first[v + 1]; k-- > first[v];)
            stack[top++] = kids[k].node;
    }
    if (!(out = malloc((m + 1) * sizeof *out)))
        goto done;
    for (size_t i = 0; i < n; i++)
        if (keep[i]) {
            fl_node *v = &out[order[i]];
            *v = g->nodes[i];
            v->parent = v->parent == FL_NO_NODE ? FL_NO_NODE : order[v->parent];
        }
    free(g->nodes);
    g->nodes = out;
    g->nnodes = m;
    drop_frames(g, frame_to);
    for (size_t i = 0; i < m; i++) {
        fl_node *v = &out[i];
        v->depth = v->parent == FL_NO_NODE ? 0 : out[v->parent].depth + 1;
        g->height = v->depth + 1 > g->height ? v->depth + 1 : g->height;
        g->total += v->weight;
        g->thread_total[v->thread] += v->weight;
    }
    rc = 0;
done:
    free(sum);
    free(keep);
    free(first);
    free(order);
    free(stack);
    free(frame_to);
    free(kids);
    return rc;
}
