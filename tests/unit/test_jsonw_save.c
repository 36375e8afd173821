/*
 * test_jsonw_save.c - unit tests for reports/model/profile_json.c:
 * pf_json_save replaces the file whole or leaves the directory as it was.
 * The sample profile: jsonw_fixtures.h.
 */
#include "jsonw_fixtures.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

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
        cmocka_unit_test_setup_teardown(test_save_atomic, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_save_relative_path, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_save_fails_cleanly, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
