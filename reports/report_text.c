/*
 * report_text.c - the terminal report of a profile: header, scope
 * comparison with its verdict, top functions (report_text.h).  The opcode
 * histograms, cells and bars are in report_bars.c.
 */
#include "report_text.h"
#include "wrap.h"

#include <langinfo.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

void rt_options_init(rt_options *o)
{
    memset(o, 0, sizeof *o);
    o->top = 15;
    o->width = 100;
    o->unicode = 1;
    o->legend = 1;
}

void rt_options_for_terminal(rt_options *o, int fd)
{
    const char *columns = getenv("COLUMNS");
    char *end = NULL;
    long n = columns && *columns ? strtol(columns, &end, 10) : 0;
    struct winsize ws;
    if (end && *end == '\0' && n > 0 && n <= 10000)
        o->width = (int)n;
    else if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        o->width = ws.ws_col;
    else
        o->width = 100;
    const char *codeset = nl_langinfo(CODESET);
    o->unicode = codeset && (strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "UTF8") == 0);
    /* no-color.org: set and not empty */
    const char *no_color = getenv("NO_COLOR");
    o->colour = isatty(fd) && !(no_color && *no_color);
}

/* ---- text assembly ----------------------------------------------------- */

typedef struct text {
    char buf[1024];
    size_t len;
} text;

static void cat(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < sizeof t->buf ? t->len + (size_t)n : sizeof t->buf - 1;
}

/* Words wrapped to the width after `indent` spaces; continuation lines
 * indented by `hang`. */
static void put_wrapped(const rt_ctx *c, const char *s, int indent, int hang)
{
    rt_pad(c->out, indent);
    wr_words(c->out, c->width, s, indent, hang);
}

/* ---- header ------------------------------------------------------------ */

static const char *fmt_duration(char *buf, uint64_t ns)
{
    if (ns >= 1000000000)
        snprintf(buf, RT_NUM_LEN, "%.3f s", (double)ns / 1e9);
    else {
        rt_fmt_fixed(buf, (double)ns / 1e6);
        strcat(buf, " ms");
    }
    return buf;
}

static void label(const rt_ctx *c, const char *name) { fprintf(c->out, "  %-13s ", name); }

static void put_header(const rt_ctx *c)
{
    const pf_profile *p = c->p;
    FILE *out = c->out;
    char a[RT_NUM_LEN], b[RT_NUM_LEN];
    rt_sgr(c, "1");
    fputs("opprof report", out);
    rt_sgr(c, "0");
    fputc('\n', out);
    label(c, "script");
    for (size_t i = 0; i < p->argc; i++) {
        if (i)
            fputc(' ', out);
        rt_put_shell_word(out, p->argv[i]);
    }
    fputs(p->argc ? "\n" : "-\n", out);
    label(c, "interpreter");
    if (p->python_version) {
        fputs("Python ", out);
        rt_put_plain(out, p->python_version);
    } else {
        fputc('-', out);
    }
    if (p->collector) {
        fputs(" (", out);
        rt_put_plain(out, p->collector);
        fputc(')', out);
    }
    fputc('\n', out);
    label(c, "instructions");
    fputs(p->counted ? rt_fmt_uint(a, p->instructions) : "- (not counted: --time-only)", out);
    fputc('\n', out);
    label(c, "CPU time");
    if (p->timed)
        fprintf(out, "%s attributed, %s sampled\n", fmt_duration(a, p->time_ns),
                fmt_duration(b, p->sampled_ns));
    else
        fputs("- (not timed: --no-time)\n", out);
    label(c, "wall time");
    fprintf(out, "%s\n", p->wall_ns ? fmt_duration(a, p->wall_ns) : "-");
    label(c, "overhead");
    if (p->timed && p->sampled_ns)
        fprintf(out, "%s of sampled time (opprof's hooks + their event delivery)\n",
                rt_cell_pct(a, p->overhead_ns, p->sampled_ns, 1));
    else
        fputs("-\n", out);
    label(c, "samples");
    if (p->timed) {
        fprintf(out, "%s (asked %s Hz", rt_fmt_uint(a, p->samples), rt_fmt_uint(b, p->rate_hz));
        if (p->sampled_ns)
            fprintf(out, ", got %s per CPU second",
                    rt_fmt_uint(a, (uint64_t)llround((double)p->samples * 1e9 /
                                                     (double)p->sampled_ns)));
        fputs(")\n", out);
    } else {
        fputs("-\n", out);
    }
    if (!p->stacks_enabled) {
        label(c, "stacks");
        fputs("off (no cumulative times)\n", out);
    }
    if (p->incomplete) {
        label(c, "incomplete");
        fputs("yes", out);
        if (p->incomplete_reason) {
            fputs(": ", out);
            rt_put_plain(out, p->incomplete_reason);
        }
        fputc('\n', out);
    }
}

