/*
 * profile_read_v2_src.c - a v2 profile's "sources" (profile-v2.md) into
 * p->sources, or skipped when the reader does not keep them.
 */
#include "profile_read_v2.h"

#include <stdlib.h>
#include <string.h>

#include "sourcetext.h"

/* One entry of "files" (the reader is past its '{'). */
static int read_file_entry(rv *r)
{
    int64_t file = -1;
    char *text = NULL;
    size_t ntext = 0, nlines = 0;
    int have_lines = 0, rc = -1;
    const char *name;
    for (int more; (more = pfr_next_key(r, &name)) != 0;) {
        if (more < 0)
            goto done;
        if (strcmp(name, "file") == 0) {
            if (pfr_expect(r, JP_INT, "sources: file") < 0)
                goto done;
            file = jp_int(r->jp);
            if (file < 0 || (size_t)file >= r->nstr) {
                FAIL(r, "sources: file %lld is not in the string table", (long long)file);
                goto done;
            }
        } else if (strcmp(name, "lines") == 0) {
            if (pfr_read_ints_to(r, "sources: lines", 0, INT32_MAX, 8) < 0)
                goto done;
            nlines = r->nbuf[8];
            have_lines = 1;
        } else if (strcmp(name, "text") == 0) {
            if (pfr_expect(r, JP_STRING, "sources: text") < 0)
                goto done;
            const char *t = jp_text(r->jp, &ntext);
            free(text);
            if (!(text = malloc(ntext + 1))) {
                FAIL(r, "out of memory");
                goto done;
            }
            memcpy(text, t, ntext + 1);
        } else if (jp_skip(r->jp) < 0) {   /* a key a later version added */
            goto done;
        }
    }
    if (file < 0 || !have_lines || !text) {
        FAIL(r, "sources: a file without its file, lines or text");
        goto done;
    }
    /* the steps into line numbers, which must rise and stay lines */
    uint32_t *lines = malloc((nlines + 1) * sizeof *lines);
    if (!lines) {
        FAIL(r, "out of memory");
        goto done;
    }
    int64_t line = 0;
    for (size_t k = 0; k < nlines; k++) {
        line += r->buf[8][k];
        if (!r->buf[8][k] || line > INT32_MAX) {
            free(lines);
            FAIL(r, "sources: %s: its lines do not rise", r->str[file]);
            goto done;
        }
        lines[k] = (uint32_t)line;
    }
    int added;
    pf_source *s = stx_file(r->p, r->str[file], &added);
    char why[160];
    if (!s || !added) {
        free(lines);
        if (s)
            FAIL(r, "sources: %s is there twice", r->str[file]);
        else
            FAIL(r, "out of memory");
        goto done;
    }
    rc = stx_decode(s, lines, nlines, text, ntext, why, sizeof why);
    free(lines);
    if (rc < 0)
        FAIL(r, "sources: %s: %s", r->str[file], why);
done:
    free(text);
    return rc;
}

/* Read and checked even when not kept: every reader gives a file the
 * same verdict. */
static int read_sources(rv *r)
{
    if (!r->str)
        return FAIL(r, "sources: they come after strings");
    if (pfr_expect(r, JP_OBJECT, "sources") < 0)
        return -1;
    const char *name;
    for (int more; (more = pfr_next_key(r, &name)) != 0;) {
        if (more < 0)
            return -1;
        if (strcmp(name, "omitted") == 0) {
            if (pfr_expect(r, JP_INT, "sources: omitted") < 0)
                return -1;
            if (jp_int(r->jp) < 0)
                return FAIL(r, "sources: omitted is negative");
            r->p->sources_omitted = (uint64_t)jp_int(r->jp);
        } else if (strcmp(name, "files") == 0) {
            if (pfr_expect(r, JP_ARRAY, "sources: files") < 0)
                return -1;
            for (;;) {
                jp_token t = jp_next(r->jp);
                if (t == JP_ARRAY_END)
                    break;
                if (t != JP_OBJECT)
                    return t == JP_ERROR ? -1 : FAIL(r, "sources: files: expected an object");
                if (read_file_entry(r) < 0)
                    return -1;
            }
        } else if (jp_skip(r->jp) < 0) {
            return -1;
        }
    }
    return 0;
}

int pfr_read_sources(rv *r)
{
    int rc = read_sources(r);
    if (!(r->keep & PF_KEEP_SOURCES))
        stx_drop(r->p);
    return rc;
}
