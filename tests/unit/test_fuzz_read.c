/*
 * test_fuzz_read.c - mutated profiles through the reader, diff, merge and
 * the writer, in one process: every case is accepted or refused with one
 * line, never a crash, a hang or a sanitizer report, and whatever opprof
 * accepts and writes again, it reads again.
 *
 * FUZZ_CASES (default 10,000; 1,000 under sanitizers), FUZZ_SEED (default
 * 1: the same cases every run, so a failure is reproducible).
 */
#include "fuzz_rng.h"
#include "profile_fixtures.h"
#include "textbuf.h"

#include "../../reports/model/sourcetext.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define DEFAULT_CASES 1000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define DEFAULT_CASES 1000
#endif
#endif
#ifndef DEFAULT_CASES
#define DEFAULT_CASES 10000
#endif

static char *serialize(const pf_profile *p, size_t *len)
{
    char *s = NULL;
    FILE *f = open_memstream(&s, len);
    assert_non_null(f);
    assert_int_equal(pf_json_write(p, f), 0);
    assert_int_equal(fclose(f), 0);
    return s;
}

/* A position in `doc` where a JSON value starts (after ':' or '['). */
static size_t value_start(const char *doc, size_t n)
{
    for (int tries = 0; tries < 64; tries++) {
        size_t i = below(n);
        if (doc[i] == ':' || doc[i] == '[')
            return i + 1;
    }
    return below(n);
}

static const char *const values[] = {
    "9223372036854775807", "9223372036854775808", "-1", "-9223372036854775808", "1e308",
    "0.5", "null", "true", "\"\"", "\"x\\ny\"", "[]", "{}", "18446744073709551615",
    "\"\\u0000\"", "\"\xff\xfe\"", "4294967296", "65536", "[null]", "{\"a\":1}",
};

/* One mutation of `doc` into `out`. */
static void mutate(const char *doc, size_t n, buf *out)
{
    out->n = 0;
    size_t i = below(n), k;
    switch (below(10)) {
    case 0:   /* truncated anywhere */
        put(out, doc, i);
        break;
    case 1:   /* bytes flipped */
        put(out, doc, n);
        for (k = 1 + below(8); k; k--)
            out->s[below(n)] ^= (char)(1u << below(8));
        break;
    case 2:   /* a number replaced by an edge value */
        while (i < n && (doc[i] < '0' || doc[i] > '9'))
            i++;
        k = i;
        while (k < n && doc[k] >= '0' && doc[k] <= '9')
            k++;
        put(out, doc, i);
        puts_(out, values[below(sizeof values / sizeof *values)]);
        put(out, doc + k, n - k);
        break;
    case 3: { /* a value replaced by one of another type */
        size_t v = value_start(doc, n);
        k = v;
        int depth = 0;
        do {   /* to the end of that value, roughly */
            if (doc[k] == '[' || doc[k] == '{')
                depth++;
            if (doc[k] == ']' || doc[k] == '}')
                depth--;
            k++;
        } while (k < n && (depth > 0 || (doc[k] != ',' && doc[k] != ']' && doc[k] != '}')));
        put(out, doc, v);
        puts_(out, values[below(sizeof values / sizeof *values)]);
        put(out, doc + (k < n ? k : n), n - (k < n ? k : n));
        break;
    }
    case 4: { /* deep nesting where a value starts */
        size_t v = value_start(doc, n), depth = 1 + below(5000);
        put(out, doc, v);
        for (k = 0; k < depth; k++)
            puts_(out, "[");
        puts_(out, "1");
        for (k = 0; k < depth; k++)
            puts_(out, "]");
        put(out, doc + v, n - v);
        break;
    }
    case 5: { /* a piece cut out */
        size_t len = 1 + below(64);
        put(out, doc, i);
        if (i + len < n)
            put(out, doc + i + len, n - i - len);
        break;
    }
    case 6: { /* a piece repeated (duplicate keys, bigger arrays) */
        size_t len = 1 + below(256);
        len = i + len > n ? n - i : len;
        put(out, doc, i + len);
        put(out, doc + i, len);
        put(out, doc + i + len, n - i - len);
        break;
    }
    case 7:   /* brackets swapped */
        put(out, doc, n);
        for (k = 0; k < 1 + below(3); k++) {
            size_t j = below(n);
            char c = out->s[j];
            out->s[j] = c == '[' ? '{' : c == '{' ? '[' : c == ']' ? '}' : c == '}' ? ']'
                      : c == '"' ? '\'' : c;
        }
        break;
    case 8: { /* every value of one key replaced: all counts huge, say */
        static const char *const keys[] = {"\"count\": ", "\"time_ns\": ", "\"instructions\": ",
                                           "\"samples\": ", "\"calls\": ", "\"offset\": "};
        const char *key = keys[below(sizeof keys / sizeof *keys)];
        const char *v = values[below(4)];
        size_t kl = strlen(key);
        for (k = 0; k < n;) {
            if (strncmp(doc + k, key, kl) != 0) {
                put(out, doc + k++, 1);
                continue;
            }
            put(out, doc + k, kl);
            puts_(out, v);
            for (k += kl; k < n && ((doc[k] >= '0' && doc[k] <= '9') || doc[k] == '-'); k++)
                ;
        }
        break;
    }
    default: /* two mutations */
        {
            buf tmp = {0};
            mutate(doc, n, &tmp);
            mutate(tmp.s, tmp.n, out);
            free(tmp.s);
        }
    }
    if (!out->s)
        put(out, "", 0);
}

