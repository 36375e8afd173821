/*
 * test_jsonpull.c - unit tests for reports/model/jsonpull.c, the streaming
 * JSON pull parser: tokens, escapes, every structure error with its
 * position, limits, tokens cut by the 64 KiB windows, gzip, pipes,
 * jp_skip, jp_slurp, a mutation fuzzer and a throughput figure.
 *
 * FUZZ_CASES (default 20,000), FUZZ_SEED (default 1): the same cases
 * every run, so a failure is reproducible.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../../reports/model/jsonpull.h"
#include "textbuf.h"

#define WINDOW (64 * 1024)  /* jsonpull's fread size, to cut tokens with */

/* ---- helpers ---------------------------------------------------------- */

/* Every token up to JP_EOF or JP_ERROR as text ("{ k<a> i1 } $"), the
 * error's message last; returns the final token. */
static jp_token dump(jp_reader *r, buf *out)
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
static jp_token dump_buffer(const char *s, size_t n, buf *out)
{
    jp_reader *r = jp_open_buffer(s, n, "t.json");
    assert_non_null(r);
    jp_token t = dump(r, out);
    jp_close(r);
    return t;
}

static void check_tokens(const char *json, const char *expected)
{
    buf b = {0};
    dump_buffer(json, strlen(json), &b);
    assert_string_equal(b.s, expected);
    free(b.s);
}

/* A FILE holding the bytes, at its start. */
static FILE *mem_file(const void *s, size_t n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    rewind(f);
    return f;
}

static jp_token dump_file(const char *s, size_t n, buf *out)
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
static unsigned char *gzip(const void *s, size_t n, size_t *out_len)
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
static void check_message(const char *msg, int line, int col, const char *reason)
{
    char pre[64];
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

/* n bytes of json fail with `reason` at line:col (line 0: anywhere). */
static void check_error_n(const char *json, size_t n, int line, int col, const char *reason)
{
    jp_reader *r = jp_open_buffer(json, n, "t.json");
    assert_non_null(r);
    buf b = {0};
    if (dump(r, &b) != JP_ERROR)
        fail_msg("accepted %s: %s", json, b.s);
    check_message(jp_error(r), line, col, reason);
    /* sticky */
    char *first = strdup(jp_error(r));
    assert_int_equal(jp_next(r), JP_ERROR);
    assert_int_equal(jp_skip(r), -1);
    assert_string_equal(jp_error(r), first);
    free(first);
    free(b.s);
    jp_close(r);
}

static void check_error(const char *json, int line, int col, const char *reason)
{
    check_error_n(json, strlen(json), line, col, reason);
}

/* ---- tokens ----------------------------------------------------------- */

static void test_tokens(void **state)
{
    (void)state;
    check_tokens("{\"a\":1,\"b\":-2.5e3,\"c\":\"x\",\"d\":true,\"e\":false,\"f\":null,"
                 "\"g\":[],\"h\":{}}",
                 "{ k<a> i1 k<b> r-2500 k<c> s<x> k<d> t k<e> f k<f> n k<g> [ ] k<h> { } } $");
    check_tokens("1", "i1 $");
    check_tokens(" \t\r\n-0 \n", "i0 $");
    check_tokens("0.5", "r0.5 $");
    check_tokens("1E2", "r100 $");
    check_tokens("1e-2", "r0.01 $");
    check_tokens("-0.0", "r-0 $");
    check_tokens("\"s\"", "s<s> $");
    check_tokens("true", "t $");
    check_tokens("false", "f $");
    check_tokens(" null ", "n $");
    check_tokens("[[[]],[{}],{\"\":[1,2.25,\"x\"]}]",
                 "[ [ [ ] ] [ { } ] { k<> [ i1 r2.25 s<x> ] } ] $");
    /* duplicate keys are the caller's business */
    check_tokens("{\"a\":1,\"a\":2}", "{ k<a> i1 k<a> i2 } $");
}

static void test_depth(void **state)
{
    (void)state;
    static const char json[] = "[{\"a\":[1]},2]";
    static const jp_token want[] = {JP_ARRAY, JP_OBJECT, JP_KEY, JP_ARRAY, JP_INT,
                                    JP_ARRAY_END, JP_OBJECT_END, JP_INT, JP_ARRAY_END, JP_EOF};
    static const int depth[] = {1, 2, 2, 3, 3, 2, 1, 1, 0, 0};
    jp_reader *r = jp_open_buffer(json, strlen(json), "t.json");
    assert_int_equal(jp_depth(r), 0);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_int_equal(jp_next(r), want[i]);
        assert_int_equal(jp_depth(r), depth[i]);
    }
    assert_int_equal(jp_next(r), JP_EOF);  /* and again */
    assert_string_equal(jp_error(r), "");
    jp_close(r);
}

