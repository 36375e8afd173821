/*
 * jsonpull_fixtures.h - what the unit tests of reports/model/jsonpull.c
 * share: token dumps of a reader, a buffer or a FILE, gzip framing and the
 * shape of an error message (test_jsonpull.c, test_jsonpull_io.c,
 * test_jsonpull_fuzz.c).
 */
#ifndef OPPROF_TEST_JSONPULL_FIXTURES_H
#define OPPROF_TEST_JSONPULL_FIXTURES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../reports/model/jsonpull.h"
#include "textbuf.h"

/* Every token up to JP_EOF or JP_ERROR as text ("{ k<a> i1 } $"), the
 * error's message last; returns the final token. */
static inline jp_token dump(jp_reader *r, buf *out)
{
    char tmp[64];
    out->n = 0;
    puts_(out, "");
    for (;;) {
        jp_token t = jp_next(r);
        size_t len;
        const char *s;
        switch (t) {
        case JP_OBJECT: puts_(out, "{ "); break;
        case JP_OBJECT_END: puts_(out, "} "); break;
        case JP_ARRAY: puts_(out, "[ "); break;
        case JP_ARRAY_END: puts_(out, "] "); break;
        case JP_KEY:
        case JP_STRING:
            s = jp_text(r, &len);
            assert_int_equal(s[len], 0);
            puts_(out, t == JP_KEY ? "k<" : "s<");
            put(out, s, len);
            puts_(out, "> ");
            break;
        case JP_INT:
            snprintf(tmp, sizeof tmp, "i%" PRId64 " ", jp_int(r));
            puts_(out, tmp);
            break;
        case JP_REAL:
            snprintf(tmp, sizeof tmp, "r%.17g ", jp_real(r));
            puts_(out, tmp);
            break;
        case JP_TRUE: puts_(out, "t "); break;
        case JP_FALSE: puts_(out, "f "); break;
        case JP_NULL: puts_(out, "n "); break;
        case JP_EOF: puts_(out, "$"); return t;
        case JP_ERROR:
            puts_(out, "! ");
            puts_(out, jp_error(r));
            return t;
        }
    }
}

/* The token dump of text read from a buffer. */
static inline jp_token dump_buffer(const char *s, size_t n, buf *out)
{
    jp_reader *r = jp_open_buffer(s, n, "t.json");
    assert_non_null(r);
    jp_token t = dump(r, out);
    jp_close(r);
    return t;
}

/* A FILE holding the bytes, at its start. */
static inline FILE *mem_file(const void *s, size_t n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    rewind(f);
    return f;
}

static inline jp_token dump_file(const char *s, size_t n, buf *out)
{
    FILE *f = mem_file(s, n);
    jp_reader *r = jp_open_file(f, "t.json");
    assert_non_null(r);
    jp_token t = dump(r, out);
    jp_close(r);
    fclose(f);
    return t;
}

/* s as one gzip member (deflate with gzip framing), malloc'd. */
static inline unsigned char *gzip(const void *s, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)s;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* The one-line message of an error: "t.json: line L column C: reason". */
static inline void check_message(const char *msg, int line, int col, const char *reason)
{
    char pre[64];
    if (!msg) {
        /* the return tells gcc, which inlines this under the sanitizers,
         * that msg is not NULL in the fail_msg calls below */
        fail_msg("no error message");
        return;
    }
    assert_null(strchr(msg, '\n'));
    if (line > 0) {
        snprintf(pre, sizeof pre, "t.json: line %d column %d: ", line, col);
        if (strncmp(msg, pre, strlen(pre)) != 0)
            fail_msg("message \"%s\" does not start with \"%s\"", msg, pre);
    } else {
        assert_true(strncmp(msg, "t.json: line ", 13) == 0);
        assert_non_null(strstr(msg, " column "));
    }
    if (reason && !strstr(msg, reason))
        fail_msg("message \"%s\" does not say \"%s\"", msg, reason);
}

#endif
