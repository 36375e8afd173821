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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/annotate.h"
#include "../../reports/model/profile_read.h"

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
    assert_int_equal(an_render(p, &p->functions[i], f), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