static void one_line(const char *what, const char *err, size_t case_no)
{
    if (!err[0])
        fail_msg("case %zu: %s refused with an empty message", case_no, what);
    if (strchr(err, '\n'))
        fail_msg("case %zu: %s message on several lines: %s", case_no, what, err);
}

/* What the commands do with an accepted profile. */
static void exercise(pf_profile *p, const pf_profile *seed, size_t case_no)
{
    char err[512] = "";
    df_options o;
    df_options_init(&o);
    df_result *r = NULL;
    const pf_profile *bases[] = {seed, p};
    for (int b = 0; b < 2; b++) {
        err[0] = 0;
        if (df_compare(bases[b], p, "a.json", "b.json", &o, &r, err, sizeof err) == 0)
            df_result_release(r);
        else
            one_line("diff", err, case_no);
    }
    pf_profile *in[] = {p, p}, *m = NULL;
    err[0] = 0;
    if (pf_merge(in, 2, &m, err, sizeof err) == 0)
        pf_profile_release(m);
    else
        one_line("merge", err, case_no);
    /* what opprof writes, opprof reads */
    size_t len;
    char *again = serialize(p, &len);
    FILE *f = fmemopen(again, len, "r");
    assert_non_null(f);
    pf_profile *q = NULL;
    if (pf_read_stream(f, "rewritten", &q, err, sizeof err) != 0)
        fail_msg("case %zu: opprof refused what it wrote: %s", case_no, err);
    fclose(f);
    pf_profile_release(q);
    free(again);
}

/* full_profile() plus a loop: one opcode at several offsets, whose sums
 * are what overflowed once */
static pf_profile *seed_profile(void)
{
    pf_profile *p = full_profile();
    const ins loop[] = {{0, "RESUME", 1, 1},     {2, "LOAD_FAST", 2, 1000},
                        {4, "LOAD_FAST", 2, 1000}, {6, "STORE_FAST", 2, 1000},
                        {8, "LOAD_FAST", 3, 999},  {10, "STORE_FAST", 3, 999}};
    add_fn(p, "/home/u/proj/script.py", "loop", 20, loop, N(loop));
    /* and the source text of some of its lines */
    pf_source *s = stx_file(p, "/home/u/proj/script.py", NULL);
    assert_non_null(s);
    const char *text[] = {"def loop():", "    for i in range(1000):", "        x = i"};
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(stx_add_line(s, 20 + i, text[i], strlen(text[i])), 0);
    p->sources_omitted = 1;
    return p;
}

static pf_profile *timed_profile(void)
{
    pf_profile *p = seed_profile();
    add_times(p);
    p->samples = 12;
    return p;
}

/* The sum merge makes of one input it reads part by part, or NULL with
 * its error in err. */
static char *merged_json(pf_profile *whole, FILE *f, char *err, size_t errlen, size_t *len)
{
    pf_profile *sum = NULL;
    int rc;
    if (whole) {
        rc = pf_merge(&whole, 1, &sum, err, errlen);
    } else {
        pf_merger *mg = pf_merger_new();
        assert_non_null(mg);
        rc = pf_merger_read_stream(mg, f, "case", err, errlen);
        if (rc == 0)
            rc = pf_merger_finish(mg, &sum, err, errlen);
        pf_merger_release(mg);
    }
    char *s = rc == 0 ? serialize(sum, len) : NULL;
    pf_profile_release(sum);
    return s;
}

