/*
 * findings_loops.c - the two rules about lookups repeated in loops:
 * global-in-loop and attribute-in-loop (findings.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings_view.h"
#include "report_text.h"

/* ---- global-in-loop ---------------------------------------------------- */

typedef struct agg {
    char name[96];
    uint64_t count, time;
    int line, method;
} agg;

/* The entry for name in v (up to cap), added when new; NULL when full. */
static agg *agg_get(agg *v, size_t *n, size_t cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    if (*n == cap)
        return NULL;
    agg *a = &v[(*n)++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    return a;
}

static int cmp_agg(const void *x, const void *y)
{
    const agg *a = x, *b = y;
    return a->count < b->count ? 1 : a->count > b->count ? -1 : strcmp(a->name, b->name);
}

/* Sorts v, heaviest first: how many lead with FD_MIN_COUNT loads or more
 * (those a finding shows). */
static size_t agg_rank(agg *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_agg);
    size_t k = 0;
    while (k < n && v[k].count >= FD_MIN_COUNT)
        k++;
    return k;
}

/* The first k of v: "len (line 12, 1,000,000 times), math.sqrt (line 13,
 * ...)" into buf, and into tm ", 4.2 ms of sampled time" when timed. */
static void agg_text(const ctx *c, char *buf, size_t n, char *tm, size_t ntm, const agg *v,
                     size_t k, uint64_t time)
{
    size_t used = 0;
    buf[0] = tm[0] = 0;
    if (c->p->timed && time)
        snprintf(tm, ntm, ", %.1f ms of sampled time", (double)time / 1e6);
    for (size_t i = 0; i < k && i < 4 && used < n; i++) {
        char a[RT_NUM_LEN];
        int w = snprintf(buf + used, n - used, "%s%s (line %d, %s times)", i ? ", " : "",
                         v[i].name, v[i].line, rt_fmt_uint(a, v[i].count));
        used += w > 0 ? (size_t)w : 0;
    }
}

void fdr_global_in_loop(ctx *c, const view *v)
{
    agg g[16];
    size_t ng = 0;
    uint64_t instr = 0, time = 0;
    for (size_t i = 0; i < v->l.n; i++) {
        if (!fdv_hot(v, i) || !fdv_starts(fdv_op(v, i), "LOAD_GLOBAL"))
            continue;
        const char *next = i + 1 < v->l.n ? fdv_op(v, i + 1) : "";
        /* `except KeyError:` loads its class only when something was
         * raised: the exceptions finding's business */
        if (!strcmp(next, "CHECK_EXC_MATCH") || !strcmp(next, "JUMP_IF_NOT_EXC_MATCH") ||
            !strcmp(next, "CHECK_EG_MATCH"))
            continue;
        char name[96], attr[64];
        fdv_bare(v->l.v[i].argrepr, name, sizeof name);
        uint64_t t = v->time[i], k = v->count[i];
        if ((fdv_starts(next, "LOAD_ATTR") || fdv_starts(next, "LOAD_METHOD")) &&
            v->count[i + 1] == v->count[i]) {
            fdv_bare(v->l.v[i + 1].argrepr, attr, sizeof attr);
            size_t len = strlen(name);
            snprintf(name + len, sizeof name - len, ".%s", attr);
            t += v->time[i + 1];
            k += v->count[i + 1];
        }
        agg *a = agg_get(g, &ng, 16, name);
        if (!a)
            continue;
        a->count += v->count[i];
        a->time += t;
        if (!a->line)
            a->line = v->l.v[i].line;
        instr += k;
        time += t;
    }
    if (!ng || !fdv_weighs(c, instr, time))
        return;
    size_t shown = agg_rank(g, ng);
    if (!shown)
        return;
    char w[512], list[600], a[RT_NUM_LEN], b[RT_NUM_LEN], tm[96], local[100];
    agg_text(c, list, sizeof list, tm, sizeof tm, g, shown, time);
    /* `len = len` in a function makes len local everywhere in it: another name */
    const char *dot = strrchr(g[0].name, '.');
    snprintf(local, sizeof local, "%s%s", dot ? "" : "_", dot ? dot + 1 : g[0].name);
    fdv_add(c, FD_GLOBAL_IN_LOOP, fdv_weight(c, instr, time),
        fdv_printf("%s: global lookups on every iteration",
                   fdv_where(w, sizeof w, v->f, g[0].line, 0)),
        fdv_printf("%s in %s call%s: each is a lookup in the module's dict, then the builtins' "
                "(%s instructions%s).", list, rt_fmt_uint(a, v->f->calls), v->f->calls == 1 ? "" : "s",
                rt_fmt_uint(b, instr), tm),
        fdv_printf("bind %s to a local name before the loop (e.g. `%s = %s`) and use the local "
                "inside: a local is a slot of the frame (LOAD_FAST).",
                shown > 1 ? "each" : "it", local, g[0].name));
}

