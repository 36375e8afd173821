/*
 * profile_read_v2_code.c - the v2 reader's part for a function's `code`
 * (profile-v2.md): its bytes (packed without caches or whole), the lists
 * of strings dis prints and the line table (runs or triples), into
 * pf_code.  The strings stay the table's (pf_code.borrowed).
 */
#include "profile_read_v2.h"

#include <stdlib.h>
#include <string.h>

#include "codepack.h"
#include "strtab.h"

/* A code's list of strings: pointers into the table, which the profile
 * keeps (pf_code.borrowed): a function's names are mostly everyone's.
 * With holes, -1 is a NULL entry. */
static int sref_list(rv *r, const char *what, char ***v, size_t *n, int holes)
{
    if (pfr_read_ints_to(r, what, holes ? -1 : 0, INT64_MAX, 8) < 0)
        return -1;
    *v = calloc(r->nbuf[8] + 1, sizeof **v);
    if (!*v)
        return FAIL(r, "out of memory");
    for (*n = 0; *n < r->nbuf[8]; (*n)++) {
        int64_t i = r->buf[8][*n];
        if (i == -1 && holes)
            continue;   /* a constant no instruction loads: not kept */
        if (i < 0 || (size_t)i >= r->nstr)
            return FAIL(r, "%s: string %lld is not in the table", what, (long long)i);
        (*v)[*n] = r->str[i];
    }
    return 0;
}

/* The interpreter's minor version, from the header read so far (python
 * comes before functions); -1 when not there. */
static int head_minor(rv *r)
{
    json_t *v = json_object_get(json_object_get(r->head, "python"), "hexversion");
    return json_is_integer(v) ? (int)((json_integer_value(v) >> 16) & 0xff) : -1;
}

/* code.packed: the inline caches put back (codepack.h). */
static int unpack_code(rv *r, pf_code *c)
{
    unsigned char *v;
    size_t n;
    int minor = head_minor(r);
    if (cp_unpack(minor, c->bytes, c->nbytes, &v, &n) < 0)
        return FAIL(r, "code.packed: not code of Python 3.%d as opprof packs it", minor);
    free(c->bytes);
    c->bytes = v;
    c->nbytes = n;
    return 0;
}

/* code.line_runs (profile-v2.md) into c->lines. */
static int read_line_runs(rv *r, pf_code *c)
{
    if (pfr_read_ints_to(r, "code.line_runs", INT32_MIN, INT32_MAX, 8) < 0)
        return -1;
    const int64_t *e = r->buf[8];
    size_t n = r->nbuf[8];
    if (!(c->lines = calloc(n + 1, sizeof *c->lines)))
        return FAIL(r, "out of memory");
    int64_t at = 0, line = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t units = e[i] < 0 ? -e[i] : e[i], ln = -1;
        if (e[i] >= 0) {
            if (++i == n)
                return FAIL(r, "code.line_runs: a run without its line");
            line += e[i];
            if (line < 0 || line > INT32_MAX)
                return FAIL(r, "code.line_runs: line %lld", (long long)line);
            ln = line;
        }
        if (units > (INT32_MAX - at) / 2)
            return FAIL(r, "code.line_runs: longer than any code");
        c->lines[c->nlines++] = (dz_line_range){(int)at, (int)(at + 2 * units), (int)ln};
        at += 2 * units;
    }
    return 0;
}

int pfr_read_code(rv *r, pf_function *f)
{
    pf_code *c = calloc(1, sizeof *c);
    if (!c)
        return FAIL(r, "out of memory");
    c->borrowed = 1;
    f->codeinfo = c;
    if (pfr_expect(r, JP_OBJECT, "code") < 0)
        return -1;
    const char *k;
    for (int more; (more = pfr_next_key(r, &k)) != 0;) {
        if (more < 0)
            return -1;
        if (strcmp(k, "bytes") == 0 || strcmp(k, "packed") == 0) {
            int packed = k[0] == 'p';
            if (c->bytes || pfr_expect(r, JP_STRING, "code.bytes") < 0)
                return c->bytes ? FAIL(r, "code: bytes twice") : -1;
            size_t len;
            const char *s = jp_text(r->jp, &len);
            if (!(c->bytes = pf_base64_decode(s, len, &c->nbytes)))
                return FAIL(r, "code.bytes is not base64");
            if (packed && unpack_code(r, c) < 0)
                return -1;
        } else if (strcmp(k, "names") == 0) {
            if (sref_list(r, "code.names", &c->names, &c->nnames, 0) < 0)
                return -1;
        } else if (strcmp(k, "consts") == 0) {
            if (sref_list(r, "code.consts", &c->consts, &c->nconsts, 1) < 0)
                return -1;
        } else if (strcmp(k, "locals") == 0) {
            if (sref_list(r, "code.locals", &c->locals, &c->nlocals, 0) < 0)
                return -1;
        } else if (strcmp(k, "cells") == 0) {
            if (sref_list(r, "code.cells", &c->cells, &c->ncells, 0) < 0)
                return -1;
        } else if (strcmp(k, "line_runs") == 0) {
            if (c->lines || read_line_runs(r, c) < 0)
                return c->lines ? FAIL(r, "code: lines twice") : -1;
        } else if (strcmp(k, "lines") == 0) {
            if (c->lines)
                return FAIL(r, "code: lines twice");
            if (pfr_read_ints_to(r, "code.lines", -1, INT32_MAX, 8) < 0)
                return -1;
            if (r->nbuf[8] % 3)
                return FAIL(r, "code.lines: not triples");
            c->nlines = r->nbuf[8] / 3;
            if (!(c->lines = calloc(c->nlines + 1, sizeof *c->lines)))
                return FAIL(r, "out of memory");
            for (size_t i = 0; i < c->nlines; i++) {
                const int64_t *e = &r->buf[8][3 * i];
                if (e[0] < 0 || e[1] < e[0] || (i && e[0] < c->lines[i - 1].end))
                    return FAIL(r, "code.lines: ranges out of order");
                c->lines[i] = (dz_line_range){(int)e[0], (int)e[1], (int)e[2]};
            }
        } else if (jp_skip(r->jp) < 0) {
            return -1;
        }
    }
    if (!c->bytes)
        return FAIL(r, "code: no bytes");
    return 0;
}
