/*
 * profile_read_v2_tree.c - the v2 reader's call tree, processes and
 * threads (profile_read_v2.h): nodes come last in a v2 file, after the
 * functions and threads they refer to.
 */
#include "profile_read_v2.h"

#include <stdlib.h>
#include <string.h>

/* ---- the call tree ------------------------------------------------------ */

enum { N_PARENT, N_FUNCTION, N_CALLSITE, N_THREAD, N_INSTRUCTIONS, N_TIME, N_OPTIMES, N_SCRATCH };

/* "ops": per node, its counts over its function's opset (the function
 * column read before it); kept in the nodes when there are nodes and the
 * reader keeps their ops, checked either way. */
/* Node i's place from the columns read before its ops, checked, for a
 * hook (pf_read_hooks.node). */
static int place_node(rv *r, size_t i, int with_callsite, int with_time, pf_node *n)
{
    int64_t up = r->buf[N_PARENT][i], thread = r->buf[N_THREAD][i];
    if (up >= (int64_t)i)
        return FAIL(r, "node %zu: its parent comes after it, or its function does not exist", i);
    if (r->p->nthreads && (uint64_t)thread >= r->p->nthreads)
        return FAIL(r, "node %zu: no such thread", i);
    *n = (pf_node){.parent = up < 0 ? PF_NO_NODE : (uint32_t)up,
                   .function = (uint32_t)r->buf[N_FUNCTION][i],
                   .callsite = with_callsite ? (int32_t)r->buf[N_CALLSITE][i] : -1,
                   .thread = (uint32_t)thread,
                   .instructions = (uint64_t)r->buf[N_INSTRUCTIONS][i],
                   .time_ns = with_time ? (uint64_t)r->buf[N_TIME][i] : 0};
    return 0;
}

/* Hands node i and its counts (scratch) to the hook. */
static int hand_over(rv *r, size_t i, int with_callsite, int with_time, pf_opval *ops,
                     size_t nops)
{
    pf_node n;
    if (place_node(r, i, with_callsite, with_time, &n) < 0)
        return -1;
    n.ops = ops;
    n.nops = (uint32_t)nops;
    return r->hooks->node(r->hooks->ctx, r->p, i, &n) < 0 ? FAIL(r, "out of memory") : 0;
}

/* scratch: room for one count per opcode when streaming to a hook */
static int node_ops_to(rv *r, const int64_t *function, size_t nnodes, pf_opval *scratch,
                       int with_callsite, int with_time)
{
    pf_profile *p = r->p;
    int stream = scratch != NULL;
    int keep = p->nnodes && (r->keep & PF_KEEP_NODE_OPS) && !stream;
    size_t nscratch = 0;
    if (pfr_expect(r, JP_ARRAY, "nodes.ops") < 0)
        return -1;
    for (size_t i = 0;; i++) {
        jp_token t = jp_next(r->jp);
        if (t == JP_ARRAY_END)
            return i == nnodes ? 0 : FAIL(r, "nodes.ops: one array per node");
        if (t != JP_ARRAY || i >= nnodes)
            return t == JP_ERROR ? -1 : FAIL(r, "nodes.ops: one array per node");
        size_t f = (size_t)function[i], k = 0;
        uint64_t sum = 0;
        nscratch = 0;
        while ((t = jp_next(r->jp)) != JP_ARRAY_END) {
            int64_t count = jp_int(r->jp);
            if (t != JP_INT || count < 0 || k >= r->nopset[f])
                return FAIL(r, "node %zu: its ops are not counts over its function's opset",
                            i);
            if ((sum = pf_add_sat(sum, (uint64_t)count)) > PF_MAX_COUNT)
                return FAIL(r, "node %zu: its counts add up to more than %llu", i,
                            (unsigned long long)PF_MAX_COUNT);
            if (count && keep && pf_node_add_op(&p->nodes[i], r->opset[f][k],
                                                (uint64_t)count, 0) < 0)
                return FAIL(r, "out of memory");
            if (count && stream)
                scratch[nscratch++] = (pf_opval){(uint64_t)count, r->opset[f][k]};
            k++;
        }
        if (stream && hand_over(r, i, with_callsite, with_time, scratch, nscratch) < 0)
            return -1;
    }
}