static void test_accessors(void **state)
{
    (void)state;
    static const char json[] = "[\"s\",7,1.5,true]";
    jp_reader *r = jp_open_buffer(json, strlen(json), NULL);
    size_t len = 99;
    assert_int_equal(jp_next(r), JP_ARRAY);
    assert_string_equal(jp_text(r, &len), "");
    assert_int_equal(len, 0);
    assert_int_equal(jp_next(r), JP_STRING);
    assert_string_equal(jp_text(r, NULL), "s");
    assert_int_equal(jp_int(r), 0);
    assert_int_equal(jp_next(r), JP_INT);
    assert_int_equal(jp_int(r), 7);
    assert_true(jp_real(r) == 7.0);  /* an integer is a number too */
    assert_string_equal(jp_text(r, &len), "");
    assert_int_equal(jp_next(r), JP_REAL);
    assert_true(jp_real(r) == 1.5);
    assert_int_equal(jp_int(r), 0);
    assert_int_equal(jp_next(r), JP_TRUE);
    assert_true(jp_real(r) == 0);
    assert_string_equal(jp_token_name(JP_OBJECT), "an object");
    assert_string_equal(jp_token_name(JP_EOF), "the end of the file");
    jp_close(r);
    jp_close(NULL);
}

/* ---- strings ---------------------------------------------------------- */

