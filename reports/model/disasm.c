/*
 * disasm.c - dis.get_instructions() of CPython 3.10+ without libpython.
 *
 * The order of the passes is dis's own: unpack the opargs (EXTENDED_ARG
 * folding, inline caches skipped), find the jump targets (findlabels),
 * find the line starts (findlinestarts), then render each argument the
 * way that version's _get_instructions_bytes / ArgResolver does.  What
 * differs between versions is either data (opcodes_tables.c) or one of
 * the few `c->minor` tests below, each matching a change in Lib/dis.py.
 */
#include "disasm.h"
#include "opcodes.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dis reads opargs as a C int (3.11+ wraps at 2**31): beyond that no
 * compiler output exists, so larger values are refused, not emulated. */
#define ARG_MAX INT32_MAX

typedef struct {
    const dz_code *c;
    const oc_table *t;
    char *err;
    size_t errlen;
    /* argrepr text, referenced by offset until the buffer stops moving */
    char *buf;
    size_t len, cap;
    size_t *repr_at;
    long long *labels;     /* jump targets, sorted, unique */
    size_t n_labels;
} dz_ctx;

static int fail(dz_ctx *x, const char *fmt, ...)
{
    if (x->err && x->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, x->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int put(dz_ctx *x, const char *s, size_t n)
{
    if (x->cap - x->len < n + 1) {
        size_t cap = x->cap ? x->cap : 256;
        while (cap - x->len < n + 1) {
            if (cap > SIZE_MAX / 2)
                return fail(x, "out of memory");
            cap *= 2;
        }
        char *b = realloc(x->buf, cap);
        if (!b)
            return fail(x, "out of memory");
        x->buf = b;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, s, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return 0;
}

static int puts_(dz_ctx *x, const char *s) { return put(x, s, strlen(s)); }

static int putf(dz_ctx *x, const char *fmt, long long v)
{
    char tmp[48];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    return put(x, tmp, (size_t)n);
}

/* The string dis would index, or an error naming what was out of range
 * (dis raises IndexError there). */
static const char *item(dz_ctx *x, const char *const *v, size_t n, long i,
                        const char *what, const dz_instr *in)
{
    if (i < 0 || (size_t)i >= n) {
        fail(x, "%s at offset %d: %s index %ld out of range (%zu)",
             in->opname, in->offset, what, i, n);
        return NULL;
    }
    if (!v || !v[i]) {
        fail(x, "%s[%ld] is missing", what, i);
        return NULL;
    }
    return v[i];
}

static int cmp_target(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* 3.13's label number of an offset: its rank among the jump targets. */
static int label_of(const dz_ctx *x, long long off)
{
    size_t lo = 0, hi = x->n_labels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->labels[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n_labels && x->labels[lo] == off ? (int)lo + 1 : 0;
}

/* Where a jump goes, as dis computes argval; 0 if `op` is no jump.
 * `flags_op` is whose flags decide: 3.11's findlabels looks at the raw
 * opcode, everything else at the base one. */
static int jump_target(const dz_ctx *x, unsigned flags_op, const dz_instr *in,
                       long long *target)
{
    const oc_op *o = &x->t->ops[flags_op];
    if (o->flags & OC_F_JREL) {
        long long arg = (o->flags & OC_F_BACKWARD) ? -(long long)in->arg : in->arg;
        *target = in->offset + 2 + arg * 2;
        if (x->c->minor >= 12)
            *target += 2 * (long long)x->t->ops[in->base].caches;
        return 1;
    }
    if (o->flags & OC_F_JABS) {
        *target = (long long)in->arg * 2;
        return 1;
    }
    return 0;
}

/* _unpack_opargs: fills offset, opcodes, opname and arg of each. */
static int unpack(dz_ctx *x, dz_instr *v, size_t *n)
{
    const dz_code *c = x->c;
    const oc_op *ops = x->t->ops;
    long long ext = 0;
    int ext_count = 0;
    size_t k = 0;
    for (size_t i = 0; i < c->code_len; i += 2) {
        unsigned op = c->code[i];
        unsigned base = ops[op].base;
        dz_instr *in = &v[k++];
        in->offset = (int)i;
        in->opcode = op;
        in->base = base;
        in->opname = ops[op].name ? ops[op].name : oc_placeholder(op);
        in->arg = -1;
        in->label = 0;
        int is_ext = ops[base].name && !strcmp(ops[base].name, "EXTENDED_ARG");
        if (ops[base].flags & OC_F_ARG) {
            long long arg = (long long)c->code[i + 1] | ext;
            if (arg < 0 || arg > ARG_MAX)
                return fail(x, "%s at offset %zu: oparg beyond 32 bits", in->opname, i);
            in->arg = (long)arg;
            ext = is_ext ? arg * 256 : 0;
            if (c->minor >= 11 && ext >= 2147483648LL)
                ext -= 4294967296LL;
        } else {
            ext = 0;
        }
        in->start_offset = is_ext ? (int)i : (int)i - 2 * ext_count;
        ext_count = is_ext ? ext_count + 1 : 0;
        size_t caches = ops[base].caches;
        if (caches > (c->code_len - i) / 2 - 1)
            return fail(x, "truncated code: the inline caches of %s at offset %zu run past the end",
                        in->opname, i);
        i += 2 * caches;
    }
    if (ext_count)
        return fail(x, "truncated code: EXTENDED_ARG at the end");
    *n = k;
    return 0;
}

/* findlabels, plus 3.13's label numbers (sorted, from 1). */
static int find_labels(dz_ctx *x, dz_instr *v, size_t n)
{
    x->labels = malloc((n ? n : 1) * sizeof *x->labels);
    if (!x->labels)
        return fail(x, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].arg < 0)
            continue;
        unsigned fop = x->c->minor == 11 ? v[i].opcode : v[i].base;
        long long target;
        if (jump_target(x, fop, &v[i], &target))
            x->labels[k++] = target;
    }
    qsort(x->labels, k, sizeof *x->labels, cmp_target);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || x->labels[u - 1] != x->labels[i])
            x->labels[u++] = x->labels[i];
    x->n_labels = u;
    for (size_t i = 0; i < n; i++) {
        v[i].label = label_of(x, v[i].offset);
        v[i].is_jump_target = v[i].label != 0;
    }
    return 0;
}

typedef struct {
    int offset, line, seq;
} linestart;

static int cmp_start(const void *a, const void *b)
{
    const linestart *x = a, *y = b;
    if (x->offset != y->offset)
        return (x->offset > y->offset) - (x->offset < y->offset);
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* findlinestarts: before 3.13 only changes to a real line count (None is
 * skipped); 3.13+ counts every change, to None too, and carries the
 * line over (line_number).  `all` is the 3.13 rule, which also gives
 * `line` on older versions; `dis_rule` marks the starts of c->minor.
 * dict(findlinestarts()) keeps the last of equal offsets: sorted by
 * (offset, sequence), the last of a run wins. */
static int find_lines(dz_ctx *x, dz_instr *v, size_t n)
{
    const dz_code *c = x->c;
    if (c->n_lines && !c->lines)
        return fail(x, "line table missing");
    linestart *all = malloc((c->n_lines ? c->n_lines : 1) * 2 * sizeof *all);
    if (!all)
        return fail(x, "out of memory");
    linestart *old = all + (c->n_lines ? c->n_lines : 1);
    size_t na = 0, no = 0;
    int have_all = 0, have_old = 0, last_all = 0, last_old = 0;
    for (size_t i = 0; i < c->n_lines; i++) {
        const dz_line_range *r = &c->lines[i];
        if (!have_all || r->line != last_all) {
            all[na] = (linestart){r->start, r->line, (int)na};
            na++;
            have_all = 1;
            last_all = r->line;
        }
        if (r->line != DZ_NO_LINE && (!have_old || r->line != last_old)) {
            old[no] = (linestart){r->start, r->line, (int)no};
            no++;
            have_old = 1;
            last_old = r->line;
        }
    }
    qsort(all, na, sizeof *all, cmp_start);
    qsort(old, no, sizeof *old, cmp_start);
    size_t ia = 0, io = 0;
    int line = DZ_NO_LINE;
    for (size_t k = 0; k < n; k++) {
        int off = v[k].offset, starts = 0;
        while (ia < na && all[ia].offset < off)
            ia++;
        while (ia < na && all[ia].offset == off) {
            line = all[ia++].line;
            starts = 1;
        }
        if (c->minor <= 12) {
            starts = 0;
            while (io < no && old[io].offset < off)
                io++;
            while (io < no && old[io].offset == off) {
                io++;
                starts = 1;
            }
        }
        v[k].line = line;
        v[k].starts_line = starts;
    }
    free(all);
    return 0;
}

static int join_flags(dz_ctx *x, long arg)
{
    int first = 1;
    for (size_t i = 0; i < x->t->n_func_flags && i < 31; i++) {
        if (!(arg & (1L << i)))
            continue;
        if ((!first && puts_(x, ", ")) || puts_(x, x->t->func_flags[i]))
            return -1;
        first = 0;
    }
    return 0;
}

/* Appends the argrepr of one instruction (ArgResolver.get_argval_argrepr). */
static int render(dz_ctx *x, dz_instr *in)
{
    const dz_code *c = x->c;
    const oc_table *t = x->t;
    long arg = in->arg;
    const char *s;
    int suffix = c->minor >= 13; /* "x + NULL" rather than "NULL + x" */
    if (arg < 0)
        return 0;
    switch ((oc_kind)t->ops[in->base].kind) {
    case OC_K_NONE:
        return 0;
    case OC_K_CONST:
        return (s = item(x, c->consts, c->n_consts, arg, "co_consts", in)) ? puts_(x, s) : -1;
    case OC_K_NAME:
        return (s = item(x, c->names, c->n_names, arg, "co_names", in)) ? puts_(x, s) : -1;
    case OC_K_NAME_GLOBAL:
    case OC_K_NAME_ATTR:
    case OC_K_NAME_SUPER: {
        oc_kind k = (oc_kind)t->ops[in->base].kind;
        s = item(x, c->names, c->n_names, arg >> (k == OC_K_NAME_SUPER ? 2 : 1), "co_names", in);
        if (!s)
            return -1;
        const char *null = k == OC_K_NAME_GLOBAL ? "NULL" : "NULL|self";
        if (!(arg & 1) || !*s)
            return puts_(x, s);
        if (suffix)
            return puts_(x, s) || puts_(x, " + ") || puts_(x, null);
        return puts_(x, null) || puts_(x, " + ") || puts_(x, s);
    }
    case OC_K_JUMP:
    case OC_K_JUMP_FROM: {
        if (!jump_target(x, in->base, in, &in->target))
            return 0;
        in->has_target = 1;
        if (c->minor <= 12)
            return putf(x, "to %lld", in->target);
        int l = label_of(x, in->target);
        if (!l)
            return fail(x, "%s at offset %d: jump target %lld has no label",
                        in->opname, in->offset, in->target);
        return puts_(x, t->ops[in->base].kind == OC_K_JUMP_FROM ? "from " : "to ") ||
               putf(x, "L%lld", l);
    }
    case OC_K_LOCAL:
        return (s = item(x, c->locals, c->n_locals, arg, "local", in)) ? puts_(x, s) : -1;
    case OC_K_CELL:
        return (s = item(x, c->cells, c->n_cells, arg, "cell", in)) ? puts_(x, s) : -1;
    case OC_K_LOCAL_PAIR: {
        const char *a = item(x, c->locals, c->n_locals, arg >> 4, "local", in);
        const char *b = a ? item(x, c->locals, c->n_locals, arg & 15, "local", in) : NULL;
        return b ? puts_(x, a) || puts_(x, ", ") || puts_(x, b) : -1;
    }
    case OC_K_COMPARE: {
        int shift = c->minor <= 11 ? 0 : c->minor == 12 ? 4 : 5;
        s = item(x, t->cmp_op, t->n_cmp_op, arg >> shift, "cmp_op", in);
        if (!s)
            return -1;
        if (c->minor >= 13 && (arg & 16))
            return puts_(x, "bool(") || puts_(x, s) || puts_(x, ")");
        return puts_(x, s);
    }
    case OC_K_FORMAT_VALUE:
        if (!(s = item(x, t->conversions, t->n_conversions, arg & 3, "conversion", in)) ||
            puts_(x, s))
            return -1;
        return (arg & 4) ? puts_(x, *s ? ", with format" : "with format") : 0;
    case OC_K_CONVERT_VALUE:
        return (s = item(x, t->conversions, t->n_conversions, arg, "conversion", in)) ? puts_(x, s) : -1;
    case OC_K_FUNC_FLAGS:
        return join_flags(x, arg);
    case OC_K_BINARY_OP:
        return (s = item(x, t->nb_ops, t->n_nb_ops, arg, "binary op", in)) ? puts_(x, s) : -1;
    case OC_K_INTRINSIC1:
        return (s = item(x, t->intrinsic1, t->n_intrinsic1, arg, "intrinsic", in)) ? puts_(x, s) : -1;
    case OC_K_INTRINSIC2:
        return (s = item(x, t->intrinsic2, t->n_intrinsic2, arg, "intrinsic", in)) ? puts_(x, s) : -1;
    case OC_K_COMMON_CONST:
        return (s = item(x, t->common_consts, t->n_common_consts, arg, "common constant", in)) ? puts_(x, s) : -1;
    case OC_K_SPECIAL_METHOD:
        return (s = item(x, t->special_methods, t->n_special_methods, arg, "special method", in)) ? puts_(x, s) : -1;
    case OC_K_IS_OP:
        return puts_(x, arg ? "is not" : "is");
    case OC_K_CONTAINS_OP:
        return puts_(x, arg ? "not in" : "in");
    }
    return 0;
}

int dz_disassemble(const dz_code *c, dz_listing *out, char *err, size_t errlen)
{
    dz_ctx x = {.c = c, .err = err, .errlen = errlen};
    dz_instr *v = NULL;
    size_t n = 0;
    if (out)
        *out = (dz_listing){0};
    if (err && errlen)
        err[0] = '\0';
    if (!c || !out)
        return fail(&x, "no code object");
    if (!(x.t = oc_table_for(c->minor)))
        return fail(&x, "no opcode table for Python 3.%d", c->minor);
    if (c->code_len % 2)
        return fail(&x, "truncated code: odd length %zu", c->code_len);
    if (c->code_len > INT_MAX / 2)
        return fail(&x, "code too long (%zu bytes)", c->code_len);
    if (c->code_len && !c->code)
        return fail(&x, "code bytes missing");
    size_t cap = c->code_len / 2;
    v = calloc(cap ? cap : 1, sizeof *v);
    x.repr_at = malloc((cap ? cap : 1) * sizeof *x.repr_at);
    if (!v || !x.repr_at) {
        fail(&x, "out of memory");
        goto bad;
    }
    if (unpack(&x, v, &n) || find_labels(&x, v, n) || find_lines(&x, v, n) || put(&x, "", 0))
        goto bad;
    for (size_t i = 0; i < n; i++) {
        x.repr_at[i] = x.len;
        if (render(&x, &v[i]) || put(&x, "", 1))
            goto bad;
    }
    for (size_t i = 0; i < n; i++)
        v[i].argrepr = x.buf + x.repr_at[i];
    out->v = v;
    out->n = n;
    out->strings = x.buf;
    free(x.repr_at);
    free(x.labels);
    return 0;
bad:
    free(v);
    free(x.buf);
    free(x.repr_at);
    free(x.labels);
    return -1;
}

void dz_listing_release(dz_listing *l)
{
    if (!l)
        return;
    free(l->v);
    free(l->strings);
    *l = (dz_listing){0};
}
