/*
 * explorer_fn.c - one function's details for the explorer's chunks
 * (explorer_int.h): its whole listing with the run's numbers, or its
 * lines' totals when it is too big to list.
 */
#include "explorer_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/sourcetext.h"

/* A function of more code units than this (a generated module of 300,000
 * instructions: 60 MB to disassemble and pack) shows its lines' totals
 * only; annotate lists its instructions. */
#define BIG_FUNCTION 20000

/* One row of a function's listing. */
typedef struct row {
    uint32_t offset;
    const char *opname;
    long arg;                 /* -1: none */
    const char *argrepr;
    int line;
    const pf_instr *ran;      /* NULL: never ran */
} row;

/* f's whole listing: its code disassembled (dz keeps the texts), v1's
 * stored listing, else what ran.  NULL when out of memory. */
static row *rows_of(const pf_profile *p, const pf_function *f, dz_listing *dz, size_t *n)
{
    char err[128];
    dz_code c;
    row *v;
    if (f->codeinfo) {
        pf_code_as_dz(f->codeinfo, pf_minor(p), &c);
        if (dz_disassemble(&c, dz, err, sizeof err) == 0) {
            if (!(v = calloc(dz->n + 1, sizeof *v)))
                return NULL;
            for (size_t i = 0; i < dz->n; i++) {
                const dz_instr *d = &dz->v[i];
                v[i] = (row){(uint32_t)d->offset, d->opname, d->arg, d->argrepr, d->line,
                             pf_instr_at(f, (uint32_t)d->offset)};
            }
            *n = dz->n;
            return v;
        }
    }
    if (f->nlisting) {
        if (!(v = calloc(f->nlisting + 1, sizeof *v)))
            return NULL;
        for (size_t i = 0; i < f->nlisting; i++) {
            const pf_listing *l = &f->listing[i];
            v[i] = (row){l->offset, pf_opname(p, l->op), l->arg, l->argrepr ? l->argrepr : "",
                         l->line, pf_instr_at(f, l->offset)};
        }
        *n = f->nlisting;
        return v;
    }
    if (!(v = calloc(f->ncode + 1, sizeof *v)))
        return NULL;
    for (size_t i = 0; i < f->ncode; i++)
        v[i] = (row){f->code[i].offset, pf_opname(p, f->code[i].op), -1, "", f->code[i].line,
                     &f->code[i]};
    *n = f->ncode;
    return v;
}

static uint64_t op_index(hx_page *x, const char *name)
{
    int64_t i = stt_intern(&x->ops, name);
    if (i < 0)
        x->oom = 1;
    return i < 0 ? 0 : (uint64_t)i;
}

/* Every instruction: "o" offsets and "l" lines (0: none) as steps from
 * the value before, "op" opnames, "a" arguments as dis prints them, "c"
 * counts, then "t" and "s" (time, samples) when it has any and "f" (the
 * final form; -2 the generic one, -1 not known) when the profile has forms. */
static void put_instructions(hx_page *x, jw *w, const pf_profile *p, const pf_function *f)
{
    dz_listing dz = {0};
    size_t n = 0;
    row *v = rows_of(p, f, &dz, &n);
    if (!v)
        x->oom = 1;
    jw_key(w, "o");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++)
        jw_int(w, (int64_t)v[i].offset - (i ? (int64_t)v[i - 1].offset : 0));
    jw_end_array(w);
    jw_key(w, "op");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++)
        jw_uint(w, op_index(x, v[i].opname));
    jw_end_array(w);
    jw_key(w, "a");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++) {
        char arg[160] = "";
        if (v[i].arg >= 0 && v[i].argrepr[0])
            snprintf(arg, sizeof arg, "%ld (%s)", v[i].arg, v[i].argrepr);
        else if (v[i].arg >= 0)
            snprintf(arg, sizeof arg, "%ld", v[i].arg);
        jw_string(w, arg);
    }
    jw_end_array(w);
    jw_key(w, "l");
    jw_begin_array(w);
    for (size_t i = 0, last = 0; v && i < n; i++) {
        size_t line = v[i].line > 0 ? (size_t)v[i].line : 0;
        jw_int(w, (int64_t)line - (int64_t)last);
        last = line;
    }
    jw_end_array(w);
    jw_key(w, "c");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++)
        jw_uint(w, v[i].ran ? v[i].ran->count : 0);
    jw_end_array(w);
    if (f->ntimes) {   /* p->timed is not known yet while a reader reads functions */
        jw_key(w, "t");
        jw_begin_array(w);
        for (size_t i = 0; v && i < n; i++)
            jw_uint(w, v[i].ran ? pf_instr_time(f, (size_t)(v[i].ran - f->code)) : 0);
        jw_end_array(w);
        jw_key(w, "s");
        jw_begin_array(w);
        for (size_t i = 0; v && i < n; i++)
            jw_uint(w, v[i].ran ? pf_instr_samples(f, (size_t)(v[i].ran - f->code)) : 0);
        jw_end_array(w);
    }
    if (f->forms) {
        jw_key(w, "f");
        jw_begin_array(w);
        for (size_t i = 0; v && i < n; i++) {
            uint16_t form = v[i].ran ? f->forms[v[i].ran - f->code] : PF_NO_FORM;
            const char *name = form == PF_NO_FORM ? NULL : pf_opname(p, form);
            jw_int(w, !name ? -1 : strcmp(name, v[i].opname) == 0 ? -2
                                 : (int64_t)op_index(x, name));
        }
        jw_end_array(w);
    }
    free(v);
    dz_listing_release(&dz);
}

