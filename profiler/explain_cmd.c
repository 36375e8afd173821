/*
 * explain_cmd.c - `opprof explain`: what an instruction means, every
 * instruction of this interpreter, or code compiled (never run) by the
 * embedded interpreter, disassembled with each instruction's meaning.
 * The pages are reports/explain.c's; only the compiling is here.
 */
#include "explain_cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../reports/explain.h"
#include "commands.h"
#include "exitcode.h"
#include "listing.h"
#include "pycompat.h"

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cmd_vsay(fmt, ap);
    va_end(ap);
    return OPPROF_EXIT_BAD_INPUT;
}

static int unknown_name(const char *name)
{
    const gl_entry *near[4];
    size_t n = gl_closest(name, near, 4);
    fprintf(stderr, "opprof: no instruction named %s in CPython 3.10-3.14", name);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? ", " : "; closest: ", near[i]->name);
    fputs(" (opprof explain lists them all)\n", stderr);
    return OPPROF_EXIT_BAD_INPUT;
}

/* The whole file in a NUL-terminated buffer the caller frees, its
 * length in *len; NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f) || feof(f))
            break;
        char *more = realloc(buf, cap *= 2);
        if (!more) {
            free(buf);
            buf = NULL;
        }
        buf = more;
    }
    int failed = !buf || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        free(buf);
        errno = saved ? saved : ENOMEM;
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Splits a copy of src into lines; *lines and its text are freed by
 * free((void *)lines[0]) then free(lines). */
static char **lines_of(const char *src, size_t *n)
{
    char *copy = strdup(src);
    size_t cap = 1;
    for (const char *p = src; *p; p++)
        cap += *p == '\n';
    char **v = copy ? calloc(cap + 1, sizeof *v) : NULL;
    if (!v) {
        free(copy);
        return NULL;
    }
    *n = 0;
    for (char *p = copy; p; ) {
        v[(*n)++] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = 0;
    }
    return v;
}

static int start_python(void)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.install_signal_handlers = 0;
    config.site_import = 0;
    /* the stdlib the build was made against (encodings for the source) */
    PyStatus st = access(OPPROF_PYTHON_EXE, X_OK) == 0
                      ? PyConfig_SetBytesString(&config, &config.program_name, OPPROF_PYTHON_EXE)
                      : PyConfig_SetBytesString(&config, &config.program_name, "python3");
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "opprof: cannot start python: %s\n", st.err_msg ? st.err_msg : "?");
        return -1;
    }
    return 0;
}

/* A code object's qualified name into buf: co_qualname (3.11+), else
 * built the way 3.10's compiler builds __qualname__ from the enclosing
 * code objects ("Outer.method", "f.<locals>.g"). */
static void qualname_of(PyObject *code, const char *parent, int parent_is_function, char *buf,
                        size_t n)
{
    PyObject *s = PyObject_GetAttrString(code, "co_qualname");
    if (!s) {
        PyErr_Clear();
        s = PyObject_GetAttrString(code, "co_name");
        const char *name = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
        if (!parent || !name)
            snprintf(buf, n, "%s", name ? name : "?");
        else
            snprintf(buf, n, "%s%s%s", parent, parent_is_function ? ".<locals>." : ".", name);
    } else {
        const char *q = PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
        snprintf(buf, n, "%s", q ? q : "?");
    }
    PyErr_Clear();
    Py_XDECREF(s);
}

/* Whether the code is a function's (its names are locals), not a module's
 * or a class body's. */
static int is_function(PyObject *code)
{
    return (((PyCodeObject *)code)->co_flags & CO_NEWLOCALS) != 0;
}

typedef struct walk {
    const char *want;        /* FUNCTION, or NULL for all */
    const char *const *source;
    size_t nsource;
    size_t shown;
    int failed;
} walk;

static void show(walk *w, PyObject *code, const char *qualname)
{
    PyCodeObject *co = (PyCodeObject *)code;
    pf_function f = {0};
    dz_code dc;
    dz_listing l = {0};
    char err[256], title[1024];
    if (lst_fill(&f, code) < 0) {
        fprintf(stderr, "opprof: cannot read a code object\n");
        w->failed = 1;
        return;
    }
    pf_code_as_dz(f.codeinfo, OPPROF_PY_MINOR, &dc);
    const char *file = PyUnicode_Check(co->co_filename) ? PyUnicode_AsUTF8(co->co_filename) : NULL;
    PyErr_Clear();
    snprintf(title, sizeof title, "%sDisassembly of %s (%s, line %d):", w->shown ? "\n" : "",
             qualname, file ? file : "?", co->co_firstlineno);
    if (dz_disassemble(&dc, &l, err, sizeof err) < 0) {
        fprintf(stderr, "opprof: cannot disassemble %s: %s\n", title, err);
        w->failed = 1;
    } else if (ex_print_code(stdout, title, &l, OPPROF_PY_MINOR, w->source, w->nsource) < 0) {
        w->failed = 1;
    }
    w->shown++;
    dz_listing_release(&l);
    pf_code_release(f.codeinfo);
    free(f.codeinfo);
}

