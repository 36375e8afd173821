/*
 * flame.c - the graph the flame-graph writers draw (flame.h) and the
 * table of writers.
 */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

static const fl_format formats[] = {
    {"folded", fl_write_folded},
    {"speedscope", fl_write_speedscope},
    {"html", fl_write_html},
};
const char fl_format_names[] = "folded, speedscope, html";

const fl_format *fl_format_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof formats / sizeof *formats; i++)
        if (strcmp(name, formats[i].name) == 0)
            return &formats[i];
    return NULL;
}

void fl_options_init(fl_options *o)
{
    memset(o, 0, sizeof *o);
    o->metric = FL_METRIC_AUTO;
}

int fl_metric_from_name(const char *name, fl_metric *m)
{
    if (strcmp(name, "instructions") == 0)
        *m = FL_METRIC_INSTRUCTIONS;
    else if (strcmp(name, "time") == 0)
        *m = FL_METRIC_TIME;
    else
        return -1;
    return 0;
}

const char *fl_metric_name(fl_metric m)
{
    return m == FL_METRIC_TIME ? "time" : m == FL_METRIC_INSTRUCTIONS ? "instructions" : "auto";
}

int fl_metric_for(const pf_profile *p, fl_metric asked, fl_metric *out, char *err,
                  size_t errlen)
{
    if (asked == FL_METRIC_AUTO)   /* a run too short for a sample still has counts */
        asked = p->timed && (p->time_ns || !p->counted) ? FL_METRIC_TIME
                : p->counted ? FL_METRIC_INSTRUCTIONS : FL_METRIC_TIME;
    if (asked == FL_METRIC_INSTRUCTIONS && !p->counted) {
        snprintf(err, errlen, "--metric instructions: the profile has no instruction counts "
                 "(made with --time-only); use --metric time");
        return -1;
    }
    if (asked == FL_METRIC_TIME && !p->timed) {
        snprintf(err, errlen, "--metric time: the profile has no times (made with --no-time); "
                 "use --metric instructions");
        return -1;
    }
    *out = asked;
    return 0;
}

const char *fl_note(const pf_profile *p, const fl_options *o)
{
    fl_metric m;
    char err[256];
    if (fl_metric_for(p, o->metric, &m, err, sizeof err) == 0 &&
        (m == FL_METRIC_TIME ? p->time_ns : p->instructions) == 0)
        return m == FL_METRIC_TIME ? "nothing to draw: no CPU-time sample was credited to an "
                                     "instruction (a run too short to sample?)"
                                   : "nothing to draw: no instruction was counted";
    if (!p->stacks_enabled)
        return "the profile has no call stacks (--no-stacks): each function is a root "
               "frame with its self weight";
    return NULL;
}

/* ---- building ---------------------------------------------------------- */

