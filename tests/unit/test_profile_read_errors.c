/*
 * test_profile_read_errors.c - unit tests for reports/model/profile_read.c
 * (pf_read_file): what it refuses, and the round trips (compact code,
 * native modules) checked by editing the written document.  Profiles are
 * built by hand (profile_fixtures.h).
 */
#include "profile_fixtures.h"
#include "../../reports/model/opcodes.h"

/* ---- pf_read_file errors -------------------------------------------- */

/* A minimal valid profile; the numbers make it invalid in chosen ways. */
static char *minimal_doc(int version, int total, int id, int frame)
{
    char *doc = NULL;
    assert_true(asprintf(&doc,
        "{\"schema\": \"opprof-profile\", \"version\": %d,\n"
        " \"python\": {\"version\": \"3.12.1\", \"implementation\": \"cpython\","
        " \"hexversion\": 51118576},\n"
        " \"argv\": [\"m.py\"], \"exit_status\": 0,\n"
        " \"totals\": {\"instructions\": %d, \"wall_ns\": 10},\n"
        " \"functions\": [\n"
        "  {\"id\": 0, \"file\": \"m.py\", \"name\": \"f\", \"qualname\": \"f\","
        " \"firstlineno\": 1, \"scope\": \"function\", \"calls\": 1, \"instructions\": 5,"
        " \"code\": [{\"offset\": 0, \"opname\": \"RESUME\", \"line\": null, \"count\": 2},"
        " {\"offset\": 2, \"opname\": \"LOAD_FAST\", \"line\": 1, \"count\": 3}]},\n"
        "  {\"id\": %d, \"file\": \"m.py\", \"name\": \"g\", \"qualname\": \"g\","
        " \"firstlineno\": 4, \"scope\": \"function\", \"calls\": 0, \"instructions\": 0,"
        " \"code\": []}\n"
        " ],\n"
        " \"stacks\": [{\"thread\": \"MainThread\", \"frames\": [%d], \"instructions\": 5,"
        " \"opcodes\": {\"LOAD_FAST\": {\"count\": 3}, \"RESUME\": {\"count\": 2}}}]}\n",
        version, total, id, frame) > 0);
    return doc;
}

static void expect_read_error(const char *name, const char *text, const char *needle);

/* `text` with its first `from` replaced by `to`; the caller frees. */
/* not inlined: gcc 12 then takes to_json's open_memstream buffer for a
 * dangling pointer (-Wdangling-pointer false positive) */
