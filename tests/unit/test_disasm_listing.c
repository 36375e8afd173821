/*
 * test_disasm_listing.c - unit tests for reports/model/disasm.c: small
 * programs per version whose listing is known from Lib/dis.py, the opcode
 * tables' families of specialized instructions, and codepack.h's round
 * trips.  Bad input and the comparison with dis: test_disasm.c.
 */
#include "disasm_fixtures.h"

#include <stdlib.h>

#include "../../reports/model/codepack.h"

/* ---- reading listings ------------------------------------------------- */

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
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
