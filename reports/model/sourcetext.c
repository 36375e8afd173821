/*
 * sourcetext.c - a profile's source text (sourcetext.h).
 */
#include "sourcetext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "strtab.h"

static const char REPLACEMENT[] = "\xef\xbf\xbd";   /* U+FFFD */

static size_t file_slot(const pf_profile *p, const char *file, int *found)
{
    size_t lo = 0, hi = p->nsources;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->sources[mid].file, file);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

pf_source *stx_file(pf_profile *p, const char *file, int *added)
{
    int found;
    size_t i = file_slot(p, file ? file : "", &found);
    if (added)
        *added = !found;
    if (found)
        return &p->sources[i];
    if (p->nsources == p->capsources) {
        size_t cap = p->capsources ? 2 * p->capsources : 16;
        pf_source *v = realloc(p->sources, cap * sizeof *v);
        if (!v)
            return NULL;
        p->sources = v;
        p->capsources = cap;
    }
    pf_source s = {0};
    if (pf_set_string(&s.file, file ? file : "") < 0)
        return NULL;
    memmove(&p->sources[i + 1], &p->sources[i], (p->nsources - i) * sizeof *p->sources);
    p->sources[i] = s;
    p->nsources++;
    return &p->sources[i];
}

const pf_source *stx_find(const pf_profile *p, const char *file)
{
    int found;
    size_t i = file && p->nsources ? file_slot(p, file, &found) : 0;
    return file && p->nsources && found ? &p->sources[i] : NULL;
}

/* The length of the UTF-8 character at s (n bytes left), 0 when it is not
 * one: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

static int reserve(pf_source *s, size_t more_text)
{
    if (s->nlines + 1 >= s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        uint32_t *l = realloc(s->lines, cap * sizeof *l);
        if (l)
            s->lines = l;
        uint32_t *a = l ? realloc(s->at, (cap + 1) * sizeof *a) : NULL;
        if (!a)
            return -1;
        if (!s->cap)
            a[0] = 0;
        s->at = a;
        s->cap = cap;
    }
    size_t used = s->nlines ? s->at[s->nlines] : 0;
    if (used + more_text + 1 > s->textcap) {
        size_t cap = s->textcap ? s->textcap : 1024;
        while (cap < used + more_text + 1)
            cap *= 2;
        char *t = realloc(s->text, cap);
        if (!t)
            return -1;
        s->text = t;
        s->textcap = cap;
    }
    return 0;
}

int stx_add_line(pf_source *s, uint32_t line, const char *text, size_t len)
{
    if (!line || (s->nlines && line <= s->lines[s->nlines - 1]))
        return -1;
    /* at most 3 bytes (U+FFFD) per input byte, and the '\n' */
    if (len > UINT32_MAX / 4 || reserve(s, 3 * len + 1) < 0)
        return -1;
    size_t used = s->nlines ? s->at[s->nlines] : 0;
    if (used + 3 * len + 1 > UINT32_MAX)
        return -1;
    char *o = s->text + used;
    const unsigned char *u = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        size_t k = u[i] == '\n' || u[i] == '\r' || !u[i] ? 0 : utf8_char(u + i, len - i);
        if (!k) {
            memcpy(o, REPLACEMENT, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(o, u + i, k);
        o += k;
        i += k;
    }
    *o++ = '\n';
    *o = 0;
    s->lines[s->nlines] = line;
    s->at[++s->nlines] = (uint32_t)(o - s->text);
    return 0;
}

size_t stx_lower_bound(const pf_source *s, uint32_t line)
{
    size_t lo = 0, hi = s->nlines;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->lines[mid] < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const char *stx_line(const pf_source *s, uint32_t line, size_t *len)
{
    size_t k = s ? stx_lower_bound(s, line) : 0;
    if (!s || k == s->nlines || s->lines[k] != line)
        return NULL;
    *len = s->at[k + 1] - s->at[k] - 1;
    return s->text + s->at[k];
}

static void source_free(pf_source *s)
{
    free(s->file);
    free(s->lines);
    free(s->at);
    free(s->text);
}

void stx_drop(pf_profile *p)
{
    for (size_t i = 0; i < p->nsources; i++)
        source_free(&p->sources[i]);
    free(p->sources);
    p->sources = NULL;
    p->nsources = p->capsources = 0;
}

static int add_from(pf_source *to, const pf_source *s, size_t k)
{
    return stx_add_line(to, s->lines[k], s->text + s->at[k], s->at[k + 1] - s->at[k] - 1);
}

int stx_merge(pf_profile *dst, const pf_profile *src)
{
    dst->sources_omitted = pf_add_sat(dst->sources_omitted, src->sources_omitted);
    for (size_t i = 0; i < src->nsources; i++) {
        const pf_source *b = &src->sources[i];
        int added;
        pf_source *a = stx_file(dst, b->file, &added);
        if (!a)
            return -1;
        pf_source u = {0};   /* the union, in line order; a's text first */
        size_t x = 0, y = 0;
        while (x < a->nlines || y < b->nlines) {
            int from_a = y == b->nlines || (x < a->nlines && a->lines[x] <= b->lines[y]);
            if (from_a && y < b->nlines && a->lines[x] == b->lines[y])
                y++;
            if (add_from(&u, from_a ? a : b, from_a ? x++ : y++) < 0) {
                source_free(&u);
                return -1;
            }
        }
        u.file = a->file;
        a->file = NULL;
        source_free(a);
        *a = u;
    }
    return 0;
}

/* The distinct values of v[0, n), sorted, in place; their number. */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static size_t sort_unique(uint32_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || v[i] != v[k - 1])
            v[k++] = v[i];
    return k;
}

/* A function's lines can be no more than this many: a bound on what a
 * bad profile (a line number of 2^31) can make a reader allocate. */