static int read_node_ops(rv *r, const int64_t *function, size_t nnodes, int stream,
                         int with_callsite, int with_time)
{
    pf_opval *scratch = stream ? malloc((r->p->nopnames + 1) * sizeof *scratch) : NULL;
    if (stream && !scratch)
        return FAIL(r, "out of memory");
    int rc = node_ops_to(r, function, nnodes, scratch, with_callsite, with_time);
    free(scratch);
    return rc;
}

/* "op_times": (node, op, time_ns) triples of n nodes, merged into the
 * nodes' ops when they are kept, or handed to the hook with the nodes. */
static int add_op_times(rv *r, size_t n, int keep, int streamed)
{
    pf_profile *p = r->p;
    const int64_t *t = r->buf[N_OPTIMES];
    if (r->nbuf[N_OPTIMES] % 3)
        return FAIL(r, "nodes.op_times: not triples");
    for (size_t k = 0; k < r->nbuf[N_OPTIMES]; k += 3) {
        if ((uint64_t)t[k] >= n || (uint64_t)t[k + 1] >= p->nopnames)
            return FAIL(r, "nodes.op_times: a node or an opcode out of range");
        /* one time per node and opcode, in order (as written) */
        if (k && (t[k] < t[k - 3] || (t[k] == t[k - 3] && t[k + 1] <= t[k - 2])))
            return FAIL(r, "nodes.op_times: not by node, then opcode, once each");
        if (streamed && r->hooks->node_time(r->hooks->ctx, p, (size_t)t[k], (uint16_t)t[k + 1],
                                            (uint64_t)t[k + 2]) < 0)
            return FAIL(r, "out of memory");
        if (!keep)
            continue;
        if (pf_node_set_time(&p->nodes[t[k]], (uint16_t)t[k + 1], (uint64_t)t[k + 2]) < 0)
            return FAIL(r, "out of memory");
    }
    return 0;
}

/* Hands node i's sites (v, nc counts or nt times) to the hook or into
 * the kept node. */
static int give_sites(rv *r, size_t i, const pf_site *v, uint32_t nc, uint32_t nt, int keep,
                      int streamed)
{
    if (streamed && r->hooks->node_sites(r->hooks->ctx, r->p, i, v, nc, nt) < 0)
        return FAIL(r, "out of memory");
    if (keep && pf_node_add_sites(&r->p->nodes[i], v, nc, nt, NULL) < 0)
        return FAIL(r, "out of memory");
    return 0;
}

static pf_site site_at(const uint64_t *keys, size_t k, uint64_t v)
{
    return (pf_site){v, pf_site_key_line(keys[k]), (uint16_t)(keys[k] & 0xffff)};
}

/* "sites": per node, its counts over its function's sites (runs, trailing
 * zeros left out); into the kept nodes, or to the hook. */
static int read_sites(rv *r, size_t n, int keep, int streamed)
{
    const int64_t *function = r->buf[N_FUNCTION];
    pf_site *v = NULL;
    int rc = -1;
    jp_token t;
    if (pfr_expect(r, JP_ARRAY, "nodes.sites") < 0)
        return -1;
    for (size_t i = 0;; i++) {
        t = jp_next(r->jp);
        if (t == JP_ARRAY_END && i == n)
            break;
        if (t != JP_ARRAY || i >= n)
            goto bad;
        size_t f = (size_t)function[i], nk = r->nsiteset[f], k = 0, len = 0;
        const uint64_t *keys = r->siteset[f];
        int64_t last = -1;
        uint64_t sum = 0;
        if (!v && !(v = malloc((nk + 1) * sizeof *v))) {
            FAIL(r, "out of memory");
            goto out;
        }
        while ((t = jp_next(r->jp)) != JP_ARRAY_END) {
            int64_t x = jp_int(r->jp), times = 1;
            if (t != JP_INT || (x < 0 && last < 0))
                goto bad;
            if (x < 0) {   /* -k: k more of the value before */
                times = -x;
                x = last;
            }
            if ((uint64_t)times > nk - k) {
                FAIL(r, "node %zu: more sites than its function has", i);
                goto out;
            }
            if (x && (sum = pf_add_sat(sum, (uint64_t)x * (uint64_t)times)) > PF_MAX_COUNT) {
                FAIL(r, "node %zu: its sites add up to more than %llu", i,
                     (unsigned long long)PF_MAX_COUNT);
                goto out;
            }
            for (; times > 0; times--, k++)
                if (x)
                    v[len++] = site_at(keys, k, (uint64_t)x);
            last = x;
        }
        if (len && give_sites(r, i, v, (uint32_t)len, 0, keep, streamed) < 0)
            goto out;
        free(v);   /* the next node's function may have more sites */
        v = NULL;
    }
    rc = 0;
    goto out;
bad:
    if (t != JP_ERROR)   /* else the reader said why */
        FAIL(r, "nodes.sites: one array of counts per node");
out:
    free(v);
    return rc;
}

