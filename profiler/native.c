/*
 * native.c - --native samples and crash backtraces into the profile.
 *
 * The sample buffer is one anonymous mapping reserved at start and never
 * grown (the handler cannot allocate); pages are only committed as
 * samples fill them.  When it is full, samples are counted as dropped.
 */
#include "native.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../reports/flame.h"
#include "nmerge.h"
#include "pycompat.h"
#include "sampler.h"

#define NV_CAPACITY (1u << 16)

static nv_sample *samples;
static _Atomic uint32_t reserved;
static _Atomic uint64_t dropped;

int nv_start(void)
{
    void *m = mmap(NULL, (size_t)NV_CAPACITY * sizeof *samples, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    samples = m;
    return 0;
}

int nv_enabled(void)
{
    return samples != NULL;
}

nv_sample *nv_reserve(void)
{
    if (!samples)
        return NULL;
    uint32_t i = atomic_fetch_add(&reserved, 1);
    if (i >= NV_CAPACITY) {
        atomic_fetch_add(&dropped, 1);
        return NULL;
    }
    atomic_store(&samples[i].ready, 0);  /* a forked child reuses the parent's slots */
    return &samples[i];
}

void nv_after_fork(void)
{
    atomic_store(&reserved, 0);
    atomic_store(&dropped, 0);
}

void nv_commit(nv_sample *s, const st_thread *t, uint64_t weight_ns, size_t nnative,
               uint32_t depth)
{
    s->weight_ns = weight_ns;
    s->nnative = (uint16_t)nnative;
    s->npython = 0;
    s->ngroups = 0;
    s->python_known = t && !t->busy;
    s->thread = t ? t->index : 0;  /* known even when its stack is not */
    if (s->python_known) {
        uint32_t d = depth < t->depth ? depth : t->depth;
        uint32_t first = d > NV_MAX_PYTHON ? d - NV_MAX_PYTHON + 1 : 1;
        for (uint32_t k = first; k <= d; k++)
            if (t->stack[k].node && t->stack[k].node->rec)
                s->python[s->npython++] = t->stack[k].node->rec;
        int g = t->pyts ? oc_eval_groups(sm_peek, t->pyts, s->groups, NV_MAX_GROUPS, s->npython)
                        : -1;
        s->ngroups = g > 0 ? (uint16_t)g : 0;
    }
    atomic_store(&s->ready, 1);
}

/* ---- after the run -------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* `name` is an exported symbol of the module that does not cover `at`:
 * libunwind fell back to the nearest dynamic symbol (a stripped library). */
static int exported_elsewhere(const Dl_info *di, const char *name, uintptr_t at)
{
    void *h = di->dli_fname ? dlopen(di->dli_fname, RTLD_LAZY | RTLD_NOLOAD) : NULL;
    if (!h)
        return 0;
    void *sym = dlsym(h, name);
    dlclose(h);
    return sym != NULL && (uintptr_t)sym != at;
}

/* Names native frame `ip` (a return address unless leaf). */
static int describe(uintptr_t ip, int leaf, pf_native_frame *f)
{
    uintptr_t at = leaf ? ip : ip - 1;
    char name[512];
    uintptr_t off;
    Dl_info di;
    memset(f, 0, sizeof *f);
    f->address = ip;
    const ElfW(Sym) *sym = NULL;
    int have_dl = dladdr1((void *)at, &di, (void **)&sym, RTLD_DL_SYMENT) != 0;
    /* in a stripped library both name the nearest exported symbol, which
     * may be far away: only a symbol that covers the address is a name */
    int dl_covers = have_dl && di.dli_sname && sym &&
                    at - (uintptr_t)di.dli_saddr < (uintptr_t)(sym->st_size ? sym->st_size : 1);
    int named = ns_name(at, name, sizeof name, &off) == 0;
    if (named && have_dl && !dl_covers && exported_elsewhere(&di, name, at))
        named = 0;
    if (named) {
        if (pf_set_string(&f->function, name) < 0)
            return -1;
        f->offset = (uint64_t)off + (ip - at);
    } else if (dl_covers) {
        if (pf_set_string(&f->function, di.dli_sname) < 0)
            return -1;
        f->offset = ip - (uintptr_t)di.dli_saddr;
    } else if (have_dl) {
        f->offset = ip - (uintptr_t)di.dli_fbase;
    }
    if (have_dl && di.dli_fname && di.dli_fname[0] && pf_set_string(&f->module, di.dli_fname) < 0)
        return -1;
    return 0;
}

/* A flame graph's frame for native frame f at `at`: an unnamed one is
 * named by its function's start (from the unwind tables), so that the
 * samples of one function of a stripped library share one frame. */
static char *native_label(const pf_native_frame *f, uintptr_t at, uint64_t *unresolved)
{
    char buf[640];
    uintptr_t start;
    if (f->function)
        snprintf(buf, sizeof buf, "%s [native]", f->function);
    else {
        ++*unresolved;
        uint64_t off = f->offset;
        if (ns_function_start(at, &start) == 0 && start <= f->address && f->address - start <= off)
            off -= f->address - start;
        if (f->module)
            snprintf(buf, sizeof buf, "%s+0x%llx [native]", base_name(f->module),
                     (unsigned long long)off);
        else
            snprintf(buf, sizeof buf, "0x%llx [native]", (unsigned long long)f->address);
    }
    return strdup(buf);
}

/* The flame graphs' name of a function: "qualname (file:line)". */
static char *python_label(const pf_profile *p, const st_record *r)
{
    char buf[1024];
    if (r->index < p->nfunctions) {
        const pf_function *f = &p->functions[r->index];
        snprintf(buf, sizeof buf, "%s (%s:%d)", f->qualname ? f->qualname : f->name,
                 fl_relative_file(p, f->file), f->firstlineno);
    } else {
        snprintf(buf, sizeof buf, "%s (%s:%d)", st_record_name(r),
                 fl_relative_file(p, st_record_file(r)), st_record_firstlineno(r));
    }
    return strdup(buf);
}

/* Native labels by address, resolved once each: an open-addressing table
 * (a long run has many distinct addresses and ~64 frames a sample). */
typedef struct label_cache {
    uintptr_t *keys;         /* 0: empty */
    char **labels;
    size_t n, cap;           /* cap: a power of two */
    pf_native_module *modules;   /* each label made with a module: pprof's mappings */
    size_t nmodules, capmodules;
} label_cache;

static size_t slot_of(const label_cache *c, uintptr_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (c->cap - 1);
    while (c->keys[i] && c->keys[i] != key)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static int cache_grow(label_cache *c)
{
    label_cache bigger = {NULL, NULL, c->n, c->cap ? 2 * c->cap : 1024, c->modules, c->nmodules,
                          c->capmodules};
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.labels = calloc(bigger.cap, sizeof *bigger.labels);
    if (!bigger.keys || !bigger.labels) {
        free(bigger.keys);
        free(bigger.labels);
        return -1;
    }
    for (size_t i = 0; i < c->cap; i++)
        if (c->keys[i]) {
            size_t k = slot_of(&bigger, c->keys[i]);
            bigger.keys[k] = c->keys[i];
            bigger.labels[k] = c->labels[i];
        }
    free(c->keys);
    free(c->labels);
    *c = bigger;
    return 0;
}

/* The module of a new label (pprof's mapping of its frames). */
static int remember_module(label_cache *c, const char *label, const char *module)
{
    if (c->nmodules == c->capmodules) {
        size_t cap = c->capmodules ? 2 * c->capmodules : 256;
        pf_native_module *v = realloc(c->modules, cap * sizeof *v);
        if (!v)
            return -1;
        c->modules = v;
        c->capmodules = cap;
    }
    pf_native_module *m = &c->modules[c->nmodules];
    *m = (pf_native_module){strdup(label), strdup(module)};
    if (!m->label || !m->module) {
        free(m->label);
        free(m->module);
        return -1;
    }
    c->nmodules++;
    return 0;
}

static int by_label_then_module(const void *a, const void *b)
{
    const pf_native_module *x = a, *y = b;
    int d = strcmp(x->label, y->label);
    return d ? d : strcmp(x->module, y->module);
}

/* The labels' modules into p->native_modules, by label, one each: a
 * function's name is in one shared object but for the rare symbol two
 * define, where the first by path stands for both.  c's list is handed
 * over. */
static void set_modules(pf_profile *p, label_cache *c)
{
    size_t n = 0;
    qsort(c->modules, c->nmodules, sizeof *c->modules, by_label_then_module);
    for (size_t i = 0; i < c->nmodules; i++) {
        if (n && strcmp(c->modules[n - 1].label, c->modules[i].label) == 0) {
            free(c->modules[i].label);
            free(c->modules[i].module);
        } else {
            c->modules[n++] = c->modules[i];
        }
    }
    p->native_modules = c->modules;
    p->nnative_modules = n;
    c->modules = NULL;
    c->nmodules = c->capmodules = 0;
}

static const char *cached_label(label_cache *c, uintptr_t ip, int leaf, uint64_t *unresolved)
{
    uintptr_t key = ip ^ (uintptr_t)(leaf ? 1 : 0) << 63;
    key = key ? key : 1;  /* 0 marks an empty slot */
    if ((c->n + 1) * 2 > c->cap && cache_grow(c) < 0)
        return NULL;
    size_t i = slot_of(c, key);
    if (c->keys[i])
        return c->labels[i];
    pf_native_frame f;
    if (describe(ip, leaf, &f) < 0)
        return NULL;
    char *label = native_label(&f, leaf ? ip : ip - 1, unresolved);
    free(f.function);
    if (label && f.module && remember_module(c, label, f.module) < 0) {
        free(label);
        label = NULL;
    }
    free(f.module);
    if (!label)
        return NULL;
    c->keys[i] = key;
    c->labels[i] = label;
    c->n++;
    return label;
}

static int same_frames(const pf_native_stack *s, char *const *frames, size_t n, uint32_t thread)
{
    if (s->thread != thread || s->nframes != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->frames[i], frames[i]) != 0)
            return 0;
    return 1;
}

static int add_stack(pf_profile *p, uint32_t thread, char **frames, size_t n, uint64_t w)
{
    /* linear search from the end: consecutive samples repeat their stack */
    for (size_t i = p->nnative_stacks; i-- > 0;) {
        pf_native_stack *s = &p->native_stacks[i];
        if (same_frames(s, frames, n, thread)) {
            s->samples++;
            s->time_ns += w;
            for (size_t k = 0; k < n; k++)
                free(frames[k]);
            free(frames);
            return 0;
        }
        if (p->nnative_stacks - i > 512)
            break;
    }
    pf_native_stack *s = pf_add_native_stack(p);
    if (!s)
        return -1;
    s->thread = thread;
    s->frames = frames;
    s->nframes = n;
    s->samples = 1;
    s->time_ns = w;
    return 0;
}

static int build_one(pf_profile *p, const nv_sample *s, label_cache *c)
{
    unsigned char is_eval[NS_MAX_FRAMES];
    nm_item items[NS_MAX_FRAMES + NV_MAX_PYTHON];
    for (size_t i = 0; i < s->nnative; i++) {
        uintptr_t at = i ? s->native[i] - 1 : s->native[i];
        is_eval[i] = s->python_known && ns_in_eval(at);
    }
    size_t n = nm_merge(is_eval, s->nnative, s->python_known ? s->npython : 0,
                        OPPROF_EVAL_FRAME_PER_PY_FRAME ? NULL : s->groups,
                        OPPROF_EVAL_FRAME_PER_PY_FRAME ? 0 : s->ngroups, items,
                        sizeof items / sizeof *items);
    if (OPPROF_EVAL_FRAME_PER_PY_FRAME) {
        /* 3.10: one C call per Python frame, dealt out one each */
        uint16_t ones[NS_MAX_FRAMES];
        for (size_t i = 0; i < NS_MAX_FRAMES; i++)
            ones[i] = 1;
        n = nm_merge(is_eval, s->nnative, s->python_known ? s->npython : 0, ones,
                     NS_MAX_FRAMES, items, sizeof items / sizeof *items);
    }
    char **frames = calloc(n + 1, sizeof *frames);
    if (!frames)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *l = items[i].python
            ? NULL
            : cached_label(c, s->native[items[i].index], items[i].index == 0,
                           &p->native_stats.unresolved);
        frames[i] = items[i].python ? python_label(p, s->python[items[i].index])
                                    : l ? strdup(l) : NULL;
        if (!frames[i]) {
            for (size_t k = 0; k < i; k++)
                free(frames[k]);
            free(frames);
            return -1;
        }
    }
    if (s->python_known && s->npython)
        p->native_stats.merged++;
    else
        p->native_stats.native_only++;
    return add_stack(p, s->thread, frames, n, s->weight_ns);
}