#define MAX_FUNCTION_LINES ((uint32_t)1 << 20)

int stx_function_lines(const pf_function *f, uint32_t **lines, size_t *n)
{
    const pf_code *c = f->codeinfo;
    size_t m = c ? c->nlines : f->ncode, k = 0;
    uint32_t *v = malloc((m + 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < m; i++) {
        int line = c ? c->lines[i].line : f->code[i].line;
        if (line > 0)
            v[k++] = (uint32_t)line;
    }
    k = sort_unique(v, k);
    int body = f->scope == PF_SCOPE_MODULE || f->scope == PF_SCOPE_CLASS;
    if (!body && k) {
        uint32_t first = f->firstlineno > 0 && (uint32_t)f->firstlineno < v[0]
                             ? (uint32_t)f->firstlineno : v[0];
        uint32_t last = v[k - 1];
        if (last - first >= MAX_FUNCTION_LINES)
            first = last - MAX_FUNCTION_LINES + 1;
        free(v);
        k = last - first + 1;
        if (!(v = malloc(k * sizeof *v)))
            return -1;
        for (size_t i = 0; i < k; i++)
            v[i] = first + (uint32_t)i;
    }
    *lines = v;
    *n = k;
    return 0;
}

char *stx_encode(const pf_source *s, int level)
{
    size_t len = s->nlines ? s->at[s->nlines] : 0;
    uLongf zlen = compressBound((uLong)len);
    unsigned char *z = malloc(zlen ? zlen : 1);
    if (!z)
        return NULL;
    char *b64 = NULL;
    if (compress2(z, &zlen, (const Bytef *)(s->text ? s->text : ""), (uLong)len, level) == Z_OK)
        b64 = pf_base64_encode(z, zlen);
    free(z);
    return b64;
}

/* zlib data z[0, n) inflated into *out (malloc'd, NUL-terminated, *len
 * bytes): 0, or -1 when it is not zlib data (1) or inflates past
 * STX_FILE_MAX (2), or when out of memory (3): *why says which. */
static int inflate_all(const unsigned char *z, size_t n, char **out, size_t *len, int *why)
{
    z_stream st = {0};
    size_t cap = n * 4 + 64;
    char *buf = NULL;
    *why = 3;
    if (inflateInit(&st) != Z_OK)
        return -1;
    st.next_in = (Bytef *)z;
    st.avail_in = (uInt)n;
    int rc = Z_OK;
    size_t used = 0;
    while (rc == Z_OK) {
        if (used == cap || !buf) {
            if (buf)
                cap *= 2;
            if (cap > STX_FILE_MAX + 1)
                cap = STX_FILE_MAX + 1;
            if (used == cap) {
                *why = 2;
                rc = Z_BUF_ERROR;
                break;
            }
            char *b = realloc(buf, cap + 1);
            if (!b) {
                rc = Z_MEM_ERROR;
                break;
            }
            buf = b;
        }
        st.next_out = (Bytef *)buf + used;
        st.avail_out = (uInt)(cap - used);
        rc = inflate(&st, Z_NO_FLUSH);
        used = cap - st.avail_out;
        if (rc == Z_BUF_ERROR && st.avail_out)   /* input ended before the stream did */
            rc = Z_DATA_ERROR;
        else if (rc == Z_BUF_ERROR)
            rc = Z_OK;
    }
    inflateEnd(&st);
    if (rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR || rc == Z_NEED_DICT)
        *why = 1;
    if (rc != Z_STREAM_END || st.avail_in || used > STX_FILE_MAX) {
        if (rc == Z_STREAM_END)
            *why = st.avail_in ? 1 : 2;
        free(buf);
        return -1;
    }
    char *fit = realloc(buf, used + 1);   /* it is kept: not its doublings' slack */
    buf = fit ? fit : buf;
    buf[used] = 0;
    *out = buf;
    *len = used;
    return 0;
}

int stx_decode(pf_source *s, const uint32_t *lines, size_t nlines, const char *b64, size_t len,
               char *err, size_t errlen)
{
    size_t zn, n;
    unsigned char *z = pf_base64_decode(b64, len, &zn);
    char *text = NULL;
    int why = 1;
    if (!z || inflate_all(z, zn, &text, &n, &why) < 0) {
        free(z);
        snprintf(err, errlen, "%s", !z || why == 1 ? "its text is not base64 of zlib data"
                                  : why == 2 ? "its text inflates past 64 MB" : "out of memory");
        return -1;
    }
    free(z);
    if (nlines > UINT32_MAX / 2 || n > UINT32_MAX ||
        !(s->lines = malloc((nlines + 1) * sizeof *s->lines)) ||
        !(s->at = malloc((nlines + 1) * sizeof *s->at))) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->text = text;
    s->textcap = n + 1;
    s->cap = nlines + 1;
    s->at[0] = 0;
    const unsigned char *u = (const unsigned char *)text;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (u[i] == '\n') {
            if (k == nlines)
                break;
            if ((k && lines[k] <= lines[k - 1]) || !lines[k])
                break;
            s->lines[k] = lines[k];
            s->at[++k] = (uint32_t)++i;
            continue;
        }
        size_t c = u[i] == '\r' || !u[i] ? 0 : utf8_char(u + i, n - i);
        if (!c) {
            snprintf(err, errlen, "line %u of its text is not UTF-8 or holds a CR or NUL",
                     k < nlines ? lines[k] : 0);
            return -1;
        }
        i += c;
    }
    s->nlines = k;
    if (k != nlines || s->at[k] != n) {
        snprintf(err, errlen, "its text has another number of lines than its line numbers, "
                 "or they do not rise");
        return -1;
    }
    return 0;
}
