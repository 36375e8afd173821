/*
 * profile_v2w.c - the profile as opprof writes it: version 2
 * (profile-v2.md).  Strings once, in a table; per-function columns; the
 * call tree as nodes.  Streams: nothing the size of the file is built.
 */
#include "profile_json.h"

#include <stdlib.h>
#include <string.h>

#include "../jsonw.h"
#include "codepack.h"
#include "profile_v2w.h"
#include "strtab.h"


static int in_set(const v2 *x, uint32_t f, unsigned op)
{
    return (x->opsets[f * x->words + op / 64] >> (op % 64)) & 1;
}

static void add_to_set(v2 *x, uint32_t f, unsigned op)
{
    x->opsets[f * x->words + op / 64] |= 1ull << (op % 64);
}

/* Each function's opcodes: what its instructions and its nodes ran.  A
 * node's counts by opcode are then a vector over that set: no opcode
 * numbers repeated in every node. */
static void make_opsets(v2 *x)
{
    const pf_profile *p = x->p;
    x->words = (p->nopnames + 63) / 64 + 1;
    x->opsets = calloc(p->nfunctions * x->words + 1, sizeof *x->opsets);
    if (!x->opsets) {
        x->oom = 1;
        return;
    }
    for (size_t i = 0; i < p->nfunctions; i++)
        for (size_t k = 0; k < p->functions[i].ncode; k++)
            if (p->functions[i].code[k].op < p->nopnames)
                add_to_set(x, (uint32_t)i, p->functions[i].code[k].op);
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *n = &p->nodes[i];
        if (n->function >= p->nfunctions)
            continue;
        for (size_t k = 0; k < n->nops; k++)
            if (n->ops[k].op < p->nopnames)
                add_to_set(x, n->function, n->ops[k].op);
        for (size_t k = 0; k < n->ntimes; k++)   /* time only: a 0 in the counts */
            if (pf_node_times(n)[k].op < p->nopnames)
                add_to_set(x, n->function, pf_node_times(n)[k].op);
    }
}

static uint64_t S(v2 *x, const char *s)
{
    if (!x->recording && x->at < x->ntape && x->tape[x->at].s == s)
        return x->tape[x->at++].i;
    int64_t i = x->shared ? stt_find(&x->strings, s) : stt_intern(&x->strings, s);
    if (i < 0) {
        x->oom = 1;
        return 0;
    }
    if (x->recording) {
        if (x->ntape == x->captape) {
            size_t cap = x->captape ? 2 * x->captape : 1024;
            struct tape_entry *v = realloc(x->tape, cap * sizeof *v);
            if (!v) {
                x->recording = 0;   /* the lookups still work, slower */
                return (uint64_t)i;
            }
            x->tape = v;
            x->captape = cap;
        }
        x->tape[x->ntape++] = (struct tape_entry){s, (uint32_t)i};
    }
    return (uint64_t)i;
}

/* How many strings of f intern_all asks for (its part of the tape). */
size_t v2w_strings_of(const pf_function *f)
{
    const pf_code *c = f->codeinfo;
    size_t n = 3;
    if (!c)
        return n;
    n += c->nnames + c->nlocals + c->ncells;
    for (size_t k = 0; k < c->nconsts; k++)
        n += c->consts[k] != NULL;
    return n;
}

/* Interns in the order the file uses them, so the table reads in order. */
static void intern_all(v2 *x)
{
    const pf_profile *p = x->p;
    x->recording = 1;
    for (size_t i = 0; i < p->nthreads; i++)
        S(x, p->threads[i]);
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        S(x, f->file);
        S(x, f->name);
        S(x, f->qualname);
        const pf_code *c = f->codeinfo;
        for (size_t k = 0; c && k < c->nnames; k++)
            S(x, c->names[k]);
        for (size_t k = 0; c && k < c->nconsts; k++)
            if (c->consts[k])
                S(x, c->consts[k]);
        for (size_t k = 0; c && k < c->nlocals; k++)
            S(x, c->locals[k]);
        for (size_t k = 0; c && k < c->ncells; k++)
            S(x, c->cells[k]);
    }
    for (size_t i = 0; i < p->nsources; i++)
        S(x, p->sources[i].file);
    x->recording = 0;
}

