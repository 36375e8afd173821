/*
 * test_jsonw.c - unit tests for reports/jsonw.c (the streaming JSON writer)
 * and reports/model/profile_json.c (profile v1 writing and atomic saving).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../reports/jsonw.h"
#include "../../reports/model/profile.h"
#include "../../reports/model/profile_json.h"
#include "../../reports/model/profile_read.h"

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

/* ---- profile_json ---------------------------------------------------- */

static const char *const OPNAMES[] = {"RESUME", "LOAD_FAST", "RETURN_VALUE", NULL};
#define NOPNAMES (sizeof OPNAMES / sizeof *OPNAMES)

#define WEIRD_FILE "dir/we\"ird\nna\xffme.py"
#define WEIRD_FILE_JSON "dir/we\\\"ird\\nna\\ufffdme.py"

static pf_profile *sample_profile(void)
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
static char *profile_text_version(const pf_profile *p, size_t *len, int version)
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

static char *profile_text(const pf_profile *p, size_t *len)
{
    return profile_text_version(p, len, 1);
}

static void assert_contains(const char *text, const char *fragment)
{
    assert_non_null(text);
    if (!strstr(text, fragment))
        fail_msg("missing %s\nin %s", fragment, text ? text : "");
}

static void test_profile_empty(void **state)
{
    (void)state;
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    char *text = profile_text(p, NULL);
    /* defaults for everything unset; one line */
    const char *start =
        "{\"schema\":\"opprof-profile\",\"version\":1,"
        "\"python\":{\"version\":\"\",\"implementation\":\"cpython\","
        "\"hexversion\":0,\"build\":\"\",\"specialization\":false,\"prefix\":\"\","
        "\"executable\":\"\"},\"root\":\"\",\"hash_seed\":\"random\","
        "\"argv\":[],\"exit_status\":0,\"incomplete\":false,";
    assert_true(strncmp(text, start, strlen(start)) == 0);
    assert_contains(text, ",\"collector\":\"\",");
    assert_contains(text, ",\"stacks_enabled\":true,");
    assert_contains(text, ",\"totals\":{\"instructions\":0,\"wall_ns\":0},");
    assert_null(strstr(text, "incomplete_reason"));
    const char *end = "\"functions\":[],\"stacks\":[]}\n";
    size_t n = strlen(text);
    assert_true(n > strlen(end));
    assert_string_equal(text + n - strlen(end), end);
    assert_ptr_equal(strchr(text, '\n'), text + n - 1);
    free(text);
    pf_profile_release(p);
}

static void test_profile_fragments(void **state)
{
    (void)state;
    pf_profile *p = sample_profile();
    char *text = profile_text(p, NULL);

    assert_true(strncmp(text, "{\"schema\":\"opprof-profile\",\"version\":1,", 39) == 0);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_contains(text,
        "\"python\":{\"version\":\"3.12.1\",\"implementation\":\"cpython\","
        "\"hexversion\":51118576,\"build\":\"3.12.1 (main) [GCC 12]\","
        "\"specialization\":true,\"prefix\":\"/usr\","
        "\"executable\":\"/usr/bin/python3.12\"},\"root\":\"/src/proj\",\"hash_seed\":\"0\",");
    assert_contains(text, "\"argv\":[\"s.py\",\"a b\",\"\\ufffd\"]");
    assert_contains(text, "\"exit_status\":3");
    assert_contains(text, ",\"incomplete\":false,");
    assert_contains(text, ",\"collector\":\"test \\\"collector\\\"\",");
    assert_contains(text, ",\"stacks_enabled\":true,");
    assert_null(strstr(text, "incomplete_reason"));
    assert_contains(text, "\"totals\":{\"instructions\":16,\"wall_ns\":123456789}");

    /* function 0: escaped file name, opcodes summed by name, most first */
    assert_contains(text,
        "\"functions\":[{\"id\":0,\"file\":\"" WEIRD_FILE_JSON "\","
        "\"file_hex\":\"6469722f7765226972640a6e61ff6d652e7079\","
        "\"name\":\"f\",\"qualname\":\"C.f\",\"firstlineno\":10,"
        "\"scope\":\"function\",\"calls\":2,\"instructions\":14,"
        "\"opcodes\":{\"LOAD_FAST\":{\"count\":10},\"RESUME\":{\"count\":2},"
        "\"RETURN_VALUE\":{\"count\":2}},"
        "\"code\":["
        "{\"offset\":0,\"opname\":\"RESUME\",\"line\":null,\"count\":2},"
        "{\"offset\":2,\"opname\":\"LOAD_FAST\",\"line\":11,\"count\":5},"
        "{\"offset\":4,\"opname\":\"LOAD_FAST\",\"line\":11,\"count\":5},"
        "{\"offset\":6,\"opname\":\"RETURN_VALUE\",\"line\":12,\"count\":2}"
        "]}");
    /* function 1: unnamed and unknown ops */
    assert_contains(text,
        "{\"id\":1,\"file\":\"s.py\",\"name\":\"<module>\",\"qualname\":\"<module>\","
        "\"firstlineno\":1,\"scope\":\"module\",\"calls\":1,\"instructions\":2,"
        "\"opcodes\":{\"<unknown>\":{\"count\":1}},"
        "\"code\":["
        "{\"offset\":0,\"opname\":\"<unknown>\",\"line\":1,\"count\":1},"
        "{\"offset\":2,\"opname\":\"<unknown>\",\"line\":2,\"count\":1}"
        "]}]");
    /* stacks: thread name, frames root first, opcodes */
    assert_contains(text,
        "\"stacks\":[{\"thread\":\"MainThread\",\"frames\":[1,0],"
        "\"instructions\":14,"
        "\"opcodes\":{\"LOAD_FAST\":{\"count\":10},\"RESUME\":{\"count\":2},"
        "\"RETURN_VALUE\":{\"count\":2}}},"
        "{\"thread\":\"?\",\"frames\":[1],\"instructions\":2,\"opcodes\":{}}]}\n");
    /* the raw bytes never reach the output: one newline, at the end */
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    assert_null(memchr(text, 0xff, strlen(text)));
    free(text);
    pf_profile_release(p);
}

