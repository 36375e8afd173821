/*
 * profile_v1w.c - the v1 layout (`report --format json-v1`): one object
 * per instruction, each stack with its whole frame list.  For scripts
 * written against v1; opprof itself writes v2.
 */
#include "profile_json.h"

#include <stdlib.h>
#include <string.h>

#include "../jsonw.h"

/* by_op[op] for every opcode; most frequent first: easier to read.
 * Consumes by_op (entries are zeroed as they are written). */
static void write_opcodes(jw *w, const pf_profile *p, pf_opcount *by_op)
{
    jw_begin_object(w);
    for (;;) {
        size_t best = p->nopnames;
        for (size_t op = 0; op < p->nopnames; op++)
            if ((by_op[op].count || by_op[op].time_ns) &&
                (best == p->nopnames || by_op[op].count > by_op[best].count ||
                 (by_op[op].count == by_op[best].count &&
                  strcmp(p->opnames[op] ? p->opnames[op] : "",
                         p->opnames[best] ? p->opnames[best] : "") < 0)))
                best = op;  /* ties by name: the order of the name table is no order */
        if (best == p->nopnames)
            break;
        jw_key(w, p->opnames[best] ? p->opnames[best] : "<unknown>");
        jw_begin_object(w);
        jw_key(w, "count");
        jw_uint(w, by_op[best].count);
        if (p->timed) {
            jw_key(w, "time_ns");
            jw_uint(w, by_op[best].time_ns);
        }
        jw_end_object(w);
        by_op[best].count = by_op[best].time_ns = 0;
    }
    jw_end_object(w);
}

/* [offset, opname, arg, argrepr, line]: compact */
static void put_listed(jw *w, uint32_t offset, const char *opname, long arg, const char *argrepr,
                       int line)
{
    jw_begin_array(w);
    jw_uint(w, offset);
    jw_string(w, opname);
    if (arg < 0)
        jw_null(w);
    else
        jw_int(w, arg);
    jw_string(w, argrepr ? argrepr : "");
    if (line < 0)
        jw_null(w);
    else
        jw_int(w, line);
    jw_end_array(w);
}

static void write_function(jw *w, const pf_profile *p, const pf_function *f,
                           pf_opcount *by_op)
{
    jw_begin_object(w);
    jw_key(w, "id");
    jw_uint(w, f->id);
    jw_key(w, "file");
    jw_string(w, f->file);
    if (!jw_is_utf8(f->file, strlen(f->file))) {
        /* the exact bytes of a file name that is not UTF-8 */
        char *hex = malloc(2 * strlen(f->file) + 1);
        for (size_t i = 0; hex && f->file[i]; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)f->file[i]);
        jw_key(w, "file_hex");
        jw_string(w, hex ? hex : "");
        free(hex);
    }
    jw_key(w, "name");
    jw_string(w, f->name);
    jw_key(w, "qualname");
    jw_string(w, f->qualname);
    jw_key(w, "firstlineno");
    jw_int(w, f->firstlineno);
    jw_key(w, "scope");
    jw_string(w, pf_scope_name(f->scope));
    pfj_function_measures(w, p, f);
    jw_key(w, "opcodes");
    pf_function_opcodes(p, f, by_op);
    write_opcodes(w, p, by_op);
    jw_key(w, "code");
    jw_begin_array(w);
    for (size_t i = 0; i < f->ncode; i++) {
        const pf_instr *in = &f->code[i];
        jw_begin_object(w);
        jw_key(w, "offset");
        jw_uint(w, in->offset);
        jw_key(w, "opname");
        jw_string(w, in->op < p->nopnames && p->opnames[in->op]
                         ? p->opnames[in->op] : "<unknown>");
        jw_key(w, "line");
        if (in->line < 0)
            jw_null(w);
        else
            jw_int(w, in->line);
        jw_key(w, "count");
        jw_uint(w, in->count);
        if (p->timed) {
            jw_key(w, "time_ns");
            const pf_itime *t = f->ntimes ? pf_instr_times(f, (size_t)(in - f->code)) : NULL;
            jw_uint(w, t ? t->time_ns : 0);
            jw_key(w, "samples");
            jw_uint(w, t ? t->samples : 0);
        }
        jw_end_object(w);
    }
    jw_end_array(w);
    if (f->nlisting) {
        jw_key(w, "listing");
        jw_begin_array(w);
        for (size_t i = 0; i < f->nlisting; i++) {
            const pf_listing *l = &f->listing[i];
            put_listed(w, l->offset, pf_opname(p, l->op), l->arg, l->argrepr, l->line);
        }
        jw_end_array(w);
    } else if (f->codeinfo) {
        dz_code c;
        dz_listing l = {0};
        char err[256];
        pf_code_as_dz(f->codeinfo, pf_minor(p), &c);
        if (dz_disassemble(&c, &l, err, sizeof err) == 0) {
            jw_key(w, "listing");
            jw_begin_array(w);
            for (size_t i = 0; i < l.n; i++)
                put_listed(w, (uint32_t)l.v[i].offset, l.v[i].opname, l.v[i].arg,
                           l.v[i].argrepr, l.v[i].line);
            jw_end_array(w);
        }
        dz_listing_release(&l);
    }
    jw_end_object(w);
}

