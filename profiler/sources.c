/*
 * sources.c - the source text of the lines that ran, at the end of a run
 * (sources.h).
 *
 * Functions are grouped by file; each file is read once for the lines of
 * all its functions; then the functions, hottest first, take their lines
 * until the total bound, so that what a bound leaves out is what matters
 * least.
 */
#include "sources.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../reports/model/sourcetext.h"
#include "pycompat.h"

static const char ELLIPSIS[] = "\xe2\x80\xa6";   /* a cut line ends with U+2026 */

/* One file: the lines its functions want, and their text once read. */
typedef struct group {
    const char *file;
    uint32_t *lines;          /* rising, distinct */
    size_t n;
    uint32_t *off, *len;      /* per line, into text; len UINT32_MAX: no text */
    unsigned char *taken;     /* per line: within the bound */
    char *text;
    size_t ntext, captext;
} group;

#define NO_TEXT UINT32_MAX

/* ---- reading a file as Python does ------------------------------------ */

/* The whole of a regular file (at most SRC_FILE_MAX bytes) into *buf:
 * 1, 0 when there is no such file to read, -1 when out of memory.
 * Opened without blocking: a FIFO or a device named as a code object's
 * file must not hang the end of the run. */
static int read_file(const char *path, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > SRC_FILE_MAX) {
        close(fd);
        return 0;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        close(fd);
        return -1;
    }
    for (;;) {   /* it may have grown since fstat: read to its end, bounded */
        if (n == cap) {
            if (cap > SRC_FILE_MAX)
                break;
            char *w = realloc(b, 2 * cap + 1);
            if (!w) {
                free(b);
                close(fd);
                return -1;
            }
            b = w;
            cap *= 2;
        }
        ssize_t k = read(fd, b + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k < 0)
                n = 0;
            break;
        }
        n += (size_t)k;
    }
    close(fd);
    if (!n || n > SRC_FILE_MAX) {
        free(b);
        return 0;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 1;
}

/* A coding cookie in line [s, e) (PEP 263): its name into enc, 1; else 0. */
static int cookie(const char *s, const char *e, char *enc, size_t cap)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\f'))
        s++;
    if (s == e || *s != '#')
        return 0;
    for (const char *p = s; p + 7 <= e; p++) {
        if (memcmp(p, "coding", 6) != 0 || (p[6] != ':' && p[6] != '='))
            continue;
        const char *v = p + 7;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        size_t k = 0;
        while (v < e && k + 1 < cap &&
               (isalnum((unsigned char)*v) || *v == '-' || *v == '_' || *v == '.'))
            enc[k++] = *v++;
        enc[k] = 0;
        return k > 0;
    }
    return 0;
}

static int blank_or_comment(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\f'))
        s++;
    return s == e || *s == '#' || *s == '\r' || *s == '\n';
}

/* The encoding tokenize.detect_encoding() finds: a BOM or a cookie in the
 * first line, or in the second after a blank or comment line; NULL for
 * UTF-8 (*skip: the BOM's bytes). */
static const char *encoding_of(const char *b, size_t n, char *enc, size_t cap, size_t *skip)
{
    *skip = 0;
    if (n >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0) {
        *skip = 3;
        return NULL;   /* a cookie that disagrees is python's SyntaxError */
    }
    const char *end = b + n, *l1 = memchr(b, '\n', n);
    l1 = l1 ? l1 + 1 : end;
    const char *l2 = l1 < end ? memchr(l1, '\n', (size_t)(end - l1)) : NULL;
    l2 = l2 ? l2 + 1 : end;
    int found = cookie(b, l1, enc, cap) || (blank_or_comment(b, l1) && cookie(l1, l2, enc, cap));
    if (!found)
        return NULL;
    char norm[16];
    size_t k = 0;
    for (; enc[k] && k + 1 < sizeof norm; k++)
        norm[k] = enc[k] == '_' ? '-' : (char)tolower((unsigned char)enc[k]);
    norm[k] = 0;
    if (strcmp(norm, "utf-8") == 0 || strncmp(norm, "utf-8-", 6) == 0 ||
        strcmp(norm, "utf8") == 0)
        return NULL;
    return enc;
}

