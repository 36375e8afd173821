/*
 * test_disasm.c - unit tests for reports/model/disasm.c: small programs per
 * version whose listing is known from Lib/dis.py, bad inputs that must be
 * errors (and never reads out of bounds: run it under ASan too), and,
 * when DISASM_DUMPS names files written by tests/e2e/disasm_dump.py
 * (space or colon separated), the instruction-by-instruction comparison
 * with dis.get_instructions() over every code object in them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/model/codepack.h"
#include "../../reports/model/disasm.h"
#include "../../reports/model/opcodes.h"

/* ---- building small programs ------------------------------------------ */

typedef struct {
    const oc_table *t;
    unsigned char b[1024];
    size_t n;
} prog;

static unsigned opnum(const oc_table *t, const char *name)
{
    for (unsigned op = 0; op < 256; op++)
        if (t->ops[op].name && !strcmp(t->ops[op].name, name))
            return op;
    fail_msg("3.%d has no %s", t->minor, name);
    return 0;
}

/* One instruction with its EXTENDED_ARG prefixes and zeroed caches. */
static void emit(prog *p, const char *name, unsigned arg)
{
    unsigned op = opnum(p->t, name);
    for (int shift = 24; shift > 0; shift -= 8)
        if (arg >> shift) {
            p->b[p->n++] = (unsigned char)opnum(p->t, "EXTENDED_ARG");
            p->b[p->n++] = (unsigned char)(arg >> shift);
        }
    p->b[p->n++] = (unsigned char)op;
    p->b[p->n++] = (unsigned char)arg;
    for (unsigned i = 0; i < p->t->ops[op].caches; i++) {
        p->b[p->n++] = 0;
        p->b[p->n++] = 0;
    }
}

static const char *names[] = {"x", "y", "z"};
static const char *locals[] = {"a", "b", "c"};
static const char *cells[] = {"cell", "free"};
static const char *consts[300];
static char const_text[300][12];

static dz_code code_of(const prog *p)
{
    dz_code c = {.minor = p->t->minor, .code = p->b, .code_len = p->n,
                 .names = names, .n_names = 3, .consts = consts, .n_consts = 300,
                 .locals = locals, .n_locals = 3, .cells = cells, .n_cells = 2};
    return c;
}

static prog start(int minor)
{
    prog p = {.t = oc_table_for(minor)};
    assert_non_null(p.t);
    return p;
}

static const dz_instr *at(const dz_listing *l, int offset)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].offset == offset)
            return &l->v[i];
    fail_msg("no instruction at offset %d", offset);
    return NULL;
}

static void expect(const dz_listing *l, int offset, const char *opname, long arg,
                   const char *argrepr)
{
    const dz_instr *in = at(l, offset);
    assert_string_equal(in->opname, opname);
    assert_int_equal(in->arg, arg);
    assert_string_equal(in->argrepr, argrepr);
}

static void listing(const prog *p, const dz_code *c, dz_listing *l)
{
    char err[200];
    dz_code cc = c ? *c : code_of(p);
    if (dz_disassemble(&cc, l, err, sizeof err) != 0)
        fail_msg("unexpected error: %s", err);
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 300; i++) {
        snprintf(const_text[i], sizeof const_text[i], "%d", i);
        consts[i] = const_text[i];
    }
    return 0;
}

/* ---- one program per version ------------------------------------------ */

