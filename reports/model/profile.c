/*
 * profile.c - construction and destruction of the profile model (its
 * counts and times: measures.c).
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const scope_names[PF_SCOPE_COUNT] = {
    "module", "class", "function", "lambda", "comprehension",
    "generator", "coroutine", "async_generator",
};

const char *pf_scope_name(pf_scope s)
{
    return (unsigned)s < PF_SCOPE_COUNT ? scope_names[s] : "unknown";
}

pf_scope pf_scope_from_name(const char *name)
{
    for (int s = 0; s < PF_SCOPE_COUNT; s++)
        if (strcmp(scope_names[s], name) == 0)
            return (pf_scope)s;
    return PF_SCOPE_COUNT;
}

static int same_string(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int pf_minor(const pf_profile *p)
{
    return (int)((p->hexversion >> 16) & 0xff);
}

int pf_same_interpreter(const pf_profile *a, const pf_profile *b)
{
    return a->hexversion == b->hexversion && a->specialization == b->specialization &&
           same_string(a->implementation, b->implementation) &&
           same_string(a->python_build, b->python_build);
}

int pf_opname_index(pf_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nopnames; i++)
        if (p->opnames[i] && strcmp(p->opnames[i], name) == 0)
            return (int)i;
    if (p->nopnames >= UINT16_MAX)
        return -1;
    char **v = realloc(p->opnames, (p->nopnames + 1) * sizeof *v);
    if (!v)
        return -1;
    p->opnames = v;
    p->opnames[p->nopnames] = NULL;
    if (pf_set_string(&p->opnames[p->nopnames], name) < 0)
        return -1;
    return (int)p->nopnames++;
}

const char *pf_opname(const pf_profile *p, unsigned op)
{
    return op < p->nopnames && p->opnames[op] ? p->opnames[op] : "?";
}

int pf_thread_index(pf_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (strcmp(p->threads[i], name) == 0)
            return (int)i;
    return pf_thread_index_in(p, name, 0);
}

int pf_thread_index_in(pf_profile *p, const char *name, uint32_t process)
{
    for (size_t i = 0; i < p->nthreads; i++)
        if (strcmp(p->threads[i], name) == 0 && p->thread_process[i] == process)
            return (int)i;
    char **v = realloc(p->threads, (p->nthreads + 1) * sizeof *v);
    if (!v)
        return -1;
    p->threads = v;
    uint32_t *tp = realloc(p->thread_process, (p->nthreads + 1) * sizeof *tp);
    if (!tp)
        return -1;
    p->thread_process = tp;
    tp[p->nthreads] = process;
    p->threads[p->nthreads] = NULL;
    if (pf_set_string(&p->threads[p->nthreads], name) < 0)
        return -1;
    return (int)p->nthreads++;
}

pf_profile *pf_profile_new(void)
{
    pf_profile *p = calloc(1, sizeof *p);
    if (p) {
        p->stacks_enabled = 1;
        p->counted = 1;
    }
    return p;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

const char *pf_basename(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "?";
}

void pf_function_drop_disassembly(pf_function *f)
{
    for (size_t k = 0; k < f->nlisting; k++)
        free(f->listing[k].argrepr);
    free(f->listing);
    if (f->codeinfo) {
        pf_code_release(f->codeinfo);
        free(f->codeinfo);
    }
    f->listing = NULL;
    f->codeinfo = NULL;
    f->nlisting = 0;
}

void pf_function_drop_code(pf_function *f)
{
    pf_function_drop_disassembly(f);
    free(f->code);
    free(f->times);
    free(f->forms);
    free(f->form_times);
    free(f->per_process);
    f->per_process = NULL;
    f->nper_process = 0;
    f->code = NULL;
    f->times = NULL;
    f->forms = NULL;
    f->form_times = NULL;
    f->ncode = f->ntimes = f->nform_times = 0;
}

void pf_profile_release(pf_profile *p)
{
    if (!p)
        return;
    free(p->python_version);
    free(p->python_build);
    free(p->python_prefix);
    free(p->root);
    free(p->hash_seed);
    free(p->implementation);
    free(p->executable);
    free(p->collector);
    free(p->timing_method);
    free(p->timing_clock);
    free(p->incomplete_reason);
    free_strings(p->argv, p->argc);
    free_strings(p->opnames, p->nopnames);
    free_strings(p->threads, p->nthreads);
    free(p->thread_process);
    for (size_t i = 0; i < p->nprocesses; i++) {
        free_strings(p->processes[i].argv, p->processes[i].argc);
        free(p->processes[i].ended);
    }
    free(p->run_id);
    free(p->processes);
    for (size_t i = 0; i < p->nfunctions; i++) {
        pf_function *f = &p->functions[i];
        free(f->file);
        free(f->name);
        free(f->qualname);
        pf_function_drop_code(f);
    }
    free(p->functions);
    free_strings(p->pool, p->npool);
    for (size_t i = 0; i < p->nnodes; i++) {
        free(p->nodes[i].ops);
        free(p->nodes[i].sites);
    }
    free(p->nodes);
    free(p->signal);
    if (p->crash) {
        for (size_t i = 0; i < p->crash->nnative; i++)
            free(p->crash->native[i].function), free(p->crash->native[i].module);
        for (size_t i = 0; i < p->crash->npython; i++)
            free(p->crash->python[i].function), free(p->crash->python[i].file);
        free(p->crash->native);
        free(p->crash->python);
        free(p->crash->thread);
        free(p->crash);
    }
    for (size_t i = 0; i < p->nnative_stacks; i++)
        free_strings(p->native_stacks[i].frames, p->native_stacks[i].nframes);
    free(p->native_stacks);
    for (size_t i = 0; i < p->nnative_modules; i++) {
        free(p->native_modules[i].label);
        free(p->native_modules[i].module);
    }
    free(p->native_modules);
    for (size_t i = 0; i < p->nsources; i++) {
        free(p->sources[i].file);
        free(p->sources[i].lines);
        free(p->sources[i].at);
        free(p->sources[i].text);
    }
    free(p->sources);
    free(p);
}

int pf_set_string(char **dst, const char *src)
{
    size_t n = strlen(src) + 1;
    char *d = malloc(n);
    if (!d)
        return -1;
    memcpy(d, src, n);
    free(*dst);
    *dst = d;
    return 0;
}

int pf_set_argv(pf_profile *p, const char *const *argv, size_t argc)
{
    char **v = calloc(argc ? argc : 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < argc; i++) {
        if (pf_set_string(&v[i], argv[i]) < 0) {
            free_strings(v, i);
            return -1;
        }
    }
    free_strings(p->argv, p->argc);
    p->argv = v;
    p->argc = argc;
    return 0;
}

int pf_mark_incomplete(pf_profile *p, const char *reason)
{
    p->incomplete = 1;
    if (p->incomplete_reason)   /* the first reason is the one that matters */
        return 0;
    return pf_set_string(&p->incomplete_reason, reason);
}

