/*
 * nodepass.c - per-node counters into per-record sums (nodepass.h).
 *
 * Prologue instructions before the first RESUME have no event of their
 * own; they run once per entry, so they get the entry RESUME's count.
 */
#include "nodepass.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blockmap.h"
#include "codeinfo.h"

/* Records claimed at a time: few enough to share a test suite's thousands
 * evenly, enough that claiming costs nothing. */
#define CLAIM 8

struct np_pass {
    st_store *s;
    int counted;
    size_t nrec;
    np_sums *sums;           /* per record */
    np_own *own;             /* per node, or NULL */
    uint32_t *order;         /* node indices grouped by record, in node order */
    uint32_t *first;         /* record r's nodes: order[first[r] .. first[r + 1]) */
    uint32_t most;           /* the most code units of any record */
    int **lines;             /* per record: line per code unit (np_set_lines) */
    int sites;               /* the nodes keep sites (--lines) */
    atomic_size_t lines_ready;   /* records below it have theirs */
    atomic_size_t next;      /* the next record to claim */
    atomic_int failed;
    atomic_uint inconsistent;
    pthread_t helper;
    int helping;             /* the helper runs and was not joined */
    /* the second phase, per record once every node is summed (np_finish) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int threads;             /* working on the nodes: 1, or 2 with the helper */
    int nodes_done;          /* threads done with the nodes */
    int phase2;              /* 1: np_finish set `then`; -1: np_release, stop */
    np_record_fn then;
    void *then_arg;
    atomic_size_t next2;
};

/* The times come only with a sampled node (store.h): most records never
 * get them, and three arrays for every record were most of the
 * snapshot's page faults. */
static int sums_alloc(np_sums *u, uint32_t n, int with_times)
{
    if (!u->count && !(u->count = calloc(n ? n : 1, sizeof *u->count)))
        return -1;
    if (with_times && !u->time) {
        u->time = calloc(n ? n : 1, sizeof *u->time);
        u->samples = calloc(n ? n : 1, sizeof *u->samples);
    }
    return !with_times || (u->time && u->samples) ? 0 : -1;
}

static void sums_free(np_sums *u)
{
    free(u->count);
    free(u->time);
    free(u->samples);
}

np_pass *np_new(st_store *s, int counted, int with_own)
{
    np_pass *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    pthread_mutex_init(&x->mu, NULL);   /* first: np_release destroys them */
    pthread_cond_init(&x->cv, NULL);
    atomic_init(&x->next, 0);
    atomic_init(&x->next2, 0);
    atomic_init(&x->lines_ready, 0);
    atomic_init(&x->failed, 0);
    atomic_init(&x->inconsistent, 0);
    x->threads = 1;
    x->s = s;
    x->counted = counted;
    x->sites = with_own && st_store_with_lines(s);
    x->nrec = st_record_count(s);
    size_t nnodes = st_node_count(s);
    x->most = 1;
    x->sums = calloc(x->nrec + 1, sizeof *x->sums);
    x->first = calloc(x->nrec + 2, sizeof *x->first);
    x->order = malloc((nnodes + 1) * sizeof *x->order);
    if (with_own)
        x->own = calloc(nnodes + 1, sizeof *x->own);
    if (!x->sums || !x->first || !x->order || (with_own && !x->own)) {
        np_release(x);
        return NULL;
    }
    for (size_t r = 0; r < x->nrec; r++) {
        const st_record *rec = st_record_at(s, r);
        if (rec->ncounters > x->most)
            x->most = rec->ncounters;
        if (sums_alloc(&x->sums[r], rec->ncounters, 0) < 0) {
            np_release(x);
            return NULL;
        }
    }
    /* counting sort by record: a record's nodes one after the other keep
     * its plan and its sums in the cache */
    for (size_t i = 0; i < nnodes; i++) {
        const st_node *n = st_node_at(s, i);
        if (n->rec && n->counts)
            x->first[n->rec->index + 2]++;
    }
    for (size_t r = 2; r < x->nrec + 2; r++)
        x->first[r] += x->first[r - 1];
    for (size_t i = 0; i < nnodes; i++) {
        const st_node *n = st_node_at(s, i);
        if (n->rec && n->counts)
            x->order[x->first[n->rec->index + 1]++] = (uint32_t)i;
    }
    return x;
}

/* One node's per-unit counts (prologue included) and times (folded into
 * their instruction) into `u`, the thread's scratch. */
static uint32_t node_sums(const np_pass *x, st_node *n, bm_plan *pl, np_sums *u)
{
    const st_record *r = n->rec;
    uint64_t *c = u->count;
    uint32_t bad = 0;
    if (pl)   /* resolved in place: the snapshot is the counters' last reader */
        bad = bm_resolve_plan(pl, n->counts, c);
    else
        memcpy(c, n->counts, (size_t)r->ncounters * sizeof *c);
    if (r->entry >= 0)
        for (uint32_t i = 0; i < (uint32_t)(r->entry >> 1); i++)
            c[i] = c[r->entry >> 1];
    if (!x->counted)  /* only entries were seen: no counts at all beats wrong ones */
        memset(c, 0, r->ncounters * sizeof *c);
    /* most nodes were never sampled (store.h): their times stay unread */
    if (n->times) {
        bm_fold(ci_ops(), r->bytes, r->ncounters, n->times, u->time);
        bm_fold(ci_ops(), r->bytes, r->ncounters, n->samples, u->samples);
    }
    return bad;
}

