/*
 * test_glossary.c - unit tests for reports/glossary.c and explain.c over
 * the generated glossary data: lookups, suggestions, version texts, and
 * every record rendered.  Which names each CPython version has is checked
 * against the interpreters themselves (tests/e2e/e2e_explain.py).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "../../reports/explain.h"
#include "../../reports/glossary.h"

static char *render_entry(const gl_entry *e, int minor)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ex_print_entry(f, e, minor), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_sorted_and_complete(void **state)
{
    (void)state;
    assert_true(gl_nentries > 300);
    for (size_t i = 0; i < gl_nentries; i++) {
        const gl_entry *e = &gl_entries[i];
        if (i)   /* gl_find searches by halves */
            assert_true(strcmp(gl_entries[i - 1].name, e->name) < 0);
        assert_true(e->versions != 0 && (e->versions & ~0x1fu) == 0);
        assert_true((e->pseudo & ~e->versions) == 0);
        assert_true(e->shortdesc[0] && strlen(e->shortdesc) <= 90);
        assert_true(e->example[0] && e->history[0] && e->text[0]);
        assert_true(e->category < GL_SPECIALIZED);
        for (size_t k = 0; k < e->nspec; k++) {
            const gl_entry *base = gl_find(e->spec[k].base);
            assert_non_null(base);
            assert_int_equal(base->nspec, 0);   /* a base is generic */
        }
    }
}

static void test_find_ignores_case(void **state)
{
    (void)state;
    const gl_entry *a = gl_find("LOAD_NAME"), *b = gl_find("load_name"), *c = gl_find("Load_Name");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a, c);
    assert_null(gl_find("LOAD_NAM"));
    assert_null(gl_find(""));
    assert_non_null(gl_find("BINARY_ADD"));   /* 3.10's, gone in 3.11 */
    assert_false(gl_in_version(gl_find("BINARY_ADD"), 11));
    assert_true(gl_in_version(gl_find("BINARY_ADD"), 10));
}

static void test_base_of_specialized(void **state)
{
    (void)state;
    const gl_entry *e = gl_find("LOAD_ATTR_INSTANCE_VALUE");
    assert_non_null(e);
    assert_string_equal(gl_base_in(e, 12), "LOAD_ATTR");
    assert_null(gl_base_in(e, 10));
    assert_null(gl_base_in(gl_find("LOAD_ATTR"), 12));
}

static void test_versions_text(void **state)
{
    (void)state;
    char buf[64];
    gl_versions_text(0x1f, buf, sizeof buf);
    assert_string_equal(buf, "3.10-3.14");
    gl_versions_text(GL_VERSION_BIT(10) | GL_VERSION_BIT(12) | GL_VERSION_BIT(13), buf, sizeof buf);
    assert_string_equal(buf, "3.10, 3.12-3.13");
    gl_versions_text(GL_VERSION_BIT(14), buf, sizeof buf);
    assert_string_equal(buf, "3.14");
}

static void test_closest(void **state)
{
    (void)state;
    const gl_entry *near[4];
    size_t n = gl_closest("LOAD_NAMES", near, 4);
    assert_true(n >= 1);
    assert_string_equal(near[0]->name, "LOAD_NAME");
    n = gl_closest("lod_fast", near, 4);
    assert_true(n >= 1);
    assert_string_equal(near[0]->name, "LOAD_FAST");
    assert_int_equal(gl_closest("ZZZZZZZZZZZZZZZZZZZZZZZZZZ", near, 4), 0);
}

/* Every record renders, within 78 columns but for unbreakable words. */
static void test_every_entry_renders(void **state)
{
    (void)state;
    for (size_t i = 0; i < gl_nentries; i++)
        for (int minor = 10; minor <= 14; minor++) {
            char *s = render_entry(&gl_entries[i], minor);
            assert_true(strncmp(s, gl_entries[i].name, strlen(gl_entries[i].name)) == 0);
            for (char *line = s; *line;) {
                size_t len = strcspn(line, "\n");
                if (len > 78 && line != s)   /* the first line: name and short */
                    assert_non_null(memchr(line, ' ', len) == NULL ? NULL : line);
                line += len + (line[len] == '\n');
            }
            free(s);
        }
}

static void test_generic_lists_its_family(void **state)
{
    (void)state;
    char *s = render_entry(gl_find("BINARY_OP"), 12);
    assert_non_null(strstr(s, "specialized forms in 3.12:"));
    assert_non_null(strstr(s, "BINARY_OP_ADD_INT"));
    free(s);
    s = render_entry(gl_find("BINARY_OP"), 10);   /* 3.10 specializes nothing */
    assert_null(strstr(s, "specialized forms"));
    free(s);
}

static void test_listing_groups(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(ex_print_all(f, 13), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\nname access\n"));
    assert_non_null(strstr(buf, "\nspecialized\n"));
    assert_non_null(strstr(buf, "\n  LOAD_FAST_LOAD_FAST "));
    assert_null(strstr(buf, "\n  BINARY_ADD "));   /* not a 3.13 name */
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorted_and_complete),
        cmocka_unit_test(test_find_ignores_case),
        cmocka_unit_test(test_base_of_specialized),
        cmocka_unit_test(test_versions_text),
        cmocka_unit_test(test_closest),
        cmocka_unit_test(test_every_entry_renders),
        cmocka_unit_test(test_generic_lists_its_family),
        cmocka_unit_test(test_listing_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
