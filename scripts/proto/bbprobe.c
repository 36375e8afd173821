/* bbprobe: the counting probe of the bytecode-rewriting prototype
 * (scripts/proto/README.md).  Not part of opprof.
 *
 * One Probe object per basic block, stored in the rewritten code's co_consts.
 * Two ways for the inserted bytecode to reach it:
 *   bool: LOAD_CONST probe; POP_JUMP_[FORWARD_]IF_TRUE <next>  -> nb_bool
 *   call: [PUSH_NULL;] LOAD_CONST probe; [PRECALL 0;] CALL[_FUNCTION] 0; POP_TOP -> vectorcall
 * Both add one to the probe's counter; nb_bool answers False, so the jump
 * (to the next instruction anyway) is never taken. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    unsigned long long count;
} Probe;

static int probe_bool(PyObject *self)
{
    ((Probe *)self)->count++;
    return 0;
}

static PyObject *probe_vectorcall(PyObject *self, PyObject *const *args,
                                  size_t nargsf, PyObject *kwnames)
{
    (void)args; (void)nargsf; (void)kwnames;
    ((Probe *)self)->count++;
    Py_RETURN_NONE;
}

static PyObject *probe_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if (!_PyArg_NoKeywords("Probe", kw) || !_PyArg_NoPositional("Probe", args))
        return NULL;
    Probe *p = (Probe *)type->tp_alloc(type, 0);
    if (p) {
        p->vectorcall = probe_vectorcall;
        p->count = 0;
    }
    return (PyObject *)p;
}

static PyObject *probe_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<probe %llu>", ((Probe *)self)->count);
}

static PyMemberDef probe_members[] = {
    {"count", T_ULONGLONG, offsetof(Probe, count), 0, "times the block was entered"},
    {NULL}
};

static PyNumberMethods probe_as_number = { .nb_bool = probe_bool };

static PyTypeObject ProbeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bbprobe.Probe",
    .tp_basicsize = sizeof(Probe),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Probe, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_as_number = &probe_as_number,
    .tp_members = probe_members,
    .tp_new = probe_new,
    .tp_repr = probe_repr,
    .tp_doc = "A basic-block counter: truth test or call adds one.",
};

static struct PyModuleDef bbprobe_module = {
    PyModuleDef_HEAD_INIT, "bbprobe", "Basic-block counting probes (prototype).", -1, NULL
};

PyMODINIT_FUNC PyInit_bbprobe(void)
{
    if (PyType_Ready(&ProbeType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&bbprobe_module);
    if (!m)
        return NULL;
    Py_INCREF(&ProbeType);
    if (PyModule_AddObject(m, "Probe", (PyObject *)&ProbeType) < 0) {
        Py_DECREF(&ProbeType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
