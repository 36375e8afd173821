/*
 * test_jsonw.c - unit tests for reports/jsonw.c, the streaming JSON
 * writer: structure, numbers, pretty printing, string escapes and UTF-8,
 * and unbalanced or failed documents.
 * Profile writing: test_jsonw_profile.c; atomic saving: test_jsonw_save.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/jsonw.h"

/* ---- an in-memory document ------------------------------------------- */

typedef struct doc {
    FILE *f;
    char *buf;
    size_t len;
    jw w;
} doc;

static void doc_open(doc *d, int pretty)
{
    d->buf = NULL;
    d->len = 0;
    d->f = open_memstream(&d->buf, &d->len);
    assert_non_null(d->f);
    jw_init(&d->w, d->f, pretty);
}

/* Finishes the document; returns jw_finish()'s result, text in d->buf. */
static int doc_finish(doc *d)
{
    int rc = jw_finish(&d->w);
    assert_int_equal(fclose(d->f), 0);
    d->f = NULL;
    assert_non_null(d->buf);
    return rc;
}

static void doc_free(doc *d)
{
    free(d->buf);
    d->buf = NULL;
}

/* The JSON for one string value written with jw_string_n(s, n). */
static void check_string_n(const char *s, size_t n, const char *expected)
{
    doc d;
    doc_open(&d, 0);
    jw_string_n(&d.w, s, n);
    assert_int_equal(doc_finish(&d), 0);
    size_t elen = strlen(expected);
    /* the value then the final newline */
    assert_int_equal(d.len, elen + 1);
    assert_memory_equal(d.buf, expected, elen);
    assert_int_equal(d.buf[elen], '\n');
    doc_free(&d);
}

static void check_string(const char *s, const char *expected)
{
    check_string_n(s, strlen(s), expected);
}

/* ---- jsonw: structure ------------------------------------------------ */

static void test_empty_containers(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 0);
    jw_begin_object(&d.w);
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf, "{}\n");
    doc_free(&d);

    doc_open(&d, 0);
    jw_begin_array(&d.w);
    jw_end_array(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf, "[]\n");
    doc_free(&d);
}

static void test_nesting_and_commas(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 0);
    jw_begin_object(&d.w);
    jw_key(&d.w, "a");
    jw_uint(&d.w, 1);
    jw_key(&d.w, "b");
    jw_begin_array(&d.w);
    jw_uint(&d.w, 1);
    jw_int(&d.w, -2);
    jw_bool(&d.w, 1);
    jw_bool(&d.w, 0);
    jw_null(&d.w);
    jw_string(&d.w, "x");
    jw_end_array(&d.w);
    jw_key(&d.w, "c");
    jw_begin_object(&d.w);
    jw_end_object(&d.w);
    jw_key(&d.w, "d");
    jw_begin_array(&d.w);
    jw_begin_array(&d.w);
    jw_end_array(&d.w);
    jw_begin_object(&d.w);
    jw_key(&d.w, "e");
    jw_begin_array(&d.w);
    jw_uint(&d.w, 0);
    jw_end_array(&d.w);
    jw_end_object(&d.w);
    jw_begin_array(&d.w);
    jw_null(&d.w);
    jw_end_array(&d.w);
    jw_end_array(&d.w);
    jw_key(&d.w, "");
    jw_string(&d.w, "");
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf,
        "{\"a\":1,\"b\":[1,-2,true,false,null,\"x\"],\"c\":{},"
        "\"d\":[[],{\"e\":[0]},[null]],\"\":\"\"}\n");
    doc_free(&d);
}

static void test_numbers(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 0);
    jw_begin_array(&d.w);
    jw_uint(&d.w, 0);
    jw_uint(&d.w, UINT64_MAX);
    jw_int(&d.w, 0);
    jw_int(&d.w, INT64_MAX);
    jw_int(&d.w, INT64_MIN);
    jw_int(&d.w, -1);
    jw_end_array(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf,
        "[0,18446744073709551615,0,9223372036854775807,"
        "-9223372036854775808,-1]\n");
    doc_free(&d);
}

/* jw_uints writes what as many jw_uint calls write: compact (in chunks
 * past its buffer, after other items, in an empty call) and pretty. */
