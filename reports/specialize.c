/*
 * specialize.c - the specialization view (specialize.h).
 */
#include "specialize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/opcodes.h"

/* The opcode of `name` in t, -1 if t has no such name. */
static int op_of(const oc_table *t, const char *name)
{
    for (unsigned op = 0; t && name && op < 256; op++) {
        const char *n = oc_name(t, op);
        if (n && strcmp(n, name) == 0)
            return (int)op;
    }
    return -1;
}

/* 3.12's superinstructions (LOAD_FAST__LOAD_FAST: two instructions in
 * one dispatch) are listed with the specialized forms but are no guess
 * about types that can hit or miss. */
static int superinstruction(const char *name)
{
    return strstr(name, "__") != NULL;
}

static int has_forms(const oc_table *t, unsigned op)
{
    for (unsigned o = 0; o < 256; o++)
        if (o != op && oc_name(t, o) && oc_base(t, o) == op && !superinstruction(oc_name(t, o)))
            return 1;
    return 0;
}

int sv_view_init(sv_view *v, const pf_profile *p)
{
    memset(v, 0, sizeof *v);
    v->p = p;
    v->minor = pf_minor(p);
    size_t n = p->nopnames ? p->nopnames : 1;
    v->kind_of = calloc(n, 1);
    v->specializable = calloc(n, 1);
    if (!v->kind_of || !v->specializable) {
        sv_view_release(v);
        return -1;
    }
    const oc_table *t = oc_table_for(v->minor);
    for (size_t i = 0; t && i < p->nopnames; i++) {
        const char *name = p->opnames[i];
        int op = op_of(t, name);
        if (op < 0)
            continue;
        if (strncmp(name, "INSTRUMENTED_", 13) == 0)
            v->kind_of[i] = SV_INSTRUMENTED;
        else if (strcmp(name, "ENTER_EXECUTOR") == 0 ||
                 (oc_base(t, (unsigned)op) != (unsigned)op && !superinstruction(name)))
            v->kind_of[i] = SV_SPECIALIZED;
        else
            v->kind_of[i] = SV_GENERIC;
        v->specializable[i] = has_forms(t, (unsigned)op);
    }
    for (size_t i = 0; i < p->nfunctions && !v->forms; i++)
        v->forms = p->functions[i].forms != NULL;
    return 0;
}

void sv_view_release(sv_view *v)
{
    free(v->kind_of);
    free(v->specializable);
    v->kind_of = v->specializable = NULL;
}

const char *sv_absent_reason(const sv_view *v)
{
    if (v->forms)
        return NULL;
    if (v->minor && v->minor < 11)
        return "3.10 has no specializing interpreter: every instruction runs in its generic form";
    if (v->minor == 11)
        return "not shown on 3.11: it runs every instruction in its generic form while a trace "
               "function is set, and opprof counts through one (3.12+ shows what specialized)";
    return "this profile recorded no forms (made before opprof recorded them, or merged with "
           "one that has none)";
}

const char *sv_form_name(const sv_view *v, const pf_function *f, size_t k)
{
    if (!f->forms || k >= f->ncode || f->forms[k] == PF_NO_FORM || f->forms[k] >= v->p->nopnames)
        return NULL;
    return v->p->opnames[f->forms[k]];
}

sv_kind sv_kind_at(const sv_view *v, const pf_function *f, size_t k)
{
    uint16_t op = f->code[k].op;
    if (op >= v->p->nopnames || !v->specializable[op] || !sv_form_name(v, f, k))
        return SV_NONE;
    return (sv_kind)v->kind_of[f->forms[k]];
}

int sv_by_count(const sv_view *v)
{
    return v->p->counted;
}

void sv_share_add(const sv_view *v, const pf_function *f, sv_share *s)
{
    for (size_t k = 0; k < f->ncode; k++) {
        uint16_t op = f->code[k].op;
        if (op >= v->p->nopnames || !v->specializable[op])
            continue;
        uint64_t w = v->p->counted ? f->code[k].count : pf_instr_time(f, k);
        s->w[sv_kind_at(v, f, k)] += w;
    }
}