/* v2: strings once, columns, the tree as nodes (reports/model/profile-v2.md) */
static void test_profile_v2_fragments(void **state)
{
    (void)state;
    pf_profile *p = sample_profile();
    char *text = profile_text_version(p, NULL, 2);
    assert_true(strncmp(text, "{\"schema\":\"opprof-profile\",\"version\":2,", 39) == 0);
    assert_contains(text, ",\"counted\":true,\"stacks_enabled\":true,");
    assert_contains(text, "\"totals\":{\"instructions\":16,\"wall_ns\":123456789,\"exit_ns\":0}");
    /* the thread name first, then each function's file, name, qualname */
    assert_contains(text, "\"strings\":[\"MainThread\",\"" WEIRD_FILE_JSON "\",\"f\",\"C.f\","
                          "\"s.py\",\"<module>\"],");
    assert_contains(text, "\"strings_hex\":[[1,\"6469722f7765226972640a6e61ff6d652e7079\"]],");
    assert_contains(text, "\"opnames\":[\"RESUME\",\"LOAD_FAST\",\"RETURN_VALUE\",\"<unknown>\"],");
    assert_contains(text, "\"processes\":[{\"pid\":0,\"parent\":-1,\"argv\":[\"s.py\",\"a b\","
                          "\"\\ufffd\"],\"exit_status\":3,\"incomplete\":false}],");
    assert_contains(text, "\"threads\":[{\"name\":0,\"process\":0}],");
    /* no code: ops and lines are written, offsets as steps, repeats as runs */
    assert_contains(text, "{\"file\":1,\"name\":2,\"qualname\":3,\"firstlineno\":10,"
                          "\"scope\":\"function\",\"calls\":2,\"instructions\":14,"
                          "\"offset_deltas\":[0,2,-2],\"counts\":[2,5,5,2],"
                          "\"ops\":[0,1,1,2],\"lines\":[-1,11,11,12],\"opset\":[0,1,2]}");
    /* a node's ops count over its function's opset; no call sites recorded:
     * no column */
    assert_contains(text, "\"nodes\":{\"parent\":[-1,0,-1],\"function\":[1,0,1],"
                          "\"thread\":[0,0,5],"
                          "\"instructions\":[0,14,2],\"ops\":[[],[2,10,2],[]]}}\n");
    free(text);
    pf_profile_release(p);
}

static void test_profile_opcodes_summed(void **state)
{
    (void)state;
    pf_profile *p = sample_profile();
    pf_opcount by_op[NOPNAMES];
    memset(by_op, 0xee, sizeof by_op);
    assert_int_equal(pf_add_instr_time(&p->functions[0], 1, 70, 0), 0);
    assert_int_equal(pf_add_instr_time(&p->functions[0], 2, 5, 0), 0);
    pf_function_opcodes(p, &p->functions[0], by_op);
    assert_int_equal(by_op[0].count, 2);
    assert_int_equal(by_op[1].count, 10);
    assert_int_equal(by_op[1].time_ns, 75);   /* both LOAD_FASTs */
    assert_int_equal(by_op[2].count, 2);
    assert_int_equal(by_op[3].count, 0);
    assert_int_equal(by_op[3].time_ns, 0);
    pf_function_opcodes(p, &p->functions[1], by_op);
    assert_int_equal(by_op[0].count, 0);
    assert_int_equal(by_op[3].count, 1);
    pf_profile_release(p);
}

