/*
 * report_bars.c - the terminal report's opcode histograms, the cells and
 * bars they are made of, and the helpers report_text.c shares.
 */
#include "report_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- opcode names ------------------------------------------------------ */

typedef struct named_op {
    const char *name;
    size_t op;
} named_op;

static int by_name_then_op(const void *a, const void *b)
{
    const named_op *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->op > y->op) - (x->op < y->op);
}

int rt_names_init(rt_ctx *c)
{
    size_t n = c->p->nopnames;
    named_op *v = malloc((n ? n : 1) * sizeof *v);
    c->name_of = malloc((n ? n : 1) * sizeof *c->name_of);
    c->names = malloc((n ? n : 1) * sizeof *c->names);
    c->nnames = 0;
    if (!v || !c->name_of || !c->names) {
        free(v);
        rt_names_release(c);
        return -1;
    }
    /* profile_json.c writes unnamed opcodes as "<unknown>": so do we */
    for (size_t i = 0; i < n; i++)
        v[i] = (named_op){c->p->opnames[i] ? c->p->opnames[i] : "<unknown>", i};
    qsort(v, n, sizeof *v, by_name_then_op);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i].name, v[i - 1].name) != 0)
            c->names[c->nnames++] = v[i].name;
        c->name_of[v[i].op] = c->nnames - 1;
    }
    free(v);
    return 0;
}

void rt_names_release(rt_ctx *c)
{
    free(c->name_of);
    free(c->names);
    c->name_of = NULL;
    c->names = NULL;
}

/* ---- histograms -------------------------------------------------------- */

int rt_hist_build(const rt_ctx *c, int (*want)(pf_scope), rt_hist *h)
{
    const pf_profile *p = c->p;
    memset(h, 0, sizeof *h);
    h->ops = calloc(c->nnames ? c->nnames : 1, sizeof *h->ops);
    pf_opcount *by_op = malloc((p->nopnames ? p->nopnames : 1) * sizeof *by_op);
    if (!h->ops || !by_op) {
        free(by_op);
        rt_hist_release(h);
        return -1;
    }
    h->nops = c->nnames;
    for (size_t k = 0; k < h->nops; k++)
        h->ops[k].name = c->names[k];
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        if (!want(f->scope))
            continue;
        pf_function_opcodes(p, f, by_op);
        for (size_t op = 0; op < p->nopnames; op++) {
            rt_op *r = &h->ops[c->name_of[op]];
            r->count += by_op[op].count;
            r->time_ns += by_op[op].time_ns;
        }
        /* pf_opcount has no samples; skip what pf_function_opcodes skips */
        for (size_t k = 0; k < f->ntimes; k++)
            if (f->times[k].instr < f->ncode && f->code[f->times[k].instr].op < p->nopnames)
                h->ops[c->name_of[f->code[f->times[k].instr].op]].samples += f->times[k].samples;
    }
    free(by_op);
    for (size_t k = 0; k < h->nops; k++) {
        h->count += h->ops[k].count;
        h->time_ns += h->ops[k].time_ns;
        h->samples += h->ops[k].samples;
    }
    return 0;
}

static int cmp_u64_desc(uint64_t a, uint64_t b) { return (a < b) - (a > b); }

/* qsort has no context argument: two comparators instead of a global. */
static int by_time(const void *a, const void *b)
{
    const rt_op *x = a, *y = b;
    int d = cmp_u64_desc(x->time_ns, y->time_ns);
    d = d ? d : cmp_u64_desc(x->count, y->count);
    return d ? d : strcmp(x->name, y->name);
}

static int by_count(const void *a, const void *b)
{
    const rt_op *x = a, *y = b;
    int d = cmp_u64_desc(x->count, y->count);
    d = d ? d : cmp_u64_desc(x->time_ns, y->time_ns);
    return d ? d : strcmp(x->name, y->name);
}

void rt_hist_sort(const rt_ctx *c, rt_hist *h)
{
    qsort(h->ops, h->nops, sizeof *h->ops, c->by_count ? by_count : by_time);
    h->nonzero = 0;
    while (h->nonzero < h->nops && (h->ops[h->nonzero].count || h->ops[h->nonzero].time_ns))
        h->nonzero++;
}

void rt_hist_release(rt_hist *h)
{
    free(h->ops);
    memset(h, 0, sizeof *h);
}