static void test_uints_as_uint(void **state)
{
    (void)state;
    uint64_t v[300];
    for (size_t i = 0; i < 300; i++)
        v[i] = i % 3 ? UINT64_MAX - i : i;
    for (int pretty = 0; pretty < 2; pretty++) {
        doc a, b;
        doc_open(&a, pretty);
        doc_open(&b, pretty);
        jw_begin_object(&a.w);
        jw_begin_object(&b.w);
        jw_key(&a.w, "v");
        jw_key(&b.w, "v");
        jw_begin_array(&a.w);
        jw_begin_array(&b.w);
        jw_uint(&a.w, 7);
        jw_uint(&b.w, 7);
        jw_uints(&a.w, v, 300);
        for (size_t i = 0; i < 300; i++)
            jw_uint(&b.w, v[i]);
        jw_uints(&a.w, v, 0);
        jw_end_array(&a.w);
        jw_end_array(&b.w);
        jw_key(&a.w, "w");
        jw_key(&b.w, "w");
        jw_begin_array(&a.w);
        jw_begin_array(&b.w);
        jw_uints(&a.w, v, 2);
        jw_uint(&b.w, v[0]);
        jw_uint(&b.w, v[1]);
        jw_end_array(&a.w);
        jw_end_array(&b.w);
        jw_end_object(&a.w);
        jw_end_object(&b.w);
        assert_int_equal(doc_finish(&a), 0);
        assert_int_equal(doc_finish(&b), 0);
        assert_string_equal(a.buf, b.buf);
        doc_free(&a);
        doc_free(&b);
    }
}

static void test_top_level_scalar(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 0);
    jw_null(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf, "null\n");
    doc_free(&d);
}

static void test_pretty(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 1);
    jw_begin_object(&d.w);
    jw_key(&d.w, "a");
    jw_begin_array(&d.w);
    jw_uint(&d.w, 1);
    jw_uint(&d.w, 2);
    jw_end_array(&d.w);
    jw_key(&d.w, "b");
    jw_begin_object(&d.w);
    jw_end_object(&d.w);
    jw_key(&d.w, "c");
    jw_bool(&d.w, 1);
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf,
        "{\n"
        " \"a\": [\n"
        "  1,\n"
        "  2\n"
        " ],\n"
        " \"b\": {},\n"
        " \"c\": true\n"
        "}\n");
    doc_free(&d);
}

static void test_max_depth(void **state)
{
    (void)state;
    /* as deep as the writer allows: every level closes cleanly */
    doc d;
    doc_open(&d, 0);
    int depth = JW_MAX_DEPTH - 1;
    for (int i = 0; i < depth; i++)
        jw_begin_array(&d.w);
    jw_uint(&d.w, 7);
    for (int i = 0; i < depth; i++)
        jw_end_array(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_int_equal(d.len, (size_t)depth * 2 + 2);
    assert_int_equal(d.buf[depth], '7');
    doc_free(&d);

    /* deeper than that fails, and nothing more is written */
    doc_open(&d, 0);
    for (int i = 0; i < JW_MAX_DEPTH + 8; i++)
        jw_begin_array(&d.w);
    for (int i = 0; i < JW_MAX_DEPTH + 8; i++)
        jw_end_array(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    assert_null(strchr(d.buf, ']'));
    assert_true(d.len <= JW_MAX_DEPTH);
    doc_free(&d);
}

/* ---- jsonw: strings -------------------------------------------------- */

static void test_escapes(void **state)
{
    (void)state;
    check_string("", "\"\"");
    check_string("plain text /", "\"plain text /\"");
    check_string("\"", "\"\\\"\"");
    check_string("\\", "\"\\\\\"");
    check_string("\n", "\"\\n\"");
    check_string("\t", "\"\\t\"");
    check_string("\r", "\"\\r\"");
    check_string("\b", "\"\\b\"");
    check_string("\f", "\"\\f\"");
    check_string("a\"b\\c\nd\te\rf\bg\fh", "\"a\\\"b\\\\c\\nd\\te\\rf\\bg\\fh\"");
}

static void test_control_chars(void **state)
{
    (void)state;
    check_string("\x01", "\"\\u0001\"");
    check_string("\x1f", "\"\\u001f\"");
    check_string("\x0b", "\"\\u000b\"");
    check_string("\x1b[0m", "\"\\u001b[0m\"");
    check_string_n("a\0b", 3, "\"a\\u0000b\"");
    /* DEL and space are not control characters in JSON */
    check_string("\x7f \x20", "\"\x7f  \"");
}

static void test_string_n_length(void **state)
{
    (void)state;
    check_string_n("abcdef", 3, "\"abc\"");
    check_string_n("abc", 0, "\"\"");
    /* a valid sequence cut by n is invalid within the n bytes */
    check_string_n("\xe2\x82\xac", 2, "\"\\ufffd\\ufffd\"");
    check_string_n("x\xc3\xa9", 2, "\"x\\ufffd\"");
}

static void test_valid_utf8_passes(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "\xc2\x80",                 /* U+0080, smallest 2-byte */
        "\xc3\xa9",                 /* é */
        "\xdf\xbf",                 /* U+07FF */
        "\xe0\xa0\x80",             /* U+0800, smallest 3-byte */
        "\xe2\x82\xac",             /* € */
        "\xed\x9f\xbf",             /* U+D7FF, just below the surrogates */
        "\xee\x80\x80",             /* U+E000, just above */
        "\xef\xbf\xbf",             /* U+FFFF */
        "\xf0\x90\x80\x80",         /* U+10000, smallest 4-byte */
        "\xf0\x9d\x84\x9e",         /* 𝄞 */
        "\xf4\x8f\xbf\xbf",         /* U+10FFFF, the last code point */
        "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
    };
    char expected[64];
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        snprintf(expected, sizeof expected, "\"%s\"", valid[i]);
        check_string(valid[i], expected);
    }
}