static void v10_listing(void **state)
{
    (void)state;
    prog p = start(10);
    emit(&p, "LOAD_CONST", 1);         /* 0 */
    emit(&p, "POP_JUMP_IF_FALSE", 5);  /* 2: absolute, to 10 */
    emit(&p, "LOAD_NAME", 2);          /* 4 */
    emit(&p, "COMPARE_OP", 2);         /* 6 */
    emit(&p, "RETURN_VALUE", 0);       /* 8 */
    emit(&p, "LOAD_CLOSURE", 1);       /* 10: co_cellvars + co_freevars */
    emit(&p, "FORMAT_VALUE", 6);       /* 12 */
    emit(&p, "MAKE_FUNCTION", 9);      /* 14 */
    emit(&p, "JUMP_FORWARD", 0);       /* 16: to 18 */
    emit(&p, "LOAD_CONST", 258);       /* 18: EXTENDED_ARG 1, 20: LOAD_CONST */
    dz_line_range lines[] = {{0, 10, 1}, {10, 18, 2}, {18, 22, 2}};
    dz_code c = code_of(&p);
    c.lines = lines;
    c.n_lines = 3;
    dz_listing l;
    listing(&p, &c, &l);
    assert_int_equal(l.n, 11);
    expect(&l, 0, "LOAD_CONST", 1, "1");
    expect(&l, 2, "POP_JUMP_IF_FALSE", 5, "to 10");
    expect(&l, 4, "LOAD_NAME", 2, "z");
    expect(&l, 6, "COMPARE_OP", 2, "==");
    expect(&l, 8, "RETURN_VALUE", -1, "");
    expect(&l, 10, "LOAD_CLOSURE", 1, "free");
    expect(&l, 12, "FORMAT_VALUE", 6, "repr, with format");
    expect(&l, 14, "MAKE_FUNCTION", 9, "defaults, closure");
    expect(&l, 16, "JUMP_FORWARD", 0, "to 18");
    expect(&l, 18, "EXTENDED_ARG", 1, "");
    expect(&l, 20, "LOAD_CONST", 258, "258");
    assert_true(at(&l, 10)->is_jump_target);
    assert_true(at(&l, 18)->is_jump_target);
    assert_false(at(&l, 0)->is_jump_target);
    assert_true(at(&l, 0)->starts_line);
    assert_true(at(&l, 10)->starts_line);
    assert_false(at(&l, 18)->starts_line); /* same line: no new start */
    assert_int_equal(at(&l, 20)->line, 2);
    assert_int_equal(at(&l, 20)->start_offset, 18);
    dz_listing_release(&l);
    dz_listing_release(&l);
}

static void v11_listing(void **state)
{
    (void)state;
    prog p = start(11);
    emit(&p, "RESUME", 0);             /* 0 */
    emit(&p, "LOAD_GLOBAL", 3);        /* 2, 5 caches */
    emit(&p, "BINARY_OP", 13);         /* 14, 1 cache */
    emit(&p, "KW_NAMES", 0);           /* 18: 3.11 shows no const */
    emit(&p, "COMPARE_OP", 4);         /* 20, 2 caches */
    emit(&p, "JUMP_BACKWARD", 12);     /* 26: 28 - 24 = 4 */
    emit(&p, "LOAD_DEREF", 2);         /* 28: localsplus */
    dz_listing l;
    listing(&p, NULL, &l);
    assert_int_equal(l.n, 7);
    expect(&l, 2, "LOAD_GLOBAL", 3, "NULL + y");
    expect(&l, 14, "BINARY_OP", 13, "+=");
    expect(&l, 18, "KW_NAMES", 0, "");
    expect(&l, 20, "COMPARE_OP", 4, ">");
    expect(&l, 26, "JUMP_BACKWARD", 12, "to 4");
    expect(&l, 28, "LOAD_DEREF", 2, "c");
    assert_int_equal(at(&l, 26)->target, 4);
    assert_int_equal(at(&l, 2)->line, DZ_NO_LINE);
    dz_listing_release(&l);
}

static void v12_listing(void **state)
{
    (void)state;
    prog p = start(12);
    emit(&p, "LOAD_ATTR", 3);          /* 0, 9 caches */
    emit(&p, "LOAD_SUPER_ATTR", 9);    /* 20, 1 cache: names[2] */
    emit(&p, "COMPARE_OP", 0x28);      /* 24 */
    emit(&p, "CALL_INTRINSIC_1", 1);   /* 28 */
    emit(&p, "FOR_ITER", 1);           /* 30: 32 + 2 + 2 (cache) = 36 */
    emit(&p, "RETURN_CONST", 7);       /* 34 */
    emit(&p, "NOP", 0);                /* 36 */
    dz_listing l;
    listing(&p, NULL, &l);
    expect(&l, 0, "LOAD_ATTR", 3, "NULL|self + y");
    expect(&l, 20, "LOAD_SUPER_ATTR", 9, "NULL|self + z");
    expect(&l, 24, "COMPARE_OP", 0x28, "==");
    expect(&l, 28, "CALL_INTRINSIC_1", 1, "INTRINSIC_PRINT");
    expect(&l, 30, "FOR_ITER", 1, "to 36");
    expect(&l, 34, "RETURN_CONST", 7, "7");
    assert_true(at(&l, 36)->is_jump_target);
    dz_listing_release(&l);
}

