/*
 * disasm_fixtures.h - small programs written opcode by opcode for a
 * version's table, with the names, constants and variables they refer
 * to, for the unit tests of reports/model/disasm.c (test_disasm.c,
 * test_disasm_listing.c).
 */
#ifndef OPPROF_TEST_DISASM_FIXTURES_H
#define OPPROF_TEST_DISASM_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../reports/model/disasm.h"
#include "../../reports/model/opcodes.h"

/* ---- building small programs ------------------------------------------ */

typedef struct {
    const oc_table *t;
    unsigned char b[1024];
    size_t n;
} prog;

static inline unsigned opnum(const oc_table *t, const char *name)
{
    for (unsigned op = 0; op < 256; op++)
        if (t->ops[op].name && !strcmp(t->ops[op].name, name))
            return op;
    fail_msg("3.%d has no %s", t->minor, name);
    return 0;
}

/* One instruction with its EXTENDED_ARG prefixes and zeroed caches. */
static inline void emit(prog *p, const char *name, unsigned arg)
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

static inline dz_code code_of(const prog *p)
{
    dz_code c = {.minor = p->t->minor, .code = p->b, .code_len = p->n,
                 .names = names, .n_names = 3, .consts = consts, .n_consts = 300,
                 .locals = locals, .n_locals = 3, .cells = cells, .n_cells = 2};
    return c;
}

static inline prog start(int minor)
{
    prog p = {.t = oc_table_for(minor)};
    assert_non_null(p.t);
    return p;
}

static inline int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 300; i++) {
        snprintf(const_text[i], sizeof const_text[i], "%d", i);
        consts[i] = const_text[i];
    }
    return 0;
}

#endif /* OPPROF_TEST_DISASM_FIXTURES_H */