static void put_strings(v2 *x)
{
    jw *w = x->w;
    jw_key(w, "strings");
    jw_begin_array(w);
    size_t first_lossy = x->strings.n;
    for (size_t i = 0; i < x->strings.n; i++)
        if (jw_string_lossy(w, x->strings.v[i]) && first_lossy == x->strings.n)
            first_lossy = i;
    jw_end_array(w);
    /* JSON strings are Unicode: a file name that is not UTF-8 keeps its
     * exact bytes here, as [index, "hex"] */
    int any = 0;
    for (size_t i = first_lossy; i < x->strings.n; i++) {
        const char *s = x->strings.v[i];
        size_t n = strlen(s);
        if (jw_is_utf8(s, n))
            continue;
        if (!any++) {
            jw_key(w, "strings_hex");
            jw_begin_array(w);
        }
        char *hex = malloc(2 * n + 1);
        if (!hex) {
            x->oom = 1;
            break;
        }
        for (size_t k = 0; k < n; k++)
            snprintf(hex + 2 * k, 3, "%02x", (unsigned char)s[k]);
        jw_begin_array(w);
        jw_uint(w, i);
        jw_string(w, hex);
        jw_end_array(w);
        free(hex);
    }
    if (any)
        jw_end_array(w);
}

static void put_processes_threads(v2 *x)
{
    jw *w = x->w;
    const pf_profile *p = x->p;
    jw_key(w, "processes");
    jw_begin_array(w);
    for (size_t i = 0; i < (p->nprocesses ? p->nprocesses : 1); i++) {
        /* the first process is the run: its status is the profile's */
        const pf_process *pr = p->nprocesses ? &p->processes[i] : NULL;
        jw_begin_object(w);
        jw_key(w, "pid");
        jw_int(w, pr ? pr->pid : 0);
        jw_key(w, "parent");
        jw_int(w, pr ? pr->parent : -1);
        if (pr && pr->ppid) {
            jw_key(w, "ppid");
            jw_int(w, pr->ppid);
        }
        jw_key(w, "argv");
        jw_begin_array(w);
        char *const *argv = i == 0 ? p->argv : pr->argv;
        size_t argc = i == 0 ? p->argc : pr->argc;
        for (size_t k = 0; k < argc; k++)
            jw_string(w, argv[k]);
        jw_end_array(w);
        jw_key(w, "exit_status");
        jw_int(w, i == 0 ? p->exit_status : pr->exit_status);
        jw_key(w, "incomplete");
        jw_bool(w, i == 0 ? p->incomplete : pr->incomplete);
        if (pr && pr->ended) {
            jw_key(w, "ended");
            jw_string(w, pr->ended);
        }
        if (pr && pr->pending) {
            jw_key(w, "pending");
            jw_bool(w, 1);
        }
        if (pr && pr->start_ns) {
            jw_key(w, "start_ns");
            jw_uint(w, pr->start_ns);
            jw_key(w, "end_ns");
            jw_uint(w, pr->end_ns);
        }
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_key(w, "threads");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nthreads; i++) {
        jw_begin_object(w);
        jw_key(w, "name");
        jw_uint(w, S(x, p->threads[i]));
        jw_key(w, "process");
        jw_uint(w, p->thread_process ? p->thread_process[i] : 0);
        jw_end_object(w);
    }
    jw_end_array(w);
}

static void put_text_list(v2 *x, const char *key, char *const *v, size_t n)
{
    jw_key(x->w, key);
    jw_begin_array(x->w);
    for (size_t i = 0; i < n; i++)
        jw_int(x->w, v[i] ? (int64_t)S(x, v[i]) : -1);   /* -1: a constant not kept */
    jw_end_array(x->w);
}

/* Runs of equal values, for arrays of non-negative integers: -k stands
 * for k more copies of the value before it (profile-v2.md).  Counts in a
 * basic block are equal, offsets step by the same few sizes. */
void v2w_runs_flush(v2w_runs *r)
{
    if (r->more == 1)
        jw_uint(r->w, r->last);
    else if (r->more > 1)
        jw_int(r->w, -(int64_t)r->more);
    r->more = 0;
}

void v2w_runs_put(v2w_runs *r, uint64_t v)
{
    if (r->any && v == r->last && r->more < INT64_MAX) {
        r->more++;
        return;
    }
    v2w_runs_flush(r);
    jw_uint(r->w, v);
    r->last = v;
    r->any = 1;
}

