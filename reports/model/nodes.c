/*
 * nodes.c - finding call-tree nodes by key (profile.h: pf_node_index).
 *
 * Open addressing over node numbers; the keys live in p->nodes, so the
 * table is 4 bytes per slot and moving p->nodes costs it nothing.
 */
#include "profile.h"

#include <stdlib.h>

struct pf_node_index {
    uint32_t *slot;          /* node number + 1; 0: empty */
    size_t cap;              /* a power of two */
    size_t used;
};

static uint64_t key_hash(uint32_t parent, uint32_t function, int32_t callsite, uint32_t thread)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    uint64_t parts[4] = {parent, function, (uint32_t)callsite, thread};
    for (int i = 0; i < 4; i++) {
        h ^= parts[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdull;
    }
    return h ^ (h >> 33);
}

static uint64_t node_hash(const pf_node *n)
{
    return key_hash(n->parent, n->function, n->callsite, n->thread);
}

static int rehash(pf_node_index *x, const pf_profile *p, size_t cap)
{
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < x->cap; i++) {
        if (!x->slot[i])
            continue;
        size_t j = node_hash(&p->nodes[x->slot[i] - 1]) & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = x->slot[i];
    }
    free(x->slot);
    x->slot = slot;
    x->cap = cap;
    return 0;
}

static int insert(pf_node_index *x, const pf_profile *p, uint32_t node)
{
    if (2 * (x->used + 1) > x->cap && rehash(x, p, x->cap ? 2 * x->cap : 64) < 0)
        return -1;
    size_t j = node_hash(&p->nodes[node]) & (x->cap - 1);
    while (x->slot[j])
        j = (j + 1) & (x->cap - 1);
    x->slot[j] = node + 1;
    x->used++;
    return 0;
}

pf_node_index *pf_node_index_new(const pf_profile *p)
{
    pf_node_index *x = calloc(1, sizeof *x);
    if (!x || rehash(x, p, 64) < 0) {
        free(x);
        return NULL;
    }
    for (size_t i = 0; i < p->nnodes; i++)
        if (insert(x, p, (uint32_t)i) < 0) {
            pf_node_index_release(x);
            return NULL;
        }
    return x;
}

void pf_node_index_release(pf_node_index *x)
{
    if (x) {
        free(x->slot);
        free(x);
    }
}

int64_t pf_node_get(pf_node_index *x, pf_profile *p, uint32_t parent, uint32_t function,
                    int32_t callsite, uint32_t thread)
{
    size_t j = key_hash(parent, function, callsite, thread) & (x->cap - 1);
    for (; x->slot[j]; j = (j + 1) & (x->cap - 1)) {
        const pf_node *n = &p->nodes[x->slot[j] - 1];
        if (n->parent == parent && n->function == function && n->callsite == callsite &&
            n->thread == thread)
            return x->slot[j] - 1;
    }
    pf_node *n = pf_add_node(p);
    if (!n)
        return -1;
    n->parent = parent;
    n->function = function;
    n->callsite = callsite;
    n->thread = thread;
    if (insert(x, p, (uint32_t)(p->nnodes - 1)) < 0) {
        p->nnodes--;
        return -1;
    }
    return (int64_t)(p->nnodes - 1);
}

int64_t pf_node_of_path(pf_node_index *x, pf_profile *p, uint32_t thread, const uint32_t *fns,
                        size_t n)
{
    int64_t node = PF_NO_NODE;
    for (size_t i = 0; i < n; i++)
        if ((node = pf_node_get(x, p, (uint32_t)node, fns[i], -1, thread)) < 0)
            return -1;
    return n ? node : -1;
}
