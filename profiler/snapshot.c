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
#include <unistd.h>

#include "blockmap.h"
#include "codeinfo.h"
#include "listing.h"
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

/* Per code unit, what a node or a whole record measured. */
typedef struct unit_sums {
    uint64_t *count, *time, *samples;
} unit_sums;

/* The times come only with a sampled node (store.h): most records never
 * get them, and three arrays for every record were most of the
 * snapshot's page faults. */
static int sums_alloc(unit_sums *u, uint32_t n, int with_times)
{
    if (!u->count && !(u->count = calloc(n ? n : 1, sizeof *u->count)))
        return -1;
    if (with_times && !u->time) {
        u->time = calloc(n ? n : 1, sizeof *u->time);
        u->samples = calloc(n ? n : 1, sizeof *u->samples);
    }
    return !with_times || (u->time && u->samples) ? 0 : -1;
}

static void sums_free(unit_sums *u)
{
    free(u->count);
    free(u->time);
    free(u->samples);
}

/* Scratch space big enough for any record, and what went wrong. */
typedef struct snap_buf {
    unit_sums node;          /* one node's, max ncounters each */
    bm_plan **plans;         /* per record, while it has nodes left */
    uint32_t *left;          /* per record: its nodes not yet summed */
    uint32_t inconsistent;   /* instructions whose flow counts did not add up */
    int counted;             /* not --time-only: counts mean something */
} snap_buf;

static int buf_init(snap_buf *b, st_store *s)
{
    uint32_t most = 1;
    for (size_t i = 0; i < st_record_count(s); i++)
        if (st_record_at(s, i)->ncounters > most)
            most = st_record_at(s, i)->ncounters;
    b->inconsistent = 0;
    size_t nrec = st_record_count(s);
    b->plans = calloc(nrec + 1, sizeof *b->plans);
    b->left = calloc(nrec + 1, sizeof *b->left);
    if (!b->plans || !b->left)
        return -1;
    for (size_t i = 0; i < st_node_count(s); i++) {   /* as build_functions visits them */
        const st_node *n = st_node_at(s, i);
        if (n->rec && n->counts)
            b->left[n->rec->index]++;
    }
    return sums_alloc(&b->node, most, 1) == 0 ? 0 : -1;
}

static void buf_release(snap_buf *b, st_store *s)
{
    for (size_t i = 0; b->plans && i < st_record_count(s); i++)
        bm_plan_release(b->plans[i]);
    free(b->plans);
    free(b->left);
    sums_free(&b->node);
}

/* One node's per-instruction counts (prologue included) and times
 * (folded into their instruction) into b->node. */
static const unit_sums *node_sums(st_node *n, snap_buf *b)
{
    const st_record *r = n->rec;
    uint64_t *c = b->node.count;
    if (r->width == 2) {
        /* resolved in place: the snapshot is the counters' last reader
         * (snapshot.h), and copying them was a good part of its time */
        bm_plan **pl = &b->plans[r->index];
        if (!*pl && !(*pl = bm_plan_new(ci_ops(), r->bytes, r->ncounters, r->jumps_reported)))
            return NULL;
        b->inconsistent += bm_resolve_plan(*pl, n->counts, c);
        if (--b->left[r->index] == 0) {   /* its last node: the plan goes */
            bm_plan_release(*pl);
            *pl = NULL;
        }
    } else {
        memcpy(c, n->counts, (size_t)r->ncounters * sizeof *c);
    }
    if (r->entry >= 0)
        for (uint32_t i = 0; i < (uint32_t)(r->entry >> 1); i++)
            c[i] = c[r->entry >> 1];
    if (!b->counted)  /* only entries were seen: no counts at all beats wrong ones */
        memset(c, 0, r->ncounters * sizeof *c);
    /* most nodes were never sampled (store.h): their times stay unread */
    if (n->times) {
        bm_fold(ci_ops(), r->bytes, r->ncounters, n->times, b->node.time);
        bm_fold(ci_ops(), r->bytes, r->ncounters, n->samples, b->node.samples);
    }
    return &b->node;
}