/* "site_times" (read into r->buf[N_SCRATCH]): node, site, time_ns
 * triples by node, then site. */
static int add_site_times(rv *r, size_t n, int keep, int streamed)
{
    const int64_t *t = r->buf[N_SCRATCH], *function = r->buf[N_FUNCTION];
    size_t len = r->nbuf[N_SCRATCH];
    if (len % 3)
        return FAIL(r, "nodes.site_times: not triples");
    for (size_t k = 0; k < len;) {
        size_t i = (size_t)t[k], end = k;
        if (i >= n)
            return FAIL(r, "nodes.site_times: a node out of range");
        size_t f = (size_t)function[i];
        while (end < len && t[end] == t[k])
            end += 3;
        pf_site v[64];
        size_t m = 0;
        for (size_t j = k; j < end; j += 3) {
            if ((uint64_t)t[j + 1] >= r->nsiteset[f] || t[j + 2] <= 0 ||
                (j > k && t[j + 1] <= t[j - 2]))
                return FAIL(r, "node %zu: its site_times are not rising sites of its "
                               "function with times > 0", i);
            v[m++] = site_at(r->siteset[f], (size_t)t[j + 1], (uint64_t)t[j + 2]);
            if (m == 64 || j + 3 == end) {
                if (give_sites(r, i, v, 0, (uint32_t)m, keep, streamed) < 0)
                    return -1;
                m = 0;
            }
        }
        if (end < len && t[end] < t[k])
            return FAIL(r, "nodes.site_times: not by node");
        k = end;
    }
    return 0;
}