/* A node's count and time at one (line, op), keyed so that sorting the
 * keys sorts by line, then opcode (a line of -1 first). */
typedef struct site_acc {
    uint64_t key, count, time;
} site_acc;

static int by_key(const void *a, const void *b)
{
    uint64_t x = ((const site_acc *)a)->key, y = ((const site_acc *)b)->key;
    return x < y ? -1 : x > y;
}

/* own's sites from what it ran at each instruction (acc, n entries, in
 * offset order): one entry per (line, op), counts then times.  0, or -1
 * when out of memory. */
static int keep_sites(np_own *own, site_acc *acc, size_t n)
{
    int sorted = 1;
    for (size_t k = 1; k < n && sorted; k++)
        sorted = acc[k - 1].key <= acc[k].key;
    if (!sorted)   /* loops and several instructions of one line */
        qsort(acc, n, sizeof *acc, by_key);
    size_t m = 0, ncounted = 0, ntimed = 0;
    for (size_t k = 0; k < n; k++) {
        if (m && acc[m - 1].key == acc[k].key) {
            acc[m - 1].count += acc[k].count;
            acc[m - 1].time += acc[k].time;
        } else {
            acc[m++] = acc[k];
        }
    }
    for (size_t k = 0; k < m; k++) {
        ncounted += acc[k].count != 0;
        ntimed += acc[k].time != 0;
    }
    if (!ncounted && !ntimed)
        return 0;
    if (!(own->sites = malloc((ncounted + ntimed) * sizeof *own->sites)))
        return -1;
    for (size_t k = 0; k < m; k++)
        if (acc[k].count)
            own->sites[own->nsites++] = (pf_site){acc[k].count, pf_site_key_line(acc[k].key),
                                                  (uint16_t)(acc[k].key & 0xffff)};
    for (size_t k = 0; k < m; k++)
        if (acc[k].time)
            own->sites[own->nsites + own->nsite_times++] =
                (pf_site){acc[k].time, pf_site_key_line(acc[k].key),
                          (uint16_t)(acc[k].key & 0xffff)};
    return 0;
}

/* Adds node n's per-unit sums into its record's and keeps its own totals,
 * opcode map and (with `line`, the record's line per unit) sites in *own
 * (when own is not NULL); acc is scratch for the sites. */
static int add_node(np_pass *x, st_node *n, bm_plan *pl, np_sums *u, np_own *own,
                    const int *line, site_acc *acc)
{
    size_t nacc = 0;
    const st_record *r = n->rec;
    np_sums *sum = &x->sums[r->index];
    uint32_t bad = node_sums(x, n, pl, u);
    if (bad)
        atomic_fetch_add(&x->inconsistent, bad);
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
    uint32_t end = bm_zero_from(u->count, r->ncounters, 1);
    if (timed) {
        uint32_t t = bm_zero_from(u->time, r->ncounters, 1);
        uint32_t s = bm_zero_from(u->samples, r->ncounters, 1);
        end = t > end ? t : end;
        end = s > end ? s : end;
    }
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
        if (line)
            acc[nacc++] = (site_acc){pf_site_key(line[i], (uint16_t)op), c, t};
    }
    if (!own || !nops)
        return 0;
    if (line && keep_sites(own, acc, nacc) < 0)
        return -1;
    size_t ncounted = 0, ntimed = 0;
    for (size_t k = 0; k < nops; k++) {
        ncounted += by_op[seen[k]].count != 0;
        ntimed += by_op[seen[k]].time_ns != 0;
    }
    /* the counts, then the times (pf_node.ops) */
    if (!(own->ops = malloc((ncounted + ntimed) * sizeof *own->ops)))
        return -1;
    for (size_t k = 0; k < nops; k++)
        if (by_op[seen[k]].count)
            own->ops[own->nops++] = (pf_opval){by_op[seen[k]].count, by_op[seen[k]].op};
    for (size_t k = 0; k < nops; k++)
        if (by_op[seen[k]].time_ns)
            own->ops[own->nops + own->ntimes++] =
                (pf_opval){by_op[seen[k]].time_ns, by_op[seen[k]].op};
    return 0;
}

/* Waits until record r's line table is there (the code pass on the
 * other thread makes it), or the pass failed: 0, or -1. */
static int wait_lines(np_pass *x, size_t r)
{
    while (atomic_load(&x->lines_ready) <= r) {
        if (atomic_load(&x->failed))
            return -1;
        nanosleep(&(struct timespec){0, 20000}, NULL);
    }
    return 0;
}

