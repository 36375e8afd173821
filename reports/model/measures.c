/*
 * measures.c - a profile's counts and times: sums by opcode, the entries
 * that hold nodes' and instructions' times, and the check that every sum
 * a profile promises holds (profile.h).
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pf_function_opcodes(const pf_profile *p, const pf_function *f, pf_opcount *out)
{
    memset(out, 0, p->nopnames * sizeof *out);
    for (size_t i = 0; i < f->ncode; i++) {
        const pf_instr *in = &f->code[i];
        if (in->op < p->nopnames) {
            out[in->op].op = in->op;
            out[in->op].count += in->count;
        }
    }
    for (size_t k = 0; k < f->ntimes; k++) {
        const pf_instr *in = &f->code[f->times[k].instr];
        if (f->times[k].instr < f->ncode && in->op < p->nopnames)
            out[in->op].time_ns += f->times[k].time_ns;
    }
}

size_t pf_node_opcounts(const pf_node *n, pf_opcount *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nops; i++)
        out[k++] = (pf_opcount){n->ops[i].op, n->ops[i].v, 0};
    const pf_opval *t = pf_node_times(n);
    for (size_t j = 0; j < n->ntimes; j++) {
        size_t i = 0;
        while (i < n->nops && out[i].op != t[j].op)
            i++;
        if (i == n->nops)
            out[i = k++] = (pf_opcount){t[j].op, 0, 0};
        out[i].time_ns = t[j].v;
    }
    return k;
}

/* The entry for op among n's counts (times: 0) or times (1), made when
 * there is none: NULL when out of memory. */
static pf_opval *node_entry(pf_node *n, uint16_t op, int times)
{
    pf_opval *v = times ? pf_node_times(n) : n->ops;
    size_t len = times ? n->ntimes : n->nops;
    for (size_t k = 0; k < len; k++)
        if (v[k].op == op)
            return &v[k];
    pf_opval *w = realloc(n->ops, (n->nops + n->ntimes + 1) * sizeof *w);
    if (!w)
        return NULL;
    n->ops = w;
    size_t at = times ? (size_t)n->nops + n->ntimes : n->nops;
    /* a new count goes before the times */
    memmove(&w[at + 1], &w[at], ((size_t)n->nops + n->ntimes - at) * sizeof *w);
    w[at] = (pf_opval){0, op};
    if (times)
        n->ntimes++;
    else
        n->nops++;
    return &w[at];
}

int pf_node_add_op(pf_node *n, uint16_t op, uint64_t count, uint64_t time_ns)
{
    pf_opval *e;
    if (count) {
        if (!(e = node_entry(n, op, 0)))
            return -1;
        e->v = pf_add_sat(e->v, count);
    }
    if (time_ns) {
        if (!(e = node_entry(n, op, 1)))
            return -1;
        e->v = pf_add_sat(e->v, time_ns);
    }
    return 0;
}

int pf_node_set_time(pf_node *n, uint16_t op, uint64_t time_ns)
{
    pf_opval *e = node_entry(n, op, 1);
    if (!e)
        return -1;
    e->v = time_ns;
    return 0;
}

static int by_line_op(const void *a, const void *b)
{
    const pf_site *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->op > y->op) - (x->op < y->op);
}

/* Sorts v[0..n) by (line, op) and adds up equal ones: how many are left. */
static size_t combine_sites(pf_site *v, size_t n)
{
    qsort(v, n, sizeof *v, by_line_op);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (!v[k].v)
            continue;
        if (m && v[m - 1].line == v[k].line && v[m - 1].op == v[k].op)
            v[m - 1].v = pf_add_sat(v[m - 1].v, v[k].v);
        else
            v[m++] = v[k];
    }
    return m;
}