static void test_escapes(void **state)
{
    (void)state;
    static const char json[] =
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\u0000x\","
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\",{\"k\\u0000\\n\":0}]";
    static const char want1[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0x";
    static const char want2[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf";
    jp_reader *r = jp_open_buffer(json, strlen(json), "t.json");
    size_t len;
    assert_int_equal(jp_next(r), JP_ARRAY);
    assert_int_equal(jp_next(r), JP_STRING);
    const char *s = jp_text(r, &len);
    assert_int_equal(len, sizeof want1 - 1);
    assert_memory_equal(s, want1, len);
    assert_int_equal(s[len], 0);
    assert_int_equal(jp_next(r), JP_STRING);
    s = jp_text(r, &len);
    assert_int_equal(len, sizeof want2 - 1);
    assert_memory_equal(s, want2, len);
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_int_equal(jp_next(r), JP_KEY);
    s = jp_text(r, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "k\0\n", 3);
    jp_close(r);
}

static void test_string_errors(void **state)
{
    (void)state;
    check_error("\"\\ud800\"", 1, 2, "lone surrogate \\ud800");
    check_error("\"\\uD800\\u0041\"", 1, 2, "lone surrogate");
    check_error("\"\\ud800\\ud800\"", 1, 2, "lone surrogate");
    check_error("\"\\ud800x\"", 1, 2, "lone surrogate");
    check_error("\"\\ud800", 1, 2, "lone surrogate");
    check_error("\"\\udc00\"", 1, 2, "lone surrogate \\udc00");
    check_error("[\"ab\\x\"]", 1, 5, "invalid escape: backslash then 'x'");
    check_error("\"\\u12g4\"", 1, 2, "invalid \\u escape");
    check_error("\"\\u12", 1, 6, "unexpected end of file in a string");
    check_error("\"\\", 1, 3, "unexpected end of file in a string");
    check_error("\"abc", 1, 5, "unexpected end of file in a string");
    check_error("\"a\tb\"", 1, 3, "control character 0x09 in a string");
    check_error("\"a\nb\"", 1, 3, "control character 0x0a");
    check_error_n("\"a\0b\"", 5, 1, 3, "control character 0x00");
    /* invalid UTF-8: overlong forms, surrogates, beyond U+10FFFF, stray
     * and missing continuation bytes */
    static const char *const bad[] = {
        "\"\xc0\x80\"", "\"\xc1\xbf\"", "\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"",
        "\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"", "\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"",
        "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"", "\"\x80\"", "\"\xbf\"",
        "\"\xc3\"", "\"\xe2\x82\"", "\"\xf0\x9f\x98\"", "\"\xc3\x28\"", "\"\xc3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        check_error(bad[i], 1, 2, "invalid UTF-8");
}

static void test_long_string(void **state)
{
    (void)state;
    /* 5 MB of base64 with an escape now and then, from a FILE: the text
     * grows across many windows */
    buf doc = {0}, want = {0};
    puts_(&doc, "{\"bytes\":\"");
    for (size_t i = 0; i < 5u << 20; i++) {
        char c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i * 7 % 64];
        if (i % 100003 == 0) {
            puts_(&doc, "\\/");
            c = '/';
        } else {
            put(&doc, &c, 1);
        }
        put(&want, &c, 1);
    }
    puts_(&doc, "\"}");
    FILE *f = mem_file(doc.s, doc.n);
    jp_reader *r = jp_open_file(f, "t.json");
    jp_stop_recording(r);
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_int_equal(jp_next(r), JP_KEY);
    assert_int_equal(jp_next(r), JP_STRING);
    size_t len;
    const char *s = jp_text(r, &len);
    assert_int_equal(len, want.n);
    assert_memory_equal(s, want.s, len);
    assert_int_equal(jp_next(r), JP_OBJECT_END);
    assert_int_equal(jp_next(r), JP_EOF);
    jp_close(r);
    fclose(f);
    free(doc.s);
    free(want.s);
}

/* ---- structure errors ------------------------------------------------- */

static void test_structure_errors(void **state)
{
    (void)state;
    check_error("{\"a\" 1}", 1, 6, "expected ':', found '1'");
    check_error("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}', found '\"'");
    check_error("[1 2]", 1, 4, "expected ',' or ']', found '2'");
    check_error("{\"a\":1]", 1, 7, "expected ',' or '}', found ']'");
    check_error("[1}", 1, 3, "expected ',' or ']', found '}'");
    check_error("[}", 1, 2, "expected a value, found '}'");
    check_error("{]", 1, 2, "expected a string key or '}', found ']'");
    check_error("[1,]", 1, 4, "expected a value, found ']'");
    check_error("{\"a\":1,}", 1, 8, "expected a string key, found '}'");
    check_error("{1:2}", 1, 2, "expected a string key or '}', found '1'");
    check_error("[\"a\":1]", 1, 5, "expected ',' or ']', found ':'");
    check_error("{\"a\":}", 1, 6, "expected a value, found '}'");
    check_error("[,1]", 1, 2, "expected a value, found ','");
    check_error("[\x01]", 1, 2, "expected a value, found byte 0x01");
    check_error("01", 1, 1, "invalid number (a leading zero)");
    check_error("-01", 1, 1, "leading zero");
    check_error("[00]", 1, 2, "leading zero");
    check_error("[-]", 1, 2, "invalid number");
    check_error("1.", 1, 1, "invalid number");
    check_error("1.e5", 1, 1, "invalid number");
    check_error("1e", 1, 1, "invalid number");
    check_error("1e+", 1, 1, "invalid number");
    check_error("1-2", 1, 1, "invalid number");
    check_error("[.5]", 1, 2, "expected a value, found '.'");
    check_error("+1", 1, 1, "expected a value, found '+'");
    check_error("NaN", 1, 1, "expected a value, found 'N'");
    check_error("[nan]", 1, 2, "invalid literal (expected null)");
    check_error("-Infinity", 1, 1, "invalid number");
    check_error("truE", 1, 1, "invalid literal (expected true)");
    check_error("[fals]", 1, 2, "invalid literal (expected false)");
    check_error("[1] x", 1, 5, "unexpected data after the JSON value: 'x'");
    check_error("{} {}", 1, 4, "unexpected data after the JSON value");
    check_error("1 2", 1, 3, "unexpected data after the JSON value");
    check_error("0x10", 1, 2, "unexpected data after the JSON value: 'x'");
    check_error("nulll", 1, 5, "unexpected data after the JSON value");
    check_error_n("[]\0", 3, 1, 3, "unexpected data after the JSON value: byte 0x00");
    check_error("", 1, 1, "empty file");
    check_error("  \n\t ", 2, 3, "empty file");
    check_error("[", 1, 2, "unexpected end of file");
    check_error("[1,", 1, 4, "unexpected end of file");
    check_error("{\"a\"", 1, 5, "unexpected end of file");
    check_error("{\"a\":", 1, 6, "unexpected end of file");
    check_error("[true", 1, 6, "unexpected end of file");
    check_error("tru", 1, 1, "invalid literal (expected true)");
    /* lines and columns count from 1; CR LF is one line break */
    check_error("{\n  \"a\": [1,\n    2 3]\n}", 3, 7, "expected ',' or ']', found '3'");
    check_error("[1,\r\n 2,\n\t x]", 3, 3, "expected a value, found 'x'");
}

static void test_error_one_line(void **state)
{
    (void)state;
    jp_reader *r = jp_open_buffer("[", 1, "a\nb.json");
    assert_int_equal(jp_next(r), JP_ARRAY);
    assert_int_equal(jp_next(r), JP_ERROR);
    assert_string_equal(jp_error(r), "a?b.json: line 1 column 2: unexpected end of file");
    jp_close(r);
}

static void test_jp_fail(void **state)
{
    (void)state;
    static const char json[] = "{\n  \"count\": \"x\", \"n\": 1}";
    jp_reader *r = jp_open_buffer(json, strlen(json), "t.json");
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_int_equal(jp_next(r), JP_KEY);
    assert_int_equal(jp_next(r), JP_STRING);
    assert_int_equal(jp_fail(r, "\"%s\" is not an integer\n", "count"), -1);
    assert_string_equal(jp_error(r), "t.json: line 2 column 12: \"count\" is not an integer?");
    assert_int_equal(jp_fail(r, "another"), -1);  /* the first one stays */
    assert_string_equal(jp_error(r), "t.json: line 2 column 12: \"count\" is not an integer?");
    assert_int_equal(jp_next(r), JP_ERROR);
    jp_close(r);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t n = 100000;
    char *s = malloc(2 * n + 8);
    assert_non_null(s);
    memset(s, '[', n);
    check_error_n(s, n, 1, JP_MAX_DEPTH + 1, "nesting deeper than 512 levels");
    for (size_t i = 0; i < n / 5; i++)
        memcpy(s + 5 * i, "{\"\":[", 5);
    check_error_n(s, n, 1, 1281, "nesting deeper than 512 levels");
    /* exactly the limit is fine */
    memset(s, '[', JP_MAX_DEPTH);
    memset(s + JP_MAX_DEPTH, ']', JP_MAX_DEPTH);
    jp_reader *r = jp_open_buffer(s, 2 * JP_MAX_DEPTH, "t.json");
    int max = 0;
    jp_token t;
    while ((t = jp_next(r)) > JP_EOF)
        max = jp_depth(r) > max ? jp_depth(r) : max;
    assert_int_equal(t, JP_EOF);
    assert_int_equal(max, JP_MAX_DEPTH);
    jp_close(r);
    /* jp_skip of a value nested too deep fails, it does not recurse */
    memset(s, '[', n);
    r = jp_open_buffer(s, n, "t.json");
    assert_int_equal(jp_next(r), JP_ARRAY);
    assert_int_equal(jp_skip(r), -1);
    assert_non_null(strstr(jp_error(r), "nesting deeper"));
    jp_close(r);
    free(s);
}

/* ---- numbers ---------------------------------------------------------- */

static void test_int_bounds(void **state)
{
    (void)state;
    check_tokens("[9223372036854775807,-9223372036854775808,-9223372036854775807,0,-0]",
                 "[ i9223372036854775807 i-9223372036854775808 i-9223372036854775807 i0 i0 ] $");
    check_error("9223372036854775808", 1, 1, "number out of range");
    check_error("[-9223372036854775809]", 1, 2, "number out of range");
    check_error("18446744073709551615", 1, 1, "number out of range");
    check_error("18446744073709551616", 1, 1, "number out of range");
    check_error("-99999999999999999999999999999999999", 1, 1, "number out of range");
    /* as a real, a big number is fine */
    check_tokens("9223372036854775808.0", "r9.2233720368547758e+18 $");
    check_tokens("1e2", "r100 $");
    check_tokens("[1.7976931348623157e308,5e-324,1e-400,-1e-400]",
                 "[ r1.7976931348623157e+308 r4.9406564584124654e-324 r0 r-0 ] $");
    check_error("1e400", 1, 1, "number out of range");
    check_error("[-1.8e308]", 1, 2, "number out of range");
    /* the length limit, not a slow strtod */
    char *s = malloc(JP_MAX_NUMBER + 2);
    memset(s, '1', JP_MAX_NUMBER);
    s[1] = '.';
    buf b = {0};  /* 1.111...: JP_MAX_NUMBER bytes fit */
    assert_int_equal(dump_buffer(s, JP_MAX_NUMBER, &b), JP_EOF);
    assert_string_equal(b.s, "r1.1111111111111112 $");
    s[JP_MAX_NUMBER] = '1';
    check_error_n(s, JP_MAX_NUMBER + 1, 1, 1, "number too long (more than 1024 bytes)");
    free(s);
    free(b.s);
}

/* ---- jp_skip ---------------------------------------------------------- */

static void test_skip(void **state)
{
    (void)state;
    static const char json[] =
        "{\"a\":{\"b\":[1,{\"c\":\"d\"}],\"e\":2},\"f\":[[]],\"g\":\"s\",\"h\":3,\"i\":[4]}";
    jp_reader *r = jp_open_buffer(json, strlen(json), "t.json");
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_int_equal(jp_next(r), JP_KEY);                 /* a: skips its value */
    assert_int_equal(jp_skip(r), 0);
    assert_int_equal(jp_depth(r), 1);
    assert_int_equal(jp_next(r), JP_KEY);
    assert_string_equal(jp_text(r, NULL), "f");
    assert_int_equal(jp_next(r), JP_ARRAY);               /* skips the array it opened */
    assert_int_equal(jp_skip(r), 0);
    assert_int_equal(jp_depth(r), 1);
    assert_int_equal(jp_next(r), JP_KEY);                 /* g: a scalar */
    assert_int_equal(jp_skip(r), 0);
    assert_int_equal(jp_next(r), JP_KEY);
    assert_string_equal(jp_text(r, NULL), "h");
    assert_int_equal(jp_next(r), JP_INT);
    assert_int_equal(jp_skip(r), 0);                      /* nothing to skip */
    assert_int_equal(jp_next(r), JP_KEY);
    assert_int_equal(jp_next(r), JP_ARRAY);
    assert_int_equal(jp_next(r), JP_INT);
    assert_int_equal(jp_int(r), 4);
    assert_int_equal(jp_next(r), JP_ARRAY_END);
    assert_int_equal(jp_skip(r), 0);                      /* nor after an end */
    assert_int_equal(jp_next(r), JP_OBJECT_END);
    assert_int_equal(jp_next(r), JP_EOF);
    jp_close(r);

    /* the whole document; then its end */
    r = jp_open_buffer(json, strlen(json), "t.json");
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_int_equal(jp_skip(r), 0);
    assert_int_equal(jp_depth(r), 0);
    assert_int_equal(jp_next(r), JP_EOF);
    jp_close(r);

    /* what is skipped is still checked */
    static const char bad[] = "[{\"a\":[\"\xff\"]}, 1]";
    r = jp_open_buffer(bad, strlen(bad), "t.json");
    assert_int_equal(jp_next(r), JP_ARRAY);
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_int_equal(jp_skip(r), -1);
    check_message(jp_error(r), 1, 9, "invalid UTF-8");
    jp_close(r);
}

/* ---- windows, gzip, pipes --------------------------------------------- */

static const char body[] =
    "[\"abc\xc3\xa9\xf0\x9f\x98\x80\\u00e9\\ud83d\\ude00\\n\", 123456789012, -1.5e-10, "
    "true, false, null, {\"key\\t\": 7, \"x\": [0, -0.25E+2]}]";

/* Every token cut by the first window's end, from a FILE and from gzip. */
static void test_window_cuts(void **state)
{
    (void)state;
    size_t blen = strlen(body);
    buf doc = {0}, want = {0}, got = {0};
    for (size_t k = 1; k <= blen; k++) {
        doc.n = 0;
        for (size_t i = 0; i < WINDOW - k; i++)
            puts_(&doc, i % 100 == 99 ? "\n" : " ");
        puts_(&doc, body);
        assert_int_equal(dump_buffer(doc.s, doc.n, &want), JP_EOF);
        assert_int_equal(dump_file(doc.s, doc.n, &got), JP_EOF);
        assert_string_equal(got.s, want.s);
        /* and an error's position after the cut */
        doc.n--;
        puts_(&doc, " x");
        assert_int_equal(dump_buffer(doc.s, doc.n, &want), JP_ERROR);
        assert_int_equal(dump_file(doc.s, doc.n, &got), JP_ERROR);
        assert_string_equal(got.s, want.s);
        if (k % 16 == 1) {
            size_t zn;
            unsigned char *z = gzip(doc.s, doc.n, &zn);
            assert_int_equal(dump_file((const char *)z, zn, &got), JP_ERROR);
            assert_string_equal(got.s, want.s);
            free(z);
        }
    }
    free(doc.s);
    free(want.s);
    free(got.s);
}

/* A document of n values of every kind, over many windows. */
static void big_doc(buf *doc, size_t n)
{
    char tmp[128];
    doc->n = 0;
    puts_(doc, "{\"items\": [\n");
    for (size_t i = 0; i < n; i++) {
        snprintf(tmp, sizeof tmp,
                 "%s{\"id\": %zu, \"name\": \"f%zu\\u00e9\", \"t\": %zu.%03zue-3, \"ok\": %s}\n",
                 i ? "," : "", i, i * 7, i, i % 1000, i % 3 ? "true" : "null");
        puts_(doc, tmp);
    }
    puts_(doc, "]}\n");
}

static void test_gzip(void **state)
{
    (void)state;
    buf doc = {0}, want = {0}, got = {0};
    big_doc(&doc, 20000);
    assert_true(doc.n > 4 * WINDOW);
    assert_int_equal(dump_buffer(doc.s, doc.n, &want), JP_EOF);
    size_t zn;
    unsigned char *z = gzip(doc.s, doc.n, &zn);
    assert_int_equal(dump_file((const char *)z, zn, &got), JP_EOF);
    assert_string_equal(got.s, want.s);
    assert_int_equal(dump_buffer((const char *)z, zn, &got), JP_EOF);
    assert_string_equal(got.s, want.s);

    /* two members, cut in the middle of a token, are one text */
    size_t half = doc.n / 2, n1, n2;
    unsigned char *z1 = gzip(doc.s, half, &n1), *z2 = gzip(doc.s + half, doc.n - half, &n2);
    buf cat = {0};
    put(&cat, z1, n1);
    put(&cat, z2, n2);
    assert_int_equal(dump_file(cat.s, cat.n, &got), JP_EOF);
    assert_string_equal(got.s, want.s);

    /* anything else after the gzip data is an error */
    put(&cat, "\n", 1);
    assert_int_equal(dump_file(cat.s, cat.n, &got), JP_ERROR);
    assert_non_null(strstr(got.s, "not valid gzip data"));

    /* a corrupted byte: the CRC at the latest */
    memcpy(cat.s, z, zn);
    cat.s[zn / 2] ^= 0x10;
    assert_int_equal(dump_buffer(cat.s, zn, &got), JP_ERROR);

    /* gzip of nothing is an empty file */
    free(z);
    z = gzip("", 0, &zn);
    assert_int_equal(dump_file((const char *)z, zn, &got), JP_ERROR);
    assert_non_null(strstr(got.s, "line 1 column 1: empty file"));
    free(z);
    free(z1);
    free(z2);
    free(cat.s);
    free(doc.s);
    free(want.s);
    free(got.s);
}

static void test_gzip_truncated(void **state)
{
    (void)state;
    static const char small[] = "{\"a\": [1, 2.5, \"three\", true], \"b\": null}";
    size_t zn;
    unsigned char *z = gzip(small, strlen(small), &zn);
    buf got = {0};
    for (size_t cut = 0; cut < zn; cut++) {
        assert_int_equal(dump_file((const char *)z, cut, &got), JP_ERROR);
        if (cut >= 2)
            assert_non_null(strstr(got.s, "gzip"));
        assert_int_equal(dump_buffer((const char *)z, cut, &got), JP_ERROR);
    }
    assert_int_equal(dump_file((const char *)z, zn, &got), JP_EOF);
    free(z);

    /* a big one, cut in the middle and in its trailer */
    buf doc = {0};
    big_doc(&doc, 20000);
    z = gzip(doc.s, doc.n, &zn);
    size_t cuts[] = {10, zn / 3, zn / 2, zn - 8, zn - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        assert_int_equal(dump_file((const char *)z, cuts[i], &got), JP_ERROR);
        assert_non_null(strstr(got.s, "unexpected end of file: the gzip data is truncated"));
    }
    free(z);
    free(doc.s);
    free(got.s);
}

/* Writes s to a pipe from a child process, in small pieces; the read end. */
static FILE *pipe_from_child(const void *s, size_t n, pid_t *pid)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        close(fd[0]);
        const char *p = s;
        for (size_t off = 0; off < n;) {
            size_t k = n - off < 4093 ? n - off : 4093;
            ssize_t w = write(fd[1], p + off, k);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    assert_non_null(f);
    return f;
}

static void reap(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_pipe(void **state)
{
    (void)state;
    buf doc = {0}, want = {0}, got = {0};
    big_doc(&doc, 20000);
    assert_int_equal(dump_buffer(doc.s, doc.n, &want), JP_EOF);
    size_t zn;
    unsigned char *z = gzip(doc.s, doc.n, &zn);
    for (int gz = 0; gz < 2; gz++) {
        pid_t pid;
        FILE *f = gz ? pipe_from_child(z, zn, &pid) : pipe_from_child(doc.s, doc.n, &pid);
        jp_reader *r = jp_open_file(f, "t.json");
        jp_stop_recording(r);
        assert_int_equal(dump(r, &got), JP_EOF);
        assert_string_equal(got.s, want.s);
        jp_close(r);
        fclose(f);
        reap(pid);

        /* jp_slurp from a pipe */
        f = gz ? pipe_from_child(z, zn, &pid) : pipe_from_child(doc.s, doc.n, &pid);
        r = jp_open_file(f, "t.json");
        assert_int_equal(jp_next(r), JP_OBJECT);
        size_t len;
        char *s = jp_slurp(r, &len);
        assert_non_null(s);
        assert_int_equal(len, doc.n);
        assert_memory_equal(s, doc.s, len);
        free(s);
        jp_close(r);
        fclose(f);
        reap(pid);
    }
    free(z);
    free(doc.s);
    free(want.s);
    free(got.s);
}

static void test_read_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/null", "w");  /* reading it fails */
    assert_non_null(f);
    jp_reader *r = jp_open_file(f, "t.json");
    assert_int_equal(jp_next(r), JP_ERROR);
    check_message(jp_error(r), 1, 1, "read error (");
    jp_close(r);
    fclose(f);
}

/* ---- jp_slurp --------------------------------------------------------- */

/* Reads `ntok` tokens of the input, then slurps; the text must be doc. */
static void check_slurp(jp_reader *r, int ntok, const buf *doc)
{
    for (int i = 0; i < ntok; i++)
        assert_true(jp_next(r) > JP_EOF);
    size_t len = 1;
    char *s = jp_slurp(r, &len);
    assert_non_null(s);
    assert_int_equal(len, doc->n);
    assert_memory_equal(s, doc->s, len);
    assert_int_equal(s[len], 0);
    free(s);
    assert_int_equal(jp_next(r), JP_EOF);
    assert_null(jp_slurp(r, &len));  /* the record went with the first */
}

static void test_slurp(void **state)
{
    (void)state;
    buf doc = {0};
    big_doc(&doc, 20000);
    size_t zn;
    unsigned char *z = gzip(doc.s, doc.n, &zn);
    for (int ntok = 0; ntok < 5; ntok += 2) {
        FILE *f = mem_file(doc.s, doc.n);
        jp_reader *r = jp_open_file(f, "t.json");
        check_slurp(r, ntok, &doc);
        jp_close(r);
        fclose(f);

        r = jp_open_buffer(doc.s, doc.n, "t.json");
        check_slurp(r, ntok, &doc);
        jp_close(r);

        f = mem_file(z, zn);
        r = jp_open_file(f, "t.json");
        check_slurp(r, ntok, &doc);
        jp_close(r);
        fclose(f);

        r = jp_open_buffer((const char *)z, zn, "t.json");
        check_slurp(r, ntok, &doc);
        jp_close(r);
    }

    /* the text from where the FILE was when the reader got it */
    buf pre = {0};
    puts_(&pre, "garbage");
    put(&pre, doc.s, doc.n);
    FILE *f = mem_file(pre.s, pre.n);
    assert_int_equal(fseek(f, 7, SEEK_SET), 0);
    jp_reader *r = jp_open_file(f, "t.json");
    check_slurp(r, 3, &doc);
    jp_close(r);
    fclose(f);

    /* after the whole document too */
    r = jp_open_buffer(doc.s, doc.n, "t.json");
    buf got = {0};
    assert_int_equal(dump(r, &got), JP_EOF);
    check_slurp(r, 0, &doc);
    jp_close(r);
    f = mem_file(doc.s, doc.n);
    r = jp_open_file(f, "t.json");
    assert_int_equal(dump(r, &got), JP_EOF);
    check_slurp(r, 0, &doc);
    jp_close(r);
    fclose(f);

    /* an empty file is an empty text, not a failure */
    f = mem_file("", 0);
    r = jp_open_file(f, "t.json");
    size_t len = 1;
    char *s = jp_slurp(r, &len);
    assert_non_null(s);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
    jp_close(r);
    fclose(f);

    /* no record once stopped; the reader goes on */
    f = mem_file(z, zn);
    r = jp_open_file(f, "t.json");
    assert_int_equal(jp_next(r), JP_OBJECT);
    jp_stop_recording(r);
    assert_null(jp_slurp(r, &len));
    assert_string_equal(jp_error(r), "");
    assert_int_equal(jp_next(r), JP_KEY);
    jp_token t;
    while ((t = jp_next(r)) > JP_EOF)
        ;
    assert_int_equal(t, JP_EOF);
    jp_close(r);
    fclose(f);

    /* a truncated gzip file: NULL, and why */
    f = mem_file(z, zn - 4);
    r = jp_open_file(f, "t.json");
    assert_int_equal(jp_next(r), JP_OBJECT);
    assert_null(jp_slurp(r, &len));
    check_message(jp_error(r), 0, 0, "the gzip data is truncated");
    jp_close(r);
    fclose(f);

    free(z);
    free(pre.s);
    free(got.s);
    free(doc.s);
}

/* ---- fuzz ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: the cases depend on FUZZ_SEED only */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static const char seed_doc[] =
    "{\"schema\": \"opprof\", \"version\": 2, \"strings\": [\"\", \"main\", \"f\\u00e9\\n\","
    " \"\\ud83d\\ude00\", \"\xc3\xa9\xe2\x82\xac\"],\n \"functions\": [{\"name\": 1, \"offsets\": "
    "[0, 2, 4, 6], \"counts\": [1, 9223372036854775807, -9223372036854775808, 0], "
    "\"t\": [0.5, -1.25e-3, 1E+2, 6.02e23], \"flags\": [true, false, null], \"code\": "
    "{\"bytes\": \"AAECAwQF\", \"lines\": [[0, 4, 1], [4, 8, -1]]}}, {}, [], [[[]]]],\n"
    " \"nested\": {\"a\": {\"b\": {\"c\": [1, [2, [3, {\"d\": \"e\\\"\\\\\\/\\b\\f\\r\\t\"}]]]}}}}\n";

static const char *const pieces[] = {
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "0", "-", ".", "e", "+",
    " ", "\n", "\x00", "\x80", "\xff", "\xc3", "\xed\xa0\x80", "1e999", "99999999999999999999",
    "true", "nul", "[[[[[[[[", "]]]]", "\"k\":", "\x1f\x8b",
};

static void mutate(const char *doc, size_t n, buf *out)
{
    out->n = 0;
    size_t i = below(n), k = 1 + below(16);
    const char *p = pieces[below(sizeof pieces / sizeof *pieces)];
    size_t plen = p[0] ? strlen(p) : 1;  /* "\x00" is one NUL byte */
    switch (below(6)) {
    case 0:  /* truncated */
        put(out, doc, i);
        break;
    case 1:  /* bits flipped */
        put(out, doc, n);
        for (k = 1 + below(4); k; k--)
            out->s[below(n)] ^= (char)(1u << below(8));
        break;
    case 2:  /* a piece inserted */
        put(out, doc, i);
        put(out, p, plen);
        put(out, doc + i, n - i);
        break;
    case 3:  /* a piece overwriting */
        put(out, doc, i);
        put(out, p, plen);
        if (i + plen < n)
            put(out, doc + i + plen, n - i - plen);
        break;
    case 4:  /* a range cut out */
        k = k < n - i ? k : n - i;
        put(out, doc, i);
        put(out, doc + i + k, n - i - k);
        break;
    default:  /* a range repeated */
        k = k < n - i ? k : n - i;
        put(out, doc, i + k);
        put(out, doc + i, n - i);
        break;
    }
}

/* Parses m, skipping at random when `skips`; must end in JP_EOF or
 * JP_ERROR within a token per byte, with a one-line message. */
static jp_token run_case(const buf *m, int skips, size_t cs)
{
    jp_reader *r = jp_open_buffer(m->s, m->n, "t.json");
    assert_non_null(r);
    jp_token t;
    size_t steps = 0;
    do {
        t = jp_next(r);
        if (skips && t > JP_EOF && below(4) == 0 && jp_skip(r) < 0)
            t = JP_ERROR;
        if (++steps > m->n + 2)
            fail_msg("case %zu: no end after %zu tokens", cs, steps);
    } while (t > JP_EOF);
    if (t == JP_ERROR) {
        const char *e = jp_error(r);
        if (strchr(e, '\n') || strncmp(e, "t.json: line ", 13) != 0 || !strstr(e, " column "))
            fail_msg("case %zu: bad message \"%s\"", cs, e);
    }
    jp_close(r);
    return t;
}

static void test_fuzz(void **state)
{
    (void)state;
    const char *c = getenv("FUZZ_CASES"), *s = getenv("FUZZ_SEED");
    size_t cases = c ? strtoull(c, NULL, 10) : 20000;
    rng_state = s ? strtoull(s, NULL, 10) : 1;
    if (!rng_state)
        rng_state = 1;
    size_t n = strlen(seed_doc), zn, accepted = 0;
    unsigned char *z = gzip(seed_doc, n, &zn);
    buf m = {0}, a = {0}, b = {0};
    assert_int_equal(dump_buffer(seed_doc, n, &a), JP_EOF);
    for (size_t i = 0; i < cases; i++) {
        int gz = i % 8 == 7;
        mutate(gz ? (const char *)z : seed_doc, gz ? zn : n, &m);
        jp_token t = run_case(&m, i % 2, i);
        accepted += t == JP_EOF;
        if (i % 16 == 0) {
            /* a FILE reads the same tokens and fails the same way */
            jp_token ta = dump_buffer(m.s, m.n, &a), tb = dump_file(m.s, m.n, &b);
            assert_int_equal(ta, t);
            assert_int_equal(tb, t);
            assert_string_equal(a.s, b.s);
        }
    }
    print_message("fuzz: %zu mutated documents, %zu accepted, %zu refused with one line\n",
                  cases, accepted, cases - accepted);
    free(z);
    free(m.s);
    free(a.s);
    free(b.s);
}

/* ---- throughput ------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads all of r: the sum of its integers, the time taken in *sec. */
static int64_t sum_ints(jp_reader *r, double *sec)
{
    double t0 = now();
    int64_t sum = 0;
    jp_token t;
    jp_stop_recording(r);
    while ((t = jp_next(r)) > JP_EOF)
        if (t == JP_INT)
            sum += jp_int(r);
    *sec = now() - t0;
    assert_int_equal(t, JP_EOF);
    return sum;
}

static void test_throughput(void **state)
{
    (void)state;
    /* 20 MB of small integers, the shape of a profile's columns */
    buf doc = {0};
    int64_t want = 0;
    char tmp[32];
    puts_(&doc, "[");
    for (int64_t i = 0; doc.n < 20u << 20; i++) {
        int64_t v = (i * 7919) % 100000;
        snprintf(tmp, sizeof tmp, i ? ",%" PRId64 : "%" PRId64, v);
        puts_(&doc, tmp);
        want += v;
    }
    puts_(&doc, "]\n");
    double mb = (double)doc.n / 1e6, sec;

    jp_reader *r = jp_open_buffer(doc.s, doc.n, "t.json");
    assert_int_equal(sum_ints(r, &sec), want);
    jp_close(r);
    print_message("throughput: %.1f MB of integers: buffer %.0f MB/s", mb, mb / sec);

    FILE *f = mem_file(doc.s, doc.n);
    r = jp_open_file(f, "t.json");
    assert_int_equal(sum_ints(r, &sec), want);
    jp_close(r);
    fclose(f);
    print_message(", FILE %.0f MB/s", mb / sec);

    size_t zn;
    unsigned char *z = gzip(doc.s, doc.n, &zn);
    f = mem_file(z, zn);
    r = jp_open_file(f, "t.json");
    assert_int_equal(sum_ints(r, &sec), want);
    jp_close(r);
    fclose(f);
    print_message(", gzip FILE %.0f MB/s (of JSON)\n", mb / sec);
    free(z);
    free(doc.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_long_string),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_error_one_line),
        cmocka_unit_test(test_jp_fail),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_window_cuts),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_truncated),
        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_slurp),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
