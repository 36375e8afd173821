/*
 * annotate.c - dis with the run's numbers.
 *
 * The layout follows dis (line, offset, opname, argument, its rendering),
 * with count, time, % of the function and ns/instruction on the right, a
 * bar for the hot ones, a '.' for instructions that never ran, and a total
 * per source line.
 */
#include "annotate.h"
#include "explain.h"

#include "model/profile_read.h"
#include "model/sourcetext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether `file` ends with the path components in `suffix`. */
static int ends_with_path(const char *file, const char *suffix, size_t n)
{
    size_t fl = strlen(file);
    return n <= fl && strncmp(file + fl - n, suffix, n) == 0 &&
           (n == fl || file[fl - n - 1] == '/');
}

static int matches(const pf_function *f, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
        return atoi(colon + 1) == f->firstlineno &&
               ends_with_path(f->file, spec, (size_t)(colon - spec));
    return strcmp(f->qualname, spec) == 0 || strcmp(f->name, spec) == 0;
}

size_t an_find(const pf_profile *p, const char *spec, size_t top, size_t *idx)
{
    size_t *order = pf_functions_by_weight(p), n = 0;
    for (size_t i = 0; order && i < p->nfunctions; i++)
        if (!spec || matches(&p->functions[order[i]], spec))
            idx[n++] = order[i];
    free(order);
    if (!spec && n > top)
        n = top;
    return n;
}

/* ---- reading only the code that can be shown ----------------------------- */

/* The functions whose code an_read keeps: with a spec, those it matches;
 * else the `top` heaviest as a timed profile ranks them (best[1]) and as
 * an untimed one does (best[0]), since whether the profile is timed is
 * known at its end. */
typedef struct pick {
    const char *spec;
    size_t top;
    size_t *best[2];
    size_t nbest[2];
    void (*drop)(pf_function *f);   /* what a function not chosen loses */
    const pf_read_hooks *before;
} pick;

static int in_best(const pick *k, int timed, size_t i)
{
    for (size_t j = 0; j < k->nbest[timed]; j++)
        if (k->best[timed][j] == i)
            return 1;
    return 0;
}

/* Offers function i to best[timed]: 1 if it is kept there.  A function
 * it displaces loses its code unless the other list keeps it. */
static int offer(pick *k, pf_profile *p, int timed, size_t i)
{
    size_t *b = k->best[timed];
    if (k->nbest[timed] < k->top) {
        b[k->nbest[timed]++] = i;
        return 1;
    }
    size_t w = 0;   /* the lightest kept */
    for (size_t j = 1; j < k->nbest[timed]; j++)
        if (pf_function_outranks(&p->functions[b[w]], &p->functions[b[j]], timed))
            w = j;
    if (!k->top || !pf_function_outranks(&p->functions[i], &p->functions[b[w]], timed))
        return 0;
    size_t out = b[w];
    b[w] = i;
    if (!in_best(k, !timed, out))
        k->drop(&p->functions[out]);
    return 1;
}

static int pick_function(void *ctx, pf_profile *p, size_t i)
{
    pick *k = ctx;
    if (k->before && k->before->function && k->before->function(k->before->ctx, p, i) < 0)
        return -1;
    int keep = k->spec ? matches(&p->functions[i], k->spec) : 0;
    if (!k->spec) {
        keep = offer(k, p, 0, i);
        keep |= offer(k, p, 1, i);
    }
    if (!keep)
        k->drop(&p->functions[i]);
    return 0;
}

int an_read(const char *path, const char *spec, size_t top, unsigned keep, pf_profile **out,
            char *err, size_t errlen)
{
    return an_read_hooked(path, spec, top, keep, NULL, out, err, errlen);
}