static void test_invalid_utf8_escaped(void **state)
{
    (void)state;
    check_string("\xff", "\"\\ufffd\"");
    check_string("\xfe", "\"\\ufffd\"");
    check_string("\x80", "\"\\ufffd\"");                       /* lone continuation */
    check_string("\xe2\x82", "\"\\ufffd\\ufffd\"");           /* truncated */
    check_string("\xe2\x82" "A", "\"\\ufffd\\ufffdA\"");      /* truncated, then ASCII */
    check_string("\xc3" "A", "\"\\ufffdA\"");
    check_string("\xc0\xaf", "\"\\ufffd\\ufffd\"");           /* overlong '/' */
    check_string("\xc1\xbf", "\"\\ufffd\\ufffd\"");           /* overlong */
    check_string("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");   /* overlong 3-byte */
    check_string("\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\"");   /* overlong U+07FF */
    check_string("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* overlong 4 */
    check_string("\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* overlong FFFF */
    check_string("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");   /* surrogate D800 */
    check_string("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");   /* surrogate DFFF */
    check_string("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
    check_string("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* bad lead */
    /* a bad byte does not swallow the valid text around it */
    check_string("a\xff" "b\xc3\xa9\xff", "\"a\\ufffdb\xc3\xa9\\ufffd\"");
    check_string("\xe2\x82\xe2\x82\xac", "\"\\ufffd\\ufffd\xe2\x82\xac\"");
}

static void test_keys_escaped(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 0);
    jw_begin_object(&d.w);
    jw_key(&d.w, "k\"\n\xff");
    jw_uint(&d.w, 1);
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), 0);
    assert_string_equal(d.buf, "{\"k\\\"\\n\\ufffd\":1}\n");
    doc_free(&d);
}

/* ---- jsonw: errors --------------------------------------------------- */

static void test_finish_unbalanced(void **state)
{
    (void)state;
    doc d;

    doc_open(&d, 0);                     /* unclosed object */
    jw_begin_object(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    doc_free(&d);

    doc_open(&d, 0);                     /* unclosed inner array */
    jw_begin_object(&d.w);
    jw_key(&d.w, "a");
    jw_begin_array(&d.w);
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    doc_free(&d);

    doc_open(&d, 0);                     /* one close too many */
    jw_begin_array(&d.w);
    jw_end_array(&d.w);
    jw_end_array(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    doc_free(&d);

    doc_open(&d, 0);                     /* a close and nothing opened */
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    doc_free(&d);

    doc_open(&d, 0);                     /* a key without its value, at the end */
    jw_begin_object(&d.w);
    jw_key(&d.w, "a");
    jw_end_object(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    doc_free(&d);

    doc_open(&d, 0);                     /* nothing at all is not a document */
    jw_key(&d.w, "a");
    assert_int_equal(doc_finish(&d), -1);
    doc_free(&d);
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    doc d;
    doc_open(&d, 0);
    jw_end_array(&d.w);                  /* error */
    jw_begin_array(&d.w);
    jw_string(&d.w, "after");
    jw_end_array(&d.w);
    assert_int_equal(doc_finish(&d), -1);
    assert_int_equal(d.len, 0);          /* nothing written after the error */
    doc_free(&d);
}

static void test_write_error(void **state)
{
    (void)state;
    /* a stream that cannot be written */
    FILE *f = fopen("/dev/null", "r");
    assert_non_null(f);
    jw w;
    jw_init(&w, f, 0);
    jw_begin_object(&w);
    jw_key(&w, "a");
    jw_uint(&w, 1);
    jw_end_object(&w);
    assert_int_equal(jw_finish(&w), -1);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_containers),
        cmocka_unit_test(test_nesting_and_commas),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_uints_as_uint),
        cmocka_unit_test(test_top_level_scalar),
        cmocka_unit_test(test_pretty),
        cmocka_unit_test(test_max_depth),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_string_n_length),
        cmocka_unit_test(test_valid_utf8_passes),
        cmocka_unit_test(test_invalid_utf8_escaped),
        cmocka_unit_test(test_keys_escaped),
        cmocka_unit_test(test_finish_unbalanced),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
