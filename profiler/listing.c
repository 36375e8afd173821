/*
 * listing.c - f->listing from the C disassembler, dis as the fallback
 * (listing.h).
 */
#include "listing.h"

#include <stdlib.h>
#include <string.h>

#include "../reports/model/disasm.h"

static PyObject *dis_module;   /* imported on the first fallback only */

/* UTF-8 pointers into the strings of `tuple` (kept alive by the caller),
 * or into `keep`'s reprs when `repr` is set.  NULL on failure. */
static const char **texts_of(PyObject *tuple, int repr, PyObject *keep, size_t *n)
{
    Py_ssize_t k = tuple && PyTuple_Check(tuple) ? PyTuple_GET_SIZE(tuple) : 0;
    const char **v = calloc((size_t)k + 1, sizeof *v);
    *n = (size_t)k;
    for (Py_ssize_t i = 0; v && i < k; i++) {
        PyObject *o = PyTuple_GET_ITEM(tuple, i);
        if (repr) {
            o = PyObject_Repr(o);
            if (!o || PyList_Append(keep, o) < 0) {
                Py_XDECREF(o);
                free(v);
                return NULL;
            }
            Py_DECREF(o);
        }
        if (!PyUnicode_Check(o) || !(v[i] = PyUnicode_AsUTF8(o))) {
            free(v);
            return NULL;
        }
    }
    return v;
}

static dz_line_range *ranges_of(PyObject *code, size_t *n)
{
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
    int bad = !iter || PyErr_Occurred();
    Py_XDECREF(iter);
    Py_XDECREF(it);
    if (bad) {
        free(v);
        return NULL;
    }
    return v;
}

static int from_c(pf_profile *p, pf_function *f, PyObject *code, const int *line, uint32_t n)
{
    PyCodeObject *co = (PyCodeObject *)code;
    PyObject *bytes = oc_code_bytes(co), *keep = PyList_New(0), *locals = NULL, *cells = NULL;
    dz_code c = {.minor = OPPROF_PY_MINOR};
    dz_listing l = {0};
    const char **names = NULL, **consts = NULL, **lv = NULL, **cv = NULL;
    dz_line_range *ranges = NULL;
    int rc = -1;
    if (!bytes || !keep || !PyBytes_Check(bytes) || oc_code_varnames(co, &locals, &cells) < 0)
        goto done;
    c.code = (const unsigned char *)PyBytes_AS_STRING(bytes);
    c.code_len = (size_t)PyBytes_GET_SIZE(bytes);
    if (!(names = texts_of(co->co_names, 0, keep, &c.n_names)) ||
        !(consts = texts_of(co->co_consts, 1, keep, &c.n_consts)) ||
        !(lv = texts_of(locals, 0, keep, &c.n_locals)) ||
        !(cv = texts_of(cells, 0, keep, &c.n_cells)) || !(ranges = ranges_of(code, &c.n_lines)))
        goto done;
    c.names = names;
    c.consts = consts;
    c.locals = lv;
    c.cells = cv;
    c.lines = ranges;
    char err[256];
    if (dz_disassemble(&c, &l, err, sizeof err) < 0)
        goto done;
    f->listing = calloc(l.n + 1, sizeof *f->listing);
    if (!f->listing)
        goto done;
    for (size_t i = 0; i < l.n; i++) {
        const dz_instr *in = &l.v[i];
        int op = pf_opname_index(p, in->opname);
        pf_listing *e = &f->listing[f->nlisting];
        if (op < 0 || pf_set_string(&e->argrepr, in->argrepr) < 0)
            goto done;
        e->offset = (uint32_t)in->offset;
        e->op = (uint16_t)op;
        e->arg = in->arg < 0 ? -1 : (int32_t)in->arg;
        e->line = (uint32_t)in->offset / 2 < n ? line[in->offset / 2] : -1;
        f->nlisting++;
    }
    rc = 0;
done:
    if (rc < 0 && f->listing) {
        for (size_t i = 0; i < f->nlisting; i++)
            free(f->listing[i].argrepr);
        free(f->listing);
        f->listing = NULL;
        f->nlisting = 0;
    }
    dz_listing_release(&l);
    free(names);
    free(consts);
    free(lv);
    free(cv);
    free(ranges);
    Py_XDECREF(locals);
    Py_XDECREF(cells);
    Py_XDECREF(keep);
    Py_XDECREF(bytes);
    PyErr_Clear();
    return rc;
}

/* dis.get_instructions(code), as before the C disassembler. */
static int from_dis(pf_profile *p, pf_function *f, PyObject *code, const int *line, uint32_t n)
{
    if (!dis_module && !(dis_module = PyImport_ImportModule("dis")))
        return -1;
    PyObject *list = PyObject_CallMethod(dis_module, "get_instructions", "O", code);
    PyObject *seq = list ? PySequence_List(list) : NULL;
    Py_XDECREF(list);
    if (!seq)
        return -1;
    Py_ssize_t k = PyList_GET_SIZE(seq);
    int rc = -1;
    f->listing = calloc((size_t)k + 1, sizeof *f->listing);
    if (!f->listing)
        goto done;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *ins = PyList_GET_ITEM(seq, i);
        PyObject *off = PyObject_GetAttrString(ins, "offset");
        PyObject *name = PyObject_GetAttrString(ins, "opname");
        PyObject *arg = PyObject_GetAttrString(ins, "arg");
        PyObject *repr = PyObject_GetAttrString(ins, "argrepr");
        const char *ns = name ? PyUnicode_AsUTF8(name) : NULL;
        const char *rs = repr ? PyUnicode_AsUTF8(repr) : NULL;
        long o = off ? PyLong_AsLong(off) : -1;
        int op = ns ? pf_opname_index(p, ns) : -1;
        pf_listing *l = &f->listing[f->nlisting];
        int ok = ns && rs && o >= 0 && op >= 0 && pf_set_string(&l->argrepr, rs) == 0;
        if (ok) {
            l->offset = (uint32_t)o;
            l->op = (uint16_t)op;
            l->arg = arg && arg != Py_None ? (int32_t)PyLong_AsLong(arg) : -1;
            l->line = (uint32_t)o / 2 < n ? line[o / 2] : -1;
            f->nlisting++;
        }
        Py_XDECREF(off);
        Py_XDECREF(name);
        Py_XDECREF(arg);
        Py_XDECREF(repr);
        if (!ok)
            goto done;
    }
    rc = 0;
done:
    Py_DECREF(seq);
    return rc;
}

int lst_fill(pf_profile *p, pf_function *f, PyObject *code, const int *line, uint32_t n)
{
    /* the tests compare both paths on whole runs (README: "Annotated bytecode") */
    static int dis_only = -1;
    if (dis_only < 0)
        dis_only = getenv("OPPROF_LISTING_FROM_DIS") != NULL;
    if (!dis_only && from_c(p, f, code, line, n) == 0)
        return 0;
    int rc = from_dis(p, f, code, line, n);
    PyErr_Clear();
    return rc;
}

void lst_release(void)
{
    Py_CLEAR(dis_module);
}