int pf_node_add_sites(pf_node *n, const pf_site *s, uint32_t nsites, uint32_t ntimes,
                      const uint16_t *opmap)
{
    size_t nc = (size_t)n->nsites + nsites, nt = (size_t)n->nsite_times + ntimes;
    if (!nsites && !ntimes)
        return 0;
    pf_site *v = malloc((nc + nt) * sizeof *v);
    if (!v)
        return -1;
    /* counts: n's, then s's; times likewise, after all the counts */
    const pf_site *mine = n->sites;
    size_t at = 0;
    for (size_t k = 0; k < n->nsites; k++)
        v[at++] = mine[k];
    for (size_t k = 0; k < nsites; k++, at++) {
        v[at] = s[k];
        v[at].op = opmap ? opmap[s[k].op] : s[k].op;
    }
    for (size_t k = 0; k < n->nsite_times; k++)
        v[at++] = mine[n->nsites + k];
    for (size_t k = 0; k < ntimes; k++, at++) {
        v[at] = s[nsites + k];
        v[at].op = opmap ? opmap[s[nsites + k].op] : s[nsites + k].op;
    }
    size_t mc = combine_sites(v, nc), mt = combine_sites(v + nc, nt);
    memmove(v + mc, v + nc, mt * sizeof *v);
    free(n->sites);
    n->sites = v;
    n->nsites = (uint32_t)mc;
    n->nsite_times = (uint32_t)mt;
    return 0;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int pf_function_sitekeys(const pf_function *f, uint64_t **keys, size_t *n)
{
    uint64_t *k = malloc((f->ncode + 1) * sizeof *k);
    *keys = k;
    *n = 0;
    if (!k)
        return -1;
    int sorted = 1;
    for (size_t i = 0; i < f->ncode; i++) {
        k[i] = pf_site_key(f->code[i].line, f->code[i].op);
        sorted &= !i || k[i - 1] < k[i];
    }
    if (!sorted)
        qsort(k, f->ncode, sizeof *k, by_u64);
    size_t m = 0;
    for (size_t i = 0; i < f->ncode; i++)
        if (!m || k[m - 1] != k[i])
            k[m++] = k[i];
    *n = m;
    return 0;
}

void pf_node_drop_sites(pf_node *n)
{
    free(n->sites);
    n->sites = NULL;
    n->nsites = n->nsite_times = 0;
}

const pf_instr *pf_instr_at(const pf_function *f, uint32_t offset)
{
    size_t lo = 0, hi = f->ncode;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->code[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->ncode && f->code[lo].offset == offset ? &f->code[lo] : NULL;
}

const pf_itime *pf_instr_times(const pf_function *f, size_t i)
{
    size_t lo = 0, hi = f->ntimes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->times[mid].instr < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->ntimes && f->times[lo].instr == i ? &f->times[lo] : NULL;
}

int pf_add_instr_time(pf_function *f, size_t i, uint64_t time_ns, uint64_t samples)
{
    if (!time_ns && !samples)
        return 0;
    pf_itime *t = (pf_itime *)(f->ntimes ? pf_instr_times(f, i) : NULL);
    if (!t) {
        size_t at = f->ntimes;
        while (at > 0 && f->times[at - 1].instr > i)   /* mostly appended in order */
            at--;
        pf_itime *v = realloc(f->times, (f->ntimes + 1) * sizeof *v);
        if (!v)
            return -1;
        f->times = v;
        memmove(&v[at + 1], &v[at], (f->ntimes - at) * sizeof *v);
        v[at] = (pf_itime){(uint32_t)i, 0, 0};
        f->ntimes++;
        t = &v[at];
    }
    t->time_ns = pf_add_sat(t->time_ns, time_ns);
    t->samples = pf_samples_sat((uint64_t)t->samples + samples);
    return 0;
}

uint64_t pf_function_samples(const pf_function *f)
{
    uint64_t n = 0;
    for (size_t k = 0; k < f->ntimes; k++)
        n += f->times[k].samples;
    return n;
}

uint64_t pf_add_sat(uint64_t a, uint64_t b)
{
    uint64_t s;
    return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

/* s += v, refusing what a profile cannot hold. */
static int sum_into(uint64_t *s, uint64_t v)
{
    *s = pf_add_sat(*s, v);
    return *s <= PF_MAX_COUNT && v <= PF_MAX_COUNT ? 0 : -1;
}

static int too_big(char *err, size_t errlen, const char *what, size_t i)
{
    snprintf(err, errlen, "%s %zu: counts or times past 2^63-1, more than any run makes", what,
             i);
    return -1;
}

int pf_check_function(const pf_profile *p, size_t i, char *err, size_t errlen)
{
    const pf_function *f = &p->functions[i];
    uint64_t n = 0, t = 0, samples = 0;
    for (size_t k = 0; k < f->ncode; k++) {
        if (sum_into(&n, f->code[k].count) < 0)
            return too_big(err, errlen, "function", i);
        if (k && f->code[k].offset <= f->code[k - 1].offset) {
            snprintf(err, errlen, "function %zu: its code is not in offset order", i);
            return -1;
        }
    }
    for (size_t k = 0; k < f->ntimes; k++) {
        if (sum_into(&t, f->times[k].time_ns) < 0 ||
            sum_into(&samples, f->times[k].samples) < 0)
            return too_big(err, errlen, "function", i);
        if (f->times[k].instr >= f->ncode || (k && f->times[k].instr <= f->times[k - 1].instr)) {
            snprintf(err, errlen, "function %zu: its times are not of its instructions, in "
                     "order", i);
            return -1;
        }
    }
    /* an instruction's time split by form never exceeds its time */
    uint64_t split = 0;
    for (size_t k = 0; k < f->nform_times; k++) {
        const pf_form_time *a = &f->form_times[k], *b = k ? &f->form_times[k - 1] : NULL;
        if (a->instr >= f->ncode || (b && (a->instr < b->instr ||
                                           (a->instr == b->instr && a->op <= b->op)))) {
            snprintf(err, errlen, "function %zu: its form_times are not of its instructions, "
                     "in order", i);
            return -1;
        }
        split = b && b->instr == a->instr ? split + a->samples : a->samples;
        if (split > pf_instr_samples(f, a->instr)) {
            snprintf(err, errlen, "function %zu: instruction %u has more samples by form than "
                     "samples", i, (unsigned)a->instr);
            return -1;
        }
    }
    if (f->calls > PF_MAX_COUNT || f->time_ns > PF_MAX_COUNT || f->cumulative_ns > PF_MAX_COUNT ||
        f->instructions > PF_MAX_COUNT)
        return too_big(err, errlen, "function", i);
    if (n != f->instructions) {
        snprintf(err, errlen, "function %zu: its instructions (%llu) are not the sum of its "
                 "code's counts (%llu)", i, (unsigned long long)f->instructions,
                 (unsigned long long)n);
        return -1;
    }
    return 0;
}

int pf_check_sums(const pf_profile *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->nfunctions; i++)
        if (pf_check_function(p, i, err, errlen) < 0)
            return -1;
    return pf_check_totals(p, err, errlen);
}

int pf_check_totals(const pf_profile *p, char *err, size_t errlen)
{
    uint64_t total = 0, total_time = 0;
    for (size_t i = 0; i < p->nfunctions; i++)
        if (sum_into(&total, p->functions[i].instructions) < 0 ||
            sum_into(&total_time, p->functions[i].time_ns) < 0)
            return too_big(err, errlen, "function", i);
    if (total != p->instructions) {
        snprintf(err, errlen, "totals.instructions (%llu) is not the sum over functions (%llu)",
                 (unsigned long long)p->instructions, (unsigned long long)total);
        return -1;
    }
    uint64_t header[] = {p->wall_ns, p->time_ns, p->samples, p->sampled_ns, p->overhead_ns,
                         p->unattributed_ns};
    for (size_t i = 0; i < sizeof header / sizeof *header; i++)
        if (header[i] > PF_MAX_COUNT)
            return too_big(err, errlen, "totals", 0);
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i];
        uint64_t n = 0;
        if (s->instructions > PF_MAX_COUNT || s->time_ns > PF_MAX_COUNT)
            return too_big(err, errlen, "node", i);
        for (size_t k = 0; k < s->nops; k++)
            if (sum_into(&n, s->ops[k].v) < 0)
                return too_big(err, errlen, "node", i);
        for (size_t k = 0; k < s->ntimes; k++)
            if (pf_node_times(s)[k].v > PF_MAX_COUNT)
                return too_big(err, errlen, "node", i);
        if (s->nsites || s->nsite_times) {
            uint64_t c = 0, t = 0;
            const pf_site *v = s->sites;
            for (size_t k = 0; k < s->nsites; k++)
                if (sum_into(&c, v[k].v) < 0)
                    return too_big(err, errlen, "node", i);
            for (size_t k = 0; k < s->nsite_times; k++)
                if (sum_into(&t, v[s->nsites + k].v) < 0)
                    return too_big(err, errlen, "node", i);
            if (c != s->instructions || t != s->time_ns) {
                snprintf(err, errlen, "node %zu: its sites do not add up to its instructions "
                         "and time", i);
                return -1;
            }
        }
        if ((s->parent != PF_NO_NODE && s->parent >= i) || s->function >= p->nfunctions ||
            (p->nthreads && s->thread >= p->nthreads)) {
            snprintf(err, errlen, "node %zu: its parent, function or thread is not one of "
                     "the profile's", i);
            return -1;
        }
    }
    for (size_t i = 0; i < p->nnative_stacks; i++)
        if (p->native_stacks[i].samples > PF_MAX_COUNT ||
            p->native_stacks[i].time_ns > PF_MAX_COUNT)
            return too_big(err, errlen, "native stack", i);
    return 0;
}