static int sum_record(np_pass *x, size_t r, np_sums *u, site_acc *acc)
{
    const st_record *rec = st_record_at(x->s, r);
    uint32_t a = x->first[r], z = x->first[r + 1];
    if (a == z)
        return 0;
    const int *line = NULL;
    if (x->sites && x->lines) {
        if (wait_lines(x, r) < 0)
            return -1;
        line = x->lines[r];
    }
    bm_plan *pl = NULL;   /* the flow counters' map, decoded once per record */
    if (rec->width == 2 &&
        !(pl = bm_plan_new(ci_ops(), rec->bytes, rec->ncounters, rec->jumps_reported)))
        return -1;
    int rc = 0;
    for (uint32_t k = a; k < z && rc == 0; k++) {
        st_node *n = st_node_at(x->s, x->order[k]);
        rc = add_node(x, n, pl, u, x->own && n->parent ? &x->own[x->order[k]] : NULL, line,
                      acc);
    }
    bm_plan_release(pl);
    return rc;
}

/* Runs fn on records claimed from *next until none is left or one fails
 * (then every thread stops). */
static void claim_records(np_pass *x, atomic_size_t *next, np_record_fn fn, void *arg)
{
    size_t r;
    while (!atomic_load(&x->failed) && (r = atomic_fetch_add(next, CLAIM)) < x->nrec)
        for (size_t end = r + CLAIM < x->nrec ? r + CLAIM : x->nrec; r < end; r++)
            if (fn(arg, (uint32_t)r) < 0) {
                atomic_store(&x->failed, 1);
                break;
            }
}

/* A thread's share of the nodes, with scratch of its own. */
typedef struct node_job {
    np_pass *x;
    np_sums u;
    site_acc *acc;
} node_job;

static int sum_record_job(void *arg, uint32_t r)
{
    node_job *j = arg;
    return sum_record(j->x, r, &j->u, j->acc);
}

static void sum_nodes(np_pass *x)
{
    node_job j = {x, {0}, malloc(x->most * sizeof *j.acc)};
    if (!j.acc || sums_alloc(&j.u, x->most, 1) < 0)
        atomic_store(&x->failed, 1);
    else
        claim_records(x, &x->next, sum_record_job, &j);
    sums_free(&j.u);
    free(j.acc);
}

/* After the nodes: waits for both threads to be done with them and for
 * np_finish's `then`, and runs it on records until none is left. */
static void second_phase(np_pass *x)
{
    pthread_mutex_lock(&x->mu);
    x->nodes_done++;
    pthread_cond_broadcast(&x->cv);
    while (x->phase2 == 0 || (x->phase2 > 0 && x->nodes_done < x->threads))
        pthread_cond_wait(&x->cv, &x->mu);
    int go = x->phase2 > 0;
    pthread_mutex_unlock(&x->mu);
    if (go)
        claim_records(x, &x->next2, x->then, x->then_arg);
}

static void *helper(void *arg)
{
    np_pass *x = arg;
    sum_nodes(x);
    second_phase(x);
    return NULL;
}

void np_set_lines(np_pass *x, int **lines)
{
    x->lines = lines;
}

void np_lines_ready(np_pass *x, size_t upto)
{
    atomic_store(&x->lines_ready, upto);
}

const int *np_record_lines(const np_pass *x, uint32_t record)
{
    return x->lines ? x->lines[record] : NULL;
}

void np_start(np_pass *x)
{
    /* every signal blocked on the helper, so that they still reach the
     * main thread; it lives only inside the snapshot, so no fork sees it */
    sigset_t all, old;
    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
        return;
    x->threads = 2;   /* before the helper can read it */
    x->helping = pthread_create(&x->helper, NULL, helper, x) == 0;
    if (!x->helping)
        x->threads = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int np_finish(np_pass *x, np_record_fn then, void *arg)
{
    pthread_mutex_lock(&x->mu);
    x->then = then;
    x->then_arg = arg;
    x->phase2 = 1;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    sum_nodes(x);
    second_phase(x);
    if (x->helping) {
        pthread_join(x->helper, NULL);
        x->helping = 0;
    }
    return atomic_load(&x->failed) ? -1 : 0;
}

const np_sums *np_record_sums(const np_pass *x, uint32_t record)
{
    return &x->sums[record];
}

np_own *np_node_own(np_pass *x, uint32_t node)
{
    return x->own ? &x->own[node] : NULL;
}

uint32_t np_inconsistent(const np_pass *x)
{
    return atomic_load(&((np_pass *)x)->inconsistent);
}

void np_release(np_pass *x)
{
    if (!x)
        return;
    if (x->helping) {
        atomic_store(&x->failed, 1);   /* stop early: nothing will read it */
        pthread_mutex_lock(&x->mu);
        x->phase2 = -1;
        pthread_cond_broadcast(&x->cv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->helper, NULL);
    }
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    for (size_t r = 0; x->sums && r < x->nrec; r++)
        sums_free(&x->sums[r]);
    free(x->sums);
    for (size_t i = 0; x->own && i < st_node_count(x->s); i++) {
        free(x->own[i].ops);
        free(x->own[i].sites);
    }
    free(x->own);
    for (size_t r = 0; x->lines && r < x->nrec; r++)
        free(x->lines[r]);
    free(x->lines);
    free(x->order);
    free(x->first);
    free(x);
}