static void same_as_merge(const buf *m, FILE *f, size_t i)
{
    char err[512] = "", merr[512] = "";
    pf_profile *p = NULL;
    int rc = pf_read_stream_keep(f, "case", PF_KEEP_ALL, &p, err, sizeof err);
    rewind(f);
    FILE *g = fmemopen(m->s, m->n ? m->n : 1, "r");
    assert_non_null(g);
    size_t la = 0, lb = 0;
    char *streamed = merged_json(NULL, g, merr, sizeof merr, &lb);
    fclose(g);
    if ((rc == 0) != (streamed != NULL)) {
        /* merge may refuse what no reader can hold as one sum: but a
         * profile a reader refuses, merge refuses too */
        char werr[512] = "";
        char *whole = rc == 0 ? merged_json(p, NULL, werr, sizeof werr, &la) : NULL;
        if (rc != 0 || whole)
            fail_msg("case %zu: read whole: %s; merge read: %s", i, rc ? err : "accepted",
                     streamed ? "accepted" : merr);
        free(whole);
    } else if (streamed) {
        char werr[512] = "";
        char *whole = merged_json(p, NULL, werr, sizeof werr, &la);
        if (!whole || la != lb || memcmp(whole, streamed, la) != 0)
            fail_msg("case %zu: merge read part by part differs from merging it whole", i);
        free(whole);
    } else {
        one_line("merge", merr, i);
    }
    free(streamed);
    pf_profile_release(p);
}

static void test_fuzz(void **state)
{
    (void)state;
    const char *c = getenv("FUZZ_CASES");
    size_t cases = c && atol(c) > 0 ? (size_t)atol(c) : DEFAULT_CASES;
    rng_seed_from_env();
    pf_profile *seeds[] = {seed_profile(), timed_profile()};
    size_t len[2];
    char *docs[2] = {serialize(seeds[0], &len[0]), serialize(seeds[1], &len[1])};
    size_t accepted = 0;
    buf m = {0};
    for (size_t i = 0; i < cases; i++) {
        int which = (int)below(2);
        mutate(docs[which], len[which], &m);
        FILE *f = fmemopen(m.s, m.n ? m.n : 1, "r");
        assert_non_null(f);
        char err[512] = "";
        pf_profile *p = NULL;
        /* every fourth case also as diff and annotate read (no tree, no
         * node opcodes, with or without code): what a reader leaves out
         * is still checked, so every reader gives the same verdict */
        if (i % 4 == 3) {
            unsigned lean = i % 8 == 3 ? 0 : PF_KEEP_CODE;
            char lean_err[512] = "";
            FILE *g = fmemopen(m.s, m.n ? m.n : 1, "r");
            assert_non_null(g);
            pf_profile *q = NULL;
            int lean_rc = pf_read_stream_keep(g, "case", lean, &q, lean_err, sizeof lean_err);
            fclose(g);
            pf_profile_release(q);
            int full_rc = pf_read_stream_keep(f, "case", PF_KEEP_ALL, &p, err, sizeof err);
            if (lean_rc != full_rc)
                fail_msg("case %zu: read whole: %s; read lean: %s", i,
                         full_rc ? err : "accepted", lean_rc ? lean_err : "accepted");
            rewind(f);
            pf_profile_release(p);
            p = NULL;
            err[0] = 0;
        }
        /* and every eighth as merge reads it (each part added to the sum
         * as it is read): the same verdict, and the same sum as merging
         * the profile read whole */
        if (i % 8 == 5)
            same_as_merge(&m, f, i);
        unsigned keep = i % 4 == 3 ? 0 : PF_KEEP_ALL;
        if (pf_read_stream_keep(f, "case", keep, &p, err, sizeof err) == 0) {
            accepted++;
            exercise(p, seeds[which], i);
            pf_profile_release(p);
        } else {
            one_line("read", err, i);
            assert_null(p);
        }
        fclose(f);
    }
    print_message("fuzz: %zu mutated profiles, %zu accepted, %zu refused with one line\n",
                  cases, accepted, cases - accepted);
    free(m.s);
    for (int i = 0; i < 2; i++) {
        free(docs[i]);
        pf_profile_release(seeds[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
