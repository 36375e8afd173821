/*
 * pprof_native.c - a --native profile's mixed native + Python stacks as
 * pprof samples (pprof.h): their sampled time as cpu, each native frame a
 * function of its own whose location points at the mapping of its shared
 * object (pf_profile.native_modules), each Python frame the profile's own
 * function where its label names one.
 */
#include "pprof.h"

#include <stdlib.h>
#include <string.h>

/* Function keys of native stack labels (pprof.c's are below bit 63). */
#define KEY_LABEL (1ull << 63)        /* | the label's rank in pp__native.labels */

typedef pp__writer writer;

/* A Python frame's label, "qualname (file:firstline)" (native.c), and the
 * function it names. */
typedef struct pylabel {
    char *label;
    size_t function;
} pylabel;

struct pp__native {
    pylabel *pylabels;        /* by label */
    size_t npylabels;
    const pf_native_module **modules;   /* by label */
    size_t nmodules;
    const char **labels;      /* the stacks' distinct frame labels, sorted */
    size_t nlabels;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int is_native(const char *label)
{
    size_t n = strlen(label);
    return n > 9 && strcmp(label + n - 9, " [native]") == 0;
}

static int label_cmp(const void *a, const void *b)
{
    return strcmp(((const pylabel *)a)->label, ((const pylabel *)b)->label);
}

/* Equal labels (two lambdas of one line) by function index: the lookup
 * takes the first, the same in every run. */
static int by_label(const void *a, const void *b)
{
    const pylabel *x = a, *y = b;
    int d = label_cmp(a, b);
    return d ? d : (x->function > y->function) - (x->function < y->function);
}

static int by_module_label(const void *a, const void *b)
{
    return strcmp((*(const pf_native_module *const *)a)->label,
                  (*(const pf_native_module *const *)b)->label);
}

/* The labels native.c gives Python frames, "qualname (file:firstline)",
 * and the modules of native ones, each sorted for lookups. */
static int native_tables(writer *w)
{
    const pf_profile *p = w->p;
    if (!(w->nat = calloc(1, sizeof *w->nat)))
        return -1;
    pp__native *x = w->nat;
    x->pylabels = calloc(p->nfunctions + 1, sizeof *x->pylabels);
    x->modules = calloc(p->nnative_modules + 1, sizeof *x->modules);
    if (!x->pylabels || !x->modules)
        return -1;
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        const char *q = f->qualname ? f->qualname : f->name ? f->name : "?";
        const char *file = fl_relative_file(p, f->file);
        size_t n = strlen(q) + strlen(file) + 32;
        char *label = malloc(n);
        if (!label)
            return -1;
        snprintf(label, n, "%s (%s:%d)", q, file, f->firstlineno);
        x->pylabels[x->npylabels++] = (pylabel){label, i};
    }
    qsort(x->pylabels, x->npylabels, sizeof *x->pylabels, by_label);
    for (size_t i = 0; i < p->nnative_modules; i++)
        if (p->native_modules[i].label && p->native_modules[i].module)
            x->modules[x->nmodules++] = &p->native_modules[i];
    qsort(x->modules, x->nmodules, sizeof *x->modules, by_module_label);
    size_t all = 1;
    for (size_t i = 0; i < p->nnative_stacks; i++)
        all += p->native_stacks[i].nframes;
    if (!(x->labels = malloc(all * sizeof *x->labels)))
        return -1;
    x->labels[x->nlabels++] = "?";   /* a stack without frames, a frame without a name */
    for (size_t i = 0; i < p->nnative_stacks; i++)
        for (size_t k = 0; k < p->native_stacks[i].nframes; k++)
            if (p->native_stacks[i].frames[k])
                x->labels[x->nlabels++] = p->native_stacks[i].frames[k];
    qsort(x->labels, x->nlabels, sizeof *x->labels, by_name);
    size_t d = 0;
    for (size_t i = 0; i < x->nlabels; i++)
        if (!d || strcmp(x->labels[d - 1], x->labels[i]) != 0)
            x->labels[d++] = x->labels[i];
    x->nlabels = d;
    return 0;
}

/* A Python frame's label, "name (file:line)": the places of its '(' and
 * ':' and its line; 0 when it is not of that form. */
static int label_parts(const char *label, size_t *open, size_t *colon, int *line)
{
    size_t len = strlen(label);
    const char *o = strrchr(label, '('), *c = o ? strrchr(o, ':') : NULL;
    if (!o || o == label || o[-1] != ' ' || !c || len < 2 || label[len - 1] != ')')
        return 0;
    *open = (size_t)(o - label);
    *colon = (size_t)(c - label);
    *line = atoi(c + 1);
    return 1;
}

static int64_t label_line(const char *label)
{
    size_t open, colon;
    int line;
    return !is_native(label) && label_parts(label, &open, &colon, &line) ? line : 0;
}