/* dis's order: a code object, then the ones in its constants, depth first. */
static void visit(walk *w, PyObject *code, const char *parent, int parent_is_function,
                  int depth)
{
    char qual[400];
    if (w->failed || depth > 200)
        return;
    qualname_of(code, parent, parent_is_function, qual, sizeof qual);
    PyObject *name = PyObject_GetAttrString(code, "co_name");
    const char *n = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    PyErr_Clear();
    /* FUNCTION: a qualname (Outer.work) or a plain name (work) */
    if (!w->want || !strcmp(w->want, qual) || (n && !strcmp(w->want, n)))
        show(w, code, qual);
    Py_XDECREF(name);
    PyObject *consts = ((PyCodeObject *)code)->co_consts;
    for (Py_ssize_t i = 0; consts && i < PyTuple_GET_SIZE(consts); i++)
        if (PyCode_Check(PyTuple_GET_ITEM(consts, i)))
            visit(w, PyTuple_GET_ITEM(consts, i), depth ? qual : NULL, is_function(code),
                  depth + 1);
}

/* "SyntaxError: invalid syntax (app.py, line 3)": Python's own words. */
static void say_compile_error(void)
{
    PyObject *value = oc_err_take();
    PyObject *s = value ? PyObject_Str(value) : NULL;
    const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
    cmd_say("%s: %s", value ? Py_TYPE(value)->tp_name : "SyntaxError", msg ? msg : "?");
    Py_XDECREF(s);
    Py_XDECREF(value);
    PyErr_Clear();
}

static int compile_and_show(const char *src, const char *filename, const char *want)
{
    if (start_python() < 0)
        return OPPROF_EXIT_SOFTWARE;
    int rc = OPPROF_EXIT_OK;
    PyObject *code = Py_CompileStringExFlags(src, filename, Py_file_input, NULL, -1);
    size_t nlines = 0;
    char **lines = code ? lines_of(src, &nlines) : NULL;
    if (!code) {
        say_compile_error();
        rc = OPPROF_EXIT_BAD_INPUT;
    } else {
        walk w = {want, (const char *const *)lines, lines ? nlines : 0, 0, 0};
        visit(&w, code, NULL, 0, 0);
        if (w.failed)
            rc = OPPROF_EXIT_SOFTWARE;
        else if (!w.shown)
            rc = bad("no function %s in %s", want, filename);
    }
    Py_XDECREF(code);
    if (lines)
        free(lines[0]);
    free(lines);
    if (fflush(stdout) != 0 && rc == OPPROF_EXIT_OK)
        rc = bad("cannot write the listing");
    Py_FinalizeEx();
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(cli_explain_usage, stdout);
        return OPPROF_EXIT_OK;
    }
    if (argc == 1)
        return ex_print_all(stdout, OPPROF_PY_MINOR) < 0 ? OPPROF_EXIT_BAD_INPUT : OPPROF_EXIT_OK;
    if (!strcmp(argv[1], "--names")) {
        int minor = 0;
        if (argc != 3 || sscanf(argv[2], "3.%d", &minor) != 1 || minor < 10 || minor > 14)
            return bad("explain --names needs a version from 3.10 to 3.14");
        return ex_print_names(stdout, minor) < 0 ? OPPROF_EXIT_BAD_INPUT : OPPROF_EXIT_OK;
    }
    if (!strcmp(argv[1], "-c")) {
        if (argc != 3)
            return bad("explain -c needs the code as one argument (see opprof explain --help)");
        return compile_and_show(argv[2], "<string>", NULL);
    }
    if (argv[1][0] == '-')
        return bad("explain: unknown option %s (see opprof explain --help)", argv[1]);
    const char *arg = argv[1];
    size_t len = strlen(arg);
    int is_file = strchr(arg, '/') || (len > 3 && !strcmp(arg + len - 3, ".py"));
    if (!is_file) {
        if (argc != 2)
            return bad("explain takes one instruction name (see opprof explain --help)");
        const gl_entry *e = gl_find(arg);
        if (!e)
            return unknown_name(arg);
        return ex_print_entry(stdout, e, OPPROF_PY_MINOR) < 0 ? OPPROF_EXIT_BAD_INPUT
                                                              : OPPROF_EXIT_OK;
    }
    if (argc > 3)
        return bad("explain takes FILE.py and at most one FUNCTION (see opprof explain --help)");
    size_t n;
    char *src = slurp(arg, &n);
    if (!src)
        return bad("cannot read %s: %s", arg, strerror(errno));
    if (memchr(src, 0, n)) {   /* what python says of such a file */
        free(src);
        return bad("SyntaxError: source code cannot contain null bytes (%s)", arg);
    }
    int rc = compile_and_show(src, arg, argc == 3 ? argv[2] : NULL);
    free(src);
    return rc;
}
