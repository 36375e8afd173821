/*
 * jsonw_fixtures.h - a profile built by hand, with an escaped file name
 * and ops without names, and its JSON text in memory, for the unit tests
 * of reports/model/profile_json.c (test_jsonw_profile.c,
 * test_jsonw_save.c).
 */
#ifndef OPPROF_TEST_JSONW_FIXTURES_H
#define OPPROF_TEST_JSONW_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/model/profile.h"
#include "../../reports/model/profile_json.h"

static const char *const OPNAMES[] = {"RESUME", "LOAD_FAST", "RETURN_VALUE", NULL};
#define NOPNAMES (sizeof OPNAMES / sizeof *OPNAMES)

#define WEIRD_FILE "dir/we\"ird\nna\xffme.py"

static inline pf_profile *sample_profile(void)
{
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    assert_int_equal(p->stacks_enabled, 1);
    assert_int_equal(pf_set_string(&p->python_version, "3.12.1"), 0);
    assert_int_equal(pf_set_string(&p->implementation, "cpython"), 0);
    assert_int_equal(pf_set_string(&p->executable, "/usr/bin/python3.12"), 0);
    assert_int_equal(pf_set_string(&p->collector, "test \"collector\""), 0);
    assert_int_equal(pf_set_string(&p->python_build, "3.12.1 (main) [GCC 12]"), 0);
    assert_int_equal(pf_set_string(&p->python_prefix, "/usr"), 0);
    assert_int_equal(pf_set_string(&p->root, "/src/proj"), 0);
    assert_int_equal(pf_set_string(&p->hash_seed, "0"), 0);
    p->specialization = 1;
    p->hexversion = 0x030c01f0;
    const char *const argv[] = {"s.py", "a b", "\xff"};
    assert_int_equal(pf_set_argv(p, argv, 3), 0);
    p->exit_status = 3;
    p->wall_ns = 123456789;

    p->opnames = calloc(NOPNAMES, sizeof *p->opnames);
    assert_non_null(p->opnames);
    p->nopnames = NOPNAMES;
    for (size_t i = 0; i < NOPNAMES; i++)
        if (OPNAMES[i])
            assert_int_equal(pf_set_string(&p->opnames[i], OPNAMES[i]), 0);

    p->threads = calloc(1, sizeof *p->threads);
    assert_non_null(p->threads);
    p->nthreads = 1;
    assert_int_equal(pf_set_string(&p->threads[0], "MainThread"), 0);

    pf_function *f = pf_add_function(p);
    assert_non_null(f);
    assert_int_equal(f->id, 0);
    assert_int_equal(pf_set_string(&f->file, WEIRD_FILE), 0);
    assert_int_equal(pf_set_string(&f->name, "f"), 0);
    assert_int_equal(pf_set_string(&f->qualname, "C.f"), 0);
    f->firstlineno = 10;
    f->scope = PF_SCOPE_FUNCTION;
    f->calls = 2;
    f->code = calloc(4, sizeof *f->code);
    assert_non_null(f->code);
    f->ncode = 4;
    f->code[0] = (pf_instr){.offset = 0, .op = 0, .line = -1, .count = 2};      /* RESUME, no line */
    f->code[1] = (pf_instr){.offset = 2, .op = 1, .line = 11, .count = 5};      /* LOAD_FAST */
    f->code[2] = (pf_instr){.offset = 4, .op = 1, .line = 11, .count = 5};      /* LOAD_FAST */
    f->code[3] = (pf_instr){.offset = 6, .op = 2, .line = 12, .count = 2};      /* RETURN_VALUE */
    f->instructions = 14;

    f = pf_add_function(p);
    assert_non_null(f);
    assert_int_equal(f->id, 1);
    assert_int_equal(pf_set_string(&f->file, "s.py"), 0);
    assert_int_equal(pf_set_string(&f->name, "<module>"), 0);
    assert_int_equal(pf_set_string(&f->qualname, "<module>"), 0);
    f->firstlineno = 1;
    f->scope = PF_SCOPE_MODULE;
    f->calls = 1;
    f->code = calloc(2, sizeof *f->code);
    assert_non_null(f->code);
    f->ncode = 2;
    f->code[0] = (pf_instr){.offset = 0, .op = 3, .line = 1, .count = 1};       /* an op without a name */
    f->code[1] = (pf_instr){.offset = 2, .op = 9, .line = 2, .count = 1};       /* an op past the table */
    f->instructions = 2;
    p->instructions = 16;

    /* the call tree: <module> -> C.f on MainThread, and a <module> on
     * a thread the profile does not name */
    pf_node *s = pf_add_node(p);
    assert_non_null(s);
    s->function = 1;
    s = pf_add_node(p);
    assert_non_null(s);
    s->parent = 0;
    s->function = 0;
    s->instructions = 14;
    s->ops = calloc(3, sizeof *s->ops);
    assert_non_null(s->ops);
    s->ops[0] = (pf_opval){.op = 0, .v = 2};
    s->ops[1] = (pf_opval){.op = 1, .v = 10};
    s->ops[2] = (pf_opval){.op = 2, .v = 2};
    s->nops = 3;
    s = pf_add_node(p);
    assert_non_null(s);
    s->thread = 5;
    s->function = 1;
    s->instructions = 2;
    return p;
}

/* pf_json_write_v1 (v2: pf_json_write) into memory; the caller frees. */
static inline char *profile_text_version(const pf_profile *p, size_t *len, int version)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(version == 1 ? pf_json_write_v1(p, f) : pf_json_write(p, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_non_null(buf);
    assert_int_equal(strlen(buf), n);
    if (len)
        *len = n;
    return buf;
}

#endif
