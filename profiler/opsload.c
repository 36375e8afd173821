/*
 * opsload.c - bm_ops from the `opcode` module.
 */
#include "opsload.h"

#include "pycompat.h"

#include <string.h>

static int opnum(PyObject *opmap, const char *name)
{
    PyObject *v = PyDict_GetItemString(opmap, name);
    return v ? (int)PyLong_AsLong(v) : -1;
}

/* Inline cache sizes: a list by opcode on 3.12, a dict by name on 3.13,
 * absent on 3.10. */
static int load_caches(bm_ops *ops, PyObject *mod, PyObject *opmap)
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
        ops->caches[op] = v ? (uint8_t)PyLong_AsLong(v) : 0;
    }
    if (PyDict_Check(c)) {
        PyObject *name, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(c, &pos, &name, &v)) {
            PyObject *num = PyDict_GetItem(opmap, name);
            long op = num ? PyLong_AsLong(num) : -1;
            if (op >= 0 && op < 256)
                ops->caches[op] = (uint8_t)PyLong_AsLong(v);
        }
    }
    Py_DECREF(c);
    return PyErr_Occurred() ? -1 : 0;
}

int ol_load(bm_ops *ops)
{
    memset(ops, 0, sizeof *ops);
    PyObject *mod = PyImport_ImportModule("opcode");
    PyObject *map = mod ? PyObject_GetAttrString(mod, "opmap") : NULL;
    int rc = map && PyDict_Check(map) ? load_caches(ops, mod, map) : -1;
    if (rc == 0) {
        ops->extended_arg = opnum(map, "EXTENDED_ARG");
        ops->resume = opnum(map, "RESUME");
        ops->for_iter = opnum(map, "FOR_ITER");
        ops->send = opnum(map, "SEND");
        ops->not_taken = opnum(map, "NOT_TAKEN");
        ops->pop_iter = opnum(map, "POP_ITER");
        ops->end_async_for = opnum(map, "END_ASYNC_FOR");
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
                ops->kind[op] = (uint8_t)kinds[i].kind;
        }
    }
    Py_XDECREF(map);
    Py_XDECREF(mod);
    if (rc == 0 && OPPROF_PY_HAS_RESUME && ops->resume < 0)
        PyErr_SetString(PyExc_RuntimeError, "opcode.opmap has no RESUME");
    return PyErr_Occurred() ? -1 : rc;
}
