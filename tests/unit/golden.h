/*
 * golden.h - comparing a rendered text with a golden file, for the unit
 * tests of the renderers.  OPPROF_UPDATE_GOLDEN=1 rewrites the file first
 * (check the git diff before committing it).  Paths are relative to the
 * repository root, where the tests run.  Include after <cmocka.h>.
 */
#ifndef OPPROF_TEST_GOLDEN_H
#define OPPROF_TEST_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *golden_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (tests run from the repository root)\n", path);
        fail();
    }
    char *buf = NULL;
    size_t len = 0, n;
    char chunk[4096];
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(fwrite(chunk, 1, n, m), n);
    assert_int_equal(ferror(f), 0);
    fclose(f);
    assert_int_equal(fclose(m), 0);
    return buf;
}

/* Says where the texts part, so a failure can be read without a debugger. */
static inline void golden_report_difference(const char *path, const char *want,
                                            const char *got)
{
    size_t i = 0, line = 1, start = 0;
    for (; want[i] && want[i] == got[i]; i++)
        if (want[i] == '\n') {
            line++;
            start = i + 1;
        }
    fprintf(stderr, "%s differs at line %zu:\n  want: %.*s\n  got:  %.*s\n", path, line,
            (int)strcspn(want + start, "\n"), want + start,
            (int)strcspn(got + start, "\n"), got + start);
}

/* Fails unless `got` is the golden file's text byte for byte. */
static inline void golden_check(const char *path, const char *got)
{
    if (getenv("OPPROF_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(got, f);
        assert_int_equal(fclose(f), 0);
    }
    char *want = golden_read(path);
    int same = strcmp(want, got) == 0;
    if (!same)
        golden_report_difference(path, want, got);
    free(want);
    assert_true(same);
}

#endif