/* What one node measured itself, kept from the pass over nodes that sums
 * functions until the tree is made. */
typedef struct node_own {
    uint64_t instructions, time_ns;
    uint64_t subtree;        /* instructions + time of it and its callees: 0 is pruned */
    pf_opcount *ops;
    size_t nops;
    uint32_t out;            /* its pf_node index */
} node_own;

/* Adds node n's per-instruction sums into its function's and keeps its
 * own totals and opcode map in *own (when own is not NULL). */
static int add_node(st_node *n, unit_sums *sum, node_own *own, snap_buf *b)
{
    const st_record *r = n->rec;
    const unit_sums *u = node_sums(n, b);
    if (!u)
        return -1;
    int timed = n->times != NULL;
    if (timed && sums_alloc(sum, r->ncounters, 1) < 0)
        return -1;
    pf_opcount by_op[256];
    uint8_t seen[256];        /* the opcodes this node ran, in order */
    uint8_t have[256];        /* have[op]: op is in seen */
    size_t nops = 0;
    memset(have, 0, sizeof have);
    const uint8_t *caches = ci_ops()->caches;
    /* the zeros at the end add nothing: most nodes of a long function ran
     * a part of it */
    uint32_t end = r->ncounters;
    while (end > 0 && !u->count[end - 1] && (!timed || (!u->time[end - 1] && !u->samples[end - 1])))
        end--;
    /* instruction by instruction: inline cache units count nothing (counts
     * and folded times are on their instruction), and are half the units */
    for (uint32_t i = 0; i < end; i += 1u + caches[r->bytes[2 * i]]) {
        uint64_t c = u->count[i], t = timed ? u->time[i] : 0;
        sum->count[i] += c;
        if (timed) {
            sum->time[i] += t;
            sum->samples[i] += u->samples[i];
        }
        if (!own || (!c && !t))
            continue;
        unsigned op = r->bytes[2 * i];
        if (!have[op]) {
            have[op] = 1;
            seen[nops++] = (uint8_t)op;
            by_op[op] = (pf_opcount){(uint16_t)op, 0, 0};
        }
        own->instructions += c;
        own->time_ns += t;
        by_op[op].count += c;
        by_op[op].time_ns += t;
    }
    if (!own || !nops)
        return 0;
    if (!(own->ops = malloc(nops * sizeof *own->ops)))
        return -1;
    for (size_t k = 0; k < nops; k++)
        own->ops[own->nops++] = by_op[seen[k]];
    return 0;
}

/* Instructions that ran or got time, by offset; lines from line[] when
 * given, else from the code's line table. */
static int fill_code(pf_function *f, const st_record *r, const unit_sums *sum,
                     const int *line)
{
    size_t k = 0;
    for (uint32_t i = 0; i < r->ncounters; i++)
        k += sum->count[i] || (sum->time && sum->time[i]);
    f->code = calloc(k ? k : 1, sizeof *f->code);
    if (!f->code)
        return -1;
    size_t at = 0;
    for (uint32_t i = 0; i < r->ncounters; i++) {
        uint64_t t = sum->time ? sum->time[i] : 0, smp = sum->time ? sum->samples[i] : 0;
        if (!sum->count[i] && !t)
            continue;
        int ln = line ? line[i] : f->codeinfo ? pf_code_line_next(f->codeinfo, 2 * i, &at) : -1;
        f->code[f->ncode++] = (pf_instr){.offset = 2 * i, .op = r->bytes[2 * i], .line = ln,
                                         .count = sum->count[i], .time_ns = t,
                                         .samples = pf_samples_sat(smp)};
        f->instructions += sum->count[i];
        f->time_ns += t;
    }
    return 0;
}

