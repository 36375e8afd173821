/*
 * flame_native.c - the graph of a --native profile's mixed stacks, for
 * every flame-graph writer (flame.h).
 *
 * Its paths are native stacks with the Python frames merged in where the
 * interpreter loop ran them, so C time sits below the Python function
 * that called it (the native frames below the outermost Python frame,
 * the same in every stack, are left out).  The weights are the sampled CPU time of those stacks:
 * they add up to the time of the native samples, which also covers what
 * the instruction graph leaves in timing.overhead_ns and unattributed_ns.
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

/* Distinct labels of all stacks, sorted; *n of them.  NULL on OOM. */
static const char **labels(const pf_profile *p, size_t *n)
{
    size_t all = 0;
    for (size_t i = 0; i < p->nnative_stacks; i++)
        all += p->native_stacks[i].nframes;
    const char **v = malloc((all + 1) * sizeof *v);
    if (!v)
        return NULL;
    all = 0;
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

/* The graph's thread for profile thread t: by name, or all in one. */
static int thread_of(const pf_profile *p, fl_graph *g, int by_thread, uint32_t t)
{
    const char *name = !by_thread ? "all threads"
                       : t < p->nthreads && p->threads[t] ? p->threads[t] : "?";
    size_t k = 0;
    while (k < g->nthreads && strcmp(g->threads[k], name) != 0)
        k++;
    if (k == g->nthreads)
        g->threads[g->nthreads++] = name;
    return (int)k;
}

int fl__build_native(const pf_profile *p, int flags, fl_graph *g, char *err, size_t errlen)
{
    size_t nl = 0;
    const char **names = labels(p, &nl);
    g->metric = FL_METRIC_TIME;
    g->from_stacks = 1;
    g->frames = calloc(nl + 1, sizeof *g->frames);
    g->threads = calloc(p->nthreads + 2, sizeof *g->threads);
    g->samples = calloc(p->nnative_stacks + 1, sizeof *g->samples);
    if (!names || !g->frames || !g->threads || !g->samples)
        goto oom;
    for (; g->nframes < nl; g->nframes++)
        if (frame_from_label(names[g->nframes], &g->frames[g->nframes]) < 0) {
            g->nframes++;
            goto oom;
        }
    for (size_t i = 0; i < p->nnative_stacks; i++) {
        const pf_native_stack *s = &p->native_stacks[i];
        if (!s->time_ns)
            continue;
        fl_sample *out = &g->samples[g->nsamples];
        if (!(out->frames = malloc((s->nframes + 1) * sizeof *out->frames)))
            goto oom;
        g->nsamples++;
        /* what ran before the outermost Python frame is the same for every
         * stack (_start ... PyEval_EvalCode): left out where there is one */
        size_t from = 0;
        while (from < s->nframes && s->frames[from] && is_native(s->frames[from]))
            from++;
        if (from == s->nframes)
            from = 0;
        for (size_t k = from; k < s->nframes; k++) {
            const char *key = s->frames[k] ? s->frames[k] : "?";
            const char **at = bsearch(&key, names, nl, sizeof *names, by_string);
            out->frames[k - from] = (uint32_t)(at - names);
        }
        out->nframes = s->nframes - from;
        out->thread = (uint32_t)thread_of(p, g, (flags & FL_BY_THREAD) != 0, s->thread);
        out->time_ns = out->weight = s->time_ns;
    }
    if (!g->nthreads)
        g->threads[g->nthreads++] = "all threads";
    fl__merge_paths(g);
    if (!(g->thread_total = calloc(g->nthreads + 1, sizeof *g->thread_total)))
        goto oom;
    for (size_t i = 0; i < g->nsamples; i++) {
        g->total += g->samples[i].weight;
        g->thread_total[g->samples[i].thread] += g->samples[i].weight;
    }
    free(names);
    return 0;
oom:
    free(names);
    snprintf(err, errlen, "out of memory");
    fl_release(g);
    return -1;
}