typedef struct line_sum {
    uint32_t line;
    uint64_t count, time_ns;
} line_sum;

static int by_line(const void *a, const void *b)
{
    uint32_t x = ((const line_sum *)a)->line, y = ((const line_sum *)b)->line;
    return (x > y) - (x < y);
}

/* A function too big to list: "big" its code units, and per line (its
 * code's line table, with what ran) "bl" the lines as steps, "bc" the
 * instructions that ran there and "bt" their time. */
static void put_line_totals(hx_page *x, jw *w, const pf_function *f, size_t units)
{
    /* a line's instructions mostly follow one another: summed run by run
     * first, the sort has a few entries per line, not one per instruction */
    size_t nt = f->codeinfo ? f->codeinfo->nlines : 0, n = 0, runs = 0;
    for (size_t i = 0; i < f->ncode; i++)
        runs += !i || f->code[i].line != f->code[i - 1].line;
    line_sum *v = malloc((runs + nt + 1) * sizeof *v);
    if (!v) {
        x->oom = 1;
        return;
    }
    for (size_t i = 0; i < nt; i++)
        if (f->codeinfo->lines[i].line > 0)
            v[n++] = (line_sum){(uint32_t)f->codeinfo->lines[i].line, 0, 0};
    size_t ran_from = n;
    for (size_t i = 0; i < f->ncode; i++) {
        if (f->code[i].line <= 0)
            continue;
        line_sum *last = n > ran_from ? &v[n - 1] : NULL;
        if (last && last->line == (uint32_t)f->code[i].line) {
            last->count = pf_add_sat(last->count, f->code[i].count);
            last->time_ns = pf_add_sat(last->time_ns, pf_instr_time(f, i));
        } else {
            v[n++] = (line_sum){(uint32_t)f->code[i].line, f->code[i].count, pf_instr_time(f, i)};
        }
    }
    qsort(v, n, sizeof *v, by_line);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && v[k - 1].line == v[i].line) {
            v[k - 1].count = pf_add_sat(v[k - 1].count, v[i].count);
            v[k - 1].time_ns = pf_add_sat(v[k - 1].time_ns, v[i].time_ns);
        } else {
            v[k++] = v[i];
        }
    }
    jw_key(w, "big");
    jw_uint(w, units);
    jw_key(w, "bl");
    jw_begin_array(w);
    for (size_t i = 0; i < k; i++)
        jw_uint(w, v[i].line - (i ? v[i - 1].line : 0));
    jw_end_array(w);
    jw_key(w, "bc");
    jw_begin_array(w);
    for (size_t i = 0; i < k; i++)
        jw_uint(w, v[i].count);
    jw_end_array(w);
    jw_key(w, "bt");
    jw_begin_array(w);
    for (size_t i = 0; i < k; i++)
        jw_uint(w, v[i].time_ns);
    jw_end_array(w);
    free(v);
}

/* Function f as "<id>": {its instructions, or its lines' totals when it
 * is too big to list; "r" the first and last line a function (not a
 * body) shows}.  *lines, *nlines: those lines (for the file's source
 * chunk). */
void hx__put_function(hx_page *x, jw *w, const pf_profile *p, const pf_function *f,
                      uint32_t **lines, size_t *nlines)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu32, f->id);
    jw_key(w, key);
    jw_begin_object(w);
    size_t units = f->codeinfo ? f->codeinfo->nbytes / 2 : f->nlisting ? f->nlisting : f->ncode;
    if (units > BIG_FUNCTION)
        put_line_totals(x, w, f, units);
    else
        put_instructions(x, w, p, f);
    if (stx_function_lines(f, lines, nlines) < 0)
        x->oom = 1;
    if (*nlines && f->scope != PF_SCOPE_MODULE && f->scope != PF_SCOPE_CLASS) {
        jw_key(w, "r");
        jw_begin_array(w);
        jw_uint(w, (*lines)[0]);
        jw_uint(w, (*lines)[*nlines - 1]);
        jw_end_array(w);
    }
    jw_end_object(w);
}
