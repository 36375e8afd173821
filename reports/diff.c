/*
 * diff.c - matching functions across two profiles and gating the change.
 */
#include "diff.h"
#include "specialize.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void df_options_init(df_options *o)
{
    memset(o, 0, sizeof *o);
    o->metric = DF_INSTRUCTIONS;
    o->threshold = 0.0;
    o->function_threshold = -1.0;
}

const char *df_status_name(df_status s)
{
    static const char *const names[] = {"same", "changed", "added", "removed"};
    return (unsigned)s < 4 ? names[s] : "?";
}

const char *df_verdict_name(df_verdict v)
{
    static const char *const names[] = {"ok", "warning", "regression"};
    return (unsigned)v < 3 ? names[v] : "?";
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* The file as it is matched: relative to the root, or to the interpreter's
 * prefix, else as recorded ("<string>", "<frozen ...>", elsewhere). */
/* Length of `dir` without trailing slashes, if `file` is inside it; else 0. */
static size_t inside(const char *file, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    while (n > 0 && dir[n - 1] == '/')
        n--;
    return n > 0 && strncmp(file, dir, n) == 0 && file[n] == '/' ? n : 0;
}

static char *relative_file(const pf_profile *p, const char *file)
{
    size_t n;
    if ((n = inside(file, p->root)))
        return dupf("%s", file + n + 1);
    if ((n = inside(file, p->python_prefix)))
        return dupf("<python>/%s", file + n + 1);
    return dupf("%s", file);
}

/* Import machinery does different work when __pycache__ is cold. */
static int is_import_machinery(const char *file)
{
    return strncmp(file, "<frozen importlib._bootstrap", 28) == 0;
}

typedef struct side {
    const pf_profile *p;
    const pf_function *f;
    char *file;              /* relative */
    size_t rank;             /* among functions with the same key, by line */
    int matched;
} side;

static int side_cmp(const void *a, const void *b)
{
    const side *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (!c)
        c = strcmp(x->f->qualname, y->f->qualname);
    if (!c)
        c = (x->f->firstlineno > y->f->firstlineno) - (x->f->firstlineno < y->f->firstlineno);
    if (!c)
        c = (x->f->id > y->f->id) - (x->f->id < y->f->id);
    return c;
}

static int same_key(const side *x, const side *y)
{
    return strcmp(x->file, y->file) == 0 && strcmp(x->f->qualname, y->f->qualname) == 0;
}

/* Sorted sides of one profile, with ranks among equal keys. */
static side *sides_of(const pf_profile *p)
{
    side *s = calloc(p->nfunctions + 1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < p->nfunctions; i++) {
        s[i] = (side){p, &p->functions[i], relative_file(p, p->functions[i].file), 0, 0};
        if (!s[i].file) {
            for (size_t k = 0; k < i; k++)
                free(s[k].file);
            free(s);
            return NULL;
        }
    }
    if (p->nfunctions)
        qsort(s, p->nfunctions, sizeof *s, side_cmp);
    for (size_t i = 1; i < p->nfunctions; i++)
        if (same_key(&s[i], &s[i - 1]))
            s[i].rank = s[i - 1].rank + 1;
    return s;
}

static void free_sides(side *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        free(s[i].file);
    free(s);
}

static int64_t value_of(const pf_function *f, df_metric m)
{
    return !f ? 0 : m == DF_TIME ? (int64_t)f->time_ns : (int64_t)f->instructions;
}

/* Opcode counts of f by name: adds `sign * count` to the entries. */
static int add_ops(df_function *d, const pf_profile *p, const pf_function *f, int after,
                   df_metric m)
{
    for (size_t i = 0; f && i < f->ncode; i++) {
        const char *name = pf_opname(p, f->code[i].op);
        size_t k = 0;
        while (k < d->nops && strcmp(d->ops[k].opname, name) != 0)
            k++;
        if (k == d->nops) {
            df_opdelta *v = realloc(d->ops, (d->nops + 1) * sizeof *v);
            if (!v)
                return -1;
            d->ops = v;
            d->ops[k] = (df_opdelta){dupf("%s", name), 0, 0};
            if (!d->ops[k].opname)
                return -1;
            d->nops++;
        }
        int64_t v = (int64_t)(m == DF_TIME ? pf_instr_time(f, i) : f->code[i].count);
        if (after)
            d->ops[k].after += v;
        else
            d->ops[k].before += v;
    }
    return 0;
}

static int by_abs_delta(const void *a, const void *b)
{
    const df_opdelta *x = a, *y = b;
    int64_t dx = llabs(x->after - x->before), dy = llabs(y->after - y->before);
    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->opname, y->opname);
}

static int fn_by_abs_delta(const void *a, const void *b)
{
    const df_function *x = a, *y = b;
    int64_t dx = llabs(x->after - x->before), dy = llabs(y->after - y->before);
    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->key, y->key);
}

