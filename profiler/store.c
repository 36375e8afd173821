/*
 * store.c - records, call-tree nodes and thread stacks.
 *
 * Lookups happen on frame entry only (never per instruction), through two
 * open-addressing hash tables: records by content key, nodes by
 * (parent, record).  Memory is never freed before st_store_release(), so
 * pointers handed to the collector stay valid for the whole run.
 */
#include "store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>

typedef struct rec_entry {
    st_record rec;
    uint64_t hash;
    char *file;
    char *name;
    int firstlineno;
    unsigned char *bytes;
    size_t nbytes;
} rec_entry;

typedef struct vec {
    void **items;
    size_t len, cap;
} vec;

typedef struct table {
    void **slots;            /* rec_entry* or st_node* */
    size_t cap;              /* power of two */
    size_t used;
} table;

/* Time arrays come from here, on a node's first sample: a sampled run
 * touches few of its nodes, and arrays for all of them were most of a
 * big run's memory.  Reserved with mmap (pages cost nothing until used),
 * handed out by an atomic bump: the sampler is a signal handler. */
#define TIME_ARENA_BYTES ((size_t)1 << 30)

struct st_store {
    int with_stacks;
    int with_lines;          /* nodes by call site too (st_store_enable_lines) */
    int with_times;
    unsigned char *arena;
    _Atomic size_t arena_used;
    uint32_t width;
    int oom;
    vec records, nodes, threads;
    table rec_table, node_table;
};

static int vec_push(vec *v, void *p)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        void **items = realloc(v->items, cap * sizeof *items);
        if (!items)
            return -1;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = p;
    return 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t node_hash(const st_node *parent, const st_record *rec, int32_t callsite)
{
    return mix(((uint64_t)(uintptr_t)parent * 31 + (uint64_t)(uintptr_t)rec) * 31 +
               (uint32_t)callsite);
}

