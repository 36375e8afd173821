/*
 * codeinfo.c - code object -> record.
 */
#include "codeinfo.h"

#include "scope.h"

#include <stdlib.h>

_Static_assert(SC_CO_OPTIMIZED == CO_OPTIMIZED && SC_CO_NEWLOCALS == CO_NEWLOCALS &&
                   SC_CO_GENERATOR == CO_GENERATOR && SC_CO_COROUTINE == CO_COROUTINE &&
                   SC_CO_ASYNC_GENERATOR == CO_ASYNC_GENERATOR,
               "scope.h flag values differ from this CPython's");

static Py_ssize_t extra_index = -1;
static bm_ops ops;

static int opnum(PyObject *opmap, const char *name)
{
    PyObject *v = PyDict_GetItemString(opmap, name);
    return v ? (int)PyLong_AsLong(v) : -1;
}

/* Inline cache sizes: a list by opcode on 3.12, a dict by name on 3.13,
 * absent on 3.10. */
static int load_caches(PyObject *mod, PyObject *opmap)
{
    PyObject *c = PyObject_GetAttrString(mod, "_inline_cache_entries");
    if (!c) {
        PyErr_Clear();
        return 0;
    }
    for (int op = 0; op < 256; op++) {
        PyObject *v = NULL;
        if (PyList_Check(c) && op < PyList_GET_SIZE(c))
            v = PyList_GET_ITEM(c, op);
        ops.caches[op] = v ? (uint8_t)PyLong_AsLong(v) : 0;
    }
    if (PyDict_Check(c)) {
        PyObject *name, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(c, &pos, &name, &v)) {
            PyObject *num = PyDict_GetItem(opmap, name);
            long op = num ? PyLong_AsLong(num) : -1;
            if (op >= 0 && op < 256)
                ops.caches[op] = (uint8_t)PyLong_AsLong(v);
        }
    }
    Py_DECREF(c);
    return PyErr_Occurred() ? -1 : 0;
}

int ci_init(void)
{
    extra_index = oc_request_extra_index();
    if (extra_index < 0) {
        PyErr_SetString(PyExc_RuntimeError, "no free code-object extra slot");
        return -1;
    }
    PyObject *mod = PyImport_ImportModule("opcode");
    PyObject *map = mod ? PyObject_GetAttrString(mod, "opmap") : NULL;
    int rc = map && PyDict_Check(map) ? load_caches(mod, map) : -1;
    if (rc == 0) {
        ops.extended_arg = opnum(map, "EXTENDED_ARG");
        ops.resume = opnum(map, "RESUME");
        ops.for_iter = opnum(map, "FOR_ITER");
        ops.send = opnum(map, "SEND");
        ops.not_taken = opnum(map, "NOT_TAKEN");
        ops.pop_iter = opnum(map, "POP_ITER");
        ops.end_async_for = opnum(map, "END_ASYNC_FOR");
        static const struct {
            const char *name;
            enum bm_kind kind;
        } kinds[] = {
            {"POP_JUMP_IF_FALSE", BM_BRANCH}, {"POP_JUMP_IF_TRUE", BM_BRANCH},
            {"POP_JUMP_IF_NONE", BM_BRANCH}, {"POP_JUMP_IF_NOT_NONE", BM_BRANCH},
            {"FOR_ITER", BM_BRANCH},
            {"JUMP_FORWARD", BM_JUMP_FWD}, {"JUMP_BACKWARD", BM_JUMP_BACK},
            {"JUMP_BACKWARD_NO_INTERRUPT", BM_JUMP_SILENT_BACK},
            {"SEND", BM_SEND},
            {"RETURN_VALUE", BM_RETURN}, {"RETURN_CONST", BM_RETURN},
            {"YIELD_VALUE", BM_YIELD}, {"RAISE_VARARGS", BM_STOP},
            {"RERAISE", BM_STOP}, {"RETURN_GENERATOR", BM_STOP},
        };
        for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
            int op = opnum(map, kinds[i].name);
            if (op >= 0 && op < 256)
                ops.kind[op] = (uint8_t)kinds[i].kind;
        }
    }
    Py_XDECREF(map);
    Py_XDECREF(mod);
    if (rc == 0 && OPPROF_PY_HAS_RESUME && ops.resume < 0)
        PyErr_SetString(PyExc_RuntimeError, "opcode.opmap has no RESUME");
    return PyErr_Occurred() ? -1 : rc;
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