static void test_profile_incomplete(void **state)
{
    (void)state;
    pf_profile *p = sample_profile();
    p->stacks_enabled = 0;
    assert_int_equal(pf_mark_incomplete(p, "out of \"memory\""), 0);
    assert_int_equal(pf_mark_incomplete(p, "second reason"), 0);
    char *text = profile_text(p, NULL);
    assert_contains(text,
        ",\"incomplete\":true,\"incomplete_reason\":\"out of \\\"memory\\\"\",");
    assert_contains(text, ",\"stacks_enabled\":false,");
    assert_null(strstr(text, "second reason"));
    free(text);
    pf_profile_release(p);
}

static void test_profile_many_functions(void **state)
{
    (void)state;
    /* pf_add_function grows its array; ids stay dense */
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    for (uint32_t i = 0; i < 100; i++) {
        pf_function *f = pf_add_function(p);
        assert_non_null(f);
        assert_int_equal(f->id, i);
        assert_int_equal(pf_set_string(&f->file, "m.py"), 0);
        assert_int_equal(pf_set_string(&f->name, "f"), 0);
        assert_int_equal(pf_set_string(&f->qualname, "f"), 0);
        f->instructions = i % 7;
    }
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(p->functions[i].id, i);
    char *text = profile_text(p, NULL);
    assert_contains(text, "{\"id\":99,\"file\":\"m.py\"");
    free(text);

    size_t *order = pf_functions_by_weight(p);
    assert_non_null(order);
    for (size_t i = 1; i < 100; i++) {
        const pf_function *a = &p->functions[order[i - 1]];
        const pf_function *b = &p->functions[order[i]];
        assert_true(a->instructions > b->instructions ||
                    (a->instructions == b->instructions && a->id < b->id));
    }
    free(order);
    pf_profile_release(p);
}

/* pf_json_write_split(p, mid) into memory; the caller frees. */
static char *split_text(const pf_profile *p, size_t mid)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    assert_int_equal(pf_json_write_split(p, f, mid), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* Two threads write a large profile: wherever the second's part starts
 * (the first function, any, or only the nodes), the bytes are one
 * thread's. */
static void test_profile_v2_two_threads_same_bytes(void **state)
{
    (void)state;
    pf_profile *q = NULL;
    char err[256];
    if (pf_read_file("tests/golden/annotate/profile.json", &q, err, sizeof err) < 0)
        fail_msg("%s", err);
    /* and one whose second part spans several of the helper's 1 MB
     * chunks */
    pf_profile *big = sample_profile();
    for (uint32_t i = 0; i < 600; i++) {
        pf_function *f = pf_add_function(big);
        assert_non_null(f);
        assert_int_equal(pf_set_string(&f->file, "big.py"), 0);
        assert_int_equal(pf_set_string(&f->name, "f"), 0);
        assert_int_equal(pf_set_string(&f->qualname, "f"), 0);
        f->firstlineno = (int)i;
        f->code = calloc(1001, sizeof *f->code);
        assert_non_null(f->code);
        for (uint32_t k = 0; k < 1000; k++)
            f->code[k] = (pf_instr){.offset = 2 * k, .line = (int)(i + k), .op = k % 3,
                                    .count = (uint64_t)(i * 7919u + k * 104729u) % 100003u};
        f->ncode = 1000;
        for (uint32_t k = 0; k < 1000; k++)
            f->instructions += f->code[k].count;
    }
    pf_profile *profiles[] = {sample_profile(), q, big};
    for (size_t k = 0; k < 3; k++) {
        const pf_profile *p = profiles[k];
        char *one = split_text(p, PF_WRITE_ONE_THREAD);
        assert_non_null(strstr(one, "\"functions\":[{"));
        if (k == 2)
            assert_true(strlen(one) > (4u << 20));
        for (size_t mid = 0; mid <= p->nfunctions; mid += k == 2 ? 97 : 1) {
            char *two = split_text(p, mid);
            if (strcmp(one, two) != 0)
                fail_msg("profile %zu split at %zu differs:\n%s\n%s", k, mid, one, two);
            free(two);
        }
        char *chosen = split_text(p, PF_WRITE_AUTO);
        assert_string_equal(one, chosen);
        free(chosen);
        free(one);
        pf_profile_release(profiles[k]);
    }
}

/* ---- atomic saving --------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Names in `dir`, not "." or "..", joined by '|', sorted order not
 * guaranteed: callers check one- or zero-entry directories. */
static size_t dir_entries(const char *dir, char *names, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t count = 0;
    names[0] = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (count++)
            strncat(names, "|", size - strlen(names) - 1);
        strncat(names, e->d_name, size - strlen(names) - 1);
    }
    closedir(d);
    return count;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static int setup_tmpdir(void **state)
{
    char tmpl[] = "/tmp/opprof-test-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    *state = strdup(tmpl);
    return *state ? 0 : -1;
}

/* Removes `dir` and what the tests leave in it, even after a failure:
 * files and directories of files. */
static int remove_tree(const char *dir, int levels)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t n = strlen(dir) + strlen(e->d_name) + 2;
            char *p = malloc(n);
            if (!p)
                break;
            snprintf(p, n, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0 && levels > 0)
                remove_tree(p, levels - 1);
            free(p);
        }
        closedir(d);
    }
    return rmdir(dir);
}

