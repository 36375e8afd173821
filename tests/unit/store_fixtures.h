/*
 * store_fixtures.h - looking records up with every result checked, and
 * identities for code objects and frames, for the unit tests of
 * profiler/store.c (test_store.c, test_store_stacks.c,
 * test_store_counts.c).
 */
#ifndef OPPROF_TEST_STORE_FIXTURES_H
#define OPPROF_TEST_STORE_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../profiler/store.h"

static const unsigned char BC_A[] = {0x97, 0x00, 0x64, 0x01, 0x53, 0x00};

/* Identities for code objects and frames: only compared, never used. */
static char codes[8], frames[8];

static inline st_record *get(st_store *s, const char *file,
                             const char *name, int line, const void *bytes,
                             size_t nbytes, uint32_t ncounters, int *created)
{
    int c = -1;
    st_record *r = st_record_get(s, file, name, line, bytes, nbytes,
                                 ncounters, &c);
    assert_non_null(r);
    assert_true(c == 0 || c == 1);
    if (created)
        *created = c;
    return r;
}

static inline st_record *get_new(st_store *s, const char *name,
                                 uint32_t ncounters)
{
    int created;
    st_record *r = get(s, "m.py", name, 1, BC_A, sizeof BC_A, ncounters,
                       &created);
    assert_int_equal(created, 1);
    return r;
}

#endif /* OPPROF_TEST_STORE_FIXTURES_H */