/* co_lines() as runs: code units, then the line's step from the line of
 * the run before (from 0); a run without a line is its units negated and
 * no step.  0, or -1 when the ranges do not tile the code (then they are
 * written as triples). */
static int put_line_runs(jw *w, const pf_code *c)
{
    for (size_t i = 0; i < c->nlines; i++) {
        const dz_line_range *r = &c->lines[i];
        if (r->start != (i ? c->lines[i - 1].end : 0) || r->end < r->start ||
            (r->end - r->start) % 2 || (r->line < 0 && r->end == r->start))
            return -1;
    }
    jw_key(w, "line_runs");
    jw_begin_array(w);
    int64_t line = 0;
    for (size_t i = 0; i < c->nlines; i++) {
        const dz_line_range *r = &c->lines[i];
        int64_t units = (r->end - r->start) / 2;
        if (r->line < 0) {
            jw_int(w, -units);
            continue;
        }
        jw_int(w, units);
        jw_int(w, r->line - line);
        line = r->line;
    }
    jw_end_array(w);
    return 0;
}

static void put_code(v2 *x, const pf_code *c)
{
    jw *w = x->w;
    jw_key(w, "code");
    jw_begin_object(w);
    unsigned char *packed;
    size_t npacked;
    int pk = cp_pack(pf_minor(x->p), c->bytes, c->nbytes, &packed, &npacked);
    char *b = pk > 0 ? pf_base64_encode(packed, npacked) : pf_base64_encode(c->bytes, c->nbytes);
    if (!b || pk < 0)
        x->oom = 1;
    jw_key(w, pk > 0 ? "packed" : "bytes");
    jw_string(w, b ? b : "");
    free(b);
    free(packed);
    put_text_list(x, "names", c->names, c->nnames);
    put_text_list(x, "consts", c->consts, c->nconsts);
    put_text_list(x, "locals", c->locals, c->nlocals);
    put_text_list(x, "cells", c->cells, c->ncells);
    if (put_line_runs(w, c) == 0) {
        jw_end_object(w);
        return;
    }
    jw_key(w, "lines");
    jw_begin_array(w);
    for (size_t i = 0; i < c->nlines; i++) {
        jw_int(w, c->lines[i].start);
        jw_int(w, c->lines[i].end);
        jw_int(w, c->lines[i].line);
    }
    jw_end_array(w);
    jw_end_object(w);
}

/* ops and lines are left out where the code says the same. */
static int ops_from_code(const pf_function *f)
{
    const pf_code *c = f->codeinfo;
    for (size_t i = 0; c && i < f->ncode; i++)
        if (f->code[i].offset >= c->nbytes || c->bytes[f->code[i].offset] != f->code[i].op)
            return 0;
    return c != NULL;
}

static int lines_from_code(const pf_function *f)
{
    const pf_code *c = f->codeinfo;
    size_t at = 0;
    for (size_t i = 0; c && i < f->ncode; i++)
        if (pf_code_line_next(c, f->code[i].offset, &at) != f->code[i].line)
            return 0;
    return c != NULL;
}

