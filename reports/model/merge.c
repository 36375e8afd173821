/*
 * merge.c - profile + profile.
 */
#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_key(const pf_function *g, const pf_function *f)
{
    return g->firstlineno == f->firstlineno && g->scope == f->scope &&
           !strcmp(g->file, f->file) && !strcmp(g->qualname, f->qualname) &&
           !strcmp(g->name, f->name);
}

/* Adds f's instructions into g (union by offset). */
static int add_code(pf_profile *out, pf_function *g, const pf_profile *p, const pf_function *f)
{
    pf_instr *v = malloc((g->ncode + f->ncode + 1) * sizeof *v);
    if (!v)
        return -1;
    size_t n = 0, i = 0, j = 0;
    while (i < g->ncode || j < f->ncode) {
        if (j == f->ncode || (i < g->ncode && g->code[i].offset < f->code[j].offset)) {
            v[n++] = g->code[i++];
            continue;
        }
        int op = pf_opname_index(out, pf_opname(p, f->code[j].op));
        if (op < 0) {
            free(v);
            return -1;
        }
        pf_instr in = f->code[j++];
        in.op = (uint16_t)op;
        if (i < g->ncode && g->code[i].offset == in.offset) {
            /* the same offset with another opcode (edited code, same first
             * line): the name first seen stays, which keeps merging
             * associative */
            in.op = g->code[i].op;
            in.count = pf_add_sat(in.count, g->code[i].count);
            in.time_ns = pf_add_sat(in.time_ns, g->code[i].time_ns);
            in.samples = pf_add_sat(in.samples, g->code[i++].samples);
        }
        v[n++] = in;
    }
    free(g->code);
    g->code = v;
    g->ncode = n;
    g->calls = pf_add_sat(g->calls, f->calls);
    g->instructions = pf_add_sat(g->instructions, f->instructions);
    g->time_ns = pf_add_sat(g->time_ns, f->time_ns);
    g->cumulative_ns = pf_add_sat(g->cumulative_ns, f->cumulative_ns);
    return 0;
}

/* The first profile's disassembly stays (the same key, the same code). */
static int copy_listing(pf_profile *out, pf_function *g, const pf_profile *p,
                        const pf_function *f)
{
    if (!f->nlisting)
        return 0;
    g->listing = calloc(f->nlisting, sizeof *g->listing);
    if (!g->listing)
        return -1;
    for (size_t i = 0; i < f->nlisting; i++) {
        pf_listing l = f->listing[i];
        int op = pf_opname_index(out, pf_opname(p, l.op));
        l.argrepr = NULL;
        if (op < 0 || pf_set_string(&l.argrepr, f->listing[i].argrepr ? f->listing[i].argrepr : "") < 0)
            return -1;
        l.op = (uint16_t)op;
        g->listing[g->nlisting++] = l;
    }
    return 0;
}

/* The function in `out` that f is: the k-th function with f's key in
 * p (k = *rank) is the k-th with that key in out, so two lambdas on one
 * line stay two functions, and merging stays associative. */
static int merge_function(pf_profile *out, const pf_profile *p, const pf_function *f,
                          uint32_t *id)
{
    size_t rank = 0;
    for (size_t k = 0; k < f->id; k++)
        rank += same_key(&p->functions[k], f);
    for (size_t k = 0; k < out->nfunctions; k++) {
        if (same_key(&out->functions[k], f) && rank-- == 0) {
            *id = (uint32_t)k;
            return add_code(out, &out->functions[k], p, f);
        }
    }
    pf_function *g = pf_add_function(out);
    if (!g)
        return -1;
    *id = g->id;
    g->firstlineno = f->firstlineno;
    g->scope = f->scope;
    if (pf_set_string(&g->file, f->file) < 0 || pf_set_string(&g->name, f->name) < 0 ||
        pf_set_string(&g->qualname, f->qualname) < 0 || copy_listing(out, g, p, f) < 0)
        return -1;
    return add_code(out, g, p, f);
}

static int add_ops(pf_profile *out, pf_stack *t, const pf_profile *p, const pf_stack *s)
{
    for (size_t i = 0; i < s->nops; i++) {
        int op = pf_opname_index(out, pf_opname(p, s->ops[i].op));
        if (op < 0)
            return -1;
        size_t k = 0;
        while (k < t->nops && t->ops[k].op != op)
            k++;
        if (k == t->nops) {
            pf_opcount *v = realloc(t->ops, (t->nops + 1) * sizeof *v);
            if (!v)
                return -1;
            t->ops = v;
            t->ops[t->nops++] = (pf_opcount){(uint16_t)op, 0, 0};
        }
        t->ops[k].count = pf_add_sat(t->ops[k].count, s->ops[i].count);
        t->ops[k].time_ns = pf_add_sat(t->ops[k].time_ns, s->ops[i].time_ns);
    }
    return 0;
}

