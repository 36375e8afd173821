/*
 * test_annotate.c - `opprof annotate` on a fixed saved profile: the listing
 * byte for byte against a golden file, and finding functions.
 * OPPROF_UPDATE_GOLDEN=1 rewrites the golden file (check the git diff).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "golden.h"
#include "profile_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/annotate.h"
#include "../../reports/model/profile_read.h"
#include "../../reports/model/sourcetext.h"

#define DIR "tests/golden/annotate/"

static pf_profile *load(void)
{
    pf_profile *p = NULL;
    char err[256];
    if (pf_read_file(DIR "profile.json", &p, err, sizeof err) < 0)
        fail_msg("%s", err);
    return p;
}

static char *render(const pf_profile *p, size_t i)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(an_render(p, &p->functions[i], 0, f), 0);
    fclose(f);
    return buf;
}

static void test_golden(void **state)
{
    (void)state;
    pf_profile *p = load();
    char *text = render(p, 0);
    golden_check(DIR "work.txt", text);
    /* what a reader relies on */
    assert_non_null(strstr(text, "Outer.work (app.py:3)"));
    assert_non_null(strstr(text, "RAISE_VARARGS"));   /* never ran: listed, marked */
    assert_non_null(strstr(text, "line total"));
    free(text);
    pf_profile_release(p);
}

/* The profile's source text above the instructions of each line, where
 * it has the line; control characters but tabs escaped. */
static void test_source_lines(void **state)
{
    (void)state;
    pf_profile *p = load();
    pf_source *s = stx_file(p, p->functions[0].file, NULL);
    assert_non_null(s);
    const char *text[] = {"    total = 0", "    for i in range(SCALE):", "\tx = '\x1b[2J'"};
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(stx_add_line(s, 4 + i, text[i], strlen(text[i])), 0);
    char *out = render(p, 0);
    const char *want = "     4 |     total = 0\n     4      2  LOAD_CONST";
    if (!strstr(out, want))
        fail_msg("no source line above line 4's row:\n%s", out);
    assert_non_null(strstr(out, "     5 |     for i in range(SCALE):\n     5      4  FOR_ITER"));
    assert_non_null(strstr(out, "     6 | \tx = '\\x1b[2J'\n"));
    assert_null(strstr(out, "     3 | "));   /* no text of line 3: no source line */
    free(out);
    pf_profile_release(p);
}

static void test_find(void **state)
{
    (void)state;
    pf_profile *p = load();
    size_t idx[4];
    assert_int_equal(an_find(p, "Outer.work", 3, idx), 1);
    assert_int_equal(an_find(p, "work", 3, idx), 1);
    assert_int_equal(an_find(p, "app.py:3", 3, idx), 1);
    assert_int_equal(an_find(p, "src/app.py:3", 3, idx), 1);
    assert_int_equal(an_find(p, "pp.py:3", 3, idx), 0);     /* whole path components */
    assert_int_equal(an_find(p, "app.py:4", 3, idx), 0);
    assert_int_equal(an_find(p, "nope", 3, idx), 0);
    assert_int_equal(an_find(p, NULL, 3, idx), 1);
    pf_profile_release(p);
}

/* an_read keeps the code of only what an_find can choose: the top
 * functions by either ranking (timed or not is known at the file's end),
 * or those a spec matches; what it shows is what a whole read shows. */
static void test_read_keeps_what_it_can_show(void **state)
{
    (void)state;
    pf_profile *p = profile_new("/src", "/usr");
    size_t a = add_simple(p, "/src/app.py", "a", 1, 5);
    size_t b = add_simple(p, "/src/app.py", "b", 10, 50);
    size_t c = add_simple(p, "/src/app.py", "c", 20, 1);
    size_t d = add_simple(p, "/src/app.py", "d", 30, 50);   /* ties b: the lower id ranks first */
    p->timed = 1;
    assert_int_equal(pf_add_instr_time(&p->functions[c], 0, 9000, 9), 0);
    p->functions[c].time_ns = 9000;
    p->time_ns = 9000;
    char *path = path_in_tmp("p.json");
    char err[256] = "";
    assert_int_equal(pf_json_save(p, path, err, sizeof err), 0);

    pf_profile *q = NULL, *whole = NULL;
    assert_int_equal(pf_read_file(path, &whole, err, sizeof err), 0);
    assert_int_equal(an_read(path, NULL, 1, 0, &q, err, sizeof err), 0);
    assert_true(q->functions[c].ncode && q->functions[b].ncode);   /* timed top, untimed top */
    assert_int_equal(q->functions[a].ncode, 0);
    assert_int_equal(q->functions[d].ncode, 0);
    assert_int_equal(q->functions[d].instructions, 50);   /* totals stay */
    size_t idx[4];
    assert_int_equal(an_find(q, NULL, 1, idx), 1);
    assert_int_equal(idx[0], c);
    char *shown = render(q, c), *all = render(whole, c);
    assert_string_equal(shown, all);
    free(shown);
    free(all);
    pf_profile_release(q);

    assert_int_equal(an_read(path, "d", 1, 0, &q, err, sizeof err), 0);
    assert_true(q->functions[d].ncode);
    assert_int_equal(q->functions[b].ncode + q->functions[c].ncode + q->functions[a].ncode, 0);
    pf_profile_release(q);
    pf_profile_release(whole);
    pf_profile_release(p);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_source_lines),
        cmocka_unit_test(test_find),
        cmocka_unit_test_setup_teardown(test_read_keeps_what_it_can_show, setup_tmpdir,
                                        teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