int pfr_read_nodes(rv *r)
{
    pf_profile *p = r->p;
    if (!r->have_functions)
        return FAIL(r, "nodes: they come after functions");
    static const char *const cols[] = {"parent", "function", "callsite", "thread",
                                       "instructions", "time_ns", "op_times"};
    int seen[7] = {0}, have_ops = 0, streamed = 0, have_sites = 0, have_site_times = 0;
    /* report, diff and annotate draw no tree: they read it to check it */
    int keep_nodes = (r->keep & (PF_KEEP_NODES | PF_KEEP_NODE_OPS)) != 0;
    if (pfr_expect(r, JP_OBJECT, "nodes") < 0)
        return -1;
    const char *k;
    for (int more; (more = pfr_next_key(r, &k)) != 0;) {
        if (more < 0)
            return -1;
        int col = -1;
        for (int i = 0; i < 7; i++)
            if (strcmp(k, cols[i]) == 0)
                col = i;
        if (strcmp(k, "ops") == 0) {
            if (have_ops)
                return FAIL(r, "nodes.ops: twice");
            /* the nodes are made from the columns before their ops */
            if (!seen[N_PARENT] || !seen[N_FUNCTION])
                return FAIL(r, "nodes.ops: it comes after parent and function");
            for (size_t i = 0; i < r->nbuf[N_FUNCTION]; i++)
                if ((uint64_t)r->buf[N_FUNCTION][i] >= p->nfunctions)
                    return FAIL(r, "node %zu: its function does not exist", i);
            /* to the hooks when a node's place and totals are known: the
             * threads and those columns read before the ops (one after
             * them is refused below) */
            size_t n = r->nbuf[N_FUNCTION];
            int stream = r->hooks && r->hooks->node && r->hooks->node_time && keep_nodes &&
                         seen[N_PARENT] &&
                         seen[N_THREAD] && seen[N_INSTRUCTIONS] && r->nbuf[N_PARENT] == n &&
                         r->nbuf[N_THREAD] == n && r->nbuf[N_INSTRUCTIONS] == n &&
                         (!seen[N_CALLSITE] || r->nbuf[N_CALLSITE] == n) &&
                         (!seen[N_TIME] || r->nbuf[N_TIME] == n);
            if (stream && !r->threads_read) {
                char why[256];
                if (!json_object_get(r->head, "threads"))
                    stream = 0;   /* they come later: the nodes are kept whole */
                else if (pfr_read_threads(r, why, sizeof why) < 0)
                    return FAIL(r, "%s", why);
            }
            if (!stream && keep_nodes && !p->nnodes && pf_reserve_nodes(p, n) < 0)
                return FAIL(r, "out of memory");
            if (!stream && keep_nodes && !p->nnodes)
                for (size_t i = 0; i < n; i++)
                    if (!pf_add_node(p))
                        return FAIL(r, "out of memory");
            if (read_node_ops(r, r->buf[N_FUNCTION], r->nbuf[N_FUNCTION], stream,
                              seen[N_CALLSITE], seen[N_TIME]) < 0)
                return -1;
            have_ops = 1;
            streamed = stream;
        } else if (strcmp(k, "sites") == 0 || strcmp(k, "site_times") == 0) {
            int times = k[4] == '_';
            if (!have_ops || (times ? have_site_times : have_sites))
                return FAIL(r, "nodes.%s: twice, or before nodes.ops", k);
            int keep = keep_nodes && !streamed && (r->keep & PF_KEEP_NODE_SITES);
            int to_hook = streamed && r->hooks->node_sites;
            if (times ? pfr_read_ints_to(r, "nodes.site_times", 0, INT64_MAX, N_SCRATCH) < 0 ||
                            add_site_times(r, r->nbuf[N_FUNCTION], keep, to_hook) < 0
                      : read_sites(r, r->nbuf[N_FUNCTION], keep, to_hook) < 0)
                return -1;
            *(times ? &have_site_times : &have_sites) = 1;
        } else if (col >= 0) {
            char what[32];
            snprintf(what, sizeof what, "nodes.%s", cols[col]);
            int64_t lo = col == N_PARENT || col == N_CALLSITE ? -1 : 0;
            int64_t hi = col == N_CALLSITE ? INT32_MAX : col <= N_THREAD ? UINT32_MAX - 1
                                                                          : INT64_MAX;
            if (col <= N_TIME && streamed)
                return FAIL(r, "nodes.%s: after nodes.ops, which merge needs it before "
                               "(opprof writes it there)", cols[col]);
            if (pfr_read_ints_to(r, what, lo, hi, col) < 0)
                return -1;
            seen[col] = 1;
        } else if (jp_skip(r->jp) < 0) {
            return -1;
        }
    }
    size_t n = r->nbuf[N_PARENT];
    for (int c = 0; c < N_TIME; c++)
        if ((!seen[c] && c != N_CALLSITE) || (seen[c] && r->nbuf[c] != n))
            return FAIL(r, "nodes: parent, function, thread, instructions (and callsite) are "
                           "columns of one length");
    if ((seen[N_TIME] && r->nbuf[N_TIME] != n) || (have_ops && r->nbuf[N_FUNCTION] != n))
        return FAIL(r, "nodes: time_ns and ops have one entry per node");
    if (keep_nodes && !have_ops && pf_reserve_nodes(p, n) < 0)
        return FAIL(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t up = r->buf[N_PARENT][i];
        if (up >= (int64_t)i || (uint64_t)r->buf[N_FUNCTION][i] >= p->nfunctions)
            return FAIL(r, "node %zu: its parent comes after it, or its function does not "
                           "exist", i);
        if (streamed)   /* handed over, checked then */
            continue;
        if (!keep_nodes) {   /* threads come later: pfr_v2 checks this one */
            if (r->buf[N_THREAD][i] > r->top_thread) {
                r->top_thread = r->buf[N_THREAD][i];
                r->top_thread_node = i;
            }
            continue;
        }
        if (!have_ops && !pf_add_node(p))
            return FAIL(r, "out of memory");
        pf_node *nd = &p->nodes[i];
        nd->parent = up < 0 ? PF_NO_NODE : (uint32_t)up;
        nd->function = (uint32_t)r->buf[N_FUNCTION][i];
        nd->callsite = seen[N_CALLSITE] ? (int32_t)r->buf[N_CALLSITE][i] : -1;
        nd->thread = (uint32_t)r->buf[N_THREAD][i];
        nd->instructions = (uint64_t)r->buf[N_INSTRUCTIONS][i];
        nd->time_ns = seen[N_TIME] ? (uint64_t)r->buf[N_TIME][i] : 0;
    }
    return seen[N_OPTIMES] ? add_op_times(r, n, keep_nodes && !streamed &&
                                                    (r->keep & PF_KEEP_NODE_OPS), streamed)
                           : 0;
}