static void *grow(void *items, size_t len, size_t *cap, size_t size)
{
    if (len < *cap)
        return items;
    size_t n = *cap ? *cap * 2 : 16;
    void *v = realloc(items, n * size);
    if (v)
        *cap = n;
    return v;
}

int pf_reserve_nodes(pf_profile *p, size_t n)
{
    if (n <= p->capnodes)
        return 0;
    pf_node *v = realloc(p->nodes, n * sizeof *v);
    if (!v)
        return -1;
    p->nodes = v;
    p->capnodes = n;
    return 0;
}

void pf_fit_functions(pf_profile *p)
{
    if (p->nfunctions >= p->capfunctions || !p->nfunctions)
        return;
    pf_function *v = realloc(p->functions, p->nfunctions * sizeof *v);
    if (v) {   /* else the larger array stays, as good */
        p->functions = v;
        p->capfunctions = p->nfunctions;
    }
}

pf_function *pf_add_function(pf_profile *p)
{
    pf_function *v = grow(p->functions, p->nfunctions, &p->capfunctions, sizeof *v);
    if (!v)
        return NULL;
    p->functions = v;
    pf_function *f = &v[p->nfunctions];
    memset(f, 0, sizeof *f);
    f->id = (uint32_t)p->nfunctions++;
    return f;
}

pf_node *pf_add_node(pf_profile *p)
{
    if (p->nnodes >= PF_NO_NODE)
        return NULL;
    pf_node *v = grow(p->nodes, p->nnodes, &p->capnodes, sizeof *v);
    if (!v)
        return NULL;
    p->nodes = v;
    pf_node *n = &v[p->nnodes++];
    memset(n, 0, sizeof *n);
    n->parent = PF_NO_NODE;
    n->callsite = -1;
    return n;
}