static void v13_listing(void **state)
{
    (void)state;
    prog p = start(13);
    emit(&p, "LOAD_GLOBAL", 1);            /* 0, 4 caches */
    emit(&p, "POP_JUMP_IF_FALSE", 3);      /* 10, 1 cache: 14 + 6 = 20 */
    emit(&p, "LOAD_FAST_LOAD_FAST", 0x12); /* 14 */
    emit(&p, "COMPARE_OP", (2 << 5) | 16); /* 16 */
    emit(&p, "CONVERT_VALUE", 2);          /* 20 */
    emit(&p, "SET_FUNCTION_ATTRIBUTE", 8); /* 22 */
    emit(&p, "JUMP_BACKWARD", 14);         /* 24, 1 cache: 28 - 28 = 0 */
    dz_line_range lines[] = {{0, 10, 5}, {10, 14, -1}, {14, 28, 6}};
    dz_code c = code_of(&p);
    c.lines = lines;
    c.n_lines = 3;
    dz_listing l;
    listing(&p, &c, &l);
    expect(&l, 0, "LOAD_GLOBAL", 1, "x + NULL");
    /* labels are numbered in offset order: 0 is L1, 20 is L2 */
    expect(&l, 10, "POP_JUMP_IF_FALSE", 3, "to L2");
    expect(&l, 14, "LOAD_FAST_LOAD_FAST", 0x12, "b, c");
    expect(&l, 16, "COMPARE_OP", 80, "bool(==)");
    expect(&l, 20, "CONVERT_VALUE", 2, "repr");
    expect(&l, 22, "SET_FUNCTION_ATTRIBUTE", 8, "closure");
    expect(&l, 24, "JUMP_BACKWARD", 14, "to L1");
    assert_int_equal(at(&l, 20)->label, 2);
    /* 3.13 counts a change to "no line" as a start */
    assert_true(at(&l, 10)->starts_line);
    assert_int_equal(at(&l, 10)->line, DZ_NO_LINE);
    assert_int_equal(at(&l, 16)->line, 6);
    dz_listing_release(&l);
}

static void v14_listing(void **state)
{
    (void)state;
    if (!oc_table_for(14))
        skip();
    prog p = start(14);
    emit(&p, "IS_OP", 1);                /* 0 */
    emit(&p, "LOAD_SMALL_INT", 5);       /* 2 */
    emit(&p, "LOAD_COMMON_CONSTANT", 3); /* 4 */
    emit(&p, "LOAD_SPECIAL", 1);         /* 6 */
    emit(&p, "CONTAINS_OP", 0);          /* 8, 1 cache */
    emit(&p, "END_ASYNC_FOR", 3);        /* 12: 14 - 6 = 8 */
    dz_listing l;
    listing(&p, NULL, &l);
    expect(&l, 0, "IS_OP", 1, "is not");
    expect(&l, 2, "LOAD_SMALL_INT", 5, "");
    expect(&l, 4, "LOAD_COMMON_CONSTANT", 3, "<built-in function all>");
    expect(&l, 6, "LOAD_SPECIAL", 1, "__exit__");
    expect(&l, 8, "CONTAINS_OP", 0, "in");
    expect(&l, 12, "END_ASYNC_FOR", 3, "from L1");
    assert_int_equal(at(&l, 8)->label, 1);
    dz_listing_release(&l);
}

