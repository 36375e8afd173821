/*
 * findings_view.c - findings_view.h: functions seen instruction by
 * instruction, and the wording helpers.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings_view.h"

/* ---- strings ----------------------------------------------------------- */

char *fdv_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* An argrepr's name without dis's NULL markers: "NULL + len" -> "len",
 * "append + NULL|self" -> "append". */
void fdv_bare(const char *argrepr, char *buf, size_t n)
{
    const char *s = argrepr;
    const char *pre[] = {"NULL|self + ", "NULL + "};
    for (int i = 0; i < 2; i++)
        if (strncmp(s, pre[i], strlen(pre[i])) == 0)
            s += strlen(pre[i]);
    size_t len = strcspn(s, " ");
    snprintf(buf, n, "%.*s", (int)len, s);
}

int fdv_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

void fdv_add(ctx *c, fd_kind kind, double weight, char *title, char *evidence, char *change)
{
    if (c->out->n == c->out->cap) {
        size_t cap = c->out->cap ? c->out->cap * 2 : 8;
        fd_finding *v = realloc(c->out->v, cap * sizeof *v);
        if (!v)
            title = NULL;     /* counted as out of memory below */
        else {
            c->out->v = v;
            c->out->cap = cap;
        }
    }
    if (!title || !evidence || !change) {
        free(title);
        free(evidence);
        free(change);
        c->failed = 1;
        return;
    }
    c->out->v[c->out->n++] = (fd_finding){kind, weight, title, evidence, change};
}

/* ---- views ------------------------------------------------------------- */

/* 1 with v filled, 0 when f has no code to look at, -1 when out of memory. */
int fdv_open(view *v, const pf_profile *p, const pf_function *f)
{
    memset(v, 0, sizeof *v);
    v->f = f;
    if (!f->codeinfo || !f->ncode)
        return 0;
    dz_code dc;
    char err[128];
    pf_code_as_dz(f->codeinfo, pf_minor(p), &dc);
    if (dz_disassemble(&dc, &v->l, err, sizeof err) < 0)
        return 0;    /* a listing the profile cannot give is nothing to find */
    size_t n = v->l.n + 1;
    v->count = calloc(n, sizeof *v->count);
    v->time = calloc(n, sizeof *v->time);
    v->samples = calloc(n, sizeof *v->samples);
    if (!v->count || !v->time || !v->samples)
        return -1;
    size_t k = 0;    /* f->code and the listing both rise by offset */
    for (size_t i = 0; i < v->l.n; i++) {
        uint32_t off = (uint32_t)v->l.v[i].offset;
        while (k < f->ncode && f->code[k].offset < off)
            k++;
        if (k < f->ncode && f->code[k].offset == off) {
            v->count[i] = f->code[k].count;
            const pf_itime *t = f->ntimes ? pf_instr_times(f, k) : NULL;
            v->time[i] = t ? t->time_ns : 0;
            v->samples[i] = t ? t->samples : 0;
        }
    }
    v->loop_floor = (f->calls ? f->calls : 1) * FD_LOOP_FACTOR;
    return 1;
}

void fdv_close(view *v)
{
    dz_listing_release(&v->l);
    free(v->count);
    free(v->time);
    free(v->samples);
}

int fdv_hot(const view *v, size_t i)
{
    return v->count[i] >= FD_MIN_COUNT && v->count[i] >= v->loop_floor;
}

const char *fdv_op(const view *v, size_t i) { return v->l.v[i].opname; }

/* The code concerned weighs enough: instructions (counted) and time (timed). */
int fdv_weighs(const ctx *c, uint64_t instr, uint64_t time_ns)
{
    if (c->run_instr && (double)instr < FD_MIN_SHARE * (double)c->run_instr)
        return 0;
    if (c->p->timed && c->p->samples >= FD_MIN_SAMPLES && c->run_time &&
        (double)time_ns < FD_MIN_SHARE * (double)c->run_time)
        return 0;
    return 1;
}

double fdv_weight(const ctx *c, uint64_t instr, uint64_t time_ns)
{
    double a = c->run_instr ? (double)instr / (double)c->run_instr : 0;
    double b = c->p->timed && c->run_time ? (double)time_ns / (double)c->run_time : 0;
    return a > b ? a : b;
}

const char *fdv_where(char *buf, size_t n, const pf_function *f, int lo, int hi)
{
    if (lo > 0 && hi > lo)
        snprintf(buf, n, "%s (%s:%d-%d)", f->qualname, pf_basename(f->file), lo, hi);
    else
        snprintf(buf, n, "%s (%s:%d)", f->qualname, pf_basename(f->file),
                 lo > 0 ? lo : f->firstlineno);
    return buf;
}