pf_process *pf_add_process(pf_profile *p)
{
    pf_process *v = realloc(p->processes, (p->nprocesses + 1) * sizeof *v);
    if (!v)
        return NULL;
    p->processes = v;
    pf_process *pr = &v[p->nprocesses++];
    memset(pr, 0, sizeof *pr);
    pr->parent = -1;
    return pr;
}

int pf_process_copy(pf_process *dst, const pf_process *src)
{
    *dst = *src;
    dst->argv = calloc(src->argc + 1, sizeof *dst->argv);
    dst->argc = 0;
    dst->ended = NULL;
    if (!dst->argv || (src->ended && pf_set_string(&dst->ended, src->ended) < 0))
        return -1;
    for (size_t i = 0; i < src->argc; i++, dst->argc++)
        if (pf_set_string(&dst->argv[i], src->argv[i]) < 0)
            return -1;
    return 0;
}

int pf_function_add_per_process(pf_function *f, const pf_proc_count *c)
{
    size_t k = 0;
    while (k < f->nper_process && f->per_process[k].process < c->process)
        k++;
    if (k < f->nper_process && f->per_process[k].process == c->process) {
        pf_proc_count *t = &f->per_process[k];
        t->calls = pf_add_sat(t->calls, c->calls);
        t->instructions = pf_add_sat(t->instructions, c->instructions);
        t->time_ns = pf_add_sat(t->time_ns, c->time_ns);
        return 0;
    }
    pf_proc_count *v = realloc(f->per_process, (f->nper_process + 1) * sizeof *v);
    if (!v)
        return -1;
    f->per_process = v;
    memmove(v + k + 1, v + k, (f->nper_process - k) * sizeof *v);
    v[k] = *c;
    f->nper_process++;
    return 0;
}

int pf_ensure_process(pf_profile *p)
{
    if (p->nprocesses)
        return 0;
    p->processes = calloc(1, sizeof *p->processes);
    if (!p->processes)
        return -1;
    p->nprocesses = 1;
    pf_process *pr = &p->processes[0];
    pr->parent = -1;
    pr->exit_status = p->exit_status;
    pr->incomplete = p->incomplete;
    pr->argv = calloc(p->argc + 1, sizeof *pr->argv);
    if (!pr->argv)
        return -1;
    for (size_t i = 0; i < p->argc; i++, pr->argc++)
        if (pf_set_string(&pr->argv[i], p->argv[i]) < 0)
            return -1;
    return 0;
}

size_t pf_node_depth(const pf_profile *p, size_t i)
{
    size_t d = 0;
    for (uint32_t k = (uint32_t)i; k < p->nnodes; k = p->nodes[k].parent)
        d++;
    return d;
}

size_t pf_node_path(const pf_profile *p, size_t i, uint32_t *path)
{
    size_t d = pf_node_depth(p, i), k = d;
    for (uint32_t n = (uint32_t)i; n < p->nnodes; n = p->nodes[n].parent)
        path[--k] = p->nodes[n].function;
    return d;
}

void pf_code_release(pf_code *c)
{
    free(c->bytes);
    /* a borrowed code's strings are the profile's, freed with it */
    free_strings(c->names, c->borrowed ? 0 : c->nnames);
    free_strings(c->consts, c->borrowed ? 0 : c->nconsts);
    free_strings(c->locals, c->borrowed ? 0 : c->nlocals);
    free_strings(c->cells, c->borrowed ? 0 : c->ncells);
    free(c->lines);
    memset(c, 0, sizeof *c);
}

static int copy_strings(char ***dst, char *const *src, size_t n)
{
    *dst = calloc(n + 1, sizeof **dst);
    for (size_t i = 0; *dst && i < n; i++)
        if (src[i] && pf_set_string(&(*dst)[i], src[i]) < 0)
            return -1;
    return *dst ? 0 : -1;
}

pf_code *pf_code_copy(const pf_code *c)
{
    pf_code *d = calloc(1, sizeof *d);   /* its own strings, borrowed or not */
    if (!d)
        return NULL;
    d->nbytes = c->nbytes;
    d->nnames = c->nnames;
    d->nconsts = c->nconsts;
    d->nlocals = c->nlocals;
    d->ncells = c->ncells;
    d->nlines = c->nlines;
    d->bytes = malloc(c->nbytes + 1);
    d->lines = malloc((c->nlines + 1) * sizeof *d->lines);
    int bad = !d->bytes || !d->lines || copy_strings(&d->names, c->names, c->nnames) < 0 ||
              copy_strings(&d->consts, c->consts, c->nconsts) < 0 ||
              copy_strings(&d->locals, c->locals, c->nlocals) < 0 ||
              copy_strings(&d->cells, c->cells, c->ncells) < 0;
    if (bad) {
        pf_code_release(d);
        free(d);
        return NULL;
    }
    memcpy(d->bytes, c->bytes, c->nbytes);
    memcpy(d->lines, c->lines, c->nlines * sizeof *d->lines);
    return d;
}