static void tables_know_families(void **state)
{
    (void)state;
    int minors[16];
    int n = oc_versions(minors, 16);
    assert_true(n >= 4);
    assert_int_equal(minors[0], 10);
    assert_null(oc_table_for(9));
    for (int i = 0; i < n; i++) {
        const oc_table *t = oc_table_for(minors[i]);
        unsigned la = opnum(t, "LOAD_ATTR");
        assert_int_equal(oc_base(t, la), la);
        if (minors[i] >= 11) {
            unsigned spec = opnum(t, "LOAD_ATTR_INSTANCE_VALUE");
            assert_int_equal(oc_base(t, spec), la);
            assert_string_equal(oc_base_name(t, spec), "LOAD_ATTR");
            assert_int_equal(oc_caches(t, spec), oc_caches(t, la));
        }
    }
    assert_null(oc_name(oc_table_for(10), 0));
    assert_string_equal(oc_placeholder(0), "<0>");
}

/* ---- bad input --------------------------------------------------------- */

static void refused(const dz_code *c, const char *why)
{
    char err[200] = "";
    dz_listing l = {0};
    assert_int_equal(dz_disassemble(c, &l, err, sizeof err), -1);
    if (!strstr(err, why))
        fail_msg("error \"%s\" does not say \"%s\"", err, why);
    assert_null(l.v);
    assert_int_equal(l.n, 0);
}

static void bad_input_is_an_error(void **state)
{
    (void)state;
    for (int minor = 10; minor <= 14; minor++) {
        if (!oc_table_for(minor))
            continue;
        prog p = start(minor);
        emit(&p, "LOAD_CONST", 0);
        dz_code c = code_of(&p);

        c.minor = 9;
        refused(&c, "no opcode table for Python 3.9");
        c.minor = 99;
        refused(&c, "3.99");
        c = code_of(&p);
        c.code_len = 1;
        refused(&c, "odd length");
        c = code_of(&p);
        c.n_consts = 0;
        refused(&c, "co_consts index 0 out of range");
        c = code_of(&p);
        c.code = NULL;
        refused(&c, "missing");

        prog q = start(minor);
        emit(&q, "LOAD_NAME", 3);
        c = code_of(&q);
        refused(&c, "co_names index 3 out of range (3)");

        q = start(minor);
        emit(&q, "LOAD_FAST", 200);
        c = code_of(&q);
        refused(&c, "local index 200");

        q = start(minor);
        emit(&q, "LOAD_CONST", 0);
        q.b[q.n++] = (unsigned char)opnum(q.t, "EXTENDED_ARG");
        q.b[q.n++] = 1;
        c = code_of(&q);
        refused(&c, "EXTENDED_ARG at the end");

        q = start(minor);
        for (int i = 0; i < 4; i++) {
            q.b[q.n++] = (unsigned char)opnum(q.t, "EXTENDED_ARG");
            q.b[q.n++] = 0xff;
        }
        emit(&q, "LOAD_CONST", 0);
        c = code_of(&q);
        refused(&c, "32 bits");

        q = start(minor);
        emit(&q, "COMPARE_OP", minor >= 13 ? 6 << 5 : minor == 12 ? 6 << 4 : 6);
        c = code_of(&q);
        refused(&c, "cmp_op index 6 out of range");

        q = start(minor);
        emit(&q, "LOAD_NAME", 0);
        c = code_of(&q);
        const char *holes[] = {NULL, "y"};
        c.names = holes;
        refused(&c, "co_names[0] is missing");

        if (minor >= 11) {
            q = start(minor);
            emit(&q, "LOAD_GLOBAL", 0);
            q.n -= 2; /* its last cache entry */
            c = code_of(&q);
            refused(&c, "inline caches of LOAD_GLOBAL at offset 0 run past the end");
            q = start(minor);
            emit(&q, "BINARY_OP", 99);
            c = code_of(&q);
            refused(&c, "binary op index 99");
        }
    }
    refused(NULL, "no code object");
    dz_listing l = {0};
    dz_code c = {.minor = 12};
    assert_int_equal(dz_disassemble(&c, &l, NULL, 0), 0); /* empty code: no error */
    assert_int_equal(l.n, 0);
    dz_listing_release(&l);
}

