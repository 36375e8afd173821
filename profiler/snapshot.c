/*
 * snapshot.c - store -> profile model.
 *
 * One function per record: records already merge code objects with equal
 * file, name, first line and bytecode.  Prologue instructions before the
 * first RESUME have no event of their own; they run once per entry, so
 * they get the entry RESUME's count.
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "codeinfo.h"
#include "pycompat.h"
#include "scope.h"

static int load_opnames(pf_profile *p)
{
    PyObject *mod = PyImport_ImportModule("opcode");
    PyObject *names = mod ? PyObject_GetAttrString(mod, "opname") : NULL;
    Py_XDECREF(mod);
    if (!names || !PyList_Check(names))
        goto fail;
    Py_ssize_t n = PyList_GET_SIZE(names);
    if (n < 256)
        n = 256;  /* every byte value gets a name */
    p->opnames = calloc((size_t)n, sizeof *p->opnames);
    if (!p->opnames)
        goto fail;
    p->nopnames = (size_t)n;
    char buf[32];
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *s = NULL;
        if (i < PyList_GET_SIZE(names)) {
            PyObject *o = PyList_GET_ITEM(names, i);
            s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        }
        if (!s || strncmp(s, "<", 1) == 0) {
            snprintf(buf, sizeof buf, "<%d>", (int)i);
            s = buf;
        }
        if (pf_set_string(&p->opnames[i], s) < 0)
            goto fail;
    }
    Py_DECREF(names);
    return 0;
fail:
    Py_XDECREF(names);
    return -1;
}

/* line[i] for every code unit i, from co_lines(); -1 where none. */
static int *lines_of(PyObject *code, uint32_t n)
{
    int *line = malloc((n ? n : 1) * sizeof *line);
    if (!line)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        line[i] = -1;
    PyObject *it = PyObject_CallMethod(code, "co_lines", NULL);
    PyObject *iter = it ? PyObject_GetIter(it) : NULL;
    PyObject *item;
    while (iter && (item = PyIter_Next(iter))) {
        long start, end, ln = -1;
        PyObject *lo = NULL;
        if (PyArg_ParseTuple(item, "llO", &start, &end, &lo) && lo != Py_None)
            ln = PyLong_AsLong(lo);
        Py_DECREF(item);
        for (long b = start; b < end && b >= 0 && (b >> 1) < (long)n; b += 2)
            line[b >> 1] = (int)ln;
    }
    Py_XDECREF(iter);
    Py_XDECREF(it);
    PyErr_Clear();
    return line;
}

static char *absolute(const char *file, const char *cwd)
{
    if (file[0] == '/' || file[0] == '<' || !cwd)
        return NULL;
    size_t n = strlen(cwd) + strlen(file) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", cwd, file);
    return s;
}

#if !OPPROF_PY_HAS_QUALNAME
/* On 3.10 there is no co_qualname: a nested code object's qualname is its
 * parent's plus ".<locals>." (function parent) or "." (class parent). */
static int note_children(PyObject *quals, PyObject *code, pf_scope scope,
                         const char *qual)
{
    PyObject *consts = ((PyCodeObject *)code)->co_consts;
    for (Py_ssize_t i = 0; consts && i < PyTuple_GET_SIZE(consts); i++) {
        PyObject *c = PyTuple_GET_ITEM(consts, i);
        if (!PyCode_Check(c))
            continue;
        const char *name = PyUnicode_AsUTF8(((PyCodeObject *)c)->co_name);
        if (!name)
            return -1;
        PyObject *q = scope == PF_SCOPE_MODULE ? PyUnicode_FromString(name)
                      : scope == PF_SCOPE_CLASS ? PyUnicode_FromFormat("%s.%s", qual, name)
                      : PyUnicode_FromFormat("%s.<locals>.%s", qual, name);
        if (!q || PyDict_SetItem(quals, c, q) < 0) {
            Py_XDECREF(q);
            return -1;
        }
        Py_DECREF(q);
    }
    return 0;
}
#endif