static double pct_of(int64_t before, int64_t after)
{
    if (before == 0)
        return after == 0 ? 0.0 : INFINITY;
    return 100.0 * (double)(after - before) / (double)before;
}

static int push_line(char ***v, size_t *n, char *line)
{
    char **m = line ? realloc(*v, (*n + 1) * sizeof *m) : NULL;
    if (!m) {
        free(line);
        return -1;
    }
    *v = m;
    m[(*n)++] = line;
    return 0;
}

/* The sites of a function present in both runs that stopped specializing. */
static int add_despecialized(df_result *r, const sv_view *vb, const sv_view *vn, const side *b,
                             const side *n)
{
    const pf_function *fb = b->f, *fn = n->f;
    for (size_t i = 0, j = 0; i < fb->ncode && j < fn->ncode;) {
        if (fb->code[i].offset != fn->code[j].offset) {
            fb->code[i].offset < fn->code[j].offset ? i++ : j++;
            continue;
        }
        if (sv_kind_at(vb, fb, i) == SV_SPECIALIZED && sv_kind_at(vn, fn, j) == SV_GENERIC &&
            push_line(&r->despecialized, &r->ndespecialized,
                      dupf("%s:%d %s: %s held %s, now generic", n->file, fn->code[j].line,
                           fn->qualname, pf_opname(n->p, fn->code[j].op),
                           sv_form_name(vb, fb, i))) < 0)
            return -1;
        i++;
        j++;
    }
    return 0;
}

static int add_function(df_result *r, const side *b, const side *n)
{
    const side *s = n ? n : b;
    df_function *v = realloc(r->functions, (r->nfunctions + 1) * sizeof *v);
    if (!v)
        return -1;
    r->functions = v;
    df_function *d = &v[r->nfunctions++];
    memset(d, 0, sizeof *d);
    d->file = dupf("%s", s->file);
    d->qualname = dupf("%s", s->f->qualname);
    d->key = dupf("%s:%s", s->file, s->f->qualname);
    d->line = s->f->firstlineno;
    d->before = value_of(b ? b->f : NULL, r->opts.metric);
    d->after = value_of(n ? n->f : NULL, r->opts.metric);
    d->status = !b ? DF_ADDED : !n ? DF_REMOVED : d->before == d->after ? DF_SAME : DF_CHANGED;
    d->pct = pct_of(d->before, d->after);
    d->gated = r->opts.include_imports || !is_import_machinery(s->f->file);
    if (!d->file || !d->qualname || !d->key ||
        add_ops(d, b ? b->p : NULL, b ? b->f : NULL, 0, r->opts.metric) < 0 ||
        add_ops(d, n ? n->p : NULL, n ? n->f : NULL, 1, r->opts.metric) < 0)
        return -1;
    if (d->nops)
        qsort(d->ops, d->nops, sizeof *d->ops, by_abs_delta);
    while (d->nops && d->ops[d->nops - 1].after == d->ops[d->nops - 1].before)
        free(d->ops[--d->nops].opname);  /* unchanged opcodes tell nothing */
    return 0;
}

static int warn(df_result *r, char *line)
{
    char **v = line ? realloc(r->warnings, (r->nwarnings + 1) * sizeof *v) : NULL;
    if (!v) {
        free(line);
        return -1;
    }
    r->warnings = v;
    r->warnings[r->nwarnings++] = line;
    return 0;
}

/* Limits and verdict over the matched functions. */
static void gate(df_result *r)
{
    const df_options *o = &r->opts;
    for (size_t i = 0; i < r->nfunctions; i++) {
        df_function *d = &r->functions[i];
        if (!d->gated)
            continue;
        r->total_before += d->before;
        r->total_after += d->after;
        if (d->status == DF_ADDED)
            r->added++;
        if (d->status == DF_REMOVED)
            r->removed++;
        if (d->after < d->before)
            r->improvements++;
        int noise = (uint64_t)(d->before > d->after ? d->before : d->after) < o->min_instructions;
        if (d->after > d->before && !noise) {
            r->regressions++;
            d->over_limit = o->function_threshold >= 0 && d->pct > o->function_threshold;
        }
    }
    r->total_pct = pct_of(r->total_before, r->total_after);
    r->total_over_limit = o->threshold >= 0 && r->total_after > r->total_before &&
                          r->total_pct > o->threshold;
    /* Without a per-function limit, the functions that grew are what made
     * the total fail: they get the failure (annotations, opcode deltas). */
    for (size_t i = 0; r->total_over_limit && o->function_threshold < 0 && i < r->nfunctions; i++) {
        df_function *d = &r->functions[i];
        uint64_t most = (uint64_t)(d->before > d->after ? d->before : d->after);
        if (d->gated && d->after > d->before && most >= o->min_instructions)
            d->over_limit = 1;
    }
    int over = r->total_over_limit;
    for (size_t i = 0; i < r->nfunctions; i++)
        over |= r->functions[i].over_limit;
    r->verdict = !over ? DF_OK : o->soft ? DF_WARNING : DF_REGRESSION;
}

