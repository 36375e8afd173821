/*
 * listing.c - f->codeinfo from a code object (listing.h).
 */
#include "listing.h"

#include <stdlib.h>
#include <string.h>

#include "../reports/model/codepack.h"

/* Constants longer than this are cut (to CONST_MAX - 1 characters and an
 * ellipsis): a listing shows them on one line, and docstrings were a
 * third of a small run's profile. */
#define CONST_MAX 100

/* The text a listing shows for a constant: its repr, cut when long; a
 * code object's without its address and file, which no two runs share
 * and the function already names.  A new reference, or NULL. */
static PyObject *const_text(PyObject *o)
{
    if (PyCode_Check(o)) {
        PyCodeObject *co = (PyCodeObject *)o;
        return PyUnicode_FromFormat("<code object %U, line %d>", co->co_name,
                                    co->co_firstlineno);
    }
    PyObject *r = PyObject_Repr(o);
    if (!r || PyUnicode_GET_LENGTH(r) <= CONST_MAX)
        return r;
    PyObject *head = PyUnicode_Substring(r, 0, CONST_MAX - 1);
    Py_DECREF(r);
    if (!head)
        return NULL;
    PyObject *dots = PyUnicode_FromOrdinal(0x2026);   /* one character: ... */
    r = dots ? PyUnicode_Concat(head, dots) : NULL;
    Py_XDECREF(dots);
    Py_DECREF(head);
    return r;
}

/* Copies of the strings of `tuple`, or (consts) of the texts of those that
 * `used` marks, NULL for the others; NULL on failure. */
static char **texts_of(PyObject *tuple, const unsigned char *used, int consts, size_t *n)
{
    Py_ssize_t k = tuple && PyTuple_Check(tuple) ? PyTuple_GET_SIZE(tuple) : 0;
    char **v = calloc((size_t)k + 1, sizeof *v);
    *n = 0;
    for (Py_ssize_t i = 0; v && i < k; i++) {
        PyObject *o = PyTuple_GET_ITEM(tuple, i), *r = NULL;
        if (consts && !used[i]) {
            (*n)++;
            continue;
        }
        if (consts && !(o = r = const_text(o)))
            goto fail;
        const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        if (!s || pf_set_string(&v[i], s) < 0) {
            Py_XDECREF(r);
            goto fail;
        }
        Py_XDECREF(r);
        (*n)++;
    }
    return v;
fail:
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    *n = 0;
    return NULL;
}

/* Appends [start, end) on `line`, merged into the range before when that
 * has the same line (co_lines() merges them).  -1 when out of memory. */
static int add_range(dz_line_range **v, size_t *n, size_t *cap, int start, int end, int line)
{
    if (*n && (*v)[*n - 1].line == line && (*v)[*n - 1].end == start) {
        (*v)[*n - 1].end = end;
        return 0;
    }
    if (*n == *cap) {
        dz_line_range *w = realloc(*v, (*cap *= 2) * sizeof *w);
        if (!w)
            return -1;
        *v = w;
    }
    (*v)[(*n)++] = (dz_line_range){start, end, line};
    return 0;
}

static unsigned varint(const unsigned char **p, const unsigned char *end)
{
    unsigned b = *p < end ? *(*p)++ : 0, v = b & 63, shift = 0;
    while ((b & 64) && *p < end && shift < 30) {
        b = *(*p)++;
        v |= (b & 63) << (shift += 6);
    }
    return v;
}

/* co_lines() of 3.11+ from the location table itself: the iterator made a
 * tuple per range, half of the time of this file at the end of a large
 * run.  Each entry: a first byte with bit 7 set, its code (bits 3-6) and
 * its length in code units - 1 (bits 0-2); codes 13 and 14 start with
 * the line step as a signed varint, 10-12 step 0-2 lines, 15 is no line,
 * the others stay on the line. */