static int fill_names(pf_function *f, PyObject *code, PyObject *quals,
                      const char *cwd)
{
    PyCodeObject *co = (PyCodeObject *)code;
    PyObject *file = PyUnicode_EncodeFSDefault(co->co_filename);
    const char *name = PyUnicode_AsUTF8(co->co_name);
    if (!file || !name) {
        Py_XDECREF(file);
        return -1;
    }
    char *abs = absolute(PyBytes_AS_STRING(file), cwd);
    int rc = pf_set_string(&f->file, abs ? abs : PyBytes_AS_STRING(file));
    free(abs);
    Py_DECREF(file);
    rc |= pf_set_string(&f->name, name);
    f->firstlineno = co->co_firstlineno;
    f->scope = sc_classify((unsigned)co->co_flags, name);
#if OPPROF_PY_HAS_QUALNAME
    (void)quals;
    const char *qual = PyUnicode_AsUTF8(co->co_qualname);
#else
    PyObject *q = PyDict_GetItem(quals, code);
    const char *qual = q ? PyUnicode_AsUTF8(q) : name;
#endif
    if (!qual)
        return -1;
    rc |= pf_set_string(&f->qualname, qual);
#if !OPPROF_PY_HAS_QUALNAME
    if (rc == 0 && note_children(quals, code, f->scope, qual) < 0)
        return -1;
#endif
    return rc;
}

/* Scratch space big enough for any record, and what went wrong. */
typedef struct snap_buf {
    uint64_t *counts;        /* max ncounters */
    uint64_t *ex;            /* 2 * max ncounters */
    uint32_t inconsistent;   /* instructions whose flow counts did not add up */
} snap_buf;

static int buf_init(snap_buf *b, st_store *s)
{
    uint32_t most = 1;
    for (size_t i = 0; i < st_record_count(s); i++)
        if (st_record_at(s, i)->ncounters > most)
            most = st_record_at(s, i)->ncounters;
    b->counts = malloc(most * sizeof *b->counts);
    b->ex = malloc(2 * (size_t)most * sizeof *b->ex);
    b->inconsistent = 0;
    return b->counts && b->ex ? 0 : -1;
}

static void buf_release(snap_buf *b)
{
    free(b->counts);
    free(b->ex);
}

/* Per-instruction counts of one node into b->counts, prologue included. */
static const uint64_t *node_counts(const st_node *n, snap_buf *b)
{
    const st_record *r = n->rec;
    if (r->width == 2) {
        memcpy(b->ex, n->counts, 2 * (size_t)r->ncounters * sizeof *b->ex);
        b->inconsistent += bm_resolve(ci_ops(), r->bytes, r->ncounters, r->jumps_reported,
                                      b->ex, b->counts);
    } else {
        memcpy(b->counts, n->counts, (size_t)r->ncounters * sizeof *b->counts);
    }
    if (r->entry >= 0)
        for (uint32_t i = 0; i < (uint32_t)(r->entry >> 1); i++)
            b->counts[i] = b->counts[r->entry >> 1];
    return b->counts;
}

static void add_node(const st_node *n, uint64_t *sum, snap_buf *b)
{
    const uint64_t *c = node_counts(n, b);
    for (uint32_t i = 0; i < n->rec->ncounters; i++)
        sum[i] += c[i];
}

static int fill_code(pf_function *f, const st_record *r, const uint64_t *sum,
                     const int *line)
{
    size_t k = 0;
    for (uint32_t i = 0; i < r->ncounters; i++)
        k += sum[i] != 0;
    f->code = calloc(k ? k : 1, sizeof *f->code);
    if (!f->code)
        return -1;
    for (uint32_t i = 0; i < r->ncounters; i++) {
        if (!sum[i])
            continue;
        pf_instr *in = &f->code[f->ncode++];
        in->offset = 2 * i;
        in->op = r->bytes[2 * i];
        in->line = line[i];
        in->count = sum[i];
        f->instructions += sum[i];
    }
    return 0;
}

