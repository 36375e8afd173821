/*
 * textbuf.h - a growing NUL-terminated byte buffer for the tests that
 * build documents to feed the readers (test_fuzz_read.c, the jsonpull tests,
 * through jsonpull_fixtures.h).
 * Include after cmocka.h.
 */
#ifndef OPPROF_TEST_TEXTBUF_H
#define OPPROF_TEST_TEXTBUF_H

#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static inline void put(buf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static inline void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

#endif
