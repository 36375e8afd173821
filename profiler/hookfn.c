/*
 * hookfn.c - callables for sys.monitoring without PyCFunction's wrapper.
 */
#include "hookfn.h"

#include <stddef.h>

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;   /* at tp_vectorcall_offset */
    hf_fn fn;
    const char *name;            /* static */
} hf_hook;

static PyObject *call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    hf_hook *h = (hf_hook *)self;
    if (kwnames && PyTuple_GET_SIZE(kwnames)) {
        PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", h->name);
        return NULL;
    }
    return h->fn(self, args, PyVectorcall_NARGS(nargsf));
}

static PyObject *repr(PyObject *self)
{
    return PyUnicode_FromFormat("<opprof hook %s>", ((hf_hook *)self)->name);
}

static PyTypeObject hook_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "opprof.hook",
    .tp_basicsize = sizeof(hf_hook),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(hf_hook, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_repr = repr,
};

PyObject *hf_new(hf_fn fn, const char *name)
{
    if (!(hook_type.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&hook_type) < 0)
        return NULL;
    hf_hook *h = PyObject_New(hf_hook, &hook_type);
    if (!h)
        return NULL;
    h->vectorcall = call;
    h->fn = fn;
    h->name = name;
    return (PyObject *)h;
}

const void *hf_trampoline(void)
{
    return (const void *)call;
}