static unsigned long long xorshift(unsigned long long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random bytes and tables: every call returns 0, or -1 with a reason. */
static void fuzzed_input_never_crashes(void **state)
{
    (void)state;
    unsigned long long seed = 88172645463325252ULL;
#define NEXT() xorshift(&seed)
    unsigned char buf[1024];
    dz_line_range lines[8];
    int ok = 0, errors = 0;
    for (int round = 0; round < 10000; round++) {
        int minor = 9 + (int)(NEXT() % 7);
        size_t len;
        if (round % 2 && oc_table_for(minor)) {
            /* a mutation of a program with every opcode of the version */
            prog p = start(minor);
            for (unsigned op = 0; op < 256 && p.n < sizeof p.b - 64; op++)
                if (p.t->ops[op].name && p.t->ops[op].base == op)
                    emit(&p, p.t->ops[op].name, op % 2);
            len = p.n > sizeof buf ? sizeof buf : p.n;
            memcpy(buf, p.b, len);
            for (int k = (int)(NEXT() % 4); k >= 0; k--)
                buf[NEXT() % len] = (unsigned char)NEXT();
            if (NEXT() % 4 == 0)
                len = (size_t)(NEXT() % (len + 1));
        } else {
            len = (size_t)(NEXT() % sizeof buf);
            for (size_t i = 0; i < len; i++)
                buf[i] = (unsigned char)NEXT();
            if (round % 4 == 0) /* small args: more runs get past the indexes */
                for (size_t i = 1; i < len; i += 2)
                    buf[i] %= 4;
        }
        for (int i = 0; i < 8; i++) {
            lines[i].start = (int)(NEXT() % 600) - 50;
            lines[i].end = (int)(NEXT() % 600);
            lines[i].line = (int)(NEXT() % 5) - 1;
        }
        dz_code c = {.code = buf, .code_len = len, .names = names, .consts = consts,
                     .locals = locals, .cells = cells, .lines = lines};
        c.minor = round % 7 ? minor : 9 + (int)(NEXT() % 7);
        int full = round % 2 && NEXT() % 4; /* mutations: mostly valid indexes */
        c.n_names = full ? 3 : NEXT() % 4;
        c.n_consts = full ? 3 : NEXT() % 4;
        c.n_locals = full ? 3 : NEXT() % 4;
        c.n_cells = full ? 2 : NEXT() % 3;
        c.n_lines = NEXT() % 9;
        char err[200] = "";
        dz_listing l;
        if (dz_disassemble(&c, &l, err, sizeof err) == 0) {
            ok++;
            for (size_t i = 0; i < l.n; i++)
                assert_non_null(l.v[i].argrepr);
        } else {
            errors++;
            assert_true(err[0] != '\0');
        }
        dz_listing_release(&l);
    }
#undef NEXT
    printf("fuzz: %d listings, %d refused\n", ok, errors);
    assert_true(ok > 100);
    assert_true(errors > 100);
}

/* ---- comparison with dis (DISASM_DUMPS) -------------------------------- */

/* A cursor over a dump file (format: tests/e2e/disasm_dump.py).  Strings
 * are NUL-terminated in place: each is followed by a separator byte. */
typedef struct {
    char *p, *end;
    const char *file;
    int bad;
} rd;

static void skip_space(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\0'))
        r->p++;
}

static int word(rd *r, const char *w)
{
    skip_space(r);
    size_t n = strlen(w);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0) {
        r->bad = 1;
        return 0;
    }
    r->p += n;
    return 1;
}

static long num(rd *r)
{
    skip_space(r);
    char *e;
    long v = strtol(r->p, &e, 10);
    if (e == r->p || e > r->end)
        r->bad = 1;
    r->p = e;
    return v;
}

static char *str(rd *r)
{
    long n = num(r);
    if (r->bad || r->p >= r->end || *r->p != ':' || n < 0 || n >= r->end - r->p - 1) {
        r->bad = 1;
        return (char *)"";
    }
    char *s = r->p + 1;
    s[n] = '\0';
    r->p = s + n + 1;
    return s;
}