int nv_build(pf_profile *p)
{
    label_cache c = {0};
    int rc = 0;
    uint32_t n = atomic_load(&reserved);
    if (n > NV_CAPACITY)
        n = NV_CAPACITY;
    p->native = 1;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (!atomic_load(&samples[i].ready))
            continue;
        p->native_stats.samples++;
        rc = build_one(p, &samples[i], &c);
    }
    p->native_stats.dropped = atomic_load(&dropped);
    if (rc == 0)
        set_modules(p, &c);
    for (size_t i = 0; i < c.nmodules; i++) {
        free(c.modules[i].label);
        free(c.modules[i].module);
    }
    free(c.modules);
    for (size_t i = 0; i < c.cap; i++)
        free(c.labels[i]);
    free(c.labels);
    free(c.keys);
    return rc;
}

int nv_add_crash(pf_profile *p, const cr_info *ci, const char *thread)
{
    pf_crash *c = pf_crash_get(p);
    if (!c || (thread && pf_set_string(&c->thread, thread) < 0))
        return -1;
    c->address = ci->address;
    c->native = calloc(ci->nnative + 1, sizeof *c->native);
    c->python = calloc(ci->npython + 1, sizeof *c->python);
    if (!c->native || !c->python)
        return -1;
    for (size_t i = 0; i < ci->nnative; i++, c->nnative++)
        if (describe(ci->native[i], i == 0, &c->native[i]) < 0)
            return -1;
    for (size_t i = 0; i < ci->npython; i++, c->npython++) {
        const st_record *r = ci->python[i];
        pf_crash_frame *f = &c->python[i];
        const pf_function *fn = r->index < p->nfunctions ? &p->functions[r->index] : NULL;
        f->line = st_record_firstlineno(r);
        if (i == 0 && ci->leaf_offset >= 0 && ci->leaf_code)
            f->line = oc_code_line(ci->leaf_code, ci->leaf_offset);
        if (pf_set_string(&f->function, fn && fn->qualname ? fn->qualname : st_record_name(r)) < 0 ||
            pf_set_string(&f->file, st_record_file(r)) < 0)
            return -1;
    }
    return 0;
}