__attribute__((noinline)) static char *replaced(const char *text, const char *from,
                                                const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t head = (size_t)(at - text), n = strlen(text), nto = strlen(to), nfrom = strlen(from);
    char *out = malloc(n - nfrom + nto + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    memcpy(out + head, to, nto);
    memcpy(out + head + nto, text + head + nfrom, n - head - nfrom + 1);
    return out;
}

/* An opcode of 3.12 by name, from the reader's own tables. */
static unsigned op312(const char *name)
{
    const oc_table *t = oc_table_for(12);
    for (unsigned op = 0; op < 256; op++)
        if (t->ops[op].name && strcmp(t->ops[op].name, name) == 0)
            return op;
    fail_msg("no %s in 3.12", name);
    return 0;
}

/* A function's code (pf_code) in the compact forms of profile-v2.md: the
 * caches left out and put back, constants not loaded as -1, the line
 * table as runs (a range without a line among them); and the runs of
 * the count columns. */
static void test_round_trip_code(void **state)
{
    (void)state;
    pf_profile *p = pf_profile_new();
    assert_non_null(p);
    set(&p->python_version, "3.12.1");
    set(&p->implementation, "cpython");
    p->hexversion = 0x030c01f0;
    size_t id = add_simple(p, "m.py", "f", 4, 12);   /* moves p->functions */
    pf_function *f = &p->functions[id];
    uint16_t op = f->code[0].op;   /* an index into the fixture's opnames */
    /* RESUME; LOAD_GLOBAL 1 (4 caches); LOAD_CONST 1; CALL 1 (3 caches);
     * RETURN_VALUE: 12 code units, 7 of them caches */
    unsigned char code[24] = {0};
    code[0] = (unsigned char)op312("RESUME");
    code[2] = (unsigned char)op312("LOAD_GLOBAL"), code[3] = 1;
    code[12] = (unsigned char)op312("LOAD_CONST"), code[13] = 1;
    code[14] = (unsigned char)op312("CALL"), code[15] = 1;
    code[22] = (unsigned char)op312("RETURN_VALUE");
    pf_code *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->bytes = malloc(sizeof code);
    assert_non_null(c->bytes);
    memcpy(c->bytes, code, sizeof code);
    c->nbytes = sizeof code;
    c->names = calloc(2, sizeof *c->names);
    c->consts = calloc(3, sizeof *c->consts);   /* [0]: a docstring no one loads */
    c->lines = calloc(3, sizeof *c->lines);
    assert_true(c->names && c->consts && c->lines);
    set(&c->names[0], "print");
    c->nnames = 1;
    set(&c->consts[1], "'hi'");
    c->nconsts = 2;
    c->lines[0] = (dz_line_range){0, 2, 4};
    c->lines[1] = (dz_line_range){2, 22, 5};
    c->lines[2] = (dz_line_range){22, 24, -1};
    c->nlines = 3;
    f->codeinfo = c;
    f->ncode = 4;   /* four offsets run 3 times each: runs in both columns */
    pf_instr *v = calloc(4, sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < 4; i++)
        v[i] = (pf_instr){.offset = (uint32_t)(2 * i), .op = op, .line = 5, .count = 3};
    free(f->code);
    f->code = v;
    f->instructions = p->instructions = 12;

    char *text = to_json(p);
    assert_non_null(strstr(text, "\"offset_deltas\":[0,2,-2],\"counts\":[3,-3],"));
    assert_non_null(strstr(text, "\"consts\":[-1,"));
    assert_non_null(strstr(text, "\"line_runs\":[1,4,10,1,-1]"));
    assert_non_null(strstr(text, "\"packed\":\""));
    assert_null(strstr(text, "\"bytes\":"));

    char *path = path_in_tmp("code.json");
    char err[512] = "";
    assert_int_equal(pf_json_save(p, path, err, sizeof err), 0);
    pf_profile *q = NULL;
    if (pf_read_file_keep(path, PF_KEEP_ALL, &q, err, sizeof err) != 0)
        fail_msg("%s", err);
    const pf_code *d = q->functions[0].codeinfo;
    assert_non_null(d);
    assert_int_equal(d->nbytes, sizeof code);
    assert_memory_equal(d->bytes, code, sizeof code);
    assert_int_equal(d->nconsts, 2);
    assert_null(d->consts[0]);
    assert_string_equal(d->consts[1], "'hi'");
    assert_int_equal(d->nlines, 3);
    assert_memory_equal(d->lines, c->lines, 3 * sizeof *d->lines);
    assert_int_equal(q->functions[0].ncode, 4);
    assert_int_equal(q->functions[0].code[3].offset, 6);
    assert_int_equal(q->functions[0].code[3].count, 3);
    char *again = to_json(q);
    assert_string_equal(text, again);
    free(again);
    /* runs that cannot be */
    static const struct { const char *from, *to, *needle; } bad[] = {
        {"\"counts\":[3,-3]", "\"counts\":[-3,3]", "no value before it"},
        {"\"counts\":[3,-3]", "\"counts\":[3,-33554432]", "too long"},
        {"\"counts\":[3,-3]", "\"counts\":[3,-9223372036854775808]", "too long"},
        {"\"line_runs\":[1,4,10,1,-1]", "\"line_runs\":[1,4,10]", "without its line"},
        {"\"consts\":[-1,", "\"consts\":[-2,", "out of range"},
        {"\"packed\":\"", "\"packed\":\"AAAA", "not code of Python 3.12"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *doc = replaced(text, bad[i].from, bad[i].to);
        expect_read_error("badrun.json", doc, bad[i].needle);
        free(doc);
    }
    free(text);
    free(path);
    pf_profile_release(q);
    pf_profile_release(p);
}

static void expect_read_error(const char *name, const char *text, const char *needle)
{
    char *path = path_in_tmp(name);
    if (text)
        write_text(path, text);
    char err[512];
    memset(err, 0, sizeof err);
    pf_profile *p = (pf_profile *)err;      /* must be reset */
    int rc = pf_read_file(path, &p, err, sizeof err);
    if (rc != -1)
        fail_msg("%s: read without error", name);
    assert_null(p);
    if (err[0] == 0)
        fail_msg("%s: empty error message", name);
    if (strchr(err, '\n'))
        fail_msg("%s: error message on several lines: %s", name, err);
    if (needle && !strstr(err, needle))
        fail_msg("%s: error \"%s\" does not mention \"%s\"", name, err, needle);
    free(path);
}

/* --native: the stacks and the modules of their frames, both versions;
 * modules out of order or half pairs are refused. */
static void test_round_trip_native(void **state)
{
    (void)state;
    pf_profile *p = full_profile();
    p->native = 1;
    p->native_stats.samples = 2;
    pf_native_stack *s = pf_add_native_stack(p);
    assert_non_null(s);
    s->frames = calloc(3, sizeof *s->frames);
    assert_non_null(s->frames);
    set(&s->frames[s->nframes++], "Worker.work (script.py:3)");
    set(&s->frames[s->nframes++], "deflate [native]");
    s->samples = 2;
    s->time_ns = 2000;
    p->native_modules = calloc(2, sizeof *p->native_modules);
    assert_non_null(p->native_modules);
    set(&p->native_modules[0].label, "deflate [native]");
    set(&p->native_modules[0].module, "/lib/libz.so.1");
    set(&p->native_modules[1].label, "memcpy [native]");
    set(&p->native_modules[1].module, "/lib/libc.so.6");
    p->nnative_modules = 2;
    pf_profile *q = save_and_read(p, "native.json");
    assert_int_equal(q->nnative_stacks, 1);
    assert_int_equal(q->nnative_modules, 2);
    assert_string_equal(q->native_modules[1].label, "memcpy [native]");
    assert_string_equal(q->native_modules[1].module, "/lib/libc.so.6");
    char *j1 = to_json(p), *j2 = to_json(q);
    assert_string_equal(j1, j2);
    assert_non_null(strstr(j1, "\"native_modules\":[[\"deflate [native]\",\"/lib/libz.so.1\"],"));
    /* v1's layout carries them too */
    char *path = path_in_tmp("native-v1.json"), err[256] = "";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(pf_json_write_v1(p, f), 0);
    assert_int_equal(fclose(f), 0);
    pf_profile *r = NULL;
    if (pf_read_file(path, &r, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(r->nnative_modules, 2);
    pf_profile_release(r);
    /* out of order, or not a pair of strings */
    const char *bad[] = {"[[\"memcpy [native]\",\"/lib/libc.so.6\"],[\"deflate [native]\",\"/z\"]]",
                         "[[\"deflate [native]\"]]", "[[\"deflate [native]\",3]]", "{}"};
    for (size_t i = 0; i < N(bad); i++) {
        char *doc = replaced(j1, "[[\"deflate [native]\",\"/lib/libz.so.1\"],[\"memcpy [native]\","
                             "\"/lib/libc.so.6\"]]", bad[i]);
        write_text(path, doc);
        r = NULL;
        assert_int_equal(pf_read_file(path, &r, err, sizeof err), -1);
        assert_non_null(strstr(err, "native_modules"));
        free(doc);
    }
    free(path);
    free(j1);
    free(j2);
    pf_profile_release(q);
    pf_profile_release(p);
}

static void test_read_minimal(void **state)
{
    (void)state;
    char *doc = minimal_doc(1, 5, 1, 1);
    char *path = path_in_tmp("minimal.json");
    write_text(path, doc);
    char err[256] = "";
    pf_profile *p = NULL;
    int rc = pf_read_file(path, &p, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(p->nfunctions, 2);
    assert_int_equal(p->instructions, 5);
    assert_int_equal(p->wall_ns, 10);
    assert_int_equal(p->functions[0].code[0].line, -1);
    assert_int_equal(p->functions[0].code[1].line, 1);
    assert_int_equal(p->nnodes, 1);
    assert_int_equal(p->nodes[0].function, 1);
    assert_int_equal(stack_op_count(p, &p->nodes[0], "RESUME"), 2);
    assert_int_equal(p->stacks_enabled, 0);     /* absent: false */
    assert_null(p->root);
    pf_profile_release(p);
    free(path);
    free(doc);
}

static void test_read_errors(void **state)
{
    (void)state;
    char *doc = minimal_doc(1, 5, 1, 1);
    char *truncated = strdup(doc);
    assert_non_null(truncated);
    truncated[strlen(truncated) / 2] = 0;
    expect_read_error("missing.json", NULL, "missing.json");
    expect_read_error("empty.json", "", "not valid JSON");
    expect_read_error("text.json", "opprof was here\n", "not valid JSON");
    expect_read_error("truncated.json", truncated, "not valid JSON");
    expect_read_error("array.json", "[1, 2, 3]", "not an opprof profile");
    expect_read_error("other.json", "{\"schema\":\"other\"}", "not an opprof profile");
    expect_read_error("noschema.json", "{\"version\": 1}", "not an opprof profile");
    expect_read_error("dup.json", "{\"schema\":\"opprof-profile\",\"schema\":\"x\"}", NULL);
    free(truncated);
    free(doc);
    struct {
        const char *name;
        int version, total, id, frame;
        const char *needle;
    } bad[] = {
        {"v3.json", 3, 5, 1, 1, "version 3"},
        {"v0.json", 0, 5, 1, 1, "version"},
        {"total.json", 1, 6, 1, 1, "totals.instructions"},
        {"total0.json", 1, 0, 1, 1, "totals.instructions"},
        {"frame.json", 1, 5, 1, 2, "stack 0"},
        {"frame-neg.json", 1, 5, 1, -1, "stack 0"},
        {"id.json", 1, 5, 7, 1, "id"},
        {"id0.json", 1, 5, 0, 0, "id"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        doc = minimal_doc(bad[i].version, bad[i].total, bad[i].id, bad[i].frame);
        expect_read_error(bad[i].name, doc, bad[i].needle);
        free(doc);
    }
    /* a directory is not a file */
    expect_read_error(".", NULL, "is a directory, not a profile");
}

/* minimal_doc with its text edited: `from` (which must be there) -> `to` */
static char *edited(const char *from, const char *to)
{
    char *doc = minimal_doc(1, 5, 1, 1);
    size_t head = 0, n = strlen(from);
    while (doc[head] && strncmp(doc + head, from, n) != 0)
        head++;
    assert_true(doc[head]);
    char *out = malloc(strlen(doc) + strlen(to) + 1);
    assert_non_null(out);
    memcpy(out, doc, head);
    strcpy(out + head, to);
    strcat(out, doc + head + strlen(from));
    free(doc);
    return out;
}

static void test_read_refuses_impossible_counts(void **state)
{
    (void)state;
    struct {
        const char *name, *from, *to, *needle;
    } bad[] = {
        /* by offset, as opprof writes it (annotate searches it) */
        {"order.json", "\"offset\": 2", "\"offset\": 0", "offset order"},
        /* a function's instructions are its code's counts */
        {"fsum.json", "\"count\": 3}", "\"count\": 4}", "not the sum of its code"},
        /* INT64_MAX counts that would overflow every sum after them */
        {"huge.json", "\"count\": 2}", "\"count\": 9223372036854775807}", "2^63-1"},
        {"huge-time.json", "\"count\": 2}", "\"count\": 2, \"time_ns\": 9223372036854775807},"
         " {\"offset\": 1, \"opname\": \"NOP\", \"count\": 0, \"time_ns\": 9}",
         "2^63-1"},
        {"toobig.json", "\"count\": 2}", "\"count\": 9223372036854775808}", "not valid JSON"},
        {"negative.json", "\"count\": 2}", "\"count\": -2}", "count"},
        /* an error quoting a string of the file stays one line */
        {"newline.json", "\"scope\": \"function\", \"calls\": 1",
         "\"scope\": \"func\\ntion\", \"calls\": 1", "unknown scope"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        char *doc = edited(bad[i].from, bad[i].to);
        expect_read_error(bad[i].name, doc, bad[i].needle);
        free(doc);
    }
    char *dev = path_in_tmp("device.json");
    assert_int_equal(symlink("/dev/null", dev), 0);   /* a device, by any name */
    expect_read_error("device.json", NULL, "is a device, not a profile");
    free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_native),
        cmocka_unit_test(test_read_minimal),
        cmocka_unit_test(test_round_trip_code),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_read_refuses_impossible_counts),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