int an_read_hooked(const char *path, const char *spec, size_t top, unsigned keep,
                   const pf_read_hooks *before, pf_profile **out, char *err, size_t errlen)
{
    pick k = {spec, top, {NULL, NULL}, {0, 0},
              keep & AN_KEEP_COUNTS ? pf_function_drop_disassembly : pf_function_drop_code,
              before};
    keep &= ~(unsigned)AN_KEEP_COUNTS;
    if (!spec && (!(k.best[0] = malloc((top + 1) * sizeof *k.best[0])) ||
                  !(k.best[1] = malloc((top + 1) * sizeof *k.best[1])))) {
        free(k.best[0]);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pf_read_hooks h = {.function = pick_function, .ctx = &k};
    int rc = pf_read_file_hooked(path, PF_KEEP_CODE | keep, &h, out, err, errlen);
    free(k.best[0]);
    free(k.best[1]);
    return rc;
}

/* s with control characters escaped as the profile's JSON has them
 * ("\n", "\u001b"): a file name may hold any byte but '/' and NUL, and
 * the header must stay one line. */
static void put_escaped(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

/* The share as up to 20 '#'; padded to 20 when a meaning follows. */
static void bar(FILE *out, double share, int pad)
{
    int n = (int)(share * 20.0 + 0.5);
    for (int i = 0; i < n; i++)
        fputc('#', out);
    for (int i = n; pad && i < 20; i++)
        fputc(' ', out);
}

/* annotate --explain: the instruction's meaning at the end of its row. */
static void meaning(FILE *out, const char *opname, int explain)
{
    const char *m = explain ? ex_short(opname) : NULL;
    if (m)
        fprintf(out, "  %s", m);
}

/* The profile's text of `line` above its instructions, as explain shows
 * source; nothing where the profile has none.  Control characters but
 * tabs are escaped: the text is the program's, the terminal is ours. */
static void source_line(FILE *out, const pf_source *src, int line)
{
    size_t len;
    const char *t = src && line > 0 ? stx_line(src, (uint32_t)line, &len) : NULL;
    if (!t)
        return;
    fprintf(out, "%6d | ", line);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('\n', out);
}

/* One line of the listing, whichever way the profile holds it. */
typedef struct row {
    uint32_t offset;
    const char *opname;
    long arg;                /* -1: none */
    const char *argrepr;
    int line;
} row;

/* The whole disassembly: v1's stored listing, else the code's bytes
 * disassembled now (dz owns the texts until released), else NULL. */
static row *rows_of(const pf_profile *p, const pf_function *f, dz_listing *dz, size_t *n)
{
    row *v = NULL;
    *n = 0;
    if (f->nlisting) {
        if (!(v = calloc(f->nlisting, sizeof *v)))
            return NULL;
        for (size_t i = 0; i < f->nlisting; i++) {
            const pf_listing *l = &f->listing[i];
            v[i] = (row){l->offset, pf_opname(p, l->op), l->arg, l->argrepr ? l->argrepr : "",
                         l->line};
        }
        *n = f->nlisting;
        return v;
    }
    dz_code c;
    char err[256];
    if (!f->codeinfo)
        return NULL;
    pf_code_as_dz(f->codeinfo, pf_minor(p), &c);
    if (dz_disassemble(&c, dz, err, sizeof err) < 0 || !(v = calloc(dz->n + 1, sizeof *v)))
        return NULL;
    for (size_t i = 0; i < dz->n; i++) {
        const dz_instr *d = &dz->v[i];
        v[i] = (row){(uint32_t)d->offset, d->opname, d->arg, d->argrepr, d->line};
    }
    *n = dz->n;
    return v;
}

/* The form the interpreter held at the end beside the base name (the
 * specialization view, 3.12+): "generic" when it is the base itself. */
static void put_form(FILE *out, const pf_profile *p, const pf_function *f, const pf_instr *in,
                     const char *name)
{
    if (!f->forms)
        return;
    size_t k = in ? (size_t)(in - f->code) : 0;
    const char *form = in && f->forms[k] != PF_NO_FORM ? pf_opname(p, f->forms[k]) : NULL;
    fprintf(out, " %-30s", !in ? "" : !form ? "-" : strcmp(form, name) == 0 ? "generic" : form);
}

int an_render(const pf_profile *p, const pf_function *f, int explain, FILE *out)
{
    /* shares by time where there is time, else by count */
    int by_time = p->timed && f->time_ns > 0;
    uint64_t total = by_time ? f->time_ns : f->instructions;
    put_escaped(out, f->qualname);
    fputs(" (", out);
    put_escaped(out, pf_basename(f->file));
    fprintf(out, ":%d): %s, %" PRIu64 " calls, %" PRIu64 " instructions", f->firstlineno,
            pf_scope_name(f->scope),
            f->calls, f->instructions);
    if (p->timed)
        fprintf(out, ", %.3f ms self", (double)f->time_ns / 1e6);
    fprintf(out, "\n%6s %6s  %-24s", "line", "offset", "opname");
    if (f->forms)
        fprintf(out, " %-30s", "final form");
    fprintf(out, " %-28s %12s %10s %6s %7s\n", "argument", "count", p->timed ? "time us" : "", "%",
            p->timed ? "ns/i" : "");
    dz_listing dz = {0};
    size_t nrows;
    row *rows = rows_of(p, f, &dz, &nrows);
    if (!rows)
        fprintf(out, "(no disassembly in this profile: executed instructions only)\n");
    size_t n = rows ? nrows : f->ncode;
    const pf_source *src = stx_find(p, f->file);
    int last_line = -2;
    uint64_t line_count = 0, line_time = 0;
    for (size_t i = 0; i <= n; i++) {
        const row *l = rows && i < n ? &rows[i] : NULL;
        uint32_t off = l ? l->offset : i < n ? f->code[i].offset : 0;
        const pf_instr *in = i < n ? pf_instr_at(f, off) : NULL;
        int line = l ? l->line : in ? in->line : -1;
        if (i == n || (line != last_line && line >= 0)) {
            if (last_line >= 0 && (line_count || line_time)) {
                fprintf(out, "%6s %6s  %-24s", "", "", "  line total");
                put_form(out, p, f, NULL, "");
                fprintf(out, " %-28s %12" PRIu64 " %10.1f\n", "", line_count,
                        (double)line_time / 1e3);
            }
            if (i == n)
                break;
            last_line = line;
            line_count = line_time = 0;
            source_line(out, src, line);
        }
        const char *name = l ? l->opname : pf_opname(p, in->op);
        char arg[64] = "";
        if (l && l->arg >= 0)
            snprintf(arg, sizeof arg, "%ld %s%s%s", l->arg, l->argrepr[0] ? "(" : "",
                     l->argrepr, l->argrepr[0] ? ")" : "");
        char lineno[16] = "";
        if (line >= 0 && (i == 0 || line != (l && i ? rows[i - 1].line : -1)))
            snprintf(lineno, sizeof lineno, "%d", line);
        if (!in) {
            fprintf(out, "%6s %6u  %-24s", lineno, off, name);
            put_form(out, p, f, NULL, name);
            fprintf(out, " %-28.28s %12s", arg, ".");
            if (explain)
                fprintf(out, " %10s %6s %7s %20s", "", "", "", "");
            meaning(out, name, explain);
            fputc('\n', out);
            continue;
        }
        const pf_itime *it = f->ntimes ? pf_instr_times(f, (size_t)(in - f->code)) : NULL;
        uint64_t in_time = it ? it->time_ns : 0, in_samples = it ? it->samples : 0;
        uint64_t w = by_time ? in_time : in->count;
        double share = total ? (double)w / (double)total : 0.0;
        line_count += in->count;
        line_time += in_time;
        fprintf(out, "%6s %6u  %-24s", lineno, off, name);
        put_form(out, p, f, in, name);
        fprintf(out, " %-28.28s %12" PRIu64, arg, in->count);
        if (p->timed)
            fprintf(out, " %10.1f", (double)in_time / 1e3);
        else
            fprintf(out, " %10s", "");
        fprintf(out, " %5.1f%%", 100.0 * share);
        if (p->timed && in->count && in_samples)
            fprintf(out, " %7.1f%s", (double)in_time / (double)in->count,
                    in_samples < 10 ? "~" : "");
        else
            fprintf(out, " %7s", p->timed ? "-" : "");
        fputc(' ', out);
        bar(out, share, explain);
        meaning(out, name, explain);
        fputc('\n', out);
    }
    free(rows);
    dz_listing_release(&dz);
    if (p->timed)
        fprintf(out, "(time: sampled CPU time; ~ marks fewer than 10 samples)\n");
    return ferror(out) ? -1 : 0;
}