/* v1 knows no call sites: the tree with the nodes that differ only by
 * theirs made one (only the nodes are in the profile returned), or NULL
 * when out of memory. */
static pf_profile *without_callsites(const pf_profile *p)
{
    pf_profile *q = pf_profile_new();
    pf_node_index *x = q ? pf_node_index_new(q) : NULL;
    uint32_t *map = malloc((p->nnodes + 1) * sizeof *map);
    int ok = x && map;
    for (size_t i = 0; ok && i < p->nnodes; i++) {
        const pf_node *s = &p->nodes[i];
        uint32_t up = s->parent == PF_NO_NODE ? PF_NO_NODE : map[s->parent];
        int64_t k = pf_node_get(x, q, up, s->function, -1, s->thread);
        if (k < 0) {
            ok = 0;
            break;
        }
        map[i] = (uint32_t)k;
        pf_node *t = &q->nodes[k];
        t->instructions = pf_add_sat(t->instructions, s->instructions);
        t->time_ns = pf_add_sat(t->time_ns, s->time_ns);
        for (size_t j = 0; ok && j < s->nops; j++)
            ok = pf_node_add_op(t, s->ops[j].op, s->ops[j].v, 0) == 0;
        for (size_t j = 0; ok && j < s->ntimes; j++)
            ok = pf_node_add_op(t, pf_node_times(s)[j].op, 0, pf_node_times(s)[j].v) == 0;
    }
    free(map);
    pf_node_index_release(x);
    if (!ok) {
        pf_profile_release(q);
        return NULL;
    }
    return q;
}

/* A v1 stack is a node's whole path (in tree, p's nodes or the same
 * without call sites) with the node's own counts. */
static void write_stack(jw *w, const pf_profile *p, const pf_profile *tree, size_t node,
                        uint32_t *path, pf_opcount *by_op)
{
    const pf_node *s = &tree->nodes[node];
    jw_begin_object(w);
    jw_key(w, "thread");
    jw_string(w, s->thread < p->nthreads && p->threads[s->thread]
                     ? p->threads[s->thread] : "?");
    jw_key(w, "frames");
    jw_begin_array(w);
    size_t depth = pf_node_path(tree, node, path);
    for (size_t i = 0; i < depth; i++)
        jw_uint(w, path[i]);
    jw_end_array(w);
    jw_key(w, "instructions");
    jw_uint(w, s->instructions);
    if (p->timed) {
        jw_key(w, "time_ns");
        jw_uint(w, s->time_ns);
    }
    jw_key(w, "opcodes");
    memset(by_op, 0, p->nopnames * sizeof *by_op);
    for (size_t i = 0; i < s->nops; i++)
        if (s->ops[i].op < p->nopnames)
            by_op[s->ops[i].op].count += s->ops[i].v;
    for (size_t i = 0; i < s->ntimes; i++)
        if (pf_node_times(s)[i].op < p->nopnames)
            by_op[pf_node_times(s)[i].op].time_ns += pf_node_times(s)[i].v;
    write_opcodes(w, p, by_op);
    jw_end_object(w);
}

int pf_json_write_v1(const pf_profile *p, FILE *out)
{
    pf_opcount *by_op = calloc(p->nopnames ? p->nopnames : 1, sizeof *by_op);
    if (!by_op)
        return -1;
    jw w;
    jw_init(&w, out, 0);
    pfj_header(&w, p, 1);
    jw_key(&w, "functions");
    jw_begin_array(&w);
    for (size_t i = 0; i < p->nfunctions; i++)
        write_function(&w, p, &p->functions[i], by_op);
    jw_end_array(&w);
    jw_key(&w, "stacks");
    jw_begin_array(&w);
    int sites = 0;
    for (size_t i = 0; i < p->nnodes && !sites; i++)
        sites = p->nodes[i].callsite >= 0;
    pf_profile *merged = sites ? without_callsites(p) : NULL;
    const pf_profile *tree = sites ? merged : p;
    /* every node is as deep as its parent plus one: a path buffer as
     * deep as the deepest node, found in one pass */
    uint32_t *depth = tree ? calloc(tree->nnodes + 1, sizeof *depth) : NULL, most = 0;
    for (size_t i = 0; depth && i < tree->nnodes; i++) {
        uint32_t up = tree->nodes[i].parent;
        depth[i] = up < i ? depth[up] + 1 : 1;
        most = depth[i] > most ? depth[i] : most;
    }
    uint32_t *path = depth ? malloc((most + 1) * sizeof *path) : NULL;
    if (!path)
        w.error = 1;
    for (size_t i = 0; path && i < tree->nnodes; i++)
        if (tree->nodes[i].instructions || tree->nodes[i].time_ns || tree->nodes[i].nops)
            write_stack(&w, p, tree, i, path, by_op);
    free(path);
    free(depth);
    pf_profile_release(merged);
    jw_end_array(&w);
    pfj_signal_and_native(&w, p);
    jw_end_object(&w);
    free(by_op);
    return jw_finish(&w);
}