static int merge_stack(pf_profile *out, const pf_profile *p, const pf_stack *s,
                       const uint32_t *ids)
{
    int thread = pf_thread_index(out, s->thread < p->nthreads ? p->threads[s->thread] : "?");
    if (thread < 0)
        return -1;
    pf_stack *t = NULL;
    for (size_t k = 0; k < out->nstacks && !t; k++) {
        pf_stack *c = &out->stacks[k];
        int same = c->thread == (uint32_t)thread && c->nframes == s->nframes;
        for (size_t i = 0; same && i < s->nframes; i++)
            same = c->frames[i] == ids[s->frames[i]];
        if (same)
            t = c;
    }
    if (!t) {
        if (!(t = pf_add_stack(out)) || !(t->frames = calloc(s->nframes + 1, sizeof *t->frames)))
            return -1;
        t->thread = (uint32_t)thread;
        for (size_t i = 0; i < s->nframes; i++)
            t->frames[t->nframes++] = ids[s->frames[i]];
    }
    t->instructions = pf_add_sat(t->instructions, s->instructions);
    t->time_ns = pf_add_sat(t->time_ns, s->time_ns);
    return add_ops(out, t, p, s);
}

static int copy_header(pf_profile *out, const pf_profile *p)
{
    out->hexversion = p->hexversion;
    out->timed = p->timed;
    out->counted = p->counted;
    out->rate_hz = p->rate_hz;
    out->specialization = p->specialization;
    out->stacks_enabled = p->stacks_enabled;
    out->exit_status = p->exit_status;
    struct { char **dst; const char *src; } s[] = {
        {&out->python_version, p->python_version}, {&out->implementation, p->implementation},
        {&out->python_build, p->python_build}, {&out->python_prefix, p->python_prefix},
        {&out->executable, p->executable}, {&out->root, p->root},
        {&out->hash_seed, p->hash_seed}, {&out->collector, p->collector},
        {&out->timing_method, p->timing_method}, {&out->timing_clock, p->timing_clock},
    };
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        if (s[i].src && pf_set_string(s[i].dst, s[i].src) < 0)
            return -1;
    return pf_set_argv(out, (const char *const *)p->argv, p->argc);
}

static int merge_one(pf_profile *out, const pf_profile *p)
{
    uint32_t *ids = calloc(p->nfunctions + 1, sizeof *ids);
    if (!ids)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->nfunctions; i++)
        rc = merge_function(out, p, &p->functions[i], &ids[i]);
    for (size_t i = 0; rc == 0 && i < p->nstacks; i++)
        rc = merge_stack(out, p, &p->stacks[i], ids);
    free(ids);
    if (rc < 0)
        return -1;
    out->instructions = pf_add_sat(out->instructions, p->instructions);
    out->wall_ns = pf_add_sat(out->wall_ns, p->wall_ns);
    out->time_ns = pf_add_sat(out->time_ns, p->time_ns);
    out->samples = pf_add_sat(out->samples, p->samples);
    out->sampled_ns = pf_add_sat(out->sampled_ns, p->sampled_ns);
    out->overhead_ns = pf_add_sat(out->overhead_ns, p->overhead_ns);
    out->unattributed_ns = pf_add_sat(out->unattributed_ns, p->unattributed_ns);
    out->timed &= p->timed;  /* times of some runs only would mislead */
    out->counted &= p->counted;
    out->stacks_enabled &= p->stacks_enabled;
    if (!out->exit_status)
        out->exit_status = p->exit_status;
    if (p->incomplete)
        return pf_mark_incomplete(out, p->incomplete_reason ? p->incomplete_reason : "?");
    return 0;
}

int pf_merge(pf_profile *const *in, size_t n, pf_profile **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n == 0) {
        snprintf(err, errlen, "nothing to merge");
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if (!pf_same_interpreter(in[0], in[i])) {
            snprintf(err, errlen, "profile %zu comes from another interpreter (%s, not %s): "
                     "merging would mix different bytecode", i + 1,
                     in[i]->python_version ? in[i]->python_version : "?",
                     in[0]->python_version ? in[0]->python_version : "?");
            return -1;
        }
    }
    pf_profile *p = pf_profile_new();
    int rc = p ? copy_header(p, in[0]) : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = merge_one(p, in[i]);
    if (rc < 0) {
        pf_profile_release(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* sums past what a profile holds saturated: refused here, never
     * written for opprof to refuse later */
    char why[256];
    if (pf_check_sums(p, why, sizeof why) < 0) {
        pf_profile_release(p);
        snprintf(err, errlen, "the merged profile cannot be written: %s", why);
        return -1;
    }
    *out = p;
    return 0;
}