int pf_code_line_next(const pf_code *c, uint32_t offset, size_t *at)
{
    size_t i = *at < c->nlines && (uint32_t)c->lines[*at].start <= offset ? *at : 0;
    while (i < c->nlines && (uint32_t)c->lines[i].end <= offset)
        i++;
    *at = i;
    return i < c->nlines && (uint32_t)c->lines[i].start <= offset ? c->lines[i].line : -1;
}

void pf_code_as_dz(const pf_code *c, int minor, dz_code *out)
{
    *out = (dz_code){
        .minor = minor,
        .code = c->bytes, .code_len = c->nbytes,
        .names = (const char *const *)c->names, .n_names = c->nnames,
        .consts = (const char *const *)c->consts, .n_consts = c->nconsts,
        .locals = (const char *const *)c->locals, .n_locals = c->nlocals,
        .cells = (const char *const *)c->cells, .n_cells = c->ncells,
        .lines = c->lines, .n_lines = c->nlines,
    };
}

typedef struct ranked {
    uint64_t key[3];
    uint32_t id;
    size_t index;
} ranked;

static int by_rank(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    for (int k = 0; k < 3; k++)
        if (x->key[k] != y->key[k])
            return x->key[k] < y->key[k] ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

static ranked rank_of(const pf_function *f, int timed, size_t i)
{
    return timed ? (ranked){{f->time_ns, f->instructions, f->calls}, f->id, i}
                 : (ranked){{f->instructions, f->calls, 0}, f->id, i};
}

int pf_function_outranks(const pf_function *a, const pf_function *b, int timed)
{
    ranked x = rank_of(a, timed, 0), y = rank_of(b, timed, 0);
    return by_rank(&x, &y) < 0;
}

size_t *pf_functions_by_weight(const pf_profile *p)
{
    size_t n = p->nfunctions;
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!r || !idx) {
        free(r);
        free(idx);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        r[i] = rank_of(&p->functions[i], p->timed, i);
    }
    if (n)
        qsort(r, n, sizeof *r, by_rank);
    for (size_t i = 0; i < n; i++)
        idx[i] = r[i].index;
    free(r);
    return idx;
}

pf_native_stack *pf_add_native_stack(pf_profile *p)
{
    pf_native_stack *v = realloc(p->native_stacks, (p->nnative_stacks + 1) * sizeof *v);
    if (!v)
        return NULL;
    p->native_stacks = v;
    pf_native_stack *s = &v[p->nnative_stacks++];
    memset(s, 0, sizeof *s);
    return s;
}

pf_crash *pf_crash_get(pf_profile *p)
{
    if (!p->crash)
        p->crash = calloc(1, sizeof *p->crash);
    return p->crash;
}

int pf_drop_idle_functions(pf_profile *p)
{
    uint32_t *to = malloc((p->nfunctions + 1) * sizeof *to);
    unsigned char *used = calloc(p->nfunctions + 1, 1);
    if (!to || !used) {
        free(to);
        free(used);
        return -1;
    }
    for (size_t i = 0; i < p->nnodes; i++)
        if (p->nodes[i].function < p->nfunctions)
            used[p->nodes[i].function] = 1;
    size_t n = 0;
    for (size_t i = 0; i < p->nfunctions; i++) {
        pf_function *f = &p->functions[i];
        if (!used[i] && !f->calls && !f->instructions && !f->time_ns && !f->ntimes) {
            free(f->file);
            free(f->name);
            free(f->qualname);
            pf_function_drop_code(f);
            to[i] = UINT32_MAX;
            continue;
        }
        to[i] = (uint32_t)n;
        if (n != i)
            p->functions[n] = *f;
        p->functions[n].id = (uint32_t)n;
        n++;
    }
    p->nfunctions = n;
    for (size_t i = 0; i < p->nnodes; i++)
        p->nodes[i].function = to[p->nodes[i].function];
    free(to);
    free(used);
    return 0;
}
