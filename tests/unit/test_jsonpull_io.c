/*
 * test_jsonpull_io.c - unit tests for reports/model/jsonpull.c: tokens
 * cut by the 64 KiB windows, gzip (whole, concatenated, corrupt,
 * truncated), pipes, read errors and jp_slurp.
 */
#include "jsonpull_fixtures.h"

#include <sys/wait.h>
#include <unistd.h>

#define WINDOW (64 * 1024)  /* jsonpull's fread size, to cut tokens with */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_cuts),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_truncated),
        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_slurp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
