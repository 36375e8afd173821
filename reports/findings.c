/*
 * findings.c - findings.h's rules over a profile's counts, times and the
 * disassembly of its heaviest functions (the loop rules: findings_loops.c;
 * functions seen instruction by instruction: findings_view.c).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings_view.h"
#include "report_text.h"

const char *fd_kind_name(fd_kind k)
{
    static const char *const names[FD_NKINDS] = {"module-loop", "global-in-loop", "exceptions",
                                                 "attribute-in-loop", "generator"};
    return (unsigned)k < FD_NKINDS ? names[k] : "?";
}

/* ---- module-loop ------------------------------------------------------- */

static int dict_based(const char *s)
{
    static const char *const dict[] = {"LOAD_NAME", "STORE_NAME", "DELETE_NAME", "LOAD_GLOBAL",
                                       "STORE_GLOBAL", "DELETE_GLOBAL",
                                       "LOAD_FROM_DICT_OR_GLOBALS"};
    for (size_t i = 0; i < sizeof dict / sizeof *dict; i++)
        if (fdv_starts(s, dict[i]))
            return 1;
    return 0;
}

static void module_loop(ctx *c, const view *v)
{
    uint64_t instr = 0, time = 0, samples = 0, dict = 0, top[2] = {0, 0};
    const char *topname[2] = {NULL, NULL};
    int lo = 0, hi = 0;
    for (size_t i = 0; i < v->l.n; i++) {
        if (!fdv_hot(v, i))
            continue;
        instr += v->count[i];
        time += v->time[i];
        samples += v->samples[i];
        int line = v->l.v[i].line;
        if (line > 0 && (!lo || line < lo))
            lo = line;
        hi = line > hi ? line : hi;
        if (!dict_based(fdv_op(v, i)))
            continue;
        dict += v->count[i];
        for (int k = 0; k < 2; k++) {   /* the two dict-based opcodes most run */
            if (topname[k] && strcmp(topname[k], fdv_op(v, i)) == 0) {
                top[k] += v->count[i];
                break;
            }
            if (!topname[k]) {
                topname[k] = fdv_op(v, i);
                top[k] = v->count[i];
                break;
            }
        }
    }
    if (dict < FD_MIN_COUNT || (double)dict < FD_MIN_DICT_SHARE * (double)instr ||
        !fdv_weighs(c, dict, time))
        return;
    char w[512], a[RT_NUM_LEN], b[RT_NUM_LEN], d[RT_NUM_LEN], e[RT_NUM_LEN], cmp[256] = "", save[128] = "";
    double mod_nsi = samples >= 10 && instr ? (double)time / (double)instr : 0;
    if (mod_nsi > 0 && c->fn_nsi > 0) {
        snprintf(cmp, sizeof cmp, " In this run these loops took %.1f ns per instruction; "
                 "function code took %.1f ns (%.1fx %s).", mod_nsi, c->fn_nsi,
                 mod_nsi > c->fn_nsi ? mod_nsi / c->fn_nsi : c->fn_nsi / mod_nsi,
                 mod_nsi > c->fn_nsi ? "faster in functions" : "slower in functions");
        if (mod_nsi > c->fn_nsi)
            snprintf(save, sizeof save, "; at function code's speed the loops would take "
                     "about %.1f ms instead of %.1f ms", (double)time / 1e6 * c->fn_nsi / mod_nsi,
                     (double)time / 1e6);
    }
    fdv_add(c, FD_MODULE_LOOP, fdv_weight(c, dict, time),
        fdv_printf("%s: a hot loop at module level", fdv_where(w, sizeof w, v->f, lo, hi)),
        fdv_printf("the loops ran %s instructions (%.1f%% of the run), %s of them name accesses "
                "that look a dictionary up (%s %s%s%s%s%s): at module level every variable is a "
                "global, stored in the module's dict.%s", rt_fmt_uint(a, instr),
                100.0 * (double)instr / (double)(c->run_instr ? c->run_instr : 1), rt_fmt_uint(b, dict),
                topname[0], rt_fmt_uint(d, top[0]), topname[1] ? ", " : "",
                topname[1] ? topname[1] : "",
                topname[1] ? " " : "", topname[1] ? rt_fmt_uint(e, top[1]) : "", cmp),
        fdv_printf("move the loop into a function and call it: its variables become locals "
                "(LOAD_FAST/STORE_FAST, slots of the frame, no lookup)%s.", save));
}