static int build_functions(st_store *s, pf_profile *p, const char *cwd, snap_buf *b,
                           node_own *own)
{
    int rc = -1;
    PyObject *quals = PyDict_New();
    if (!quals)
        return -1;
    size_t nrec = st_record_count(s);
    unit_sums *sums = calloc(nrec ? nrec : 1, sizeof *sums);
    if (!sums)
        goto done;
    for (size_t i = 0; i < nrec; i++)
        if (sums_alloc(&sums[i], st_record_at(s, i)->ncounters, 0) < 0)
            goto done;
    for (size_t i = 0; i < st_node_count(s); i++) {
        st_node *n = st_node_at(s, i);
        if (n->rec && n->counts &&
            add_node(n, &sums[n->rec->index], own && n->parent ? &own[i] : NULL, b) < 0)
            goto done;
    }
    for (size_t i = 0; i < nrec; i++) {
        st_record *r = st_record_at(s, i);
        pf_function *f = pf_add_function(p);
        if (!f || !r->user)
            goto done;
        f->calls = r->calls;
        f->cumulative_ns = r->cumulative_ns;
        if (fill_names(f, r->user, quals, cwd) < 0)
            goto done;
        /* the line table comes with what annotate needs; without it (out
         * of memory, a failing repr()) annotate lacks argument texts only */
        int *line = lst_fill(f, r->user) == 0 ? NULL : lines_of(r->user, r->ncounters);
        int bad = (!f->codeinfo && !line) || fill_code(f, r, &sums[i], line) < 0;
        free(line);
        if (bad)
            goto done;
        p->instructions += f->instructions;
        p->time_ns += f->time_ns;
    }
    rc = 0;
done:
    for (size_t i = 0; sums && i < nrec; i++)
        sums_free(&sums[i]);
    free(sums);
    Py_DECREF(quals);
    PyErr_Clear();
    return rc;
}

/* The call tree: st nodes come parents first (store.h), so one pass up
 * sums subtrees and one pass down emits what is not empty. */
static int build_nodes(st_store *s, pf_profile *p, node_own *own)
{
    size_t n = st_node_count(s);
    for (size_t i = n; i-- > 0;) {
        const st_node *sn = st_node_at(s, i);
        own[i].subtree = pf_add_sat(own[i].subtree, pf_add_sat(own[i].instructions, own[i].time_ns));
        if (sn->parent && sn->parent->rec)
            own[sn->parent->index].subtree =
                pf_add_sat(own[sn->parent->index].subtree, own[i].subtree);
    }
    for (size_t i = 0; i < n; i++) {
        const st_node *sn = st_node_at(s, i);
        if (!sn->rec || !sn->parent || !own[i].subtree)
            continue;
        pf_node *pn = pf_add_node(p);
        if (!pn)
            return -1;
        own[i].out = (uint32_t)(p->nnodes - 1);
        pn->parent = sn->parent->rec ? own[sn->parent->index].out : PF_NO_NODE;
        pn->function = sn->rec->index;
        pn->thread = sn->thread;
        pn->instructions = own[i].instructions;
        pn->time_ns = own[i].time_ns;
        pn->ops = own[i].ops;
        pn->nops = own[i].nops;
        own[i].ops = NULL;
    }
    return 0;
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

int snap_build(st_store *s, pf_profile *p, const char *cwd)
{
    snap_buf b = {0};
    int rc = -1;
    node_own *own = NULL;
    size_t nnodes = st_node_count(s);
    p->stacks_enabled = st_store_with_stacks(s);
    p->timed = st_store_timed(s);
    b.counted = p->counted;
    if (p->stacks_enabled && !(own = calloc(nnodes + 1, sizeof *own)))
        goto done;
    if (buf_init(&b, s) < 0 || load_opnames(p) < 0 || build_functions(s, p, cwd, &b, own) < 0 ||
        build_threads(s, p) < 0 || (own && build_nodes(s, p, own) < 0) ||
        pf_ensure_process(p) < 0)
        goto done;
    p->processes[0].pid = getpid();
    rc = 0;
    if (b.inconsistent) {
        char why[128];
        snprintf(why, sizeof why, "control-flow counts did not add up at %u instructions",
                 b.inconsistent);
        rc = pf_mark_incomplete(p, why);
    }
done:
    for (size_t i = 0; own && i < nnodes; i++)
        free(own[i].ops);
    free(own);
    PyErr_Clear();
    buf_release(&b, s);
    return rc;
}
