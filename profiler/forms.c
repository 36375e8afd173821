/*
 * forms.c - the specialization view's collection (forms.h).
 *
 * The sampler's split is a fixed open-addressing table keyed by (record,
 * code unit, opcode held), reserved with mmap before sampling starts and
 * claimed slot by slot with compare-and-swap: handlers on several threads
 * may add at once, and a handler can neither allocate nor lock.  Sites
 * with time are few (a run of minutes touches thousands), so 64k slots
 * are rarely full; when they are, the split is dropped, never the time.
 */
#include "forms.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codeinfo.h"
#include "sampler.h"

#define NSLOTS ((size_t)1 << 16)
#define PROBES 64
#define MAX_UNIT ((uint64_t)1 << 24)

typedef struct slot {
    _Atomic uint64_t key;    /* (record + 1) << 32 | unit << 8 | opcode; 0: free */
    _Atomic uint64_t ns, samples;
} slot;

static slot *table;
static unsigned char **held;   /* per record: the opcode per code unit at the end */
static size_t nheld;

int fm_start(void)
{
    if (!OPPROF_PY_FORMS || table)
        return 0;
    void *m = mmap(NULL, NSLOTS * sizeof *table, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    table = m;
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

void fm_sample(const st_record *r, PyObject *code, long off, uint64_t w)
{
    unsigned char op;
    if (!table || off < 0 || (uint64_t)off / 2 >= MAX_UNIT ||
        oc_peek_opcode(sm_peek, code, off, &op) < 0)
        return;
    uint64_t key = ((uint64_t)r->index + 1) << 32 | (uint64_t)off / 2 << 8 | op;
    uint64_t h = mix(key);
    for (size_t p = 0; p < PROBES; p++) {
        slot *s = &table[(h + p) & (NSLOTS - 1)];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (!k) {
            uint64_t none = 0;
            k = atomic_compare_exchange_strong(&s->key, &none, key) ? key : none;
        }
        if (k == key) {
            atomic_fetch_add_explicit(&s->ns, w, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->samples, 1, memory_order_relaxed);
            return;
        }
    }
}

void fm_after_fork(void)
{
    if (table)
        memset(table, 0, NSLOTS * sizeof *table);
}

int fm_capture(st_store *s)
{
    if (!OPPROF_PY_FORMS || held)
        return 0;
    size_t n = st_record_count(s);
    if (!(held = calloc(n ? n : 1, sizeof *held)))
        return -1;
    nheld = n;
    for (size_t i = 0; i < n; i++) {
        st_record *r = st_record_at(s, i);
        PyCodeObject *co = r->user;
        const unsigned char *units = co ? oc_installed_units(co) : NULL;
        if (!units || (size_t)Py_SIZE(co) < r->ncounters)
            continue;
        if (!(held[i] = malloc(r->ncounters ? r->ncounters : 1)))
            return -1;
        for (uint32_t u = 0; u < r->ncounters; u++)
            held[i][u] = units[2 * u];
    }
    return 0;
}

static int by_key(const void *a, const void *b)
{
    uint64_t x = ((const slot *)a)->key, y = ((const slot *)b)->key;
    return x < y ? -1 : x > y;
}


static int fill_forms(pf_function *f, const unsigned char *units, uint32_t n)
{
    if (!(f->forms = malloc((f->ncode ? f->ncode : 1) * sizeof *f->forms)))
        return -1;
    for (size_t k = 0; k < f->ncode; k++) {
        uint32_t u = f->code[k].offset / 2;
        f->forms[k] = u < n ? units[u] : PF_NO_FORM;
    }
    return 0;
}

/* The instruction counters accept a lost update between two threads'
 * handlers, this table does not: its split must still fit in them. */
static void clamp(pf_function *f)
{
    uint64_t left_ns = 0, left_samples = 0;
    for (size_t k = 0; k < f->nform_times; k++) {
        pf_form_time *t = &f->form_times[k];
        if (!k || t->instr != f->form_times[k - 1].instr) {
            left_ns = pf_instr_time(f, t->instr);
            left_samples = pf_instr_samples(f, t->instr);
        }
        t->time_ns = t->time_ns < left_ns ? t->time_ns : left_ns;
        t->samples = t->samples < left_samples ? t->samples : left_samples;
        left_ns -= t->time_ns;
        left_samples -= t->samples;
    }
}

/* form_times of record `rec` from the sorted slots v[*at..] of it. */
static int fill_times(pf_function *f, const st_record *r, const slot *v, size_t n, size_t *at)
{
    size_t end = *at;
    while (end < n && (v[end].key >> 32) == (uint64_t)r->index + 1)
        end++;
    /* a sample taken inside a call's cache read cache data, not an opcode */
    uint32_t *start = ci_instruction_starts(r);
    f->form_times = calloc(end - *at + 1, sizeof *f->form_times);
    if (!start || !f->form_times) {
        free(start);
        return -1;
    }
    for (size_t j = *at; j < end; j++) {
        uint32_t unit = (uint32_t)(v[j].key >> 8 & 0xffffff);
        const pf_instr *in =
            unit < r->ncounters && start[unit] == unit ? pf_instr_at(f, 2 * unit) : NULL;
        if (!in)
            continue;
        f->form_times[f->nform_times++] = (pf_form_time){(uint32_t)(in - f->code),
                                                          (uint16_t)(v[j].key & 0xff), v[j].ns,
                                                          v[j].samples};
    }
    free(start);
    *at = end;
    clamp(f);
    return 0;
}

int fm_fill(st_store *s, pf_profile *p)
{
    if (!OPPROF_PY_FORMS)
        return 0;
    size_t nrec = st_record_count(s), n = 0;
    slot *v = NULL;
    if (table) {
        for (size_t i = 0; i < NSLOTS; i++)
            n += atomic_load(&table[i].key) != 0;
        if (!(v = malloc((n ? n : 1) * sizeof *v)))
            return -1;
        n = 0;
        for (size_t i = 0; i < NSLOTS; i++)
            if (atomic_load(&table[i].key))
                memcpy(&v[n++], &table[i], sizeof *v);
        qsort(v, n, sizeof *v, by_key);
    }
    int rc = -1;
    size_t at = 0;
    for (size_t i = 0; i < nrec && i < p->nfunctions; i++) {
        st_record *r = st_record_at(s, i);
        pf_function *f = &p->functions[i];
        if (i < nheld && held[i] && fill_forms(f, held[i], r->ncounters) < 0)
            goto done;
        while (at < n && (v[at].key >> 32) < (uint64_t)i + 1)
            at++;
        if (at < n && (v[at].key >> 32) == (uint64_t)i + 1 && fill_times(f, r, v, n, &at) < 0)
            goto done;
    }
    rc = 0;
done:
    free(v);
    for (size_t i = 0; rc < 0 && i < p->nfunctions; i++) {
        pf_function *f = &p->functions[i];
        free(f->forms);
        free(f->form_times);
        f->forms = NULL;
        f->form_times = NULL;
        f->nform_times = 0;
    }
    return rc;
}

void fm_release(void)
{
    for (size_t i = 0; i < nheld; i++)
        free(held[i]);
    free(held);
    held = NULL;
    nheld = 0;
    if (table)
        munmap(table, NSLOTS * sizeof *table);
    table = NULL;
}
