/*
 * merge_proc.c - an input's processes in the sum (merge_fn.h).
 */
#include "merge_fn.h"

#include <stdlib.h>
#include <string.h>

void mp_map_release(mp_map *m)
{
    free(m->to);
    memset(m, 0, sizeof *m);
}

static int64_t find_pid(const pf_profile *p, int64_t pid)
{
    for (size_t i = 0; pid && i < p->nprocesses; i++)
        if (p->processes[i].pid == pid)
            return (int64_t)i;
    return -1;
}

static void process_clear(pf_process *pr)
{
    for (size_t i = 0; i < pr->argc; i++)
        free(pr->argv[i]);
    free(pr->argv);
    free(pr->ended);
}

/* Process k of `in` as the sum's: a pending one it finishes, or a new one. */
static int add_process(pf_profile *sum, const pf_profile *in, size_t k, uint32_t *to)
{
    const pf_process *src = &in->processes[k];
    int64_t j = find_pid(sum, src->pid);
    if (j >= 0 && !(sum->processes[j].pending && !src->pending)) {
        *to = (uint32_t)j;   /* the same process again: its counts add up */
        return 0;
    }
    if (j < 0) {
        if (!pf_add_process(sum))
            return -1;
        j = (int64_t)sum->nprocesses - 1;
    } else {
        process_clear(&sum->processes[j]);
    }
    pf_process *dst = &sum->processes[j];
    int64_t parent = dst->parent;
    if (pf_process_copy(dst, src) < 0) {
        dst->argv = NULL, dst->argc = 0, dst->ended = NULL;
        return -1;
    }
    dst->parent = parent;   /* set by the caller, once all are placed */
    *to = (uint32_t)j;
    return 0;
}

static int copy_run(pf_profile *sum, const pf_profile *in)
{
    if (pf_set_string(&sum->run_id, in->run_id) < 0)
        return -1;
    for (size_t k = 0; k < in->nprocesses; k++) {
        pf_process *dst = pf_add_process(sum);
        if (!dst || pf_process_copy(dst, &in->processes[k]) < 0) {
            if (dst)
                dst->argv = NULL, dst->argc = 0, dst->ended = NULL;
            return -1;
        }
    }
    return 0;
}

int mp_map_input(pf_profile *sum, const pf_profile *in, int first, mp_map *m)
{
    if (m->to)
        return 0;
    m->n = in->nprocesses ? in->nprocesses : 1;
    if (!(m->to = calloc(m->n, sizeof *m->to)))
        return -1;
    if (first && in->run_id && in->nprocesses) {
        if (copy_run(sum, in) < 0)
            return -1;
        for (size_t k = 0; k < m->n; k++)
            m->to[k] = (uint32_t)k;
        m->own_processes = 1;
        return 0;
    }
    m->same_run = !first && in->run_id && sum->run_id && in->nprocesses &&
                  strcmp(in->run_id, sum->run_id) == 0;
    if (!m->same_run) {
        for (size_t k = 0; k < m->n; k++)
            m->to[k] = k < sum->nprocesses ? (uint32_t)k : 0;
        return 0;
    }
    m->own_processes = 1;
    size_t before = sum->nprocesses;
    for (size_t k = 0; k < m->n; k++)
        if (add_process(sum, in, k, &m->to[k]) < 0)
            return -1;
    /* parents: within the input by index, else by the parent's pid */
    for (size_t k = 0; k < m->n; k++) {
        pf_process *dst = &sum->processes[m->to[k]];
        const pf_process *src = &in->processes[k];
        if (m->to[k] < before && dst->parent >= 0)
            continue;
        int64_t parent = src->parent >= 0 && (size_t)src->parent < m->n
                             ? (int64_t)m->to[src->parent] : find_pid(sum, src->ppid);
        dst->parent = parent == (int64_t)m->to[k] ? -1 : parent;
    }
    return 0;
}