/* ---- attribute-in-loop ------------------------------------------------- */

/* The local an instruction loads ("x"; "b" of LOAD_FAST_LOAD_FAST "a, b"), or 0. */
static int loaded_local(const view *v, size_t i, char *buf, size_t n)
{
    const char *s = fdv_op(v, i), *r = v->l.v[i].argrepr;
    if (!(fdv_starts(s, "LOAD_FAST") || strcmp(s, "LOAD_DEREF") == 0 ||
          strcmp(s, "STORE_FAST_LOAD_FAST") == 0))
        return 0;
    const char *comma = strstr(r, ", ");
    snprintf(buf, n, "%s", comma ? comma + 2 : r);
    return buf[0] != 0;
}

/* Whether the loop stores `name` (as a local) or `attr` (as an attribute). */
static int rebound(const view *v, const char *name, const char *attr)
{
    for (size_t i = 0; i < v->l.n; i++) {
        if (v->count[i] < v->loop_floor)
            continue;
        const char *s = fdv_op(v, i), *r = v->l.v[i].argrepr;
        char first[96];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(r, ","), r);
        if ((fdv_starts(s, "STORE_FAST") || strcmp(s, "STORE_DEREF") == 0) &&
            (strcmp(first, name) == 0 ||
             (strcmp(s, "STORE_FAST_STORE_FAST") == 0 && strstr(r, ", ") &&
              strcmp(strstr(r, ", ") + 2, name) == 0)))
            return 1;
        if (fdv_starts(s, "STORE_ATTR") && strcmp(r, attr) == 0)
            return 1;
    }
    return 0;
}

void fdr_attribute_in_loop(ctx *c, const view *v)
{
    agg g[16];
    size_t ng = 0;
    uint64_t instr = 0, time = 0;
    for (size_t i = 1; i < v->l.n; i++) {
        const char *s = fdv_op(v, i);
        char obj[40], attr[40], key[96];
        if (!fdv_hot(v, i) || !(fdv_starts(s, "LOAD_ATTR") || fdv_starts(s, "LOAD_METHOD")) ||
            !loaded_local(v, i - 1, obj, sizeof obj))
            continue;
        fdv_bare(v->l.v[i].argrepr, attr, sizeof attr);
        if (rebound(v, obj, attr))
            continue;
        snprintf(key, sizeof key, "%s.%s", obj, attr);
        agg *a = agg_get(g, &ng, 16, key);
        if (!a)
            continue;
        a->count += v->count[i];
        a->time += v->time[i];
        a->method |= fdv_starts(s, "LOAD_METHOD") || strstr(v->l.v[i].argrepr, "NULL") != NULL;
        if (!a->line)
            a->line = v->l.v[i].line;
        instr += v->count[i];
        time += v->time[i];
    }
    if (!ng || !fdv_weighs(c, instr, time))
        return;
    size_t shown = agg_rank(g, ng);
    if (!shown)
        return;
    char w[512], list[600], a[RT_NUM_LEN], tm[96], local[64];
    agg_text(c, list, sizeof list, tm, sizeof tm, g, shown, time);
    snprintf(local, sizeof local, "%s", strrchr(g[0].name, '.') + 1);
    fdv_add(c, FD_ATTRIBUTE_IN_LOOP, fdv_weight(c, instr, time),
        fdv_printf("%s: the same attribute looked up on every iteration",
                fdv_where(w, sizeof w, v->f, g[0].line, 0)),
        fdv_printf("%s, from locals the loop does not rebind (%s lookups%s): each looks in the "
                "object's dict and its class's.", list, rt_fmt_uint(a, instr), tm),
        fdv_printf("look %s up once before the loop (`%s = %s`) and use the local inside%s.",
                shown > 1 ? "each" : "it", local, g[0].name,
                g[0].method ? " (a bound method, called as before)" : ""));
}