int df_compare(const pf_profile *base, const pf_profile *new_, const char *base_name,
               const char *new_name, const df_options *o, df_result **out, char *err,
               size_t errlen)
{
    *out = NULL;
    if (!pf_same_interpreter(base, new_) && !o->allow_mismatch) {
        snprintf(err, errlen, "the profiles come from different interpreters (%s vs %s); "
                 "--allow-interpreter-mismatch compares them anyway",
                 base->python_version ? base->python_version : "?",
                 new_->python_version ? new_->python_version : "?");
        return -1;
    }
    if (o->metric == DF_INSTRUCTIONS && (!base->counted || !new_->counted)) {
        snprintf(err, errlen, "%s has no instruction counts (made with --time-only); "
                 "use --metric time", !base->counted ? base_name : new_name);
        return -1;
    }
    if (o->metric == DF_TIME && (!base->timed || !new_->timed)) {
        snprintf(err, errlen, "%s has no times (run without --no-time); "
                 "use --metric instructions", !base->timed ? base_name : new_name);
        return -1;
    }
    df_result *r = calloc(1, sizeof *r);
    side *bs = sides_of(base), *ns = sides_of(new_);
    if (!r || !bs || !ns)
        goto oom;
    r->opts = *o;
    r->base_name = dupf("%s", base_name);
    r->new_name = dupf("%s", new_name);
    if (!r->base_name || !r->new_name)
        goto oom;
    sv_view vb, vn;
    int views = sv_view_init(&vb, base) == 0;
    if (views && sv_view_init(&vn, new_) < 0) {
        sv_view_release(&vb);
        views = 0;
    }
    if (!views)
        goto oom;
    /* both sides are sorted by key, then line: walk them together */
    size_t i = 0, j = 0;
    int bad = 0;
    while (i < base->nfunctions || j < new_->nfunctions) {
        int c = i == base->nfunctions ? 1 : j == new_->nfunctions ? -1 : 0;
        if (!c) {
            c = strcmp(bs[i].file, ns[j].file);
            if (!c)
                c = strcmp(bs[i].f->qualname, ns[j].f->qualname);
            if (!c)
                c = (bs[i].rank > ns[j].rank) - (bs[i].rank < ns[j].rank);
        }
        if (add_function(r, c <= 0 ? &bs[i] : NULL, c >= 0 ? &ns[j] : NULL) < 0 ||
            (c == 0 && add_despecialized(r, &vb, &vn, &bs[i], &ns[j]) < 0)) {
            bad = 1;
            break;
        }
        i += c <= 0;
        j += c >= 0;
    }
    sv_view_release(&vb);
    sv_view_release(&vn);
    if (bad)
        goto oom;
    if (r->nfunctions)
        qsort(r->functions, r->nfunctions, sizeof *r->functions, fn_by_abs_delta);
    gate(r);
    if (!pf_same_interpreter(base, new_) &&
        warn(r, dupf("the profiles come from different interpreters: %s vs %s",
                     base->python_build ? base->python_build : "?",
                     new_->python_build ? new_->python_build : "?")) < 0)
        goto oom;
    const char *hb = base->hash_seed ? base->hash_seed : "random";
    const char *hn = new_->hash_seed ? new_->hash_seed : "random";
    if ((strcmp(hb, hn) != 0 || strcmp(hb, "random") == 0) &&
        warn(r, dupf("hash seeds %s and %s: set and str iteration order can change "
                     "instruction counts; run both with PYTHONHASHSEED=0", hb, hn)) < 0)
        goto oom;
    if ((base->incomplete || new_->incomplete) &&
        warn(r, dupf("a profile is incomplete: %s",
                     base->incomplete_reason ? base->incomplete_reason
                     : new_->incomplete_reason ? new_->incomplete_reason : "?")) < 0)
        goto oom;
    free_sides(bs, base->nfunctions);
    free_sides(ns, new_->nfunctions);
    *out = r;
    return 0;
oom:
    free_sides(bs, base->nfunctions);
    free_sides(ns, new_->nfunctions);
    df_result_release(r);
    snprintf(err, errlen, "out of memory");
    return -1;
}

void df_result_release(df_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfunctions; i++) {
        df_function *d = &r->functions[i];
        free(d->key);
        free(d->file);
        free(d->qualname);
        for (size_t k = 0; k < d->nops; k++)
            free(d->ops[k].opname);
        free(d->ops);
    }
    free(r->functions);
    for (size_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->ndespecialized; i++)
        free(r->despecialized[i]);
    free(r->despecialized);
    free(r->base_name);
    free(r->new_name);
    free(r);
}
