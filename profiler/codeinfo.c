/*
 * codeinfo.c - code object -> record.
 */
#include "codeinfo.h"

#include "opsload.h"
#include "scope.h"

#include <stdlib.h>

_Static_assert(SC_CO_OPTIMIZED == CO_OPTIMIZED && SC_CO_NEWLOCALS == CO_NEWLOCALS &&
                   SC_CO_GENERATOR == CO_GENERATOR && SC_CO_COROUTINE == CO_COROUTINE &&
                   SC_CO_ASYNC_GENERATOR == CO_ASYNC_GENERATOR,
               "scope.h flag values differ from this CPython's");

static Py_ssize_t extra_index = -1;
static bm_ops ops;

int ci_init(void)
{
    extra_index = oc_request_extra_index();
    if (extra_index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no free code-object extra slot");
        return -1;
    }
    return ol_load(&ops);
}

Py_ssize_t ci_extra_index(void)
{
    return extra_index;
}

const bm_ops *ci_ops(void)
{
    return &ops;
}

static int32_t first_resume(const unsigned char *bytes, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; ops.resume >= 0 && i + 1 < n; i += 2)
        if (bytes[i] == ops.resume)
            return (int32_t)i;
    return -1;
}

int ci_is_resume(const st_record *rec, long offset)
{
    return offset >= 0 && (unsigned long)offset < 2ul * rec->ncounters &&
           rec->bytes[offset] == ops.resume;
}

uint32_t *ci_instruction_starts(const st_record *rec)
{
    uint32_t *start = malloc((rec->ncounters ? rec->ncounters : 1) * sizeof *start);
    for (uint32_t i = 0; start && i < rec->ncounters;) {
        uint32_t next = i + 1 + ops.caches[rec->bytes[2 * i]];
        for (uint32_t k = i; k < next && k < rec->ncounters; k++)
            start[k] = i;
        i = next;
    }
    return start;
}

static st_record *create(st_store *s, PyObject *code)
{
    PyCodeObject *co = (PyCodeObject *)code;
    st_record *rec = NULL;
    oc_err_state saved = oc_err_save();
    PyObject *file = PyUnicode_EncodeFSDefault(co->co_filename);
    const char *name = PyUnicode_AsUTF8(co->co_name);
    PyObject *bytes = oc_code_bytes(co);
    if (!file || !name || !bytes)
        goto done;
    int created;
    Py_ssize_t n = PyBytes_GET_SIZE(bytes);
    rec = st_record_get(s, PyBytes_AS_STRING(file), name, co->co_firstlineno,
                        PyBytes_AS_STRING(bytes), (size_t)n,
                        (uint32_t)(n / 2), &created);
    if (rec && created) {
        Py_INCREF(code);
        rec->user = code;
        rec->entry = first_resume((const unsigned char *)PyBytes_AS_STRING(bytes), n);
        rec->jumps_reported = rec->width == 2 &&
                              bm_needs_jump_events(&ops, rec->bytes, rec->ncounters);
    }
    if (rec && oc_set_extra(code, extra_index, rec) < 0)
        PyErr_Clear();  /* only the cache is lost */
done:
    Py_XDECREF(file);
    Py_XDECREF(bytes);
    if (PyErr_Occurred())
        PyErr_Clear();  /* the hot path must never leave an error behind */
    oc_err_restore(saved);
    return rec;
}

st_record *ci_record(st_store *s, PyObject *code, int *fresh)
{
    void *p = oc_get_extra(code, extra_index);
    *fresh = p == NULL;
    if (p)
        return p;
    return create(s, code);
}

void ci_release(st_store *s)
{
    for (size_t i = 0; i < st_record_count(s); i++) {
        st_record *r = st_record_at(s, i);
        PyObject *code = r->user;
        r->user = NULL;
        Py_XDECREF(code);
    }
}
