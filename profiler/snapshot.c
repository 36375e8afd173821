/*
 * snapshot.c - store -> profile model.
 *
 * One function per record: records already merge code objects with equal
 * file, name, first line and bytecode.  What the code objects say (names,
 * the listing) is read here, on the main thread, while nodepass.c sums
 * the counters beside it.
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codeinfo.h"
#include "forms.h"
#include "listing.h"
#include "nodepass.h"
#include "pycompat.h"
#include "../reports/model/opcodes.h"
#include "../reports/model/sourcetext.h"
#include "scope.h"
#include "sources.h"

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
        if (!s || strncmp(s, "<", 1) == 0)  /* specialized forms (3.12: dis._all_opname) */
            s = oc_name(oc_table_for(OPPROF_PY_MINOR), (unsigned)i);
        if (!s) {
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

/* line[i] for every code unit i of c's line table. */
static int *lines_of_table(const pf_code *c, uint32_t n)
{
    int *line = malloc((n ? n : 1) * sizeof *line);
    size_t at = 0;
    for (uint32_t i = 0; line && i < n; i++)
        line[i] = pf_code_line_next(c, 2 * i, &at);
    return line;
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

/* Instructions that ran or got time, by offset; lines from line[]. */
static int fill_code(pf_function *f, const st_record *r, const np_sums *sum,
                     const int *line)
{
    size_t k = 0;
    for (uint32_t i = 0; i < r->ncounters; i++)
        k += sum->count[i] || (sum->time && sum->time[i]);
    f->code = calloc(k ? k : 1, sizeof *f->code);
    if (!f->code)
        return -1;
    for (uint32_t i = 0; i < r->ncounters; i++) {
        uint64_t t = sum->time ? sum->time[i] : 0, smp = sum->time ? sum->samples[i] : 0;
        if (!sum->count[i] && !t)
            continue;
        int ln = line[i];
        f->code[f->ncode++] = (pf_instr){.offset = 2 * i, .op = r->bytes[2 * i], .line = ln,
                                         .count = sum->count[i]};
        if (pf_add_instr_time(f, f->ncode - 1, t, smp) < 0)
            return -1;
        f->instructions += sum->count[i];
        f->time_ns += t;
    }
    return 0;
}

/* fill_code for one record, on whichever thread of the node pass claims it:
 * plain C on what both passes made. */
typedef struct fill_job {
    st_store *s;
    pf_profile *p;
    np_pass *x;
} fill_job;

static int fill_record(void *arg, uint32_t i)
{
    fill_job *j = arg;
    return fill_code(&j->p->functions[i], st_record_at(j->s, i), np_record_sums(j->x, i),
                     np_record_lines(j->x, i));
}

/* Per record, whether this process ran it: calls, counts or samples in
 * any of its nodes (lean snapshots: a forked child inherits every record
 * of its parent, zeroed).  NULL when out of memory. */
static unsigned char *records_run(st_store *s)
{
    size_t nrec = st_record_count(s), n = st_node_count(s);
    unsigned char *ran = calloc(nrec + 1, 1);
    for (size_t i = 0; ran && i < nrec; i++)
        ran[i] = st_record_at(s, i)->calls != 0;
    for (size_t i = 0; ran && i < n; i++) {
        const st_node *sn = st_node_at(s, i);
        if (!sn->rec || ran[sn->rec->index])
            continue;
        size_t k = (size_t)sn->rec->ncounters * sn->rec->width;
        int any = sn->times != NULL;
        for (size_t j = 0; j < k && !any; j++)
            any = sn->counts[j] != 0;
        ran[sn->rec->index] = (unsigned char)any;
    }
    return ran;
}

static int build_functions(st_store *s, pf_profile *p, const char *cwd, np_pass *x, int lean)
{
    int rc = -1;
    PyObject *quals = PyDict_New();
    size_t nrec = st_record_count(s);
    int **lines = calloc(nrec ? nrec : 1, sizeof *lines);
    unsigned char *ran = lean ? records_run(s) : NULL;
    if (!quals || !lines || (lean && !ran)) {
        free(lines);
        goto done;
    }
    np_set_lines(x, lines);   /* the pass owns them now */
    /* the nodes' arithmetic starts on a helper thread while this one reads
     * the code objects (a third of the snapshot each on a test suite),
     * then both share what is left of it */
    np_start(x);
    for (size_t i = 0; i < nrec; i++) {
        st_record *r = st_record_at(s, i);
        pf_function *f = pf_add_function(p);
        if (!f || !r->user)
            goto done;
        f->calls = r->calls;
        f->cumulative_ns = r->cumulative_ns;
        if (ran && !ran[i]) {
            /* nothing of it to count here: no names, lines or listing
             * (pf_drop_idle_functions drops it once the snapshot is done) */
            if (pf_set_string(&f->file, "") < 0 || pf_set_string(&f->name, "") < 0 ||
                pf_set_string(&f->qualname, "") < 0 || !(lines[i] = calloc(r->ncounters + 1,
                                                                            sizeof **lines)))
                goto done;
            np_lines_ready(x, i + 1);
            continue;
        }
        if (fill_names(f, r->user, quals, cwd) < 0)
            goto done;
        /* the line table comes with what annotate needs; without it (out
         * of memory, a failing repr()) annotate lacks argument texts only.
         * lean: a child's part goes without it where the parent has it */
        if ((lean && !r->calls) || lst_fill(f, r->user) < 0 || !f->codeinfo)
            lines[i] = lines_of(r->user, r->ncounters);
        else
            lines[i] = lines_of_table(f->codeinfo, r->ncounters);
        if (!lines[i])
            goto done;
        np_lines_ready(x, i + 1);
    }
    fill_job job = {s, p, x};
    if (np_finish(x, fill_record, &job) < 0)
        goto done;
    for (size_t i = 0; i < nrec; i++) {
        p->instructions += p->functions[i].instructions;
        p->time_ns += p->functions[i].time_ns;
    }
    rc = 0;
done:
    free(ran);
    Py_XDECREF(quals);
    PyErr_Clear();
    return rc;
}

/* The byte offset of the instruction that holds code unit `unit` of r
 * (the interpreter may stand on a call's cache unit), -1 when none; the
 * starts of r's instructions are found once per record, in *starts. */
static int32_t instruction_at(const st_record *r, int32_t unit, uint32_t **starts)
{
    if (unit < 0 || (uint32_t)unit >= r->ncounters)
        return -1;
    if (!*starts && !(*starts = ci_instruction_starts(r)))
        return -1;
    return (int32_t)(2 * (*starts)[unit]);
}

/* The call tree: st nodes come parents first (store.h), so one pass up
 * sums subtrees and one pass down emits what is not empty. */
static int build_nodes(st_store *s, pf_profile *p, np_pass *x)
{
    int rc = -1;
    size_t nrec = st_record_count(s);
    uint32_t **starts = calloc(nrec ? nrec : 1, sizeof *starts);
    if (!starts)
        return -1;
    size_t n = st_node_count(s);
    for (size_t i = n; i-- > 0;) {
        const st_node *sn = st_node_at(s, i);
        np_own *o = np_node_own(x, (uint32_t)i);
        o->subtree = pf_add_sat(o->subtree, pf_add_sat(o->instructions, o->time_ns));
        if (sn->parent && sn->parent->rec) {
            np_own *up = np_node_own(x, sn->parent->index);
            up->subtree = pf_add_sat(up->subtree, o->subtree);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const st_node *sn = st_node_at(s, i);
        np_own *o = np_node_own(x, (uint32_t)i);
        if (!sn->rec || !sn->parent || !o->subtree)
            continue;
        pf_node *pn = pf_add_node(p);
        if (!pn)
            goto done;
        o->out = (uint32_t)(p->nnodes - 1);
        pn->parent = sn->parent->rec ? np_node_own(x, sn->parent->index)->out : PF_NO_NODE;
        pn->function = sn->rec->index;
        if (sn->parent->rec)
            pn->callsite = instruction_at(sn->parent->rec, sn->callsite,
                                          &starts[sn->parent->rec->index]);
        pn->thread = sn->thread;
        pn->instructions = o->instructions;
        pn->time_ns = o->time_ns;
        pn->ops = o->ops;
        pn->nops = o->nops;
        pn->ntimes = o->ntimes;
        o->ops = NULL;
        pn->sites = o->sites;
        pn->nsites = o->nsites;
        pn->nsite_times = o->nsite_times;
        o->sites = NULL;
    }
    rc = 0;
done:
    for (size_t r = 0; r < nrec; r++)
        free(starts[r]);
    free(starts);
    return rc;
}

static int build_threads(st_store *s, pf_profile *p)
{
    p->threads = calloc(st_thread_count(s) + 1, sizeof *p->threads);
    p->thread_process = calloc(st_thread_count(s) + 1, sizeof *p->thread_process);
    if (!p->threads || !p->thread_process)
        return -1;
    for (size_t i = 0; i < st_thread_count(s); i++) {
        st_thread *t = st_thread_at(s, i);
        if (pf_set_string(&p->threads[p->nthreads++], t->name ? t->name : "?") < 0)
            return -1;
        p->thread_process[i] = 0;
    }
    return 0;
}

int snap_build(st_store *s, pf_profile *p, const char *cwd, int lean)
{
    int rc = -1;
    p->stacks_enabled = st_store_with_stacks(s);
    p->timed = st_store_timed(s);
    /* no collection while the helper thread lives: a finalizer it ran
     * could fork, and the child would wait for a helper it does not have */
    int gc_was_on = PyGC_Disable();
    np_pass *x = np_new(s, p->counted, p->stacks_enabled);
    if (!x || load_opnames(p) < 0 || build_functions(s, p, cwd, x, lean) < 0 ||
        build_threads(s, p) < 0 || (p->stacks_enabled && build_nodes(s, p, x) < 0) ||
        pf_ensure_process(p) < 0)
        goto done;
    p->processes[0].pid = getpid();
    if (src_capture(p) < 0)
        stx_drop(p);   /* the source text is optional: the profile goes without */
    (void)fm_fill(s, p);  /* optional: on failure no function has forms */
    rc = 0;
    if (np_inconsistent(x)) {
        char why[128];
        snprintf(why, sizeof why, "control-flow counts did not add up at %u instructions",
                 np_inconsistent(x));
        rc = pf_mark_incomplete(p, why);
    }
done:
    np_release(x);
    if (gc_was_on)
        PyGC_Enable();
    PyErr_Clear();
    return rc;
}