/* ---- exceptions -------------------------------------------------------- */

static void exceptions(ctx *c, const view *v, int minor, const char *raiser)
{
    /* a handler's first instruction: PUSH_EXC_INFO (3.11+); 3.10 has
     * none, POP_EXCEPT ends every handler that completes */
    const char *entry = minor >= 11 ? "PUSH_EXC_INFO" : "POP_EXCEPT";
    uint64_t handled = 0;
    for (size_t i = 0; i < v->l.n; i++)
        if (strcmp(fdv_op(v, i), entry) == 0)
            handled += v->count[i];
    const pf_function *f = v->f;
    if (handled < FD_MIN_EXCEPTIONS || handled * 10 < f->calls ||
        !fdv_weighs(c, f->instructions, f->time_ns))
        return;
    char w[512], a[RT_NUM_LEN], b[RT_NUM_LEN], tm[128] = "", per[RT_NUM_LEN];
    double each = (double)handled / (double)(f->calls ? f->calls : 1);
    if (each >= 10)
        rt_fmt_uint(per, (uint64_t)(each + 0.5));
    else
        snprintf(per, sizeof per, "%.2f", each);
    if (c->p->timed && f->time_ns)
        snprintf(tm, sizeof tm, "; the function's self time was %.1f ms",
                 (double)f->time_ns / 1e6);
    fdv_add(c, FD_EXCEPTIONS, fdv_weight(c, f->instructions, f->time_ns),
        fdv_printf("%s: exceptions as control flow", fdv_where(w, sizeof w, f, 0, 0)),
        fdv_printf("its handlers caught %s exceptions in %s call%s (%s per call)%s%s%s.",
                rt_fmt_uint(a, handled), rt_fmt_uint(b, f->calls), f->calls == 1 ? "" : "s", per,
                raiser ? "; raised by " : "",
                raiser ? raiser : "", tm),
        fdv_printf("test before acting instead of raising (`if key in d`, `d.get(key)`, "
                "`s.isdigit()`): each exception builds an object and unwinds the stack to "
                "its handler, a test is a few instructions."));
}

/* The function that raised most (RAISE_VARARGS counts) among the views:
 * "fails (app.py:19) 3,334 times" into buf, or NULL. */
static const char *top_raiser(const view *vs, size_t n, char *buf, size_t len)
{
    uint64_t best = 0;
    const view *bv = NULL;
    for (size_t k = 0; k < n; k++) {
        uint64_t r = 0;
        for (size_t i = 0; vs[k].count && i < vs[k].l.n; i++)
            if (strcmp(vs[k].l.v[i].opname, "RAISE_VARARGS") == 0)
                r += vs[k].count[i];
        if (r > best) {
            best = r;
            bv = &vs[k];
        }
    }
    if (!bv || best < FD_MIN_EXCEPTIONS)
        return NULL;
    char a[RT_NUM_LEN];
    snprintf(buf, len, "%s (%s:%d) %s times", bv->f->qualname, pf_basename(bv->f->file),
             bv->f->firstlineno, rt_fmt_uint(a, best));
    return buf;
}

/* ---- generator --------------------------------------------------------- */