/* ---- scope comparison -------------------------------------------------- */

enum { S_INSTR, S_PCT_INSTR, S_TIME, S_PCT_TIME, S_NSI, NS };
static const char *const scope_head[NS] = {"instructions", "% instr", "time ms", "% time",
                                           "ns/instr"};

typedef struct sum {
    int present;
    uint64_t count, time_ns, samples;
} sum;

static void sum_cells(const rt_ctx *c, const sum *s, const sum *all, char cell[NS][RT_NUM_LEN])
{
    rt_cell_count(c, cell[S_INSTR], s->count);
    rt_cell_pct(cell[S_PCT_INSTR], s->count, all->count, c->p->counted);
    rt_cell_ms(c, cell[S_TIME], s->time_ns, s->samples);
    rt_cell_pct(cell[S_PCT_TIME], s->time_ns, all->time_ns, c->p->timed);
    rt_cell_nsi(c, cell[S_NSI], s->time_ns, s->count, s->samples);
}

static void put_scope_table(const rt_ctx *c)
{
    sum by[PF_SCOPE_COUNT + 1] = {{0}}, *all = &by[PF_SCOPE_COUNT];
    char cell[NS][RT_NUM_LEN];
    int w[NS], wname = (int)strlen("scope");
    for (size_t i = 0; i < c->p->nfunctions; i++) {
        const pf_function *f = &c->p->functions[i];
        uint64_t samples = pf_function_samples(f);
        /* a scope we have no name for counts in the total only */
        sum *s = (unsigned)f->scope < PF_SCOPE_COUNT ? &by[f->scope] : all;
        for (sum *t = s; t; t = t == all ? NULL : all) {
            t->present = 1;
            t->count += f->instructions;
            t->time_ns += f->time_ns;
            t->samples += samples;
        }
    }
    for (int k = 0; k < NS; k++)
        w[k] = (int)strlen(scope_head[k]);
    for (int s = 0; s <= PF_SCOPE_COUNT; s++) {
        if (!by[s].present)
            continue;
        sum_cells(c, &by[s], all, cell);
        for (int k = 0; k < NS; k++)
            w[k] = (int)strlen(cell[k]) > w[k] ? (int)strlen(cell[k]) : w[k];
        if (s < PF_SCOPE_COUNT && (int)strlen(pf_scope_name(s)) > wname)
            wname = (int)strlen(pf_scope_name(s));
    }
    fprintf(c->out, "  %-*s", wname, "scope");
    for (int k = 0; k < NS; k++)
        fprintf(c->out, "  %*s", w[k], scope_head[k]);
    fputc('\n', c->out);
    for (int s = 0; s <= PF_SCOPE_COUNT; s++) {
        if (!by[s].present)
            continue;
        sum_cells(c, &by[s], all, cell);
        fprintf(c->out, "  %-*s", wname, s < PF_SCOPE_COUNT ? pf_scope_name(s) : "all");
        for (int k = 0; k < NS; k++)
            fprintf(c->out, "  %*s", w[k], cell[k]);
        fputc('\n', c->out);
    }
}

/* Totals of the dict-based [1] and array-based [2] name-access opcodes. */
static void group_sums(const rt_hist *h, sum g[3])
{
    memset(g, 0, 3 * sizeof *g);
    for (size_t i = 0; i < h->nops; i++) {
        sum *s = &g[rt_name_group(h->ops[i].name)];
        s->count += h->ops[i].count;
        s->time_ns += h->ops[i].time_ns;
        s->samples += h->ops[i].samples;
    }
}