/* A function of its own for a frame label: a native one (its module as
 * its mapping, when known) or a Python frame of no recorded function.
 * Its id, or 0 on OOM. */
static uint64_t label_function(writer *w, const char *label, uint64_t key, int64_t *line)
{
    const pp__native *x = w->nat;
    char *name = strdup(label), *file = NULL;
    uint64_t mapping = 0, f = 0;
    if (!name)
        return 0;
    *line = 0;
    if (is_native(label)) {
        name[strlen(name) - 9] = 0;
        pf_native_module k = {(char *)label, NULL}, *kp = &k;
        const pf_native_module **m = bsearch(&kp, x->modules, x->nmodules, sizeof *x->modules,
                                             by_module_label);
        if (m && !(mapping = pp__mapping(w->t, (*m)->module, 0)))
            goto done;
    } else {
        mapping = w->python_mapping;
        size_t open, colon;
        int l;
        if (label_parts(label, &open, &colon, &l)) {
            name[strlen(name) - 1] = 0;
            name[colon] = 0;
            name[open - 1] = 0;
            file = name + open + 1;
            *line = l;
        }
    }
    /* a Python frame's system name is left empty, as pprof.c's are */
    f = pp__function_add(w->t, key, name, file ? "" : name, file, *line, mapping);
done:
    free(name);
    return f;
}

/* The location of a native stack's frame; *fn: the profile function it
 * names (SIZE_MAX: none).  0 on OOM. */
static uint64_t label_location(writer *w, const char *label, size_t *fn)
{
    const pp__native *x = w->nat;
    *fn = SIZE_MAX;
    if (!is_native(label)) {
        pylabel key = {(char *)label, 0};
        const pylabel *at = bsearch(&key, x->pylabels, x->npylabels, sizeof key, label_cmp);
        while (at && at > x->pylabels && strcmp(at[-1].label, label) == 0)
            at--;
        if (at) {
            *fn = at->function;
            return pp__python_location(w, at->function, w->p->functions[at->function].firstlineno);
        }
    }
    const char **at = bsearch(&label, x->labels, x->nlabels, sizeof *at, by_name);
    uint64_t key = KEY_LABEL | (uint64_t)(at - x->labels), f = pp__function_find(w->t, key);
    int64_t line = 0;
    if (f)
        line = label_line(label);
    else
        f = label_function(w, label, key, &line);
    return f ? pp__location(w->t, f, line) : 0;
}

int pp__native_samples(writer *w)
{
    const pf_profile *p = w->p;
    if (native_tables(w) < 0)
        return pp__oom(w);
    for (size_t i = 0; i < p->nnative_stacks; i++) {
        const pf_native_stack *s = &p->native_stacks[i];
        if (!s->time_ns)
            continue;
        /* what ran before the outermost Python frame is the same for every
         * stack (_start ... PyEval_EvalCode): left out where there is one,
         * as the flame graphs do */
        size_t from = 0, n = 0, python = SIZE_MAX;
        while (from < s->nframes && s->frames[from] && is_native(s->frames[from]))
            from++;
        if (from == s->nframes)
            from = 0;
        if (pp__reserve(&w->locs, &w->caplocs, s->nframes - from + 2, sizeof *w->locs) < 0)
            return pp__oom(w);
        for (size_t k = s->nframes; k-- > from;) {
            size_t fn;
            if (!(w->locs[n++] = label_location(w, s->frames[k] ? s->frames[k] : "?", &fn)))
                return pp__oom(w);
            if (python == SIZE_MAX)
                python = fn;
        }
        if (!n && !(w->locs[n++] = label_location(w, "?", &python)))
            return pp__oom(w);
        if (w->proc && !(w->locs[n++] = pp__process_location(w, fl_thread_process(p, s->thread))))
            return pp__oom(w);
        const char *scope = python == SIZE_MAX ? "native"
                            : pf_scope_name(p->functions[python].scope);
        pp__label *labels[3];
        size_t nl;
        if (pp__labels(w, s->thread, python == SIZE_MAX ? 0 : p->functions[python].process,
                       scope, labels, &nl) < 0)
            return -1;
        int64_t v[2] = {0, (int64_t)s->time_ns};
        if (pp__write_sample(w->out, w->locs, n, w->counted ? v : v + 1, w->counted ? 2 : 1,
                             labels, nl) < 0)
            return fl_write_error(w->err, w->errlen);
    }
    return 0;
}

void pp__native_release(writer *w)
{
    pp__native *x = w->nat;
    if (!x)
        return;
    for (size_t i = 0; i < x->npylabels; i++)
        free(x->pylabels[i].label);
    free(x->pylabels);
    free(x->modules);
    free(x->labels);
    free(x);
    w->nat = NULL;
}