/* Grows `t` so that one more item fits under a 50% load factor. */
static int table_reserve(table *t, uint64_t (*hash_of)(void *))
{
    if ((t->used + 1) * 2 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 256;
    void **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        void *item = t->slots[i];
        if (!item)
            continue;
        size_t j = hash_of(item) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = item;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* Puts `item` in the first free slot for `h`; the caller reserved room. */
static void table_insert(table *t, uint64_t h, void *item)
{
    size_t j = h & (t->cap - 1);
    while (t->slots[j])
        j = (j + 1) & (t->cap - 1);
    t->slots[j] = item;
    t->used++;
}

static uint64_t rec_hash_of(void *item)
{
    return ((rec_entry *)item)->hash;
}

static uint64_t node_hash_of(void *item)
{
    st_node *n = item;
    return node_hash(n->parent, n->rec, n->callsite);
}

st_store *st_store_new(int with_stacks, uint32_t width)
{
    st_store *s = calloc(1, sizeof *s);
    if (s) {
        s->with_stacks = with_stacks;
        s->width = width == 2 ? 2 : 1;
    }
    return s;
}

int st_store_with_stacks(const st_store *s)
{
    return s->with_stacks;
}

void st_store_enable_lines(st_store *s)
{
    s->with_lines = s->with_stacks;
}

int st_store_with_lines(const st_store *s)
{
    return s->with_lines;
}

int st_node_times(st_store *s, st_node *n)
{
    uint64_t *have = atomic_load((_Atomic(uint64_t *) *)&n->times);
    if (have)
        return 0;
    if (!s->arena || !n->rec || !n->rec->ncounters)
        return -1;
    size_t need = 2 * (size_t)n->rec->ncounters * sizeof(uint64_t);
    size_t at = atomic_fetch_add(&s->arena_used, need);
    if (at + need > TIME_ARENA_BYTES)
        return -1;
    uint64_t *t = (uint64_t *)(s->arena + at), *none = NULL;
    /* another thread's sample may have given the node its arrays first
     * (--no-stacks nodes are shared); the loser's bytes stay unused */
    if (!atomic_compare_exchange_strong((_Atomic(uint64_t *) *)&n->times, &none, t))
        t = none;
    n->samples = t + n->rec->ncounters;
    return 0;
}

void st_store_enable_times(st_store *s)
{
    void *a = mmap(NULL, TIME_ARENA_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    s->arena = a == MAP_FAILED ? NULL : a;
    s->with_times = 1;
}

int st_store_timed(const st_store *s)
{
    return s->with_times;
}

int st_store_oom(const st_store *s)
{
    return s->oom;
}

static void entry_free(rec_entry *e)
{
    if (!e)
        return;
    free(e->file);
    free(e->name);
    free(e->bytes);
    free(e);
}

static void node_free(st_node *n)
{
    free(n->counts);
    free(n);
}

void st_store_release(st_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->records.len; i++)
        entry_free(s->records.items[i]);
    for (size_t i = 0; i < s->nodes.len; i++)
        node_free(s->nodes.items[i]);
    for (size_t i = 0; i < s->threads.len; i++) {
        st_thread *t = s->threads.items[i];
        free(t->name);
        free(t->stack);
        free(t);
    }
    free(s->records.items);
    free(s->nodes.items);
    free(s->threads.items);
    free(s->rec_table.slots);
    free(s->node_table.slots);
    if (s->arena)
        munmap(s->arena, TIME_ARENA_BYTES);
    free(s);
}

static st_node *node_new(st_store *s, st_node *parent, st_record *rec,
                         uint32_t thread)
{
    st_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->index = (uint32_t)s->nodes.len;
    n->parent = parent;
    n->rec = rec;
    n->thread = thread;
    n->callsite = -1;
    if (rec && rec->ncounters) {
        n->counts = calloc((size_t)rec->ncounters * rec->width, sizeof *n->counts);
        if (!n->counts) {
            node_free(n);
            return NULL;
        }
    }
    if (vec_push(&s->nodes, n) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

static int key_equal(const rec_entry *e, uint64_t h, const char *file,
                     const char *name, int line, const void *bytes,
                     size_t nbytes)
{
    return e->hash == h && e->firstlineno == line && e->nbytes == nbytes &&
           strcmp(e->file, file) == 0 && strcmp(e->name, name) == 0 &&
           memcmp(e->bytes, bytes, nbytes) == 0;
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static rec_entry *entry_new(uint64_t h, const char *file, const char *name,
                            int line, const void *bytes, size_t nbytes)
{
    rec_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->hash = h;
    e->firstlineno = line;
    e->nbytes = nbytes;
    e->file = dup(file);
    e->name = dup(name);
    e->bytes = malloc(nbytes ? nbytes : 1);
    if (!e->file || !e->name || !e->bytes) {
        entry_free(e);
        return NULL;
    }
    if (nbytes)
        memcpy(e->bytes, bytes, nbytes);
    return e;
}

st_record *st_record_get(st_store *s, const char *file, const char *name,
                         int firstlineno, const void *bytes, size_t nbytes,
                         uint32_t ncounters, int *created)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv(h, file, strlen(file) + 1);
    h = fnv(h, name, strlen(name) + 1);
    h = fnv(h, &firstlineno, sizeof firstlineno);
    h = fnv(h, bytes, nbytes);
    *created = 0;

    table *t = &s->rec_table;
    if (t->cap) {
        for (size_t j = h & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
            rec_entry *e = t->slots[j];
            if (key_equal(e, h, file, name, firstlineno, bytes, nbytes))
                return &e->rec;
        }
    }
    if (table_reserve(t, rec_hash_of) < 0)
        goto oom;
    rec_entry *e = entry_new(h, file, name, firstlineno, bytes, nbytes);
    if (!e)
        goto oom;
    e->rec.index = (uint32_t)s->records.len;
    e->rec.ncounters = ncounters;
    e->rec.width = s->width;
    e->rec.bytes = e->bytes;
    e->rec.entry = -1;
    if (vec_push(&s->records, e) < 0) {
        entry_free(e);
        goto oom;
    }
    /* With stacks every count lands in a per-path node instead.  A record
     * whose flat node cannot be had stays listed but is never handed out. */
    if (!s->with_stacks && !(e->rec.flat = node_new(s, NULL, &e->rec, 0)))
        goto oom;
    table_insert(t, h, e);
    *created = 1;
    return &e->rec;
oom:
    s->oom = 1;
    return NULL;
}

st_thread *st_thread_new(st_store *s, unsigned long ident)
{
    st_thread *t = calloc(1, sizeof *t);
    if (!t)
        goto oom;
    t->index = (uint32_t)s->threads.len;
    t->ident = ident;
    t->capacity = 64;
    t->stack = calloc(t->capacity, sizeof *t->stack);
    if (!t->stack)
        goto oom_free;
    t->root = node_new(s, NULL, NULL, t->index);
    if (!t->root || vec_push(&s->threads, t) < 0)
        goto oom_free;
    t->stack[0].node = t->root;
    return t;
oom_free:
    if (t)
        free(t->stack);
    free(t);
oom:
    s->oom = 1;
    return NULL;
}

const char *st_record_file(const st_record *r)
{
    return ((const rec_entry *)r)->file;
}

const char *st_record_name(const st_record *r)
{
    return ((const rec_entry *)r)->name;
}

int st_record_firstlineno(const st_record *r)
{
    return ((const rec_entry *)r)->firstlineno;
}

int st_thread_set_name(st_thread *t, const char *name)
{
    char *d = dup(name);
    if (!d)
        return -1;
    free(t->name);
    t->name = d;
    return 0;
}

static st_node *find_child(st_store *s, st_node *parent, st_record *rec, int32_t callsite)
{
    uint64_t h = node_hash(parent, rec, callsite);
    table *t = &s->node_table;
    if (t->cap) {
        for (size_t j = h & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
            st_node *n = t->slots[j];
            if (n->parent == parent && n->rec == rec && n->callsite == callsite)
                return n;
        }
    }
    if (table_reserve(t, node_hash_of) < 0)
        return NULL;
    st_node *n = node_new(s, parent, rec, parent->thread);
    if (!n)
        return NULL;
    n->callsite = callsite;
    table_insert(t, h, n);
    return n;
}

static st_node *child_of(st_store *s, st_node *parent, st_record *rec, int32_t callsite)
{
    st_node **last = parent->last_child;
    if (last[0] && last[0]->rec == rec && last[0]->callsite == callsite)
        return last[0];
    st_node *n = last[1] && last[1]->rec == rec && last[1]->callsite == callsite
                     ? last[1]
                     : find_child(s, parent, rec, callsite);
    if (n) {
        last[1] = last[0];
        last[0] = n;
    }
    return n;
}

/* How far up a call is looked for as recursion (--lines). */
#define RECURSION_WINDOW 8

/* Whether rec runs in one of the frames just above: a recursive call.
 * Told apart by call site, recursion's paths would be as many as its calls
 * (fib(n) calls itself from two places: 2^n paths, bounded only by the
 * calls made), so recursive calls stay one path whatever their place. */
static int recursive(const st_thread *t, const st_record *rec)
{
    for (uint32_t d = t->depth; d > 0 && d + RECURSION_WINDOW > t->depth; d--)
        if (t->stack[d].node->rec == rec)
            return 1;
    return 0;
}

int st_push(st_store *s, st_thread *t, st_record *rec, const void *code,
            const void *frame, int32_t callsite)
{
    if (t->depth + 1 >= t->capacity) {
        /* a sampling signal must not read the array while it moves */
        t->busy = 1;
        atomic_signal_fence(memory_order_seq_cst);
        uint32_t cap = t->capacity * 2;
        st_frame *stack = realloc(t->stack, cap * sizeof *stack);
        if (stack) {
            t->stack = stack;
            t->capacity = cap;
        }
        atomic_signal_fence(memory_order_seq_cst);
        t->busy = 0;
        if (!stack)
            goto oom;
    }
    st_node *node = s->with_stacks ? child_of(s, t->stack[t->depth].node, rec,
                                              s->with_lines && !recursive(t, rec) ? callsite
                                                                                   : -1)
                                   : rec->flat;
    if (!node)
        goto oom;
    int flat = node->rec && node->rec->width == 1;
    t->stack[t->depth + 1] = (st_frame){node, code, frame, flat ? node->counts : NULL,
                                        flat ? node->rec->ncounters : 0};
    atomic_signal_fence(memory_order_seq_cst);  /* the frame is whole before it shows */
    t->depth++;
    return 0;
oom:
    s->oom = 1;
    return -1;
}

size_t st_record_count(const st_store *s) { return s->records.len; }
st_record *st_record_at(const st_store *s, size_t i)
{
    return &((rec_entry *)s->records.items[i])->rec;
}
size_t st_node_count(const st_store *s) { return s->nodes.len; }
st_node *st_node_at(const st_store *s, size_t i) { return s->nodes.items[i]; }
size_t st_thread_count(const st_store *s) { return s->threads.len; }
st_thread *st_thread_at(const st_store *s, size_t i) { return s->threads.items[i]; }

void st_store_zero(st_store *s)
{
    for (size_t i = 0; i < s->records.len; i++) {
        st_record_at(s, i)->calls = 0;
        st_record_at(s, i)->cumulative_ns = 0;
    }
    for (size_t i = 0; i < s->nodes.len; i++) {
        st_node *n = s->nodes.items[i];
        if (n->counts)
            memset(n->counts, 0, (size_t)n->rec->ncounters * n->rec->width * sizeof *n->counts);
        if (n->times) {
            memset(n->times, 0, n->rec->ncounters * sizeof *n->times);
            memset(n->samples, 0, n->rec->ncounters * sizeof *n->samples);
        }
    }
}