/* ---- processes and threads (small: from the header object) ------------- */

/* Flat quadruples process, calls, instructions, time_ns, by process. */
int pfr_read_per_process(rv *r, pf_function *f)
{
    if (pfr_read_ints_to(r, "per_process", 0, INT64_MAX, 8) < 0)
        return -1;
    const int64_t *v = r->buf[8];
    size_t n = r->nbuf[8];
    if (n % 4 || f->per_process)
        return FAIL(r, "function %zu: per_process is not quadruples", r->p->nfunctions - 1);
    if (!(f->per_process = calloc(n / 4 + 1, sizeof *f->per_process)))
        return FAIL(r, "out of memory");
    for (size_t k = 0; k < n / 4; k++) {
        if (v[4 * k] > UINT32_MAX || (k && v[4 * k] <= v[4 * k - 4]))
            return FAIL(r, "function %zu: per_process is not by process", r->p->nfunctions - 1);
        f->per_process[k] = (pf_proc_count){(uint32_t)v[4 * k], (uint64_t)v[4 * k + 1],
                                            (uint64_t)v[4 * k + 2], (uint64_t)v[4 * k + 3]};
    }
    f->nper_process = n / 4;
    return 0;
}


static int read_processes(rv *r, char *err, size_t errlen);

int pfr_read_threads(rv *r, char *err, size_t errlen)
{
    pf_profile *p = r->p;
    json_t *threads = json_object_get(r->head, "threads");
    size_t i;
    json_t *v;
    if (r->threads_read)
        return 0;
    r->threads_read = 1;
    if (read_processes(r, err, errlen) < 0)
        return -1;
    if (threads && !json_is_array(threads))
        return snprintf(err, errlen, "threads: not an array"), -1;
    json_array_foreach(threads, i, v) {
        json_t *name = json_object_get(v, "name"), *proc = json_object_get(v, "process");
        json_int_t k = json_is_integer(name) ? json_integer_value(name) : -1;
        if (k < 0 || (size_t)k >= r->nstr || !json_is_integer(proc) ||
            json_integer_value(proc) < 0)
            return snprintf(err, errlen, "thread %zu: no name or process", i), -1;
        /* two threads of one name stay two: not pf_thread_index */
        char **tv = realloc(p->threads, (p->nthreads + 1) * sizeof *tv);
        uint32_t *tp = tv ? realloc(p->thread_process, (p->nthreads + 1) * sizeof *tp) : NULL;
        if (tv)
            p->threads = tv;
        if (tp)
            p->thread_process = tp;
        if (!tv || !tp || !(p->threads[p->nthreads] = strdup(r->str[k])))
            return snprintf(err, errlen, "out of memory"), -1;
        p->thread_process[p->nthreads++] = (uint32_t)json_integer_value(proc);
    }
    return 0;
}

/* The processes and the run id (header keys written before the
 * functions): a merge places a node by its thread's process. */