typedef struct site {
    uint16_t op;
    uint32_t function, instr;
    uint64_t count, time_ns, samples;
    double ns;
} site;

static int by_op_ns(const void *a, const void *b)
{
    const site *x = a, *y = b;
    if (x->op != y->op)
        return x->op < y->op ? -1 : 1;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

static int by_loss(const void *a, const void *b)
{
    const sv_slow *x = a, *y = b;
    double lx = (x->ns - x->typical) * (double)x->count, ly = (y->ns - y->typical) * (double)y->count;
    return lx > ly ? -1 : lx < ly;
}

/* The count-weighted median ns of g[0..n) but g[skip] (sorted by ns). */
static double median_of_others(const site *g, size_t n, size_t skip, uint64_t others)
{
    uint64_t acc = 0;
    for (size_t j = 0; j < n; j++) {
        if (j == skip)
            continue;
        acc += g[j].count;
        if (2 * acc >= others)
            return g[j].ns;
    }
    return 0;
}

static int judge_group(const site *g, size_t n, sv_slow **out, size_t *nout, size_t *cap)
{
    uint64_t count = 0, samples = 0;
    for (size_t j = 0; j < n; j++) {
        count += g[j].count;
        samples += g[j].samples;
    }
    for (size_t j = 0; j < n; j++) {
        if (g[j].samples < SV_MIN_SAMPLES || samples - g[j].samples < SV_MIN_SAMPLES)
            continue;
        double typical = median_of_others(g, n, j, count - g[j].count);
        double low = g[j].ns * (1.0 - 2.0 / sqrt((double)g[j].samples));
        if (typical <= 0 || low < SV_SLOW_RATIO * typical)
            continue;
        if (*nout == *cap) {
            size_t c = *cap ? 2 * *cap : 16;
            sv_slow *m = realloc(*out, c * sizeof *m);
            if (!m)
                return -1;
            *out = m;
            *cap = c;
        }
        (*out)[(*nout)++] = (sv_slow){g[j].function, g[j].instr, g[j].count, g[j].time_ns,
                                      g[j].samples, g[j].ns, typical};
    }
    return 0;
}

int sv_slow_sites(const sv_view *v, sv_slow **out, size_t *nout)
{
    const pf_profile *p = v->p;
    *out = NULL;
    *nout = 0;
    if (!p->counted || !p->timed)
        return 0;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < p->nfunctions; i++)
        for (size_t k = 0; k < p->functions[i].ncode; k++)
            n += p->functions[i].code[k].count >= SV_MIN_COUNT;  /* room for all: fewer are kept */
    site *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return -1;
    n = 0;
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        for (size_t k = 0; k < f->ncode; k++) {
            uint64_t c = f->code[k].count;
            /* an instruction with no specialized form can be slow for
             * other reasons (STORE_FAST freeing the value it replaces);
             * one that opprof's events hold cannot specialize at all; a
             * CALL's time includes the C function it calls */
            if (c < SV_MIN_COUNT || f->code[k].op >= p->nopnames ||
                !v->specializable[f->code[k].op] || sv_kind_at(v, f, k) == SV_INSTRUMENTED ||
                strncmp(p->opnames[f->code[k].op], "CALL", 4) == 0)
                continue;
            uint64_t t = pf_instr_time(f, k);
            s[n++] = (site){f->code[k].op, (uint32_t)i, (uint32_t)k, c, t, pf_instr_samples(f, k),
                            (double)t / (double)c};
        }
    }
    qsort(s, n, sizeof *s, by_op_ns);
    int rc = 0;
    for (size_t a = 0, b; a < n && rc == 0; a = b) {
        for (b = a; b < n && s[b].op == s[a].op; b++)
            ;
        rc = judge_group(s + a, b - a, out, nout, &cap);
    }
    free(s);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *nout = 0;
        return -1;
    }
    if (*nout)
        qsort(*out, *nout, sizeof **out, by_loss);
    return 0;
}
