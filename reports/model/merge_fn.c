/*
 * merge_fn.c - functions by key, and one function's code added into
 * another's (merge_fn.h).
 */
#include "merge_fn.h"

#include <stdlib.h>
#include <string.h>

static int same_key(const pf_function *g, const pf_function *f)
{
    return g->firstlineno == f->firstlineno && g->scope == f->scope &&
           !strcmp(g->file, f->file) && !strcmp(g->qualname, f->qualname) &&
           !strcmp(g->name, f->name);
}

/* f's counts and times into g in place, when g has f's offsets, all and
 * in order (the same code run again, as most functions of a merge are):
 * no second copy of a big function while it is added.  1 if it did, 0 if
 * not, -1 when out of memory. */
static int add_code_in_place(pf_function *g, const pf_function *f)
{
    if (g->ncode != f->ncode)
        return 0;
    for (size_t i = 0; i < f->ncode; i++)
        if (g->code[i].offset != f->code[i].offset)
            return 0;
    if (f->ntimes) {   /* the times' union, by instruction: both are sorted */
        pf_itime *t = malloc((g->ntimes + f->ntimes + 1) * sizeof *t);
        if (!t)
            return -1;
        size_t nt = 0, a = 0, b = 0;
        while (a < g->ntimes || b < f->ntimes) {
            if (b == f->ntimes || (a < g->ntimes && g->times[a].instr < f->times[b].instr)) {
                t[nt++] = g->times[a++];
            } else if (a == g->ntimes || f->times[b].instr < g->times[a].instr) {
                t[nt++] = f->times[b++];
            } else {
                t[nt] = g->times[a++];
                t[nt].time_ns = pf_add_sat(t[nt].time_ns, f->times[b].time_ns);
                t[nt].samples = pf_samples_sat((uint64_t)t[nt].samples + f->times[b++].samples);
                nt++;
            }
        }
        free(g->times);
        g->times = t;
        g->ntimes = nt;
    }
    /* the same offset keeps the name first seen (add_code) */
    for (size_t i = 0; i < f->ncode; i++)
        g->code[i].count = pf_add_sat(g->code[i].count, f->code[i].count);
    return 1;
}

/* The general case: g's code becomes the union of both, by offset; opmap
 * takes f's opcode indices to g's profile's.  Times follow their
 * instructions to their places in the union. */
static int add_code_union(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    size_t n = 0, i = 0, j = 0;
    while (i < g->ncode || j < f->ncode) {   /* the union's size: most offsets are in both */
        int gi = j == f->ncode || (i < g->ncode && g->code[i].offset <= f->code[j].offset);
        int fj = i == g->ncode || (j < f->ncode && f->code[j].offset <= g->code[i].offset);
        i += gi;
        j += fj;
        n++;
    }
    pf_instr *v = malloc((n + 1) * sizeof *v);
    pf_itime *t = malloc((g->ntimes + f->ntimes + 1) * sizeof *t);
    if (!v || !t) {
        free(v);
        free(t);
        return -1;
    }
    size_t nt = 0, gt = 0, ft = 0;
    n = i = j = 0;
    while (i < g->ncode || j < f->ncode) {
        /* the times of g's i-th and f's j-th, if any, become the union's n-th */
        const pf_itime *a = gt < g->ntimes && g->times[gt].instr == i ? &g->times[gt] : NULL;
        if (j == f->ncode || (i < g->ncode && g->code[i].offset < f->code[j].offset)) {
            if (a) {
                t[nt++] = (pf_itime){(uint32_t)n, a->samples, a->time_ns};
                gt++;
            }
            v[n++] = g->code[i++];
            continue;
        }
        const pf_itime *b = ft < f->ntimes && f->times[ft].instr == j ? &f->times[ft] : NULL;
        pf_instr in = f->code[j++];
        in.op = opmap[in.op];
        uint64_t time = b ? b->time_ns : 0, samples = b ? b->samples : 0;
        ft += b != NULL;
        if (i < g->ncode && g->code[i].offset == in.offset) {
            /* the same offset with another opcode (edited code, same first
             * line): the name first seen stays, which keeps merging
             * associative */
            in.op = g->code[i].op;
            in.count = pf_add_sat(in.count, g->code[i].count);
            if (a) {
                time = pf_add_sat(time, a->time_ns);
                samples += a->samples;
                gt++;
            }
            i++;
        }
        if (time || samples)
            t[nt++] = (pf_itime){(uint32_t)n, pf_samples_sat(samples), time};
        v[n++] = in;
    }
    free(g->code);
    free(g->times);
    g->code = v;
    g->ncode = n;
    g->times = t;
    g->ntimes = nt;
    return 0;
}

