/*
 * test_jsonpull.c - unit tests for reports/model/jsonpull.c, the streaming
 * JSON pull parser: tokens, escapes, every structure error with its
 * position, limits and jp_skip.
 * Windows, gzip, pipes and jp_slurp: test_jsonpull_io.c; the fuzzer and
 * the throughput figure: test_jsonpull_fuzz.c.
 */
#include "jsonpull_fixtures.h"

/* ---- helpers ---------------------------------------------------------- */

static void check_tokens(const char *json, const char *expected)
{
    buf b = {0};
    dump_buffer(json, strlen(json), &b);
    assert_string_equal(b.s, expected);
    free(b.s);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