static void generator(ctx *c, const view *v)
{
    const pf_function *f = v->f;
    if (f->scope != PF_SCOPE_GENERATOR &&
        !(f->scope == PF_SCOPE_COMPREHENSION && strcmp(f->name, "<genexpr>") == 0))
        return;
    uint64_t items = 0;
    for (size_t i = 0; i < v->l.n; i++)
        if (fdv_starts(fdv_op(v, i), "YIELD_VALUE"))
            items += v->count[i];
    double per = items ? (double)f->instructions / (double)items : 0;
    if (items < FD_MIN_COUNT || per > 12.0 || !fdv_weighs(c, f->instructions, f->time_ns))
        return;
    char w[512], a[RT_NUM_LEN], tm[96] = "";
    if (c->p->timed && f->time_ns)
        snprintf(tm, sizeof tm, ", %.0f ns of sampled time each",
                 (double)f->time_ns / (double)items);
    fdv_add(c, FD_GENERATOR, fdv_weight(c, f->instructions, f->time_ns),
        fdv_printf("%s: a generator whose items cost little: resuming it costs more",
                fdv_where(w, sizeof w, f, 0, 0)),
        fdv_printf("it yielded %s items at %.1f instructions each%s; every item also resumes "
                "the generator's frame and suspends it again, and the consumer takes it "
                "through FOR_ITER or a call.", rt_fmt_uint(a, items), per, tm),
        fdv_printf("build a list with a comprehension (`[x * x for x in data]`, run in one "
                "frame), hand the data to a builtin (`sum(map(f, data))`), or fold chained "
                "generator stages into one loop."));
}

/* ---- all of them ------------------------------------------------------- */

static int cmp_finding(const void *x, const void *y)
{
    const fd_finding *a = x, *b = y;
    if (a->weight != b->weight)
        return a->weight < b->weight ? 1 : -1;
    return a->kind != b->kind ? (int)a->kind - (int)b->kind : strcmp(a->title, b->title);
}

/* ns per instruction of function-local code over the run, 0 when too
 * few samples to say */
static double function_nsi(const pf_profile *p)
{
    uint64_t instr = 0, time = 0, samples = 0;
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        if (f->scope <= PF_SCOPE_CLASS)
            continue;
        instr += f->instructions;
        time += f->time_ns;
        for (size_t k = 0; k < f->ntimes; k++)
            samples += f->times[k].samples;
    }
    return samples >= 10 && instr ? (double)time / (double)instr : 0;
}

void fd_list_release(fd_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].title);
        free(l->v[i].evidence);
        free(l->v[i].change);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

int fd_find(const pf_profile *p, fd_list *out)
{
    memset(out, 0, sizeof *out);
    if (!p->counted || !p->instructions)
        return 0;
    ctx c = {p, out, 0, p->instructions, p->timed ? p->time_ns : 0, 0};
    c.fn_nsi = p->timed ? function_nsi(p) : 0;
    size_t *order = pf_functions_by_weight(p);
    size_t n = p->nfunctions < FD_TOP ? p->nfunctions : FD_TOP;
    view *vs = order ? calloc(n + 1, sizeof *vs) : NULL;
    if (!vs) {
        free(order);
        return -1;
    }
    size_t nv = 0;
    for (size_t i = 0; i < n && !c.failed; i++) {
        int r = fdv_open(&vs[nv], p, &p->functions[order[i]]);
        if (r < 0)
            c.failed = 1;
        if (r != 0)
            nv++;
    }
    char raiser[512];
    const char *who = c.failed ? NULL : top_raiser(vs, nv, raiser, sizeof raiser);
    for (size_t i = 0; i < nv && !c.failed; i++) {
        const view *v = &vs[i];
        if (v->f->scope == PF_SCOPE_MODULE)
            module_loop(&c, v);
        if (v->f->scope > PF_SCOPE_CLASS) {
            fdr_global_in_loop(&c, v);
            fdr_attribute_in_loop(&c, v);
        }
        exceptions(&c, v, pf_minor(p), who);
        generator(&c, v);
    }
    for (size_t i = 0; i < nv; i++)
        fdv_close(&vs[i]);
    free(vs);
    free(order);
    if (c.failed) {
        fd_list_release(out);
        return -1;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_finding);
    return 0;
}