/* The forms of a function that has f's instructions: where the two runs
 * ended with different forms, neither is the form "at the end" (-1). */
static void merge_forms_in_place(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    for (size_t i = 0; i < g->ncode; i++)
        if (f->forms[i] == PF_NO_FORM || opmap[f->forms[i]] != g->forms[i])
            g->forms[i] = PF_NO_FORM;
}

static int by_instr_op(const void *a, const void *b)
{
    const pf_form_time *x = a, *y = b;
    if (x->instr != y->instr)
        return x->instr < y->instr ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op;
}

/* g's form_times plus f's (same instructions); 0 or -1. */
static int merge_form_times(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    if (!f->nform_times)
        return 0;
    pf_form_time *t = realloc(g->form_times, (g->nform_times + f->nform_times + 1) * sizeof *t);
    if (!t)
        return -1;
    g->form_times = t;
    for (size_t k = 0; k < f->nform_times; k++) {
        t[g->nform_times + k] = f->form_times[k];
        t[g->nform_times + k].op = opmap[f->form_times[k].op];
    }
    size_t n = g->nform_times + f->nform_times, m = 0;
    qsort(t, n, sizeof *t, by_instr_op);
    for (size_t k = 0; k < n; k++) {
        if (m && t[m - 1].instr == t[k].instr && t[m - 1].op == t[k].op) {
            t[m - 1].time_ns = pf_add_sat(t[m - 1].time_ns, t[k].time_ns);
            t[m - 1].samples = pf_add_sat(t[m - 1].samples, t[k].samples);
        } else {
            t[m++] = t[k];
        }
    }
    g->nform_times = m;
    return 0;
}

/* What no longer fits g's instructions after a union (edited code), or
 * what one of the runs merged did not record. */
static void drop_forms(pf_function *g)
{
    free(g->forms);
    free(g->form_times);
    g->forms = NULL;
    g->form_times = NULL;
    g->nform_times = 0;
}

static void add_totals(pf_function *g, const pf_function *f)
{
    g->calls = pf_add_sat(g->calls, f->calls);
    g->instructions = pf_add_sat(g->instructions, f->instructions);
    g->time_ns = pf_add_sat(g->time_ns, f->time_ns);
    g->cumulative_ns = pf_add_sat(g->cumulative_ns, f->cumulative_ns);
}

/* f's instructions, times and totals into g that has none yet (its forms
 * are f's already). */
static int add_code_first(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    if (add_code_union(g, f, opmap) < 0)
        return -1;
    add_totals(g, f);
    return 0;
}

/* Adds f's instructions, times, forms and totals into g. */
static int add_code(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    int done = add_code_in_place(g, f);
    if (done < 0 || (!done && add_code_union(g, f, opmap) < 0))
        return -1;
    if (!done || !f->forms || !g->forms) {   /* one run's forms are no sum's */
        drop_forms(g);
    } else {
        merge_forms_in_place(g, f, opmap);
        if (merge_form_times(g, f, opmap) < 0)
            return -1;
    }
    add_totals(g, f);
    return 0;
}

/* The first profile's disassembly stays (the same key, the same code). */
static int copy_listing(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    if (f->codeinfo && !(g->codeinfo = pf_code_copy(f->codeinfo)))
        return -1;
    if (!f->nlisting)
        return 0;
    g->listing = calloc(f->nlisting, sizeof *g->listing);
    if (!g->listing)
        return -1;
    for (size_t i = 0; i < f->nlisting; i++) {
        pf_listing l = f->listing[i];
        l.argrepr = NULL;
        if (pf_set_string(&l.argrepr, f->listing[i].argrepr ? f->listing[i].argrepr : "") < 0)
            return -1;
        l.op = opmap[l.op];
        g->listing[g->nlisting++] = l;
    }
    return 0;
}

/* ---- functions by key -------------------------------------------------- */


static uint64_t fn_hash(const pf_function *f)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[] = {f->file, f->qualname, f->name};
    for (int i = 0; i < 3; i++)
        for (const char *c = parts[i] ? parts[i] : ""; ; c++) {
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (!*c)
                break;
        }
    h ^= (uint64_t)(uint32_t)f->firstlineno * 0x9e3779b97f4a7c15ull ^ (uint64_t)f->scope;
    return h ^ (h >> 29);
}