int rt_name_group(const char *s)
{
    static const char *const dict[] = {"LOAD_NAME", "STORE_NAME", "DELETE_NAME", "LOAD_GLOBAL",
                                       "STORE_GLOBAL", "DELETE_GLOBAL",
                                       "LOAD_FROM_DICT_OR_GLOBALS"};
    static const char *const array[] = {"LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_DEREF",
                                        "STORE_DEREF", "LOAD_CLOSURE", "MAKE_CELL"};
    for (size_t i = 0; i < sizeof dict / sizeof dict[0]; i++)
        if (strcmp(s, dict[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof array / sizeof array[0]; i++)
        if (strcmp(s, array[i]) == 0)
            return 2;
    /* specialized and superinstruction forms, should a profile name them */
    if (strncmp(s, "LOAD_GLOBAL_", 12) == 0 || strncmp(s, "LOAD_NAME_", 10) == 0)
        return 1;
    if (strncmp(s, "LOAD_FAST_", 10) == 0 || strncmp(s, "STORE_FAST_", 11) == 0)
        return 2;
    return 0;
}

/* ---- cells ------------------------------------------------------------- */

/* Separators go into the integer part of an already formatted number. */
static const char *group_digits(char *buf, const char *num)
{
    size_t n = strcspn(num, ".");
    char *d = buf;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *d++ = ',';
        *d++ = num[i];
    }
    strcpy(d, num + n);
    return buf;
}

const char *rt_fmt_uint(char *buf, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    return group_digits(buf, num);
}

const char *rt_fmt_fixed(char *buf, double v)
{
    char num[RT_NUM_LEN / 2];
    if (!(v >= 0 && v < 1e18))   /* also NaN: a cell never holds garbage */
        return strcpy(buf, "-");
    snprintf(num, sizeof num, "%.1f", v);
    return group_digits(buf, num);
}

const char *rt_cell_count(const rt_ctx *c, char *buf, uint64_t count)
{
    return c->p->counted ? rt_fmt_uint(buf, count) : strcpy(buf, "-");
}

const char *rt_cell_ms(const rt_ctx *c, char *buf, uint64_t ns, uint64_t samples)
{
    if (!c->p->timed)
        return strcpy(buf, "-");
    buf[0] = '~';
    rt_fmt_fixed(buf + (samples < RT_FEW_SAMPLES), (double)ns / 1e6);
    return buf;
}

const char *rt_cell_nsi(const rt_ctx *c, char *buf, uint64_t ns, uint64_t count,
                        uint64_t samples)
{
    if (!c->p->timed || !c->p->counted || !ns || !count)
        return strcpy(buf, "-");
    double v = (double)ns / (double)count;
    buf[0] = '~';
    /* a decimal of a CALL's 300,000 ns is noise that costs a column */
    if (v >= 100)
        rt_fmt_uint(buf + (samples < RT_FEW_SAMPLES), (uint64_t)llround(v));
    else
        rt_fmt_fixed(buf + (samples < RT_FEW_SAMPLES), v);
    return buf;
}

const char *rt_cell_pct(char *buf, uint64_t part, uint64_t whole, int known)
{
    if (!known || !whole)
        return strcpy(buf, "-");
    snprintf(buf, RT_NUM_LEN, "%.1f%%", 100.0 * (double)part / (double)whole);
    return buf;
}

/* ---- output helpers ---------------------------------------------------- */

/* Names come from file systems and code: bytes a terminal would act on
 * are shown as '?'. */
void rt_put_plain(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* So that a hint can be pasted into a shell: "<module>" is a redirection. */
void rt_put_shell_word(FILE *out, const char *s)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_@%+=:,./-";
    if (*s && s[strspn(s, safe)] == '\0') {
        fputs(s, out);
        return;
    }
    fputc('\'', out);
    for (const char *q = s; *q; q++) {
        if (*q == '\'')
            fputs("'\\''", out);
        else
            fputc((unsigned char)*q < 0x20 || *q == 0x7f ? '?' : *q, out);
    }
    fputc('\'', out);
}

void rt_sgr(const rt_ctx *c, const char *code)
{
    if (c->o->colour)
        fprintf(c->out, "\033[%sm", code);
}

void rt_heading(const rt_ctx *c, const char *text)
{
    fputc('\n', c->out);
    rt_sgr(c, "1");
    fputs(text, c->out);
    rt_sgr(c, "0");
    fputc('\n', c->out);
}

void rt_dim(const rt_ctx *c, int on) { rt_sgr(c, on ? "2" : "0"); }

void rt_pad(FILE *out, int n)
{
    for (; n > 0; n--)
        fputc(' ', out);
}

int rt_put_bar(const rt_ctx *c, double frac, int cols)
{
    /* U+2588 and the partial blocks of 1/8 to 7/8 (U+258F down to U+2589) */
    static const char *const part[8] = {"", "\u258f", "\u258e", "\u258d",
                                        "\u258c", "\u258b", "\u258a", "\u2589"};
    if (!(frac > 0) || cols <= 0)
        return 0;
    int units = c->o->unicode ? 8 : 1;
    long n = lround((frac < 1 ? frac : 1) * cols * units);
    n = n < 1 ? 1 : n;   /* what ran at all shows */
    rt_sgr(c, "36");
    for (long i = 0; i < n / units; i++)
        fputs(c->o->unicode ? "\u2588" : "#", c->out);
    fputs(part[n % units], c->out);
    rt_sgr(c, "0");
    return (int)(n / units + (n % units != 0));
}

/* ---- histogram tables -------------------------------------------------- */

enum { K_COUNT, K_PCT_COUNT, K_TIME, K_PCT_TIME, K_NSI, NKEYS };

static void op_cells(const rt_ctx *c, const rt_hist *h, const rt_op *r,
                     char cell[NKEYS][RT_NUM_LEN])
{
    rt_cell_count(c, cell[K_COUNT], r->count);
    rt_cell_pct(cell[K_PCT_COUNT], r->count, h->count, c->p->counted);
    rt_cell_ms(c, cell[K_TIME], r->time_ns, r->samples);
    rt_cell_pct(cell[K_PCT_TIME], r->time_ns, h->time_ns, c->p->timed);
    rt_cell_nsi(c, cell[K_NSI], r->time_ns, r->count, r->samples);
}

static uint64_t key_of(const rt_ctx *c, const rt_op *r)
{
    return c->by_count ? r->count : r->time_ns;
}

static size_t shown(const rt_ctx *c, const rt_hist *h)
{
    return h->nonzero < c->top ? h->nonzero : c->top;
}

static int max_int(int a, int b) { return a > b ? a : b; }

void rt_put_histogram(const rt_ctx *c, const rt_hist *h)
{
    static const char *const head[NKEYS] = {"count", "%", "time ms", "%", "ns/instr"};
    char cell[NKEYS][RT_NUM_LEN], title[80];
    int wname = (int)strlen("opcode"), w[NKEYS], used;
    size_t n = shown(c, h);
    for (size_t i = 0; c->legend && i < n; i++)
        rt_legend_add(c->legend, h->ops[i].name);
    snprintf(title, sizeof title, "opcodes, whole run (by %s)", c->by_count ? "count" : "time");
    rt_heading(c, title);
    if (n == 0) {
        fputs("  no instructions\n", c->out);
        return;
    }
    for (int k = 0; k < NKEYS; k++)
        w[k] = (int)strlen(head[k]);
    for (size_t i = 0; i < n; i++) {
        op_cells(c, h, &h->ops[i], cell);
        wname = max_int(wname, (int)strlen(h->ops[i].name));
        for (int k = 0; k < NKEYS; k++)
            w[k] = max_int(w[k], (int)strlen(cell[k]));
    }
    used = 2 + wname;
    fprintf(c->out, "  %-*s", wname, "opcode");
    for (int k = 0; k < NKEYS; k++) {
        fprintf(c->out, "  %*s", w[k], head[k]);
        used += 2 + w[k];
    }
    fputc('\n', c->out);
    int bar = max_int(c->width - used - 2, 8);
    double max = (double)key_of(c, &h->ops[0]);
    for (size_t i = 0; i < n; i++) {
        const rt_op *r = &h->ops[i];
        op_cells(c, h, r, cell);
        rt_dim(c, key_of(c, r) == 0);
        fputs("  ", c->out);
        rt_put_plain(c->out, r->name);
        rt_pad(c->out, wname - (int)strlen(r->name));
        for (int k = 0; k < NKEYS; k++)
            fprintf(c->out, "  %*s", w[k], cell[k]);
        if (key_of(c, r))
            fputs("  ", c->out);
        rt_put_bar(c, max > 0 ? (double)key_of(c, r) / max : 0, bar);
        rt_dim(c, 0);
        fputc('\n', c->out);
    }
    if (h->nonzero > n)
        fprintf(c->out, "  ... %zu more opcode%s\n", h->nonzero - n, h->nonzero - n == 1 ? "" : "s");
}

/* ---- module-level vs function-local, side by side ---------------------- */

enum { S_COUNT, S_TIME, S_NSI, NSIDE };

typedef struct side {
    const char *title;
    const rt_hist *h;
    size_t n;
} side;

typedef struct side_layout {
    int wname, w[NSIDE], bar;
    double max;
} side_layout;

static void side_cells(const rt_ctx *c, const rt_op *r, char cell[NSIDE][RT_NUM_LEN])
{
    rt_cell_count(c, cell[S_COUNT], r->count);
    rt_cell_ms(c, cell[S_TIME], r->time_ns, r->samples);
    rt_cell_nsi(c, cell[S_NSI], r->time_ns, r->count, r->samples);
}

static const char *const side_head[NSIDE] = {"count", "ms", "ns/i"};

/* Row i of one side (the column headings are row -1); returns the columns
 * written, for the padding before the other side. */
static int put_side_row(const rt_ctx *c, const side *s, const side_layout *l, long i)
{
    FILE *out = c->out;
    char cell[NSIDE][RT_NUM_LEN];
    int cols = l->wname;
    if (i < 0) {
        fprintf(out, "%-*s", l->wname, "opcode");
        for (int k = 0; k < NSIDE; k++)
            cols += fprintf(out, " %*s", l->w[k], side_head[k]);
        return cols;
    }
    if ((size_t)i >= s->n) {
        size_t more = s->h->nonzero - s->n;
        if ((size_t)i > s->n || more == 0)
            return i == 0 ? fprintf(out, "(none)") : 0;
        /* rows without a bar are left out, and said so */
        int unsampled = s->n < c->top && !c->by_count;
        return fprintf(out, "... %zu more%s", more, unsampled ? " without samples" : "");
    }
    const rt_op *r = &s->h->ops[i];   /* shown rows have a key, so max > 0 */
    side_cells(c, r, cell);
    rt_put_plain(out, r->name);
    rt_pad(out, l->wname - (int)strlen(r->name));
    for (int k = 0; k < NSIDE; k++)
        cols += fprintf(out, " %*s", l->w[k], cell[k]);
    fputc(' ', out);
    return cols + 1 + rt_put_bar(c, (double)key_of(c, r) / l->max, l->bar);
}

static size_t side_rows(const side *s)
{
    return s->n + (s->h->nonzero > s->n || s->n == 0);
}

/* Rows with a time (a count when ranked by count): the ones with a bar. */
static size_t shown_with_bar(const rt_ctx *c, const rt_hist *h)
{
    size_t n = 0;
    while (n < h->nonzero && n < c->top && key_of(c, &h->ops[n]))
        n++;
    return n;
}

void rt_put_side_by_side(const rt_ctx *c, const rt_hist *mod, const rt_hist *fun)
{
    side sides[2] = {{"module-level code", mod, shown_with_bar(c, mod)},
                     {"function-local code", fun, shown_with_bar(c, fun)}};
    for (int k = 0; k < 2 && c->legend; k++)
        for (size_t i = 0; i < sides[k].n; i++)
            rt_legend_add(c->legend, sides[k].h->ops[i].name);
    side_layout l = {(int)strlen("opcode"), {0}, 0, 0};
    char cell[NSIDE][RT_NUM_LEN];
    for (int k = 0; k < NSIDE; k++)
        l.w[k] = (int)strlen(side_head[k]);
    /* one layout and one scale for both sides, so bars compare */
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sides[s].n; i++) {
            const rt_op *r = &sides[s].h->ops[i];
            side_cells(c, r, cell);
            l.wname = max_int(l.wname, (int)strlen(r->name));
            for (int k = 0; k < NSIDE; k++)
                l.w[k] = max_int(l.w[k], (int)strlen(cell[k]));
            l.max = (double)key_of(c, r) > l.max ? (double)key_of(c, r) : l.max;
        }
    int fixed = l.wname + NSIDE + l.w[S_COUNT] + l.w[S_TIME] + l.w[S_NSI] + 1;
    int half = (c->width - 2 - 3) / 2;
    FILE *out = c->out;
    fprintf(out, "  opcodes by %s (ms: self time, ns/i: ns per instruction)\n",
            c->by_count ? "count" : "time");
    if (half - fixed >= 8) {
        l.bar = half - fixed;
        size_t rows = side_rows(&sides[0]) > side_rows(&sides[1]) ? side_rows(&sides[0])
                                                                   : side_rows(&sides[1]);
        fprintf(out, "  %-*s   %s\n", half, sides[0].title, sides[1].title);
        for (long i = -1; i < (long)rows; i++) {
            fputs("  ", out);
            int cols = put_side_row(c, &sides[0], &l, i);
            if (i < 0 || (size_t)i < side_rows(&sides[1])) {
                rt_pad(out, half + 3 - cols);
                put_side_row(c, &sides[1], &l, i);
            }
            fputc('\n', out);
        }
        return;
    }
    /* too narrow for two: one above the other, still on one scale */
    l.bar = max_int(c->width - 4 - fixed, 8);
    for (int s = 0; s < 2; s++) {
        fprintf(out, "  %s\n", sides[s].title);
        for (long i = -1; i < (long)side_rows(&sides[s]); i++) {
            fputs("    ", out);
            put_side_row(c, &sides[s], &l, i);
            fputc('\n', out);
        }
    }
}