static dz_line_range *ranges_from_table(PyCodeObject *co, size_t *n)
{
    PyObject *t = co->co_linetable;
    if (!t || !PyBytes_Check(t))
        return NULL;
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(t);
    const unsigned char *end = p + PyBytes_GET_SIZE(t);
    size_t cap = 16;
    dz_line_range *v = malloc(cap * sizeof *v);
    int line = co->co_firstlineno, at = 0;
    *n = 0;
    while (v && p < end) {
        unsigned first = *p, code = (first >> 3) & 15;
        int units = (int)(first & 7) + 1;
        const unsigned char *q = p + 1;
        if (code == 13 || code == 14) {
            unsigned u = varint(&q, end);
            line += u & 1 ? -(int)(u >> 1) : (int)(u >> 1);
        } else if (code >= 10 && code <= 12) {
            line += (int)code - 10;
        }
        if (add_range(&v, n, &cap, 2 * at, 2 * (at + units), code == 15 ? DZ_NO_LINE : line) < 0) {
            free(v);
            return NULL;
        }
        at += units;
        do
            p++;
        while (p < end && !(*p & 128));
    }
    return v;
}

static dz_line_range *ranges_of(PyObject *code, size_t *n)
{
    if (OPPROF_PY_LOCATION_TABLE)
        return ranges_from_table((PyCodeObject *)code, n);
    PyObject *it = PyObject_CallMethod(code, "co_lines", NULL);
    PyObject *iter = it ? PyObject_GetIter(it) : NULL, *item;
    size_t cap = 16;
    dz_line_range *v = malloc(cap * sizeof *v);
    *n = 0;
    while (v && iter && (item = PyIter_Next(iter))) {
        long start, end, ln = DZ_NO_LINE;
        PyObject *lo = NULL;
        int ok = PyArg_ParseTuple(item, "llO", &start, &end, &lo);
        if (ok && lo != Py_None)
            ln = PyLong_AsLong(lo);
        Py_DECREF(item);
        if (!ok || PyErr_Occurred())
            break;
        if (*n == cap) {
            dz_line_range *w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w)
                break;
            v = w;
        }
        v[(*n)++] = (dz_line_range){(int)start, (int)end, (int)ln};
    }
    int bad = !v || !iter || PyErr_Occurred();
    Py_XDECREF(iter);
    Py_XDECREF(it);
    if (bad) {
        free(v);
        return NULL;
    }
    return v;
}

int lst_fill(pf_function *f, PyObject *code)
{
    PyCodeObject *co = (PyCodeObject *)code;
    PyObject *bytes = oc_code_bytes(co), *locals = NULL, *cells = NULL;
    pf_code *c = calloc(1, sizeof *c);
    unsigned char *used = NULL;
    int rc = -1;
    if (!c || !bytes || !PyBytes_Check(bytes) || oc_code_varnames(co, &locals, &cells) < 0)
        goto done;
    c->nbytes = (size_t)PyBytes_GET_SIZE(bytes);
    if (!(c->bytes = malloc(c->nbytes + 1)))
        goto done;
    memcpy(c->bytes, PyBytes_AS_STRING(bytes), c->nbytes);
    Py_ssize_t nconsts = co->co_consts ? PyTuple_GET_SIZE(co->co_consts) : 0;
    if (!(used = malloc((size_t)nconsts + 1)))
        goto done;
    /* only what an instruction loads: a listing never shows the others */
    cp_consts_used(OPPROF_PY_MINOR, c->bytes, c->nbytes, used, (size_t)nconsts);
    if (!(c->names = texts_of(co->co_names, NULL, 0, &c->nnames)) ||
        !(c->consts = texts_of(co->co_consts, used, 1, &c->nconsts)) ||
        !(c->locals = texts_of(locals, NULL, 0, &c->nlocals)) ||
        !(c->cells = texts_of(cells, NULL, 0, &c->ncells)) ||
        !(c->lines = ranges_of(code, &c->nlines)))
        goto done;
    f->codeinfo = c;
    c = NULL;
    rc = 0;
done:
    if (c) {
        pf_code_release(c);
        free(c);
    }
    Py_XDECREF(locals);
    Py_XDECREF(cells);
    Py_XDECREF(bytes);
    free(used);
    PyErr_Clear();
    return rc;
}
