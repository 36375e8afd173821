/*
 * test_sourcetext.c - a profile's source text (reports/model/sourcetext.h):
 * lines kept one per line whatever bytes they hold, the lines a function
 * shows, the compressed form and its checks, the v2 file both ways, and
 * merge's union.
 */
#include "profile_fixtures.h"

#include <zlib.h>

#include "../../reports/model/sourcetext.h"
#include "../../reports/model/strtab.h"

static pf_source *source_of(pf_profile *p, const char *file)
{
    pf_source *s = stx_file(p, file, NULL);
    assert_non_null(s);
    return s;
}

static void add(pf_source *s, uint32_t line, const char *text)
{
    assert_int_equal(stx_add_line(s, line, text, strlen(text)), 0);
}

static void assert_line(const pf_source *s, uint32_t line, const char *want)
{
    size_t len = 0;
    const char *t = stx_line(s, line, &len);
    if (!want) {
        assert_null(t);
        return;
    }
    assert_non_null(t);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(t, want, len);
}

static void test_lines_stay_lines(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    pf_source *s = source_of(p, "/p/a.py");
    add(s, 3, "def f():");
    assert_int_equal(stx_add_line(s, 3, "again", 5), -1);   /* lines rise */
    assert_int_equal(stx_add_line(s, 0, "x", 1), -1);
    add(s, 4, "    return 'caf\xc3\xa9'");
    assert_int_equal(stx_add_line(s, 7, "a\nb\rc\0d\xff", 8), 0);
    add(s, 9, "");
    assert_line(s, 3, "def f():");
    assert_line(s, 4, "    return 'caf\xc3\xa9'");
    assert_line(s, 7, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xef\xbf\xbd");
    assert_line(s, 9, "");
    assert_line(s, 5, NULL);
    assert_line(s, 1, NULL);
    assert_line(s, 10, NULL);
    assert_int_equal(stx_lower_bound(s, 5), 2);
    assert_int_equal(stx_lower_bound(s, 10), 4);
    /* files in name order, found by name, each once */
    source_of(p, "/p/0.py");
    int added = -1;
    assert_ptr_equal(stx_file(p, "/p/a.py", &added)->lines, stx_find(p, "/p/a.py")->lines);
    assert_int_equal(added, 0);
    assert_int_equal(p->nsources, 2);
    assert_string_equal(p->sources[0].file, "/p/0.py");
    assert_null(stx_find(p, "/p/b.py"));
    pf_profile_release(p);
}

static void test_function_lines(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    const ins fn[] = {{0, "RESUME", 10, 1}, {2, "LOAD_FAST", 12, 1}, {4, "RETURN_VALUE", 14, 1}};
    const ins mod[] = {{0, "RESUME", -1, 1}, {2, "LOAD_CONST", 1, 1}, {4, "STORE_NAME", 10, 1},
                       {6, "RETURN_CONST", 20, 1}};
    size_t f = add_fn(p, "/p/a.py", "f", 9, fn, N(fn));   /* a decorator on line 9 */
    size_t m = add_fn_scope(p, "/p/a.py", "<module>", 1, PF_SCOPE_MODULE, 1, mod, N(mod));
    uint32_t *v;
    size_t n;
    /* a function: every line of its body, comments and blank lines too */
    assert_int_equal(stx_function_lines(&p->functions[f], &v, &n), 0);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i], 9 + i);
    free(v);
    /* a module: its own lines, not its functions' bodies */
    assert_int_equal(stx_function_lines(&p->functions[m], &v, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(v[0], 1);
    assert_int_equal(v[1], 10);
    assert_int_equal(v[2], 20);
    free(v);
    pf_profile_release(p);
}

static void test_encode_decode(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/p", NULL);
    pf_source *s = source_of(p, "/p/a.py");
    for (uint32_t i = 1; i <= 300; i++) {
        char line[64];
        snprintf(line, sizeof line, "    x%u = %u  # caf\xc3\xa9", i, i * i);
        add(s, 2 * i, line);
    }
    char *b = stx_encode(s, 1);
    assert_non_null(b);
    pf_source t = {0};
    char err[160];
    assert_int_equal(stx_decode(&t, s->lines, s->nlines, b, strlen(b), err, sizeof err), 0);
    assert_int_equal(t.nlines, 300);
    assert_memory_equal(t.at, s->at, 301 * sizeof *t.at);
    assert_memory_equal(t.text, s->text, s->at[300]);
    free(t.lines), free(t.at), free(t.text);
    /* another number of lines than line numbers */
    memset(&t, 0, sizeof t);
    assert_int_equal(stx_decode(&t, s->lines, 299, b, strlen(b), err, sizeof err), -1);
    assert_non_null(strstr(err, "number of lines"));
    free(t.lines), free(t.at), free(t.text);
    /* line numbers that do not rise */
    uint32_t down[300];
    memcpy(down, s->lines, sizeof down);
    down[5] = down[4];
    memset(&t, 0, sizeof t);
    assert_int_equal(stx_decode(&t, down, 300, b, strlen(b), err, sizeof err), -1);
    free(t.lines), free(t.at), free(t.text);
    /* not base64, not zlib */
    memset(&t, 0, sizeof t);
    assert_int_equal(stx_decode(&t, s->lines, 300, "!!!!", 4, err, sizeof err), -1);
    assert_non_null(strstr(err, "zlib"));
    char *junk = pf_base64_encode((const unsigned char *)"not zlib at all", 15);
    assert_int_equal(stx_decode(&t, s->lines, 300, junk, strlen(junk), err, sizeof err), -1);
    free(junk);
    /* a truncated stream */
    assert_int_equal(stx_decode(&t, s->lines, 300, b, strlen(b) / 2 / 4 * 4, err, sizeof err),
                     -1);
    free(b);
    pf_profile_release(p);
}

static void test_decode_refuses_a_bomb(void **state)
{
    (void)state;
    /* 65 MB of '\n' deflate to 64 kB: a reader must not inflate it all */
    static char mb[1 << 20];
    memset(mb, '\n', sizeof mb);
    z_stream st = {0};
    assert_int_equal(deflateInit(&st, 9), Z_OK);
    size_t cap = 1 << 20, n = 0;
    unsigned char *z = malloc(cap);
    assert_non_null(z);
    for (int i = 0; i <= 65; i++) {
        st.next_in = (Bytef *)mb;
        st.avail_in = sizeof mb;
        st.next_out = z + n;
        st.avail_out = (uInt)(cap - n);
        assert_int_not_equal(deflate(&st, i == 65 ? Z_FINISH : Z_NO_FLUSH), Z_STREAM_ERROR);
        n = cap - st.avail_out;
    }
    deflateEnd(&st);
    char *b = pf_base64_encode(z, n);
    free(z);
    const uint32_t lines[] = {1};
    pf_source t = {0};
    char err[160];
    assert_int_equal(stx_decode(&t, lines, 1, b, strlen(b), err, sizeof err), -1);
    assert_non_null(strstr(err, "64 MB"));
    free(b);
}

static pf_profile *with_sources(const char *first_text)
{
    pf_profile *p = profile_new("/p", NULL);
    const ins fn[] = {{0, "RESUME", 2, 1}, {2, "LOAD_FAST", 3, 1}};
    add_fn(p, "/p/a.py", "f", 2, fn, N(fn));
    add_fn(p, "/p/b\xff.py", "g", 2, fn, N(fn));
    pf_source *s = source_of(p, "/p/a.py");
    add(s, 2, first_text);
    add(s, 3, "    return \"\\u2028 \xe2\x80\xa8 <script>\"");
    s = source_of(p, "/p/b\xff.py");
    add(s, 3, "    pass");
    p->sources_omitted = 2;
    return p;
}

static void test_file_round_trip(void **state)
{
    (void)state;
    pf_profile *p = with_sources("def f():");
    pf_profile *q = save_and_read(p, "src.json");
    assert_int_equal(q->nsources, 2);
    assert_int_equal(q->sources_omitted, 2);
    assert_line(stx_find(q, "/p/a.py"), 2, "def f():");
    assert_line(stx_find(q, "/p/a.py"), 3, "    return \"\\u2028 \xe2\x80\xa8 <script>\"");
    assert_line(stx_find(q, "/p/b\xff.py"), 3, "    pass");
    char *jp = to_json(p), *jq = to_json(q);
    assert_string_equal(jp, jq);
    free(jp);
    free(jq);
    pf_profile_release(q);
    /* a reader that does not keep them skips them */
    char *path = path_in_tmp("src.json"), err[256];
    assert_int_equal(pf_read_file_keep(path, PF_KEEP_CODE, &q, err, sizeof err), 0);
    assert_int_equal(q->nsources, 0);
    free(path);
    pf_profile_release(q);
    pf_profile_release(p);
}

/* A v2 file whose "sources" is `sources`, read back: 0 or -1 with err. */
static int read_with(const char *sources, char *err, size_t errlen)
{
    char *path = path_in_tmp("bad.json");
    char *doc = NULL;
    assert_true(asprintf(&doc, "{\"schema\":\"opprof-profile\",\"version\":2,\"python\":"
                               "{\"version\":\"3.12.1\",\"implementation\":\"cpython\","
                               "\"hexversion\":51118576,\"build\":\"b\",\"specialization\":true,"
                               "\"executable\":\"p\",\"prefix\":\"/usr\"},\"root\":\"/\","
                               "\"hash_seed\":\"0\",\"argv\":[],\"exit_status\":0,"
                               "\"incomplete\":false,\"collector\":\"c\",\"stacks_enabled\":false,"
                               "\"counted\":true,\"totals\":{\"instructions\":0,\"wall_ns\":0},"
                               "\"strings\":[\"/p/a.py\"],\"opnames\":[\"CACHE\"],"
                               "\"processes\":[],\"threads\":[],\"functions\":[],"
                               "\"nodes\":{\"parent\":[],\"function\":[],\"thread\":[],"
                               "\"instructions\":[],\"ops\":[]},\"sources\":%s}\n", sources) > 0);
    write_text(path, doc);
    free(doc);
    pf_profile *q = NULL;
    int rc = pf_read_file(path, &q, err, errlen);
    pf_profile_release(q);
    free(path);
    return rc;
}

static void test_reader_refuses(void **state)
{
    (void)state;
    char err[512], good[256];
    pf_profile *p = profile_new("/p", NULL);
    pf_source *s = source_of(p, "/p/a.py");
    add(s, 1, "x = 1");
    add(s, 2, "y = 2");
    char *b = stx_encode(s, 6);
    pf_profile_release(p);
    snprintf(good, sizeof good, "{\"omitted\":0,\"files\":[{\"file\":0,\"lines\":[1,1],"
             "\"text\":\"%s\"}]}", b);
    assert_int_equal(read_with(good, err, sizeof err), 0);
    struct { const char *what, *doc, *says; } bad[] = {
        {"a string not in the table", "{\"files\":[{\"file\":3,\"lines\":[1],\"text\":\"\"}]}",
         "not in the string table"},
        {"no text", "{\"files\":[{\"file\":0,\"lines\":[1]}]}", "without"},
        {"lines that do not rise", "{\"files\":[{\"file\":0,\"lines\":[1,0],\"text\":\"TEXT\"}]}",
         "do not rise"},
        {"one line too few", "{\"files\":[{\"file\":0,\"lines\":[1],\"text\":\"TEXT\"}]}",
         "number of lines"},
        {"a file twice", "{\"files\":[{\"file\":0,\"lines\":[1,1],\"text\":\"TEXT\"},"
                         "{\"file\":0,\"lines\":[1,1],\"text\":\"TEXT\"}]}", "twice"},
        {"not zlib", "{\"files\":[{\"file\":0,\"lines\":[1],\"text\":\"AAAA\"}]}", "zlib"},
        {"a negative omitted", "{\"omitted\":-1,\"files\":[]}", "negative"},
        {"not an object", "[]", "sources"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        char doc[512], *t = strstr(bad[i].doc, "TEXT");
        if (t)
            snprintf(doc, sizeof doc, "%.*s%s%s", (int)(t - bad[i].doc), bad[i].doc, b, t + 4);
        else
            snprintf(doc, sizeof doc, "%s", bad[i].doc);
        err[0] = 0;
        if (read_with(doc, err, sizeof err) == 0 || !strstr(err, bad[i].says) || strchr(err, '\n'))
            fail_msg("%s: read, or said %s", bad[i].what, err);
    }
    /* keys a later version adds are skipped */
    snprintf(good, sizeof good, "{\"later\":[1,{}],\"files\":[{\"file\":0,\"lines\":[1,1],"
             "\"more\":{\"x\":1},\"text\":\"%s\"}]}", b);
    assert_int_equal(read_with(good, err, sizeof err), 0);
    free(b);
}

static void test_merge_unites(void **state)
{
    (void)state;
    pf_profile *a = with_sources("def f():  # a");
    pf_profile *b = with_sources("def f():  # b");
    pf_source *s = stx_file(b, "/p/a.py", NULL);
    add(s, 9, "    # only b has it");
    s = source_of(b, "/p/c.py");
    add(s, 1, "import a");
    pf_profile *in[] = {a, b}, *m = NULL;
    char err[128];
    assert_int_equal(pf_merge(in, 2, &m, err, sizeof err), 0);
    assert_int_equal(m->nsources, 3);
    assert_int_equal(m->sources_omitted, 4);
    const pf_source *x = stx_find(m, "/p/a.py");
    assert_int_equal(x->nlines, 3);
    assert_line(x, 2, "def f():  # a");   /* the first input's text of a line */
    assert_line(x, 9, "    # only b has it");
    assert_line(stx_find(m, "/p/c.py"), 1, "import a");
    /* through the file, as opprof merge reads its inputs */
    char *pa = path_in_tmp("ma.json"), *pb = path_in_tmp("mb.json");
    assert_int_equal(pf_json_save(a, pa, err, sizeof err), 0);
    assert_int_equal(pf_json_save(b, pb, err, sizeof err), 0);
    pf_merger *g = pf_merger_new();
    pf_profile *m2 = NULL;
    assert_int_equal(pf_merger_read(g, pa, err, sizeof err), 0);
    assert_int_equal(pf_merger_read(g, pb, err, sizeof err), 0);
    assert_int_equal(pf_merger_finish(g, &m2, err, sizeof err), 0);
    pf_merger_release(g);
    char *j1 = to_json(m), *j2 = to_json(m2);
    assert_string_equal(j1, j2);
    free(j1), free(j2), free(pa), free(pb);
    pf_profile_release(m2);
    pf_profile_release(m);
    pf_profile_release(a);
    pf_profile_release(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_stay_lines),
        cmocka_unit_test(test_function_lines),
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_decode_refuses_a_bomb),
        cmocka_unit_test(test_file_round_trip),
        cmocka_unit_test(test_reader_refuses),
        cmocka_unit_test(test_merge_unites),
    };
    return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
