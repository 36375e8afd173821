/*
 * test_outfile.c - unit tests for reports/outfile.c: what each kind of
 * output path becomes, and that no plan or write destroys a file it must
 * not.  Devices are private (mknod in the test's folder, as root; skipped
 * otherwise), never the system's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "../../reports/outfile.h"

static char dir[] = "/tmp/opprof-test-outfile-XXXXXX";
static char err[256];
static int calls;

static int setup(void **state)
{
    (void)state;
    strcpy(dir + strlen(dir) - 6, "XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static char *at(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *get(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int entries(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int write_hello(void *ctx, FILE *out, char *e, size_t n)
{
    (void)e;
    (void)n;
    calls++;
    fputs(ctx ? (const char *)ctx : "hello\n", out);
    return 0;
}

static int write_fails(void *ctx, FILE *out, char *e, size_t n)
{
    (void)ctx;
    fputs("half a profi", out);
    snprintf(e, n, "the writer failed");
    return -1;
}

/* Plans and writes `path`; the of_write result, err holding the reason. */
static int plan_write(const char *path, const of_guard *g, const of_guard *executed,
                      of_target **keep)
{
    of_target *t;
    if (of_plan(path, g, &t, err, sizeof err) < 0)
        return -2;
    int rc = of_write(t, executed, write_hello, NULL, err, sizeof err);
    if (keep)
        *keep = t;
    else
        of_release(t);
    return rc;
}

static void test_new_and_replaced_file(void **state)
{
    (void)state;
    assert_int_equal(plan_write(at("out.json"), NULL, NULL, NULL), 0);
    assert_string_equal(get(at("out.json")), "hello\n");
    assert_int_equal(entries(), 1);   /* no temporary file left */
    /* replaced whole and atomically (a new inode), keeping its mode */
    put(at("out.json"), "an old and much longer profile that must go entirely\n");
    assert_int_equal(chmod(at("out.json"), 0600), 0);
    struct stat before, after;
    assert_int_equal(stat(at("out.json"), &before), 0);
    assert_int_equal(plan_write(at("out.json"), NULL, NULL, NULL), 0);
    assert_int_equal(stat(at("out.json"), &after), 0);
    assert_string_equal(get(at("out.json")), "hello\n");
    assert_true(before.st_ino != after.st_ino);
    assert_int_equal(after.st_mode & 07777, 0600);
    assert_int_equal(entries(), 1);
}

static void test_failed_write_keeps_the_old_file(void **state)
{
    (void)state;
    put(at("keep.json"), "precious\n");
    of_target *t;
    assert_int_equal(of_plan(at("keep.json"), NULL, &t, err, sizeof err), 0);
    assert_int_equal(of_write(t, NULL, write_fails, NULL, err, sizeof err), -1);
    assert_string_equal(err, "the writer failed");
    /* once only */
    assert_int_equal(of_write(t, NULL, write_hello, NULL, err, sizeof err), -1);
    of_release(t);
    assert_string_equal(get(at("keep.json")), "precious\n");
    assert_int_equal(entries(), 1);
}

static void test_refusals(void **state)
{
    (void)state;
    assert_int_equal(plan_write(at("no/such/dir/out.json"), NULL, NULL, NULL), -2);
    assert_string_equal(err, strerror(ENOENT));
    assert_int_equal(mkdir(at("sub"), 0755), 0);
    assert_int_equal(plan_write(at("sub"), NULL, NULL, NULL), -2);
    assert_string_equal(err, strerror(EISDIR));
    assert_int_equal(entries(), 1);
}

static void test_guard_by_any_name(void **state)
{
    (void)state;
    put(at("app.py"), "print('hi')\n");
    assert_int_equal(link(at("app.py"), at("hard.py")), 0);
    assert_int_equal(symlink("app.py", at("soft.py")), 0);
    of_guard *g = of_guard_new();
    assert_non_null(g);
    assert_int_equal(of_guard_add(g, at("app.py"), "the script being profiled"), 0);
    assert_int_equal(of_guard_add(g, at("missing.py"), "nothing"), 0);   /* protects nothing */
    const char *names[] = {"app.py", "hard.py", "soft.py"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plan_write(at(names[i]), g, NULL, NULL), -2);
        assert_string_equal(err, "it is the script being profiled");
    }
    assert_int_equal(plan_write(at("missing.py"), g, NULL, NULL), 0);
    of_guard_release(g);
    assert_string_equal(get(at("app.py")), "print('hi')\n");
}