static int teardown_tmpdir(void **state)
{
    char *dir = *state;
    int rc = remove_tree(dir, 1);
    free(dir);
    return rc;
}

static char save_err[256];

static int save(const pf_profile *p, const char *path)
{
    save_err[0] = 0;
    return pf_json_save(p, path, save_err, sizeof save_err);
}

static void test_save_atomic(void **state)
{
    const char *dir = *state;
    pf_profile *p = sample_profile();
    char *path = path_join(dir, "out.json");
    size_t expected_len;
    char *expected = profile_text_version(p, &expected_len, 2);

    assert_int_equal(save(p, path), 0);
    size_t len;
    char *got = read_all(path, &len);
    assert_int_equal(len, expected_len);
    assert_memory_equal(got, expected, len);
    free(got);
    char names[256];
    assert_int_equal(dir_entries(dir, names, sizeof names), 1);
    assert_string_equal(names, "out.json");

    /* saving again replaces the file whole */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("stale and much longer than nothing at all ", f);
    for (int i = 0; i < 200; i++)
        fputs("padding padding padding ", f);
    fclose(f);
    assert_int_equal(save(p, path), 0);
    got = read_all(path, &len);
    assert_int_equal(len, expected_len);
    assert_memory_equal(got, expected, len);
    free(got);
    assert_int_equal(dir_entries(dir, names, sizeof names), 1);
    assert_string_equal(names, "out.json");

    free(expected);
    free(path);
    pf_profile_release(p);
}

static void test_save_relative_path(void **state)
{
    const char *dir = *state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    int rc = save(p, "rel.json");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    char names[256];
    assert_int_equal(dir_entries(dir, names, sizeof names), 1);
    assert_string_equal(names, "rel.json");
    pf_profile_release(p);
}

static void test_save_fails_cleanly(void **state)
{
    const char *dir = *state;
    pf_profile *p = pf_profile_new();
    assert_non_null(p);

    /* a missing directory */
    char *missing = path_join(dir, "no/such/dir/out.json");
    assert_int_equal(save(p, missing), -1);
    assert_string_equal(save_err, strerror(ENOENT));
    free(missing);

    /* a directory in the way: rename fails, the temporary file goes away */
    char *sub = path_join(dir, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    char sentinel_path[4096];
    snprintf(sentinel_path, sizeof sentinel_path, "%s/keep", sub);
    FILE *f = fopen(sentinel_path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(save(p, sub), -1);
    assert_string_equal(save_err, strerror(EISDIR));
    char names[256];
    assert_int_equal(dir_entries(dir, names, sizeof names), 1);
    assert_string_equal(names, "sub");
    assert_int_equal(unlink(sentinel_path), 0);
    free(sub);
    pf_profile_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_v2_two_threads_same_bytes),
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
        cmocka_unit_test(test_profile_empty),
        cmocka_unit_test(test_profile_fragments),
        cmocka_unit_test(test_profile_v2_fragments),
        cmocka_unit_test(test_profile_opcodes_summed),
        cmocka_unit_test(test_profile_incomplete),
        cmocka_unit_test(test_profile_many_functions),
        cmocka_unit_test_setup_teardown(test_save_atomic, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_save_relative_path, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_save_fails_cleanly, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
