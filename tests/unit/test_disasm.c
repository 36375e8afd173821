/*
 * test_disasm.c - unit tests for reports/model/disasm.c: bad inputs that
 * must be errors (and never reads out of bounds: run it under ASan too),
 * and, when DISASM_DUMPS names files written by tests/e2e/disasm_dump.py
 * (space or colon separated), the instruction-by-instruction comparison
 * with dis.get_instructions() over every code object in them.
 * The comparison stays in this file: tests/e2e/disasm_check.py builds and
 * runs test_disasm for it.  Small programs per version:
 * test_disasm_listing.c.
 */
#include "disasm_fixtures.h"

#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_input_is_an_error),
        cmocka_unit_test(fuzzed_input_never_crashes),
        cmocka_unit_test(listings_equal_dis),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