static const char *const group_label[3] = {"", "dict-based", "array-based"};

static void put_groups(const rt_ctx *c, const rt_hist *side[2])
{
    static const char *const where[2] = {"module-level", "function-local"};
    static const char *const head[4] = {"count", "time ms", "ns/instr", "share"};
    char cell[2][2][4][RT_NUM_LEN];
    int w[4];
    for (int k = 0; k < 4; k++)
        w[k] = (int)strlen(head[k]);
    for (int s = 0; s < 2; s++) {
        sum g[3];
        group_sums(side[s], g);
        for (int k = 1; k <= 2; k++) {
            char (*x)[RT_NUM_LEN] = cell[s][k - 1];
            /* the share of a side's name accesses; of their time without counts */
            uint64_t part = c->p->counted ? g[k].count : g[k].time_ns;
            uint64_t whole = c->p->counted ? g[1].count + g[2].count : g[1].time_ns + g[2].time_ns;
            rt_cell_count(c, x[0], g[k].count);
            rt_cell_ms(c, x[1], g[k].time_ns, g[k].samples);
            rt_cell_nsi(c, x[2], g[k].time_ns, g[k].count, g[k].samples);
            rt_cell_pct(x[3], part, whole, 1);
            for (int j = 0; j < 4; j++)
                w[j] = (int)strlen(x[j]) > w[j] ? (int)strlen(x[j]) : w[j];
        }
    }
    if (!side[0]->nonzero && !side[1]->nonzero)
        return;
    fprintf(c->out, "\n  %-11s  %-14s", "name access", "code");
    for (int j = 0; j < 4; j++)
        fprintf(c->out, "  %*s", w[j], head[j]);
    fputc('\n', c->out);
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 2 && side[s]->nonzero; k++) {
            fprintf(c->out, "  %-11s  %-14s", group_label[k + 1], where[s]);
            for (int j = 0; j < 4; j++)
                fprintf(c->out, "  %*s", w[j], cell[s][k][j]);
            fputc('\n', c->out);
        }
    put_wrapped(c, "dict-based = *_NAME, *_GLOBAL (dictionary lookups); array-based = "
                   "*_FAST*, *_DEREF, LOAD_CLOSURE, MAKE_CELL (slots of the frame)", 2, 4);
}

/* "module-level code ran 12.3 ns/instruction" and its partial forms. */
static void side_phrase(const rt_ctx *c, text *t, const rt_hist *h, const char *who)
{
    char a[RT_NUM_LEN];
    if (!h->nonzero)
        cat(t, "no %s ran", who);
    else if (c->p->counted && c->p->timed && h->time_ns)
        cat(t, "%s ran %s ns/instruction", who,
            rt_cell_nsi(c, a, h->time_ns, h->count, h->samples));
    else if (c->p->counted)
        cat(t, "%s ran %s instructions%s", who, rt_fmt_uint(a, h->count),
            c->p->timed ? " (no samples)" : "");
    else
        cat(t, "%s took %s ms", who, rt_cell_ms(c, a, h->time_ns, h->samples));
}

/* "; name access at module level is dict-based (LOAD_NAME/STORE_NAME:
 * 2,000,000 of 2,000,100 name accesses)"; by time without counts. */
static void name_phrase(const rt_ctx *c, text *t, const rt_hist *h, const char *where)
{
    char a[RT_NUM_LEN], b[RT_NUM_LEN];
    int counted = c->p->counted;
    sum g[3];
    group_sums(h, g);
    uint64_t v[3] = {0, counted ? g[1].count : g[1].time_ns, counted ? g[2].count : g[2].time_ns};
    if (!v[1] && !v[2])
        return;
    int kind = v[1] >= v[2] ? 1 : 2, named = 0;
    cat(t, "; name access %s is %s (", where, group_label[kind]);
    for (size_t i = 0; i < h->nonzero; i++) {
        const rt_op *r = &h->ops[i];
        if (rt_name_group(r->name) != kind || !(counted ? r->count : r->time_ns))
            continue;
        if (named++ == 3) {
            cat(t, "/...");
            break;
        }
        cat(t, "%s%s", named > 1 ? "/" : "", r->name);
    }
    if (counted)
        cat(t, ": %s of %s name accesses)", rt_fmt_uint(a, v[kind]), rt_fmt_uint(b, v[1] + v[2]));
    else
        cat(t, ": %s of %s ms of name-access time)", rt_fmt_fixed(a, (double)v[kind] / 1e6),
            rt_fmt_fixed(b, (double)(v[1] + v[2]) / 1e6));
}