void v2w_put_function(v2 *x, const pf_function *f)
{
    jw *w = x->w;
    const pf_profile *p = x->p;
    jw_begin_object(w);
    jw_key(w, "file");
    jw_uint(w, S(x, f->file));
    jw_key(w, "name");
    jw_uint(w, S(x, f->name));
    jw_key(w, "qualname");
    jw_uint(w, S(x, f->qualname));
    jw_key(w, "firstlineno");
    jw_int(w, f->firstlineno);
    jw_key(w, "scope");
    jw_string(w, pf_scope_name(f->scope));
    if (f->process) {
        jw_key(w, "process");
        jw_uint(w, f->process);
    }
    pfj_function_measures(w, p, f);
    if (f->nper_process && p->nprocesses > 1) {
        jw_key(w, "per_process");
        jw_begin_array(w);
        for (size_t i = 0; i < f->nper_process; i++) {
            jw_uint(w, f->per_process[i].process);
            jw_uint(w, f->per_process[i].calls);
            jw_uint(w, f->per_process[i].instructions);
            jw_uint(w, f->per_process[i].time_ns);
        }
        jw_end_array(w);
    }
    v2w_runs r = {w, 0, 0, 0};
    jw_key(w, "offset_deltas");
    jw_begin_array(w);
    for (size_t i = 0; i < f->ncode; i++)
        v2w_runs_put(&r, f->code[i].offset - (i ? f->code[i - 1].offset : 0));
    v2w_runs_flush(&r);
    jw_end_array(w);
    r = (v2w_runs){w, 0, 0, 0};
    jw_key(w, "counts");
    jw_begin_array(w);
    for (size_t i = 0; i < f->ncode; i++)
        v2w_runs_put(&r, f->code[i].count);
    v2w_runs_flush(&r);
    jw_end_array(w);
    if (!ops_from_code(f)) {
        jw_key(w, "ops");
        jw_begin_array(w);
        for (size_t i = 0; i < f->ncode; i++)
            jw_uint(w, f->code[i].op);
        jw_end_array(w);
    }
    if (!lines_from_code(f)) {
        jw_key(w, "lines");
        jw_begin_array(w);
        for (size_t i = 0; i < f->ncode; i++)
            jw_int(w, f->code[i].line < 0 ? -1 : f->code[i].line);
        jw_end_array(w);
    }
    if (p->timed) {
        jw_key(w, "times");
        jw_begin_array(w);
        for (size_t k = 0; k < f->ntimes; k++) {
            if (!f->times[k].time_ns && !f->times[k].samples)
                continue;
            jw_uint(w, f->times[k].instr);
            jw_uint(w, f->times[k].time_ns);
            jw_uint(w, f->times[k].samples);
        }
        jw_end_array(w);
    }
    if (f->forms) {
        jw_key(w, "forms");
        jw_begin_array(w);
        for (size_t i = 0; i < f->ncode; i++)
            jw_int(w, f->forms[i] == PF_NO_FORM ? -1 : f->forms[i]);
        jw_end_array(w);
    }
    if (f->nform_times) {
        jw_key(w, "form_times");
        jw_begin_array(w);
        for (size_t i = 0; i < f->nform_times; i++) {
            jw_uint(w, f->form_times[i].instr);
            jw_uint(w, f->form_times[i].op);
            jw_uint(w, f->form_times[i].time_ns);
            jw_uint(w, f->form_times[i].samples);
        }
        jw_end_array(w);
    }
    jw_key(w, "opset");
    jw_begin_array(w);
    for (unsigned op = 0; x->opsets && op < p->nopnames; op++)
        if (in_set(x, f->id, op))
            jw_uint(w, op);
    jw_end_array(w);
    if (f->codeinfo)
        put_code(x, f->codeinfo);
    jw_end_object(w);
}

static int by_op(const void *a, const void *b)
{
    const pf_opval *x = a, *y = b;
    return (x->op > y->op) - (x->op < y->op);
}

/* A node's counts over its function's opset, without trailing zeros.
 * acc: nopnames zeros, left zero. */
static void put_node_ops(v2 *x, const pf_node *n, uint64_t *acc)
{
    jw *w = x->w;
    unsigned top = 0;
    int any = 0;
    for (size_t k = 0; k < n->nops; k++) {
        unsigned op = n->ops[k].op;
        if (!n->ops[k].v || op >= x->p->nopnames)
            continue;
        acc[op] = pf_add_sat(acc[op], n->ops[k].v);
        top = !any || op > top ? op : top;
        any = 1;
    }
    jw_begin_array(w);
    const uint64_t *set = x->opsets ? &x->opsets[(size_t)n->function * x->words] : NULL;
    uint64_t vals[64];
    size_t nvals = 0;
    for (size_t word = 0; any && set && word <= top / 64; word++)
        for (uint64_t bits = set[word]; bits; bits &= bits - 1) {
            unsigned op = (unsigned)(word * 64 + (unsigned)__builtin_ctzll(bits));
            if (op > top)
                break;
            if (nvals == sizeof vals / sizeof *vals) {
                jw_uints(w, vals, nvals);
                nvals = 0;
            }
            vals[nvals++] = acc[op];
            acc[op] = 0;
        }
    jw_uints(w, vals, nvals);
    jw_end_array(w);
}

#define COLUMN(key, expr)                                  \
    do {                                                   \
        jw_key(w, key);                                    \
        jw_begin_array(w);                                 \
        for (size_t i = 0; i < p->nnodes; i++) {           \
            const pf_node *n = &p->nodes[i];               \
            expr;                                          \
        }                                                  \
        jw_end_array(w);                                   \
    } while (0)

