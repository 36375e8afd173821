/*
 * test_jsonpull_fuzz.c - unit tests for reports/model/jsonpull.c: a
 * mutation fuzzer over buffers and FILEs, and a throughput figure.
 *
 * FUZZ_CASES (default 20,000), FUZZ_SEED (default 1): the same cases
 * every run, so a failure is reproducible.
 */
#include "fuzz_rng.h"
#include "jsonpull_fixtures.h"

#include <time.h>

/* ---- fuzz ------------------------------------------------------------- */

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
    const char *c = getenv("FUZZ_CASES");
    size_t cases = c ? strtoull(c, NULL, 10) : 20000;
    rng_seed_from_env();
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
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