static int build_functions(st_store *s, pf_profile *p, const char *cwd, snap_buf *b)
{
    int rc = -1;
    PyObject *quals = PyDict_New();
    if (!quals)
        return -1;
    size_t nrec = st_record_count(s);
    uint64_t **sums = calloc(nrec ? nrec : 1, sizeof *sums);
    if (!sums)
        goto done;
    for (size_t i = 0; i < nrec; i++) {
        st_record *r = st_record_at(s, i);
        sums[i] = calloc(r->ncounters ? r->ncounters : 1, sizeof **sums);
        if (!sums[i])
            goto done;
    }
    for (size_t i = 0; i < st_node_count(s); i++) {
        st_node *n = st_node_at(s, i);
        if (n->rec && n->counts)
            add_node(n, sums[n->rec->index], b);
    }
    for (size_t i = 0; i < nrec; i++) {
        st_record *r = st_record_at(s, i);
        pf_function *f = pf_add_function(p);
        if (!f || !r->user)
            goto done;
        f->calls = r->calls;
        int *line = lines_of(r->user, r->ncounters);
        int bad = !line || fill_names(f, r->user, quals, cwd) < 0 ||
                  fill_code(f, r, sums[i], line) < 0;
        free(line);
        if (bad)
            goto done;
        p->instructions += f->instructions;
    }
    rc = 0;
done:
    for (size_t i = 0; sums && i < nrec; i++)
        free(sums[i]);
    free(sums);
    Py_DECREF(quals);
    PyErr_Clear();
    return rc;
}

static int build_stack(pf_profile *p, const st_node *n, snap_buf *b)
{
    const st_record *r = n->rec;
    const uint64_t *sum = node_counts(n, b);
    uint64_t total = 0;
    size_t nops = 0;
    uint64_t by_op[256] = {0};
    for (uint32_t i = 0; i < r->ncounters; i++) {
        if (!sum[i])
            continue;
        total += sum[i];
        nops += by_op[r->bytes[2 * i]] == 0;
        by_op[r->bytes[2 * i]] += sum[i];
    }
    if (!total)
        return 0;
    pf_stack *st = pf_add_stack(p);
    if (!st)
        return -1;
    st->thread = n->thread;
    st->instructions = total;
    for (const st_node *a = n; a->rec; a = a->parent)
        st->nframes++;
    st->frames = malloc(st->nframes * sizeof *st->frames);
    st->ops = malloc(nops * sizeof *st->ops);
    if (!st->frames || !st->ops)
        return -1;
    size_t k = st->nframes;
    for (const st_node *a = n; a->rec; a = a->parent)
        st->frames[--k] = a->rec->index;
    for (unsigned op = 0; op < 256; op++)
        if (by_op[op])
            st->ops[st->nops++] = (pf_opcount){(uint16_t)op, by_op[op]};
    return 0;
}

static int build_stacks(st_store *s, pf_profile *p, snap_buf *b)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < st_node_count(s); i++) {
        st_node *n = st_node_at(s, i);
        if (n->rec && n->counts && n->parent)   /* thread roots have no record */
            rc = build_stack(p, n, b);
    }
    return rc;
}

static int build_threads(st_store *s, pf_profile *p)
{
    p->threads = calloc(st_thread_count(s) + 1, sizeof *p->threads);
    if (!p->threads)
        return -1;
    for (size_t i = 0; i < st_thread_count(s); i++) {
        st_thread *t = st_thread_at(s, i);
        if (pf_set_string(&p->threads[p->nthreads++], t->name ? t->name : "?") < 0)
            return -1;
    }
    return 0;
}

int snap_build(st_store *s, pf_profile *p, const char *cwd)
{
    snap_buf b;
    int rc = -1;
    p->stacks_enabled = st_store_with_stacks(s);
    if (buf_init(&b, s) < 0 || load_opnames(p) < 0 || build_functions(s, p, cwd, &b) < 0 ||
        build_threads(s, p) < 0 || (p->stacks_enabled && build_stacks(s, p, &b) < 0))
        goto done;
    rc = 0;
    if (b.inconsistent) {
        char why[128];
        snprintf(why, sizeof why, "control-flow counts did not add up at %u instructions",
                 b.inconsistent);
        rc = pf_mark_incomplete(p, why);
    }
done:
    PyErr_Clear();
    buf_release(&b);
    return rc;
}
