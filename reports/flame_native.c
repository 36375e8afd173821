/*
 * flame_native.c - the graph of a --native profile's mixed stacks, for
 * every flame-graph writer (flame.h).
 *
 * Its paths are native stacks with the Python frames merged in where the
 * interpreter loop ran them, so C time sits below the Python function
 * that called it (the native frames below the outermost Python frame,
 * the same in every stack, are left out).  The weights are the sampled
 * CPU time of those stacks: they add up to the time of the native samples,
 * which also covers what the instruction graph leaves in
 * timing.overhead_ns and unattributed_ns.  Stacks go into the same tree as
 * the call tree's nodes (fl__tree), so stacks that share callers share
 * their nodes.
 */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_native(const char *label)
{
    size_t n = strlen(label);
    return n > 9 && strcmp(label + n - 9, " [native]") == 0;
}

/* A frame from its label: "qualname (file:line)" names a Python function
 * and its place; "name [native]" has neither. */
static int frame_from_label(const char *label, fl_frame *f)
{
    size_t n = strlen(label);
    f->file = NULL;
    f->line = -1;
    f->function = FL_NO_FUNCTION;
    if (!(f->name = strdup(label)))
        return -1;
    const char *open = strrchr(label, '(');
    if (is_native(label))
        return 0;
    if (open && open > label && open[-1] == ' ' && label[n - 1] == ')') {
        const char *colon = strrchr(open, ':');
        if (colon && colon > open + 1) {
            if (!(f->file = strndup(open + 1, (size_t)(colon - open - 1))))
                return -1;
            f->line = atoi(colon + 1);
        }
    }
    return 0;
}

/* Distinct labels of all stacks and of the processes' root frames
 * (`proc`, NULL: one process), sorted, and "?" for a stack without
 * frames; *n of them.  NULL on OOM. */
static const char **labels(const pf_profile *p, char *const *proc, size_t *n)
{
    size_t all = 1 + (proc ? p->nprocesses : 0);
    for (size_t i = 0; i < p->nnative_stacks; i++)
        all += p->native_stacks[i].nframes;
    const char **v = malloc(all * sizeof *v);
    if (!v)
        return NULL;
    all = 0;
    v[all++] = "?";
    for (size_t i = 0; proc && i < p->nprocesses; i++)
        v[all++] = proc[i];
    for (size_t i = 0; i < p->nnative_stacks; i++)
        for (size_t k = 0; k < p->native_stacks[i].nframes; k++)
            v[all++] = p->native_stacks[i].frames[k] ? p->native_stacks[i].frames[k] : "?";
    qsort(v, all, sizeof *v, by_string);
    size_t d = 0;
    for (size_t i = 0; i < all; i++)
        if (!d || strcmp(v[d - 1], v[i]) != 0)
            v[d++] = v[i];
    *n = d;
    return v;
}

/* The graph's thread for profile thread t: by name, or all in one;
 * group_of caches it. */
static uint32_t thread_of(const pf_profile *p, fl_graph *g, int by_thread, uint32_t t,
                          uint32_t *group_of)
{
    uint32_t *cached = &group_of[t < p->nthreads ? t : p->nthreads];
    if (*cached != UINT32_MAX)
        return *cached;
    const char *name = !by_thread ? "all threads"
                       : t < p->nthreads && p->threads[t] ? p->threads[t] : "?";
    size_t k = 0;
    while (k < g->nthreads && strcmp(g->threads[k], name) != 0)
        k++;
    if (k == g->nthreads)
        g->threads[g->nthreads++] = name;
    return *cached = (uint32_t)k;
}

static uint32_t frame_of(const char *label, const char **names, size_t nl)
{
    const char *key = label ? label : "?";
    const char **at = bsearch(&key, names, nl, sizeof *names, by_string);
    return (uint32_t)(at - names);
}

/* A stack's path from its root (from its process's frame `proc`, when
 * not NULL), its time on the leaf.  0, or -1 on OOM. */
static int add_stack(fl__tree *t, const pf_native_stack *s, uint32_t thread, const char *proc,
                     const char **names, size_t nl)
{
    /* what ran before the outermost Python frame is the same for every
     * stack (_start ... PyEval_EvalCode): left out where there is one */
    size_t from = 0;
    while (from < s->nframes && s->frames[from] && is_native(s->frames[from]))
        from++;
    if (from == s->nframes)
        from = 0;
    int64_t node = FL_NO_NODE;
    if (proc && (node = fl__tree_node(t, thread, FL_NO_NODE, frame_of(proc, names, nl))) < 0)
        return -1;
    size_t n = s->nframes ? s->nframes : 1;   /* a stack without frames: "?" */
    for (size_t k = from; k < n; k++) {
        uint32_t f = frame_of(s->nframes ? s->frames[k] : NULL, names, nl);
        if ((node = fl__tree_node(t, thread, (uint32_t)node, f)) < 0)
            return -1;
    }
    t->g->nodes[node].time_ns += s->time_ns;
    return 0;
}

int fl__build_native(const pf_profile *p, int flags, fl_graph *g, char *err, size_t errlen)
{
    size_t nl = 0;
    char **proc = fl_multiprocess(p) ? fl_process_labels(p) : NULL;
    const char **names = !fl_multiprocess(p) || proc ? labels(p, proc, &nl) : NULL;
    uint32_t *group_of = malloc((p->nthreads + 1) * sizeof *group_of);
    fl__tree t;
    fl__tree_init(&t, g);
    g->metric = FL_METRIC_TIME;
    g->from_stacks = 1;
    g->frames = calloc(nl + 1, sizeof *g->frames);
    g->threads = calloc(p->nthreads + 2, sizeof *g->threads);
    if (!names || !group_of || !g->frames || !g->threads)
        goto oom;
    memset(group_of, 0xff, (p->nthreads + 1) * sizeof *group_of);
    for (; g->nframes < nl; g->nframes++)
        if (frame_from_label(names[g->nframes], &g->frames[g->nframes]) < 0) {
            g->nframes++;
            goto oom;
        }
    for (size_t i = 0; i < p->nnative_stacks; i++) {
        const pf_native_stack *s = &p->native_stacks[i];
        if (!s->time_ns)
            continue;
        uint32_t thread = thread_of(p, g, (flags & FL_BY_THREAD) != 0, s->thread, group_of);
        if (add_stack(&t, s, thread, proc ? proc[fl_thread_process(p, s->thread)] : NULL,
                      names, nl) < 0)
            goto oom;
    }
    if (!g->nthreads)
        g->threads[g->nthreads++] = "all threads";
    if (fl__tree_finish(&t, 0) < 0)
        goto oom;
    free(names);
    free(group_of);
    fl_process_labels_free(proc, p->nprocesses);
    return 0;
oom:
    free(names);
    free(group_of);
    fl_process_labels_free(proc, p->nprocesses);
    fl__tree_release(&t);
    snprintf(err, errlen, "out of memory");
    fl_release(g);
    return -1;
}