typedef struct builder {
    const pf_profile *p;
    fl_graph *g;
    int opcodes;
    int both;                 /* FL_BOTH_METRICS */
    uint32_t *op_name;        /* opcode index -> distinct-name index */
    const char **names;       /* distinct opcode names, sorted */
    size_t nnames;
    size_t cap;
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
    if (!v || !b->op_name || !b->names) {
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

/* Appends a sample of frame keys (function ids; nfunctions + k for opcode
 * name k) unless its weight is 0.  0, or -1 when out of memory. */
static int add_sample(builder *b, uint32_t thread, const uint32_t *fns, size_t n, int64_t leaf,
                      uint64_t instructions, uint64_t time_ns)
{
    fl_graph *g = b->g;
    uint64_t weight = g->metric == FL_METRIC_TIME ? time_ns : instructions;
    if (!weight && !(b->both && (instructions || time_ns)))
        return 0;
    if (g->nsamples == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        fl_sample *s = realloc(g->samples, cap * sizeof *s);
        if (!s)
            return -1;
        g->samples = s;
        b->cap = cap;
    }
    fl_sample *s = &g->samples[g->nsamples];
    s->frames = malloc((n + 1) * sizeof *s->frames);
    if (!s->frames)
        return -1;
    memcpy(s->frames, fns, n * sizeof *fns);
    s->nframes = n;
    if (leaf >= 0)
        s->frames[s->nframes++] = (uint32_t)(b->p->nfunctions + (size_t)leaf);
    s->thread = thread;
    s->instructions = instructions;
    s->time_ns = time_ns;
    s->weight = weight;
    g->nsamples++;
    return 0;
}

/* A path's samples: one per opcode name with --opcodes (what the opcodes
 * do not account for stays on the path itself), else one. */
static int add_path(builder *b, uint32_t thread, const uint32_t *fns, size_t n,
                    const pf_opcount *ops, size_t nops, uint64_t instructions,
                    uint64_t time_ns, char *err, size_t errlen)
{
    if (!b->opcodes || !nops)
        return add_sample(b, thread, fns, n, -1, instructions, time_ns);
    pf_opcount *by_name = calloc(b->nnames + 1, sizeof *by_name);
    if (!by_name)
        goto oom;
    uint64_t ci = 0, ct = 0;
    for (size_t i = 0; i < nops; i++) {
        if (ops[i].op >= b->p->nopnames)
            continue;
        by_name[b->op_name[ops[i].op]].count += ops[i].count;
        by_name[b->op_name[ops[i].op]].time_ns += ops[i].time_ns;
        ci += ops[i].count;
        ct += ops[i].time_ns;
    }
    if (ci > instructions || ct > time_ns) {
        free(by_name);
        snprintf(err, errlen, "inconsistent profile: the opcodes of a path add up to more "
                 "than the path");
        return -1;
    }
    for (size_t k = 0; k < b->nnames; k++)
        if ((by_name[k].count || by_name[k].time_ns) &&
            add_sample(b, thread, fns, n, (int64_t)k, by_name[k].count, by_name[k].time_ns) < 0)
            goto oom;
    free(by_name);
    return add_sample(b, thread, fns, n, -1, instructions - ci, time_ns - ct);
oom:
    free(by_name);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Threads by name, in order of first appearance on a stack. */
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
    for (size_t i = 0; i < p->nstacks; i++) {
        uint32_t t = p->stacks[i].thread;
        if (t >= p->nthreads || (*group_of)[t] != UINT32_MAX)
            continue;
        const char *name = p->threads[t] ? p->threads[t] : "?";
        size_t k = 0;
        while (k < g->nthreads && strcmp(g->threads[k], name) != 0)
            k++;
        if (k == g->nthreads)
            g->threads[g->nthreads++] = name;
        (*group_of)[t] = (uint32_t)k;
    }
    if (!g->nthreads)   /* stacks that name no thread (not from opprof) */
        g->threads[g->nthreads++] = "?";
    return 0;
}

static int collect(builder *b, int by_thread, char *err, size_t errlen)
{
    const pf_profile *p = b->p;
    uint32_t *group_of = NULL;
    int rc = -1;
    if (group_threads(b, by_thread, &group_of) < 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (b->g->from_stacks) {
        for (size_t i = 0; i < p->nstacks; i++) {
            const pf_stack *s = &p->stacks[i];
            uint32_t t = by_thread && s->thread < p->nthreads ? group_of[s->thread] : 0;
            if (add_path(b, t == UINT32_MAX ? 0 : t, s->frames, s->nframes, s->ops, s->nops,
                         s->instructions, s->time_ns, err, errlen) < 0)
                goto done;
        }
        rc = 0;
        goto done;
    }
    /* one entry per executed instruction: a function can run more than
     * there are opcode names (add_path sums them by name) */
    size_t most = 0;
    for (size_t i = 0; i < p->nfunctions; i++)
        most = p->functions[i].ncode > most ? p->functions[i].ncode : most;
    pf_opcount *ops = calloc(most + 1, sizeof *ops);
    if (!ops) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        uint32_t id = (uint32_t)i;
        size_t nops = 0;
        for (size_t k = 0; b->opcodes && k < f->ncode; k++)
            if (f->code[k].count || f->code[k].time_ns)
                ops[nops++] = (pf_opcount){f->code[k].op, f->code[k].count, f->code[k].time_ns};
        rc = add_path(b, 0, &id, 1, ops, nops, f->instructions, f->time_ns, err, errlen);
    }
    free(ops);
done:
    free(group_of);
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

/* The frames the samples use, by name, one per name; samples then refer
 * to them instead of to keys. */
static int make_frames(builder *b)
{
    const pf_profile *p = b->p;
    fl_graph *g = b->g;
    size_t nkeys = p->nfunctions + b->nnames;
    uint32_t *frame_of = malloc((nkeys + 1) * sizeof *frame_of);
    keyed *v = NULL;
    size_t n = 0;
    int rc = -1;
    if (!frame_of)
        return -1;
    memset(frame_of, 0xff, (nkeys + 1) * sizeof *frame_of);
    for (size_t i = 0; i < g->nsamples; i++)
        for (size_t k = 0; k < g->samples[i].nframes; k++)
            if (frame_of[g->samples[i].frames[k]] == UINT32_MAX) {
                frame_of[g->samples[i].frames[k]] = 0;
                n++;
            }
    v = calloc(n + 1, sizeof *v);
    g->frames = calloc(n + 1, sizeof *g->frames);
    if (!v || !g->frames)
        goto done;
    n = 0;
    for (uint32_t key = 0; key < nkeys; key++)
        if (frame_of[key] != UINT32_MAX) {
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
        frame_of[v[i].key] = (uint32_t)(g->nframes - 1);
    }
    for (size_t i = 0; i < g->nsamples; i++)
        for (size_t k = 0; k < g->samples[i].nframes; k++)
            g->samples[i].frames[k] = frame_of[g->samples[i].frames[k]];
    rc = 0;
done:
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].frame.name);
        free(v[i].frame.file);
    }
    free(v);
    free(frame_of);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    const fl_sample *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    for (size_t i = 0; i < x->nframes && i < y->nframes; i++)
        if (x->frames[i] != y->frames[i])
            return x->frames[i] < y->frames[i] ? -1 : 1;
    return (x->nframes > y->nframes) - (x->nframes < y->nframes);
}