void mf_index_release(mf_index *x)
{
    free(x->slot);
    free(x->next);
    free(x->last);
    memset(x, 0, sizeof *x);
}

uint32_t mf_first(const mf_index *x, const pf_function *fns, const pf_function *f)
{
    for (size_t j = fn_hash(f) & (x->cap - 1); x->slot[j]; j = (j + 1) & (x->cap - 1))
        if (same_key(&fns[x->slot[j] - 1], f))
            return x->slot[j] - 1;
    return MF_NONE;
}

int mf_add(mf_index *x, const pf_function *fns, uint32_t i)
{
    if (i >= x->nfns) {
        size_t n = x->nfns ? 2 * x->nfns : 256;
        uint32_t *nx = realloc(x->next, n * sizeof *nx), *ls = nx ? realloc(x->last, n * sizeof *ls) : NULL;
        if (nx)
            x->next = nx;
        if (!ls)
            return -1;
        x->last = ls;
        x->nfns = n;
    }
    x->next[i] = MF_NONE;
    uint32_t head = x->cap ? mf_first(x, fns, &fns[i]) : MF_NONE;
    if (head != MF_NONE) {
        x->next[x->last[head]] = i;
        x->last[head] = i;
        return 0;
    }
    if (2 * (x->used + 1) > x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 1024;
        uint32_t *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t k = 0; k < x->cap; k++) {
            if (!x->slot[k])
                continue;
            size_t j = fn_hash(&fns[x->slot[k] - 1]) & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = x->slot[k];
        }
        free(x->slot);
        x->slot = slot;
        x->cap = cap;
    }
    size_t j = fn_hash(&fns[i]) & (x->cap - 1);
    while (x->slot[j])
        j = (j + 1) & (x->cap - 1);
    x->slot[j] = i + 1;
    x->used++;
    x->last[i] = i;
    return 0;
}

/* A function new to the sum starts with f's forms (mapped to its opcodes). */
static int copy_forms(pf_function *g, const pf_function *f, const uint16_t *opmap)
{
    if (f->forms) {
        if (!(g->forms = malloc((f->ncode ? f->ncode : 1) * sizeof *g->forms)))
            return -1;
        for (size_t i = 0; i < f->ncode; i++)
            g->forms[i] = f->forms[i] == PF_NO_FORM ? PF_NO_FORM : opmap[f->forms[i]];
    }
    if (f->nform_times) {
        if (!(g->form_times = malloc(f->nform_times * sizeof *g->form_times)))
            return -1;
        for (size_t k = 0; k < f->nform_times; k++) {
            g->form_times[k] = f->form_times[k];
            g->form_times[k].op = opmap[f->form_times[k].op];
        }
        g->nform_times = f->nform_times;
    }
    return 0;
}

/* The function in `out` that f is: the k-th function with f's key in
 * p (k = rank) is the k-th with that key in out, so two lambdas on one
 * line stay two functions, and merging stays associative.  own: f itself
 * when its input gives its arrays up (pf_merger_read): a function new to
 * out takes them instead of a copy. */
int mf_merge_function(pf_profile *out, mf_index *x, const pf_function *f, pf_function *own,
                          size_t rank, uint32_t *id, const uint16_t *opmap)
{
    uint32_t k = x->cap ? mf_first(x, out->functions, f) : MF_NONE;
    while (k != MF_NONE && rank--)
        k = x->next[k];
    if (k != MF_NONE) {
        *id = k;
        return add_code(&out->functions[k], f, opmap);
    }
    pf_function *g = pf_add_function(out);
    if (!g)
        return -1;
    *id = g->id;
    g->firstlineno = f->firstlineno;
    g->scope = f->scope;
    if (pf_set_string(&g->file, f->file) < 0 || pf_set_string(&g->name, f->name) < 0 ||
        pf_set_string(&g->qualname, f->qualname) < 0 || copy_listing(g, f, opmap) < 0 ||
        mf_add(x, out->functions, g->id) < 0)
        return -1;
    g = &out->functions[*id];
    if (copy_forms(g, f, opmap) < 0)
        return -1;
    if (!own)
        return add_code_first(g, f, opmap);
    for (size_t i = 0; i < own->ncode; i++)
        own->code[i].op = opmap[own->code[i].op];
    g->code = own->code;
    g->ncode = own->ncode;
    g->times = own->times;
    g->ntimes = own->ntimes;
    own->code = NULL;
    own->times = NULL;
    own->ncode = own->ntimes = 0;
    add_totals(g, own);
    return 0;
}