enum { N_THREAD, N_INSTRUCTIONS, N_TIME };

static void runs_column(jw *w, const pf_profile *p, const char *key, int which)
{
    v2w_runs r = {w, 0, 0, 0};
    jw_key(w, key);
    jw_begin_array(w);
    for (size_t i = 0; i < p->nnodes; i++) {
        const pf_node *n = &p->nodes[i];
        v2w_runs_put(&r, which == N_THREAD ? n->thread : which == N_INSTRUCTIONS ? n->instructions
                                                                              : n->time_ns);
    }
    v2w_runs_flush(&r);
    jw_end_array(w);
}

void v2w_put_nodes(v2 *x)
{
    jw *w = x->w;
    const pf_profile *p = x->p;
    jw_key(w, "nodes");
    jw_begin_object(w);
    COLUMN("parent", jw_int(w, n->parent == PF_NO_NODE ? -1 : (int64_t)n->parent));
    COLUMN("function", jw_uint(w, n->function));
    int any_callsite = 0;
    for (size_t i = 0; i < p->nnodes && !any_callsite; i++)
        any_callsite = p->nodes[i].callsite >= 0;
    if (any_callsite)
        COLUMN("callsite", jw_int(w, n->callsite));
    runs_column(w, p, "thread", N_THREAD);
    runs_column(w, p, "instructions", N_INSTRUCTIONS);
    if (p->timed)
        runs_column(w, p, "time_ns", N_TIME);
    size_t most = 1;
    for (size_t i = 0; i < p->nnodes; i++)
        most = p->nodes[i].ntimes > most ? p->nodes[i].ntimes : most;
    pf_opval *tmp = malloc(most * sizeof *tmp);
    uint64_t *acc = calloc(p->nopnames + 1, sizeof *acc);
    if (!tmp || !acc)
        x->oom = 1;
    else
        COLUMN("ops", put_node_ops(x, n, acc));
    free(acc);
    if (p->timed && tmp) {
        jw_key(w, "op_times");   /* by node, then opcode: the order reads back */
        jw_begin_array(w);
        for (size_t i = 0; i < p->nnodes; i++) {
            size_t m = 0;
            for (size_t k = 0; k < p->nodes[i].ntimes; k++)
                if (pf_node_times(&p->nodes[i])[k].v)
                    tmp[m++] = pf_node_times(&p->nodes[i])[k];
            qsort(tmp, m, sizeof *tmp, by_op);
            for (size_t k = 0; k < m; k++) {
                jw_uint(w, i);
                jw_uint(w, tmp[k].op);
                jw_uint(w, tmp[k].v);
            }
        }
        jw_end_array(w);
    }
    free(tmp);
    v2w_put_node_sites(x);
    jw_end_object(w);
}

int pf_json_write(const pf_profile *p, FILE *out)
{
    return pf_json_write_split(p, out, PF_WRITE_AUTO);
}

/* The strings, opnames, processes and threads, and the functions array
 * begun. */
void v2w_put_head_rest(v2 *x)
{
    const pf_profile *p = x->p;
    jw *w = x->w;
    put_strings(x);
    jw_key(w, "opnames");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nopnames; i++)
        jw_string(w, p->opnames[i] ? p->opnames[i] : "<unknown>");
    jw_end_array(w);
    put_processes_threads(x);
    jw_key(w, "functions");
    jw_begin_array(w);
}

int pf_json_write_split(const pf_profile *p, FILE *out, size_t mid)
{
    jw w;
    v2 x = {.w = &w, .p = p};
    stt_init(&x.strings);
    make_opsets(&x);
    jw_init(&w, out, 0);
    pfj_header(&w, p, 2);
    pfj_signal_and_native(&w, p);
    intern_all(&x);
    if (mid == PF_WRITE_AUTO)
        mid = p->nfunctions >= V2W_SPLIT_MIN_FUNCTIONS ? v2w_split_at(p) : PF_WRITE_ONE_THREAD;
    v2w_put_rest(&x, mid);
    v2w_put_sources(&x);
    jw_end_object(&w);
    stt_release(&x.strings);
    free(x.opsets);
    free(x.tape);
    if (x.oom)
        w.error = 1;
    return jw_finish(&w);
}