static const char **strs(rd *r, const char *tag, size_t *n)
{
    word(r, tag);
    long k = num(r);
    if (r->bad || k < 0)
        return (r->bad = 1, NULL);
    const char **v = calloc((size_t)k + 1, sizeof *v);
    assert_non_null(v);
    for (long i = 0; i < k && !r->bad; i++)
        v[i] = str(r);
    *n = (size_t)k;
    return v;
}

static unsigned char *hex(rd *r, size_t *len)
{
    skip_space(r);
    char *s = r->p;
    while (r->p < r->end && *r->p != ' ' && *r->p != '\n')
        r->p++;
    size_t n = (size_t)(r->p - s);
    unsigned char *b = malloc(n / 2 + 1);
    assert_non_null(b);
    *len = 0;
    if (n == 1 && *s == '-')
        return b;
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i + 1 < n; i += 2) {
        const char *hi = memchr(digits, s[i], 16), *lo = memchr(digits, s[i + 1], 16);
        if (!hi || !lo)
            r->bad = 1;
        else
            b[(*len)++] = (unsigned char)((hi - digits) << 4 | (lo - digits));
    }
    return b;
}

typedef struct {
    long codes, instrs, mismatches;
} tally;

static void mismatch(tally *t, int minor, const char *qual, const char *fmt, ...)
{
    if (t->mismatches++ < 10) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "disasm 3.%d %s: ", minor, qual);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

/* One "code" record: its input, dis's listing, and ours. */
static void check_code(rd *r, int minor, tally *t)
{
    const char *qual = str(r);
    dz_code c = {.minor = minor};
    unsigned char *bytes = hex(r, &c.code_len);
    c.code = bytes;
    c.names = strs(r, "names", &c.n_names);
    c.consts = strs(r, "consts", &c.n_consts);
    c.locals = strs(r, "locals", &c.n_locals);
    c.cells = strs(r, "cells", &c.n_cells);
    word(r, "lines");
    long nl = num(r);
    dz_line_range *lines = calloc(nl > 0 ? (size_t)nl : 1, sizeof *lines);
    assert_non_null(lines);
    for (long i = 0; i < nl && !r->bad; i++) {
        lines[i].start = (int)num(r);
        lines[i].end = (int)num(r);
        lines[i].line = (int)num(r);
    }
    c.lines = lines;
    c.n_lines = nl > 0 ? (size_t)nl : 0;
    word(r, "instrs");
    long ni = num(r);
    if (r->bad)
        fail_msg("%s: unreadable record near byte %ld", r->file, (long)(r->end - r->p));

    char err[200];
    dz_listing l = {0};
    int rc = dz_disassemble(&c, &l, err, sizeof err);
    if (rc != 0)
        mismatch(t, minor, qual, "error: %s", err);
    else if ((long)l.n != ni)
        mismatch(t, minor, qual, "%zu instructions, dis has %ld", l.n, ni);
    for (long i = 0; i < ni && !r->bad; i++) {
        long offset = num(r), opcode = num(r), arg = num(r), starts = num(r), line = num(r);
        long jt = num(r), label = num(r);
        const char *opname = str(r), *argrepr = str(r);
        t->instrs++;
        if (rc != 0 || (size_t)i >= l.n)
            continue;
        const dz_instr *in = &l.v[i];
        /* dis's starts_line: the line number before 3.13, a bool after */
        long our_starts = minor >= 13 ? in->starts_line : in->starts_line ? in->line : -1;
        if (in->offset != offset || (long)in->opcode != opcode || in->arg != arg ||
            strcmp(in->opname, opname) || strcmp(in->argrepr, argrepr) ||
            our_starts != starts || in->line != line || in->is_jump_target != jt ||
            (minor >= 13 && in->label != label))
            mismatch(t, minor, qual,
                     "offset %ld: dis %s %ld '%s' starts %ld line %ld target %ld label %ld;"
                     " ours %d %s %ld '%s' starts %ld line %d target %d label %d",
                     offset, opname, arg, argrepr, starts, line, jt, label, in->offset,
                     in->opname, in->arg, in->argrepr, our_starts, in->line,
                     in->is_jump_target, in->label);
    }
    t->codes++;
    dz_listing_release(&l);
    free(bytes);
    free((void *)c.names);
    free((void *)c.consts);
    free((void *)c.locals);
    free((void *)c.cells);
    free(lines);
}