/* Sorted, and one sample per distinct path (threads, frames that look
 * the same: fl_frame). */
void fl__merge_paths(fl_graph *g)
{
    if (g->nsamples)
        qsort(g->samples, g->nsamples, sizeof *g->samples, by_path);
    size_t n = 0;
    for (size_t i = 0; i < g->nsamples; i++) {
        fl_sample *s = &g->samples[i];
        if (n && by_path(&g->samples[n - 1], s) == 0) {
            fl_sample *t = &g->samples[n - 1];
            t->instructions += s->instructions;
            t->time_ns += s->time_ns;
            t->weight += s->weight;
            free(s->frames);
        } else {
            g->samples[n++] = *s;
        }
    }
    g->nsamples = n;
}

int fl_build(const pf_profile *p, const fl_options *o, int flags, fl_graph *g, char *err,
             size_t errlen)
{
    memset(g, 0, sizeof *g);
    builder b = {p, g, o->opcodes, (flags & FL_BOTH_METRICS) != 0, NULL, NULL, 0, 0};
    int by_thread = (flags & FL_BY_THREAD) != 0;
    err[0] = 0;
    if (fl_metric_for(p, o->metric, &g->metric, err, errlen) < 0)
        return -1;
    if (p->native && p->nnative_stacks && g->metric == FL_METRIC_TIME)
        return fl__build_native(p, flags, g, err, errlen);
    g->from_stacks = p->stacks_enabled;
    if (opnames_init(&b) < 0 || collect(&b, by_thread, err, errlen) < 0 ||
        make_frames(&b) < 0)
        goto fail;
    fl__merge_paths(g);
    g->thread_total = calloc(g->nthreads + 1, sizeof *g->thread_total);
    if (!g->thread_total)
        goto fail;
    for (size_t i = 0; i < g->nsamples; i++) {
        g->total += g->samples[i].weight;
        g->thread_total[g->samples[i].thread] += g->samples[i].weight;
    }
    uint64_t want = g->metric == FL_METRIC_TIME ? p->time_ns : p->instructions;
    if (g->total != want) {
        snprintf(err, errlen, "inconsistent profile: its %s add up to %llu %s, its total is "
                 "%llu", g->from_stacks ? "stacks" : "functions", (unsigned long long)g->total,
                 g->metric == FL_METRIC_TIME ? "ns" : "instructions",
                 (unsigned long long)want);
        goto fail;
    }
    free(b.op_name);
    free(b.names);
    return 0;
fail:
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    free(b.op_name);
    free(b.names);
    fl_release(g);
    return -1;
}

void fl_release(fl_graph *g)
{
    for (size_t i = 0; i < g->nframes; i++) {
        free(g->frames[i].name);
        free(g->frames[i].file);
    }
    for (size_t i = 0; i < g->nsamples; i++)
        free(g->samples[i].frames);
    free(g->frames);
    free(g->samples);
    free(g->threads);
    free(g->thread_total);
    memset(g, 0, sizeof *g);
}