static int read_processes(rv *r, char *err, size_t errlen)
{
    pf_profile *p = r->p;
    json_t *procs = json_object_get(r->head, "processes");
    json_t *id = json_object_get(r->head, "run_id");
    size_t i;
    json_t *v;
    if (id && !json_is_string(id))
        return snprintf(err, errlen, "run_id: not a string"), -1;
    if (id && !(p->run_id = strdup(json_string_value(id))))
        return snprintf(err, errlen, "out of memory"), -1;
    if (procs && !json_is_array(procs))
        return snprintf(err, errlen, "processes: not an array"), -1;
    p->processes = calloc(json_array_size(procs) + 1, sizeof *p->processes);
    if (!p->processes)
        return snprintf(err, errlen, "out of memory"), -1;
    json_array_foreach(procs, i, v) {
        pf_process *pr = &p->processes[p->nprocesses++];
        json_t *pid = json_object_get(v, "pid"), *parent = json_object_get(v, "parent");
        json_t *argv = json_object_get(v, "argv"), *st = json_object_get(v, "exit_status");
        if (!json_is_integer(pid) || !json_is_integer(parent) || !json_is_array(argv) ||
            !json_is_integer(st) || json_integer_value(parent) < -1 ||
            json_integer_value(parent) >= (json_int_t)json_array_size(procs))
            return snprintf(err, errlen, "process %zu: no pid, parent, argv or exit_status", i),
                   -1;
        pr->pid = json_integer_value(pid);
        pr->parent = json_integer_value(parent);
        pr->exit_status = (int)json_integer_value(st);
        pr->incomplete = json_is_true(json_object_get(v, "incomplete"));
        pr->pending = json_is_true(json_object_get(v, "pending"));
        json_t *ppid = json_object_get(v, "ppid");
        if (ppid && !json_is_integer(ppid))
            return snprintf(err, errlen, "process %zu: bad ppid", i), -1;
        pr->ppid = ppid ? json_integer_value(ppid) : 0;
        json_t *ended = json_object_get(v, "ended");
        json_t *t0 = json_object_get(v, "start_ns"), *t1 = json_object_get(v, "end_ns");
        if ((ended && !json_is_string(ended)) || (t0 && !json_is_integer(t0)) ||
            (t1 && !json_is_integer(t1)))
            return snprintf(err, errlen, "process %zu: bad ended, start_ns or end_ns", i), -1;
        if (ended && !(pr->ended = strdup(json_string_value(ended))))
            return snprintf(err, errlen, "out of memory"), -1;
        pr->start_ns = t0 && json_integer_value(t0) > 0 ? (uint64_t)json_integer_value(t0) : 0;
        pr->end_ns = t1 && json_integer_value(t1) > 0 ? (uint64_t)json_integer_value(t1) : 0;
        pr->argv = calloc(json_array_size(argv) + 1, sizeof *pr->argv);
        if (!pr->argv)
            return snprintf(err, errlen, "out of memory"), -1;
        size_t k;
        json_t *a;
        json_array_foreach(argv, k, a) {
            if (!json_is_string(a))
                return snprintf(err, errlen, "process %zu: argv holds a non-string", i), -1;
            if (!(pr->argv[pr->argc++] = strdup(json_string_value(a))))
                return snprintf(err, errlen, "out of memory"), -1;
        }
    }
    return 0;
}

int pfr_from_head(rv *r, char *err, size_t errlen)
{
    pf_profile *p = r->p;
    if (pfr_read_threads(r, err, errlen) < 0)
        return -1;
    for (size_t f = 0; f < p->nfunctions; f++) {
        const pf_function *fn = &p->functions[f];
        if (fn->process >= (p->nprocesses ? p->nprocesses : 1))
            return snprintf(err, errlen, "function %zu: no such process", f), -1;
        for (size_t k = 0; k < fn->nper_process; k++)
            if (fn->per_process[k].process >= p->nprocesses)
                return snprintf(err, errlen, "function %zu: per_process names no process", f),
                       -1;
    }
    for (size_t t = 0; t < p->nthreads; t++)
        if (p->thread_process[t] >= (p->nprocesses ? p->nprocesses : 1))
            return snprintf(err, errlen, "thread %zu: no such process", t), -1;
    for (size_t k = 0; k < p->nnodes; k++)
        if (p->nodes[k].thread >= p->nthreads)
            return snprintf(err, errlen, "node %zu: no such thread", k), -1;
    if (r->top_thread >= 0 && (uint64_t)r->top_thread >= p->nthreads)   /* nodes not kept */
        return snprintf(err, errlen, "node %zu: no such thread", r->top_thread_node), -1;
    return 0;
}