/* buf[0, *len) in encoding `enc` as UTF-8 (a new buffer, NULL when the
 * codec does not exist or python fails): undecodable bytes become U+FFFD,
 * where python would refuse the whole file. */
static char *decode(const char *buf, size_t *len, const char *enc)
{
    PyObject *u = PyUnicode_Decode(buf, (Py_ssize_t)*len, enc, "replace");
    Py_ssize_t n = 0;
    const char *s = u ? PyUnicode_AsUTF8AndSize(u, &n) : NULL;
    char *out = s ? malloc((size_t)n + 1) : NULL;
    if (out) {
        memcpy(out, s, (size_t)n + 1);
        *len = (size_t)n;
    }
    Py_XDECREF(u);
    PyErr_Clear();
    return out;
}

/* What linecache.cache holds for `file` (a doctest's or an IPython cell's
 * `<...>` name, or a file read before it was deleted), joined: 1 with
 * *buf, 0 when nothing, -1 when out of memory.  Only dictionaries and
 * strings are read: nothing of the program's runs. */
static int from_linecache(const char *file, char **buf, size_t *len)
{
    PyObject *lc = PyDict_GetItemString(PyImport_GetModuleDict(), "linecache");
    PyObject *cache = lc && PyModule_Check(lc) ? PyDict_GetItemString(PyModule_GetDict(lc),
                                                                        "cache") : NULL;
    PyObject *key = cache && PyDict_CheckExact(cache) ? PyUnicode_DecodeFSDefault(file) : NULL;
    PyObject *entry = key ? PyDict_GetItemWithError(cache, key) : NULL;
    Py_XDECREF(key);
    PyObject *lines = entry && PyTuple_CheckExact(entry) && PyTuple_GET_SIZE(entry) == 4
                          ? PyTuple_GET_ITEM(entry, 2) : NULL;
    int rc = 0;
    size_t n = 0, cap = 0;
    char *b = NULL;
    for (Py_ssize_t i = 0; lines && PyList_CheckExact(lines) && i < PyList_GET_SIZE(lines); i++) {
        PyObject *item = PyList_GET_ITEM(lines, i);
        PyObject *bytes = PyUnicode_Check(item) ? PyUnicode_AsEncodedString(item, "utf-8",
                                                                            "replace") : NULL;
        size_t k = bytes ? (size_t)PyBytes_GET_SIZE(bytes) : 0;
        if (n + k + 2 > cap) {
            cap = 2 * (n + k + 2);
            char *w = cap <= SRC_FILE_MAX ? realloc(b, cap) : NULL;
            if (!w) {
                Py_XDECREF(bytes);
                rc = cap <= SRC_FILE_MAX ? -1 : 0;
                break;
            }
            b = w;
        }
        if (bytes)
            memcpy(b + n, PyBytes_AS_STRING(bytes), k);
        n += k;
        if (!bytes || !k || (b[n - 1] != '\n' && b[n - 1] != '\r'))
            b[n++] = '\n';   /* a line each, even one python could not encode */
        Py_XDECREF(bytes);
        rc = 1;
    }
    PyErr_Clear();
    if (rc == 1) {
        b[n] = 0;
        *buf = b;
        *len = n;
    } else {
        free(b);
    }
    return rc;
}

/* ---- lines ------------------------------------------------------------ */