static void check_file(const char *path, tally *all)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    buf[size] = '\0';
    rd r = {.p = buf, .end = buf + size, .file = path};
    word(&r, "opdump");
    num(&r);
    int minor = (int)num(&r);
    if (r.bad)
        fail_msg("%s is no disasm_dump.py output", path);
    tally t = {0};
    while (!r.bad && word(&r, "code"))
        check_code(&r, minor, &t);
    r.bad = 0;
    if (!word(&r, "end"))
        fail_msg("%s: unreadable record", path);
    printf("disasm 3.%d: %ld code objects, %ld instructions compared, %ld mismatches (%s)\n",
           minor, t.codes, t.instrs, t.mismatches, path);
    fflush(stdout);
    all->codes += t.codes;
    all->instrs += t.instrs;
    all->mismatches += t.mismatches;
    free(buf);
}

static void listings_equal_dis(void **state)
{
    (void)state;
    const char *env = getenv("DISASM_DUMPS");
    if (!env || !*env)
        skip();
    char *list = strdup(env), *save = NULL;
    assert_non_null(list);
    tally all = {0};
    for (char *p = strtok_r(list, " :", &save); p; p = strtok_r(NULL, " :", &save))
        check_file(p, &all);
    free(list);
    if (all.mismatches)
        fail_msg("%ld instructions differ from dis (first ones above)", all.mismatches);
    assert_true(all.codes > 0);
}

/* codepack.h: the constants a code loads (through EXTENDED_ARG too, and
 * 3.12's RETURN_CONST), and caches left out and put back on every
 * version; code with a cache that is not zero stays whole. */
static void codepack_round_trip(void **state)
{
    (void)state;
    for (int minor = 10; minor <= 14; minor++) {
        prog p = start(minor);
        emit(&p, "LOAD_CONST", 2);
        emit(&p, "LOAD_GLOBAL", 1);
        emit(&p, "LOAD_CONST", 258);   /* EXTENDED_ARG 1 */
        emit(&p, minor == 12 || minor == 13 ? "RETURN_CONST" : "RETURN_VALUE", 3);
        unsigned char used[300];
        assert_int_equal(cp_consts_used(minor, p.b, p.n, used, 300), 0);
        for (int i = 0; i < 300; i++)
            if (used[i] != (i == 2 || i == 258 || (i == 3 && (minor == 12 || minor == 13))))
                fail_msg("3.%d: constant %d is%s marked", minor, i, used[i] ? "" : " not");
        unsigned char *packed, *back;
        size_t npacked, nback;
        int rc = cp_pack(minor, p.b, p.n, &packed, &npacked);
        assert_int_equal(rc, minor >= 11);       /* 3.10 has no caches */
        if (rc) {
            assert_true(npacked < p.n);
            assert_int_equal(cp_unpack(minor, packed, npacked, &back, &nback), 0);
            assert_int_equal(nback, p.n);
            assert_memory_equal(back, p.b, p.n);
            free(back);
            free(packed);
            p.b[7] = 1;   /* in LOAD_GLOBAL's caches (bytes 4..) */
            assert_int_equal(cp_pack(minor, p.b, p.n, &packed, &npacked), 0);
            assert_null(packed);
        }
    }
    unsigned char used[4];
    assert_int_equal(cp_consts_used(99, (const unsigned char *)"\0\0", 2, used, 4), -1);
    assert_int_equal(used[0] & used[3], 1);   /* no table: every one kept */
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v10_listing),
        cmocka_unit_test(v11_listing),
        cmocka_unit_test(v12_listing),
        cmocka_unit_test(v13_listing),
        cmocka_unit_test(v14_listing),
        cmocka_unit_test(tables_know_families),
        cmocka_unit_test(codepack_round_trip),
        cmocka_unit_test(bad_input_is_an_error),
        cmocka_unit_test(fuzzed_input_never_crashes),
        cmocka_unit_test(listings_equal_dis),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
