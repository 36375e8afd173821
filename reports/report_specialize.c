/*
 * report_specialize.c - the report's "specialization" section
 * (specialize.h): how much of the specializable work ran in specialized
 * forms, per scope and for the top functions, and the slow sites.
 */
#include <stdlib.h>
#include <string.h>

#include "glossary.h"
#include "report_text.h"
#include "specialize.h"
#include "wrap.h"

#define TOP_FUNCTIONS 8
#define SLOW_SITES 8

static void put_share_row(const rt_ctx *c, const char *label, const sv_share *s)
{
    uint64_t all = s->w[SV_SPECIALIZED] + s->w[SV_GENERIC] + s->w[SV_INSTRUMENTED] + s->w[SV_NONE];
    char a[RT_NUM_LEN], b[RT_NUM_LEN], d[RT_NUM_LEN], w[RT_NUM_LEN];
    fprintf(c->out, "  %-14s %12s %12s %13s %16s\n", label,
            rt_cell_pct(a, s->w[SV_SPECIALIZED], all, 1), rt_cell_pct(b, s->w[SV_GENERIC], all, 1),
            rt_cell_pct(d, s->w[SV_INSTRUMENTED], all, 1),
            c->p->counted ? rt_fmt_uint(w, all) : rt_fmt_fixed(w, (double)all / 1e6));
}

static void put_shares(const rt_ctx *c, const sv_view *v)
{
    sv_share mod = {{0}}, fun = {{0}}, all = {{0}};
    for (size_t i = 0; i < c->p->nfunctions; i++) {
        const pf_function *f = &c->p->functions[i];
        sv_share_add(v, f, &all);
        if (f->scope == PF_SCOPE_MODULE)
            sv_share_add(v, f, &mod);
        else if (f->scope > PF_SCOPE_CLASS && f->scope < PF_SCOPE_COUNT)
            sv_share_add(v, f, &fun);
    }
    fprintf(c->out, "  %-14s %12s %12s %13s %16s\n", "", "specialized", "generic", "instrumented",
            sv_by_count(v) ? "executions" : "sampled ms");
    put_share_row(c, "all code", &all);
    put_share_row(c, "module-level", &mod);
    put_share_row(c, "functions", &fun);
}

static int put_top(const rt_ctx *c, const sv_view *v)
{
    size_t *r = pf_functions_by_weight(c->p);
    if (!r)
        return -1;
    fputs("  top functions:\n", c->out);
    for (size_t i = 0, shown = 0; i < c->p->nfunctions && shown < TOP_FUNCTIONS; i++) {
        const pf_function *f = &c->p->functions[r[i]];
        sv_share s = {{0}};
        sv_share_add(v, f, &s);
        if (!(s.w[SV_SPECIALIZED] + s.w[SV_GENERIC] + s.w[SV_INSTRUMENTED] + s.w[SV_NONE]))
            continue;
        char label[15];
        snprintf(label, sizeof label, "%zu.", ++shown);
        put_share_row(c, label, &s);
        fputs("      ", c->out);
        rt_put_plain(c->out, f->qualname ? f->qualname : "?");
        fputs(" (", c->out);
        rt_put_plain(c->out, pf_basename(f->file));
        fprintf(c->out, ":%d)\n", f->firstlineno);
    }
    free(r);
    return 0;
}

/* The specialized forms of `base` in 3.<minor>, as the glossary lists
 * them (the family `opprof explain BASE` shows). */
static size_t family_size(const char *base, int minor)
{
    size_t n = 0;
    for (size_t i = 0; base && i < gl_nentries; i++) {
        const char *b = gl_base_in(&gl_entries[i], minor);
        n += b && strcmp(b, base) == 0 && !strstr(gl_entries[i].name, "__");
    }
    return n;
}

static void put_slow(const rt_ctx *c, const sv_view *v, const sv_slow *s)
{
    const pf_function *f = &c->p->functions[s->function];
    const pf_instr *in = &f->code[s->instr];
    const char *base = pf_opname(c->p, in->op), *form = sv_form_name(v, f, s->instr);
    char n[RT_NUM_LEN];
    fprintf(c->out, "  %s at ", base ? base : "?");
    rt_put_plain(c->out, pf_basename(f->file));
    fprintf(c->out, ":%d in ", in->line);
    rt_put_plain(c->out, f->qualname ? f->qualname : "?");
    fprintf(c->out, ": %.1f ns/execution vs %.1f typical (%.1fx), %s executions, %llu samples\n",
            s->ns, s->typical, s->ns / s->typical, rt_fmt_uint(n, s->count),
            (unsigned long long)s->samples);
    fprintf(c->out, "      held %s at the end; its family: %zu specialized forms in 3.%d "
                    "(opprof explain %s)\n", form ? form : "(not recorded)",
            family_size(base, v->minor), v->minor, base ? base : "?");
}

int rt_put_specialization(const rt_ctx *c)
{
    rt_heading(c, "specialization (the forms held at the end; README \"Specialization\")");
    sv_view v;
    if (sv_view_init(&v, c->p) < 0)
        return -1;
    const char *why = sv_absent_reason(&v);
    if (why) {
        fputs("  ", c->out);
        wr_words(c->out, c->width, why, 2, 2);
        sv_view_release(&v);
        return 0;
    }
    fprintf(c->out, "  of the instructions that can specialize, by %s:\n",
            sv_by_count(&v) ? "executions" : "sampled time");
    put_shares(c, &v);
    sv_slow *slow = NULL;
    size_t nslow = 0;
    int rc = put_top(c, &v);
    if (rc == 0)
        rc = sv_slow_sites(&v, &slow, &nslow);
    if (rc == 0 && c->p->counted && c->p->timed) {
        fprintf(c->out, "  slow sites (>= %.0fx the typical ns/execution of their instruction, "
                        ">= %d samples):\n", SV_SLOW_RATIO, SV_MIN_SAMPLES);
        if (!nslow)
            fputs("  none\n", c->out);
        for (size_t i = 0; i < nslow && i < SLOW_SITES; i++)
            put_slow(c, &v, &slow[i]);
        if (nslow > SLOW_SITES)
            fprintf(c->out, "  ... %zu more\n", nslow - SLOW_SITES);
    }
    free(slow);
    sv_view_release(&v);
    return rc;
}