static void test_executed_file_is_diverted(void **state)
{
    (void)state;
    put(at("helper.py"), "X = 1\n");
    of_guard *ex = of_guard_new();
    assert_non_null(ex);
    of_target *t;
    assert_int_equal(of_plan(at("helper.py"), NULL, &t, err, sizeof err), 0);
    /* the run imports it after the plan: only the write can tell */
    assert_int_equal(of_guard_add(ex, at("helper.py"), "a file the run executed"), 0);
    assert_int_equal(of_write(t, ex, write_hello, NULL, err, sizeof err), 0);
    assert_true(of_diverted(t));
    assert_string_equal(of_path(t), at("helper.py"));
    assert_string_equal(of_written_to(t), at("helper.py.opprof"));
    of_release(t);
    of_guard_release(ex);
    assert_string_equal(get(at("helper.py")), "X = 1\n");
    assert_string_equal(get(at("helper.py.opprof")), "hello\n");
    assert_int_equal(entries(), 2);
}

static void test_symlink_followed(void **state)
{
    (void)state;
    assert_int_equal(mkdir(at("d"), 0755), 0);
    put(at("d/real.json"), "old\n");
    assert_int_equal(symlink("d/real.json", at("link.json")), 0);   /* relative */
    assert_int_equal(symlink("link.json", at("link2.json")), 0);    /* a chain */
    assert_int_equal(plan_write(at("link2.json"), NULL, NULL, NULL), 0);
    struct stat sb;
    assert_int_equal(lstat(at("link.json"), &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(lstat(at("link2.json"), &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_string_equal(get(at("d/real.json")), "hello\n");
    /* a dangling link: its target is created */
    assert_int_equal(symlink("d/new.json", at("dangling.json")), 0);
    assert_int_equal(plan_write(at("dangling.json"), NULL, NULL, NULL), 0);
    assert_string_equal(get(at("d/new.json")), "hello\n");
    /* a loop is an error, not a hang */
    assert_int_equal(symlink("loop2", at("loop1")), 0);
    assert_int_equal(symlink("loop1", at("loop2")), 0);
    assert_int_equal(plan_write(at("loop1"), NULL, NULL, NULL), -2);
    assert_string_equal(err, strerror(ELOOP));
}

static void test_descriptor_names(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char name[64];
    const char *forms[] = {"/dev/fd/%d", "/proc/self/fd/%d"};
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, forms[i], p[1]);
        of_target *t;
        assert_int_equal(of_plan(name, NULL, &t, err, sizeof err), 0);
        assert_false(of_is_file(t));
        assert_false(of_is_std(t));
        /* held from plan time: what the script does to its own number later
         * does not matter */
        int saved = dup(p[1]);
        close(p[1]);
        assert_int_equal(of_write(t, NULL, write_hello, "through the descriptor\n", err,
                                  sizeof err), 0);
        of_release(t);
        assert_int_equal(dup2(saved, p[1]), p[1]);
        close(saved);
        char buf[64] = {0};
        assert_int_equal(read(p[0], buf, sizeof buf - 1), 23);
        assert_string_equal(buf, "through the descriptor\n");
    }
    close(p[0]);
    close(p[1]);
    /* no file is ever made for them */
    assert_int_equal(entries(), 0);

    of_target *a, *b, *c;
    assert_int_equal(of_plan("-", NULL, &a, err, sizeof err), 0);
    assert_int_equal(of_plan("/dev/stdout", NULL, &b, err, sizeof err), 0);
    assert_int_equal(of_plan("/dev/stderr", NULL, &c, err, sizeof err), 0);
    assert_true(of_is_std(a) && of_is_std(c));
    assert_true(of_same(a, b));
    assert_false(of_same(a, c));
    of_release(a);
    of_release(b);
    of_release(c);

    int closed = dup(0);
    close(closed);
    snprintf(name, sizeof name, "/dev/fd/%d", closed);
    assert_int_equal(of_plan(name, NULL, &a, err, sizeof err), -1);
    snprintf(name, sizeof name, "descriptor %d is not open", closed);
    assert_string_equal(err, name);
    int ro = open("/proc/self/stat", O_RDONLY);
    snprintf(name, sizeof name, "/proc/self/fd/%d", ro);
    assert_int_equal(of_plan(name, NULL, &a, err, sizeof err), -1);
    snprintf(name, sizeof name, "descriptor %d is not open for writing", ro);
    assert_string_equal(err, name);
    close(ro);
}

static void test_fifo(void **state)
{
    (void)state;
    assert_int_equal(mkfifo(at("fifo"), 0600), 0);
    of_target *t;
    assert_int_equal(of_plan(at("fifo"), NULL, &t, err, sizeof err), -1);
    assert_string_equal(err, "a FIFO with no reader (start the reader first)");
    int r = open(at("fifo"), O_RDONLY | O_NONBLOCK);
    assert_true(r >= 0);
    assert_int_equal(of_plan(at("fifo"), NULL, &t, err, sizeof err), 0);
    assert_false(of_is_file(t));
    assert_int_equal(of_write(t, NULL, write_hello, NULL, err, sizeof err), 0);
    of_release(t);
    char buf[16] = {0};
    assert_int_equal(read(r, buf, sizeof buf - 1), 6);
    assert_string_equal(buf, "hello\n");
    close(r);
    struct stat sb;
    assert_int_equal(lstat(at("fifo"), &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_int_equal(entries(), 1);
}

/* A private device node, or skip when this user cannot make one. */
static void make_device(const char *name, int major_, int minor_)
{
    if (mknod(at(name), S_IFCHR | 0600, makedev(major_, minor_)) != 0)
        skip();
}

static void test_null_device_discards(void **state)
{
    (void)state;
    make_device("null", 1, 3);
    calls = 0;
    assert_int_equal(plan_write(at("null"), NULL, NULL, NULL), 0);
    assert_int_equal(calls, 0);   /* nothing even formatted */
    struct stat sb;
    assert_int_equal(lstat(at("null"), &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    assert_int_equal(entries(), 1);
    /* through a symlink too */
    assert_int_equal(symlink("null", at("to-null")), 0);
    assert_int_equal(plan_write(at("to-null"), NULL, NULL, NULL), 0);
    assert_int_equal(calls, 0);
    assert_int_equal(lstat(at("null"), &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
}

static void test_other_device_written_directly(void **state)
{
    (void)state;
    /* /dev/full's numbers: the write reaches the device, which refuses it */
    make_device("full", 1, 7);
    assert_int_equal(plan_write(at("full"), NULL, NULL, NULL), -1);
    assert_string_equal(err, strerror(ENOSPC));
    struct stat sb;
    assert_int_equal(lstat(at("full"), &sb), 0);
    assert_true(S_ISCHR(sb.st_mode));
    assert_int_equal(entries(), 1);

    /* a terminal: what is written arrives on the other side */
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    int s = open(ptsname(m), O_RDWR | O_NOCTTY);
    struct termios tio;
    assert_int_equal(tcgetattr(s, &tio), 0);
    cfmakeraw(&tio);
    assert_int_equal(tcsetattr(s, TCSANOW, &tio), 0);
    assert_int_equal(plan_write(ptsname(m), NULL, NULL, NULL), 0);
    char buf[16] = {0};
    assert_int_equal(read(m, buf, sizeof buf - 1), 6);
    assert_string_equal(buf, "hello\n");
    close(s);
    close(m);
}

static void test_same(void **state)
{
    (void)state;
    put(at("a.json"), "");
    assert_int_equal(symlink("a.json", at("b.json")), 0);
    of_target *a, *b, *c, *d;
    assert_int_equal(of_plan(at("a.json"), NULL, &a, err, sizeof err), 0);
    assert_int_equal(of_plan(at("b.json"), NULL, &b, err, sizeof err), 0);
    assert_int_equal(of_plan(at("c.json"), NULL, &c, err, sizeof err), 0);
    assert_int_equal(of_plan(at("c.json"), NULL, &d, err, sizeof err), 0);
    assert_true(of_same(a, b));
    assert_false(of_same(a, c));
    assert_true(of_same(c, d));   /* neither exists yet */
    of_release(a);
    of_release(b);
    of_release(c);
    of_release(d);
}

static void test_absolute(void **state)
{
    (void)state;
    char *s = of_absolute("out.json", "/work");
    assert_string_equal(s, "/work/out.json");
    free(s);
    s = of_absolute("-", "/work");
    assert_string_equal(s, "-");
    free(s);
    s = of_absolute("/dev/stdout", "/work");
    assert_string_equal(s, "/dev/stdout");
    free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_and_replaced_file), T(test_failed_write_keeps_the_old_file),
        T(test_refusals),              T(test_guard_by_any_name),
        T(test_executed_file_is_diverted), T(test_symlink_followed),
        T(test_descriptor_names),      T(test_fifo),
        T(test_null_device_discards),  T(test_other_device_written_directly),
        T(test_same),                  T(test_absolute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
