/*
 * test_jsonw_profile.c - unit tests for reports/model/profile_json.c:
 * the profile as v1 and v2 JSON, opcodes summed, incomplete profiles,
 * many functions, and the same bytes when two threads write.
 * The sample profile: jsonw_fixtures.h.
 */
#include "jsonw_fixtures.h"

#include "../../reports/model/profile_read.h"

/* ---- profile_json ---------------------------------------------------- */

/* WEIRD_FILE (jsonw_fixtures.h) as written: its bad byte as U+FFFD. */
#define WEIRD_FILE_JSON "dir/we\\\"ird\\nna\\ufffdme.py"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_v2_two_threads_same_bytes),
        cmocka_unit_test(test_profile_empty),
        cmocka_unit_test(test_profile_fragments),
        cmocka_unit_test(test_profile_v2_fragments),
        cmocka_unit_test(test_profile_opcodes_summed),
        cmocka_unit_test(test_profile_incomplete),
        cmocka_unit_test(test_profile_many_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