static int keep_text(group *g, size_t k, const char *s, size_t len)
{
    int cut = len > SRC_LINE_MAX;
    if (cut) {
        len = SRC_LINE_MAX;
        while (len && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;   /* not inside a character */
    }
    size_t need = len + (cut ? sizeof ELLIPSIS - 1 : 0);
    if (g->ntext + need > g->captext) {
        size_t cap = g->captext ? 2 * g->captext : 4096;
        while (cap < g->ntext + need)
            cap *= 2;
        char *t = realloc(g->text, cap);
        if (!t)
            return -1;
        g->text = t;
        g->captext = cap;
    }
    memcpy(g->text + g->ntext, s, len);
    if (cut)
        memcpy(g->text + g->ntext + len, ELLIPSIS, sizeof ELLIPSIS - 1);
    g->off[k] = (uint32_t)g->ntext;
    g->len[k] = (uint32_t)need;
    g->ntext += need;
    return 0;
}

/* The wanted lines of UTF-8 text b[0, n): lines end with \n, \r\n or \r,
 * as python's universal newlines read them. */
static int take_lines(group *g, const char *b, size_t n)
{
    size_t k = 0, at = 0;
    for (uint32_t line = 1; at < n && k < g->n; line++) {
        size_t end = at;
        while (end < n && b[end] != '\n' && b[end] != '\r')
            end++;
        if (line == g->lines[k] && keep_text(g, k++, b + at, end - at) < 0)
            return -1;
        at = end < n && b[end] == '\r' && end + 1 < n && b[end + 1] == '\n' ? end + 2 : end + 1;
    }
    return 0;
}

static int read_group(group *g)
{
    char *buf = NULL, enc[64];
    size_t len = 0, skip = 0;
    int rc = g->file[0] == '<' ? 0 : read_file(g->file, &buf, &len);
    if (rc == 0)
        rc = from_linecache(g->file, &buf, &len);
    if (rc <= 0)
        return rc;
    const char *e = encoding_of(buf, len, enc, sizeof enc, &skip);
    if (e) {
        char *u = decode(buf, &len, e);
        free(buf);
        if (!u)
            return 0;   /* an encoding python does not know: no text, as linecache */
        buf = u;
    }
    rc = take_lines(g, buf + skip, len - skip);
    free(buf);
    return rc;
}

/* ---- functions into groups, groups into the profile ------------------- */

typedef struct capture {
    pf_profile *p;
    group *g;
    size_t ng;
    uint32_t *group_of;       /* per function */
    uint32_t **flines;        /* per function: stx_function_lines */
    size_t *nflines;
} capture;

static const pf_profile *sort_p;
static int by_file(const void *a, const void *b)
{
    const pf_function *x = &sort_p->functions[*(const size_t *)a];
    const pf_function *y = &sort_p->functions[*(const size_t *)b];
    return strcmp(x->file, y->file);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The groups, each with its functions' lines (sorted, distinct). */
static int make_groups(capture *c)
{
    pf_profile *p = c->p;
    size_t *order = malloc((p->nfunctions + 1) * sizeof *order), n = 0;
    if (!order)
        return -1;
    for (size_t i = 0; i < p->nfunctions; i++)
        if (p->functions[i].file && p->functions[i].file[0])
            order[n++] = i;
    sort_p = p;   /* the GIL is held: no other thread sorts */
    qsort(order, n, sizeof *order, by_file);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i, total = 0;
        while (j < n && strcmp(p->functions[order[j]].file, p->functions[order[i]].file) == 0)
            total += c->nflines[order[j++]];
        group *g = &c->g[c->ng];
        *g = (group){.file = p->functions[order[i]].file};
        if (!(g->lines = malloc((total + 1) * sizeof *g->lines))) {
            rc = -1;
            break;
        }
        for (size_t k = i; k < j; k++) {
            c->group_of[order[k]] = (uint32_t)c->ng;
            memcpy(g->lines + g->n, c->flines[order[k]], c->nflines[order[k]] * sizeof *g->lines);
            g->n += c->nflines[order[k]];
        }
        qsort(g->lines, g->n, sizeof *g->lines, cmp_u32);
        size_t m = 0;
        for (size_t k = 0; k < g->n; k++)
            if (!m || g->lines[k] != g->lines[m - 1])
                g->lines[m++] = g->lines[k];
        g->n = m;
        c->ng++;
        g->off = malloc((m + 1) * sizeof *g->off);
        g->len = malloc((m + 1) * sizeof *g->len);
        g->taken = calloc(m + 1, 1);
        if (!g->off || !g->len || !g->taken)
            rc = -1;
        for (size_t k = 0; rc == 0 && k < m; k++)
            g->len[k] = NO_TEXT;
        i = j;
    }
    free(order);
    return rc;
}

static size_t line_index(const group *g, uint32_t line)
{
    uint32_t *at = bsearch(&line, g->lines, g->n, sizeof line, cmp_u32);
    return at ? (size_t)(at - g->lines) : g->n;
}

/* Hottest first, each function takes its lines not yet taken while the
 * total stays within the bound. */
static int take_within(capture *c, size_t bound)
{
    pf_profile *p = c->p;
    size_t *order = pf_functions_by_weight(p), total = 0;
    if (!order)
        return -1;
    for (size_t r = 0; r < p->nfunctions; r++) {
        size_t i = order[r];
        if (c->group_of[i] == UINT32_MAX)
            continue;
        group *g = &c->g[c->group_of[i]];
        size_t more = 0;
        for (size_t k = 0; k < c->nflines[i]; k++) {
            size_t at = line_index(g, c->flines[i][k]);
            if (at < g->n && g->len[at] != NO_TEXT && !g->taken[at])
                more += g->len[at] + 1;
        }
        if (!more)
            continue;
        if (more > bound - total) {
            p->sources_omitted++;
            continue;
        }
        total += more;
        for (size_t k = 0; k < c->nflines[i]; k++) {
            size_t at = line_index(g, c->flines[i][k]);
            if (at < g->n && g->len[at] != NO_TEXT)
                g->taken[at] = 1;
        }
    }
    free(order);
    return 0;
}

static int into_profile(capture *c)
{
    for (size_t i = 0; i < c->ng; i++) {
        group *g = &c->g[i];
        pf_source *s = NULL;
        for (size_t k = 0; k < g->n; k++) {
            if (!g->taken[k])
                continue;
            if ((!s && !(s = stx_file(c->p, g->file, NULL))) ||
                stx_add_line(s, g->lines[k], g->text + g->off[k], g->len[k]) < 0)
                return -1;
        }
    }
    return 0;
}

static size_t bound(void)
{
    const char *s = getenv("OPPROF_SOURCE_LIMIT");
    char *end;
    errno = 0;
    unsigned long long v = s && *s ? strtoull(s, &end, 10) : 0;
    return s && *s && !*end && !errno && v <= SIZE_MAX / 2 ? (size_t)v : SRC_TOTAL_MAX;
}

int src_capture(pf_profile *p)
{
    size_t n = p->nfunctions;
    capture c = {p, calloc(n + 1, sizeof *c.g), 0, malloc((n + 1) * sizeof *c.group_of),
                 calloc(n + 1, sizeof *c.flines), calloc(n + 1, sizeof *c.nflines)};
    int rc = !c.g || !c.group_of || !c.flines || !c.nflines ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        c.group_of[i] = UINT32_MAX;
        rc = stx_function_lines(&p->functions[i], &c.flines[i], &c.nflines[i]);
    }
    if (rc == 0)
        rc = make_groups(&c);
    for (size_t i = 0; rc == 0 && i < c.ng; i++)
        rc = read_group(&c.g[i]) < 0 ? -1 : 0;
    if (rc == 0)
        rc = take_within(&c, bound());
    if (rc == 0)
        rc = into_profile(&c);
    for (size_t i = 0; i < c.ng; i++) {
        free(c.g[i].lines);
        free(c.g[i].off);
        free(c.g[i].len);
        free(c.g[i].taken);
        free(c.g[i].text);
    }
    for (size_t i = 0; c.flines && i < n; i++)
        free(c.flines[i]);
    free(c.g);
    free(c.group_of);
    free(c.flines);
    free(c.nflines);
    return rc;
}