static void put_verdict(const rt_ctx *c, const rt_hist *mod, const rt_hist *fun)
{
    const pf_profile *p = c->p;
    text t = {.len = 0};
    cat(&t, "verdict: %s", !p->timed   ? "counts only (not timed): "
                           : !p->counted ? "times only (not counted): " : "");
    side_phrase(c, &t, mod, "module-level code");
    cat(&t, ", ");
    side_phrase(c, &t, fun, "function code");
    if (p->timed && p->counted && mod->time_ns && mod->count && fun->time_ns && fun->count) {
        double r = ((double)mod->time_ns / (double)mod->count) /
                   ((double)fun->time_ns / (double)fun->count);
        if (r >= 1.05)
            cat(&t, " (module level %.1fx slower)", r);
        else if (r <= 1 / 1.05)
            cat(&t, " (module level %.1fx faster)", 1 / r);
        else
            cat(&t, " (about the same)");
    }
    name_phrase(c, &t, mod, "at module level");
    name_phrase(c, &t, fun, "in function code");
    fputc('\n', c->out);
    put_wrapped(c, t.buf, 0, 9);
}

static int scope_any(pf_scope s) { return (unsigned)s < PF_SCOPE_COUNT; }
static int scope_module(pf_scope s) { return s == PF_SCOPE_MODULE; }
/* class bodies run once per class: neither side's kind of code */
static int scope_local(pf_scope s) { return s > PF_SCOPE_CLASS && s < PF_SCOPE_COUNT; }

static int put_scopes(const rt_ctx *c)
{
    rt_hist mod, fun;
    rt_heading(c, "scope comparison");
    if (c->p->nfunctions == 0) {
        fputs("  no code ran\n", c->out);
        return 0;
    }
    put_scope_table(c);
    if (rt_hist_build(c, scope_module, &mod) < 0)
        return -1;
    if (rt_hist_build(c, scope_local, &fun) < 0) {
        rt_hist_release(&mod);
        return -1;
    }
    rt_hist_sort(c, &mod);
    rt_hist_sort(c, &fun);
    fputc('\n', c->out);
    rt_put_side_by_side(c, &mod, &fun);
    put_groups(c, (const rt_hist *[2]){&mod, &fun});
    put_verdict(c, &mod, &fun);
    rt_hist_release(&mod);
    rt_hist_release(&fun);
    return 0;
}

/* ---- top functions ----------------------------------------------------- */

enum { F_CALLS, F_INSTR, F_SELF, F_CUMUL, F_NSI, NF };
static const char *const fn_head[NF] = {"calls", "instructions", "self ms", "cumul ms",
                                        "ns/instr"};

static void fn_cells(const rt_ctx *c, const pf_function *f, char cell[NF][RT_NUM_LEN])
{
    uint64_t samples = pf_function_samples(f);
    rt_fmt_uint(cell[F_CALLS], f->calls);
    rt_cell_count(c, cell[F_INSTR], f->instructions);
    rt_cell_ms(c, cell[F_SELF], f->time_ns, samples);
    /* made of the same samples as many self times: no '~' of its own */
    if (c->p->timed && c->p->stacks_enabled)
        rt_fmt_fixed(cell[F_CUMUL], (double)f->cumulative_ns / 1e6);
    else
        strcpy(cell[F_CUMUL], "-");
    rt_cell_nsi(c, cell[F_NSI], f->time_ns, f->instructions, samples);
}

static void put_function_rows(const rt_ctx *c, const size_t *r, size_t n)
{
    char cell[NF][RT_NUM_LEN];
    int w[NF], wscope = (int)strlen("scope");
    for (int k = 0; k < NF; k++)
        w[k] = (int)strlen(fn_head[k]);
    for (size_t i = 0; i < n; i++) {
        const pf_function *f = &c->p->functions[r[i]];
        fn_cells(c, f, cell);
        for (int k = 0; k < NF; k++)
            w[k] = (int)strlen(cell[k]) > w[k] ? (int)strlen(cell[k]) : w[k];
        if ((int)strlen(pf_scope_name(f->scope)) > wscope)
            wscope = (int)strlen(pf_scope_name(f->scope));
    }
    for (int k = 0; k < NF; k++)
        fprintf(c->out, "  %*s", w[k], fn_head[k]);
    fprintf(c->out, "  %-*s  function\n", wscope, "scope");
    for (size_t i = 0; i < n; i++) {
        const pf_function *f = &c->p->functions[r[i]];
        fn_cells(c, f, cell);
        for (int k = 0; k < NF; k++)
            fprintf(c->out, "  %*s", w[k], cell[k]);
        fprintf(c->out, "  %-*s  ", wscope, pf_scope_name(f->scope));
        rt_put_plain(c->out, f->qualname ? f->qualname : "?");
        fputs(" (", c->out);
        rt_put_plain(c->out, pf_basename(f->file));
        fprintf(c->out, ":%d)\n", f->firstlineno);
    }
}

static int put_functions(const rt_ctx *c)
{
    const pf_profile *p = c->p;
    size_t *r = pf_functions_by_weight(p), nr = 0;
    if (!r)
        return -1;
    for (size_t i = 0; i < p->nfunctions; i++) {  /* what never ran is no row */
        const pf_function *f = &p->functions[r[i]];
        if (f->time_ns || f->instructions || f->calls)
            r[nr++] = r[i];
    }
    rt_heading(c, p->timed     ? "top functions by self time"
                  : p->counted ? "top functions by instructions" : "top functions by calls");
    size_t n = nr < c->top ? nr : c->top;
    if (n == 0)
        fputs("  no functions ran\n", c->out);
    else
        put_function_rows(c, r, n);
    if (nr > n)
        fprintf(c->out, "  ... %zu more function%s\n", nr - n, nr - n == 1 ? "" : "s");
    if (n && c->o->profile_name) {
        const pf_function *f = &p->functions[r[0]];
        fputs("annotate one: opprof annotate ", c->out);
        rt_put_shell_word(c->out, c->o->profile_name);
        fputc(' ', c->out);
        rt_put_shell_word(c->out, f->qualname ? f->qualname : "?");
        fputc('\n', c->out);
    }
    free(r);
    return 0;
}

/* ---- the report -------------------------------------------------------- */

int rt_render(const pf_profile *p, const rt_options *o, FILE *out)
{
    rt_options defaults;
    if (!o) {
        rt_options_init(&defaults);
        o = &defaults;
    }
    rt_ctx c = {p, o, out, o->width ? o->width : 100, o->top ? o->top : 15};
    c.width = c.width < RT_MIN_WIDTH ? RT_MIN_WIDTH : c.width;
    /* a histogram ranks by what the profile has */
    c.by_count = !p->timed || (o->sort_by_count && p->counted);
    rt_hist all;
    rt_legend legend = {0};
    int rc = -1;
    if (o->legend)
        c.legend = &legend;
    if (rt_names_init(&c) < 0)
        return -1;
    if (rt_hist_build(&c, scope_any, &all) < 0)
        goto names;
    rt_hist_sort(&c, &all);
    put_header(&c);
    if (rt_put_processes(&c) < 0 || put_scopes(&c) < 0 || put_functions(&c) < 0)
        goto hist;
    rt_put_histogram(&c, &all);
    rt_put_legend(&c);
    if (rt_put_findings(&c) < 0 || rt_put_specialization(&c) < 0)
        goto hist;
    rc = fflush(out) != 0 || ferror(out) || legend.failed ? -1 : 0;
hist:
    rt_hist_release(&all);
names:
    rt_names_release(&c);
    rt_legend_release(&legend);
    return rc;
}
