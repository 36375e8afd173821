/*
 * pprof_tables.c - the tables a pprof profile's samples refer to (strings,
 * functions, locations, mappings, labels), each entry made once, in order
 * of first use so that equal profiles number them alike; and the writing
 * of messages through libprotobuf-c (pprof.h).
 */
#include "pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "profile.pb-c.h"

typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Sample pb_sample;

/* (a, b) -> value > 0, open addressing: the tables are looked up once or
 * more per sample. */
typedef struct slot {
    uint64_t a, b, value;     /* value 0: empty */
} slot;

typedef struct map {
    slot *slots;
    size_t n, cap;            /* cap: a power of two */
} map;

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

static slot *map_slot(const map *m, uint64_t a, uint64_t b)
{
    size_t j = mix(a, b) & (m->cap - 1);
    while (m->slots[j].value && (m->slots[j].a != a || m->slots[j].b != b))
        j = (j + 1) & (m->cap - 1);
    return &m->slots[j];
}

static uint64_t map_get(const map *m, uint64_t a, uint64_t b)
{
    return m->cap ? map_slot(m, a, b)->value : 0;
}

static int map_put(map *m, uint64_t a, uint64_t b, uint64_t value)
{
    if (2 * (m->n + 1) > m->cap) {
        map bigger = {calloc(m->cap ? 2 * m->cap : 256, sizeof(slot)), m->n,
                      m->cap ? 2 * m->cap : 256};
        if (!bigger.slots)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].value)
                *map_slot(&bigger, m->slots[i].a, m->slots[i].b) = m->slots[i];
        free(m->slots);
        *m = bigger;
    }
    *map_slot(m, a, b) = (slot){a, b, value};
    m->n++;
    return 0;
}

typedef struct fn {
    pb_function f;
    uint64_t mapping;         /* the mapping id its locations get, 0: none */
} fn;

typedef struct loc {
    uint64_t function;
    int64_t line;
} loc;

struct pp__tables {
    char **strings;
    size_t nstrings, capstrings;
    uint32_t *sslot;          /* string index + 1 by hash; 0: empty */
    size_t nsslots;
    fn *functions;            /* id = index + 1 */
    size_t nfunctions, capfunctions;
    loc *locations;
    size_t nlocations, caplocations;
    int64_t *mappings;        /* the file name's string; < 0: ~it, with lines */
    size_t nmappings, capmappings;
    pp__label **labels;
    size_t nlabels, caplabels;
    map function_ids, location_ids, mapping_ids, label_ids;
};

/* Room for n + 1 entries of `size` in *v (capacity *cap); 0, or -1. */
static int grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 64;
    void *w = realloc(*(void **)v, c * size);
    if (!w)
        return -1;
    *(void **)v = w;
    *cap = c;
    return 0;
}

pp__tables *pp__tables_new(void)
{
    pp__tables *t = calloc(1, sizeof *t);
    if (t && pp__str(t, "") != 0) {
        pp__tables_release(t);
        return NULL;
    }
    return t;
}

void pp__tables_release(pp__tables *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nstrings; i++)
        free(t->strings[i]);
    for (size_t i = 0; i < t->nlabels; i++)
        free(t->labels[i]);
    free(t->strings);
    free(t->sslot);
    free(t->functions);
    free(t->locations);
    free(t->mappings);
    free(t->labels);
    free(t->function_ids.slots);
    free(t->location_ids.slots);
    free(t->mapping_ids.slots);
    free(t->label_ids.slots);
    free(t);
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static uint32_t *str_slot(const pp__tables *t, const char *s)
{
    size_t j = str_hash(s) & (t->nsslots - 1);
    while (t->sslot[j] && strcmp(t->strings[t->sslot[j] - 1], s) != 0)
        j = (j + 1) & (t->nsslots - 1);
    return &t->sslot[j];
}

int64_t pp__str(pp__tables *t, const char *s)
{
    if (t->nsslots) {
        uint32_t *at = str_slot(t, s);
        if (*at)
            return (int64_t)*at - 1;
    }
    if (t->nstrings >= UINT32_MAX - 1)
        return -1;
    if (2 * (t->nstrings + 1) > t->nsslots) {
        size_t n = t->nsslots ? 2 * t->nsslots : 1024;
        uint32_t *v = calloc(n, sizeof *v);
        if (!v)
            return -1;
        free(t->sslot);
        t->sslot = v;
        t->nsslots = n;
        for (size_t i = 0; i < t->nstrings; i++)
            *str_slot(t, t->strings[i]) = (uint32_t)i + 1;
    }
    char *copy = strdup(s);
    if (!copy || grow(&t->strings, &t->capstrings, t->nstrings, sizeof *t->strings) < 0) {
        free(copy);
        return -1;
    }
    t->strings[t->nstrings++] = copy;
    *str_slot(t, s) = (uint32_t)t->nstrings;
    return (int64_t)t->nstrings - 1;
}

uint64_t pp__function_find(pp__tables *t, uint64_t key)
{
    return map_get(&t->function_ids, key, 0);
}

uint64_t pp__function_add(pp__tables *t, uint64_t key, const char *name,
                          const char *system_name, const char *file, int64_t start_line,
                          uint64_t mapping)
{
    pb_function f = PERFTOOLS__PROFILES__FUNCTION__INIT;
    f.name = pp__str(t, name);
    f.system_name = pp__str(t, system_name);
    f.filename = pp__str(t, file ? file : "");
    f.start_line = start_line;
    if (f.name < 0 || f.system_name < 0 || f.filename < 0 ||
        grow(&t->functions, &t->capfunctions, t->nfunctions, sizeof *t->functions) < 0)
        return 0;
    f.id = t->nfunctions + 1;
    if (map_put(&t->function_ids, key, 0, f.id) < 0)
        return 0;
    t->functions[t->nfunctions++] = (fn){f, mapping};
    return f.id;
}

uint64_t pp__location(pp__tables *t, uint64_t function, int64_t line)
{
    uint64_t id = map_get(&t->location_ids, function, (uint64_t)line);
    if (id)
        return id;
    if (grow(&t->locations, &t->caplocations, t->nlocations, sizeof *t->locations) < 0 ||
        map_put(&t->location_ids, function, (uint64_t)line, t->nlocations + 1) < 0)
        return 0;
    t->locations[t->nlocations++] = (loc){function, line};
    return t->nlocations;
}

uint64_t pp__mapping(pp__tables *t, const char *path, int lines)
{
    int64_t name = pp__str(t, path);
    if (name < 0)
        return 0;
    uint64_t id = map_get(&t->mapping_ids, (uint64_t)name, 0);
    if (id)
        return id;
    if (grow(&t->mappings, &t->capmappings, t->nmappings, sizeof *t->mappings) < 0 ||
        map_put(&t->mapping_ids, (uint64_t)name, 0, t->nmappings + 1) < 0)
        return 0;
    t->mappings[t->nmappings++] = lines ? ~name : name;
    return t->nmappings;
}

pp__label *pp__label_get(pp__tables *t, const char *key, const char *str, int64_t num)
{
    int64_t k = pp__str(t, key), v = str ? pp__str(t, str) : num;
    if (k < 0 || (str && v < 0))
        return NULL;
    uint64_t a = (uint64_t)k << 1 | (str ? 0 : 1), id = map_get(&t->label_ids, a, (uint64_t)v);
    if (id)
        return t->labels[id - 1];
    pp__label *l = malloc(sizeof *l);
    if (!l || grow(&t->labels, &t->caplabels, t->nlabels, sizeof *t->labels) < 0 ||
        map_put(&t->label_ids, a, (uint64_t)v, t->nlabels + 1) < 0) {
        free(l);
        return NULL;
    }
    *l = (pp__label)PERFTOOLS__PROFILES__LABEL__INIT;
    l->key = k;
    if (str)
        l->str = v;
    else
        l->num = v;
    t->labels[t->nlabels++] = l;
    return l;
}

/* ---- writing ------------------------------------------------------------ */

/* libprotobuf-c's output, appended to a stream as it packs. */
typedef struct file_buffer {
    ProtobufCBuffer base;
    FILE *out;
    int failed;
} file_buffer;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_buffer *f = (file_buffer *)b;
    if (!f->failed && len && fwrite(data, 1, len, f->out) != len)
        f->failed = 1;
}

static int pack(FILE *out, const pp__profile *m)
{
    file_buffer b = {{file_append}, out, 0};
    perftools__profiles__profile__pack_to_buffer(m, &b.base);
    return b.failed || ferror(out) ? -1 : 0;
}

int pp__write_sample(FILE *out, const uint64_t *loc, size_t nloc, const int64_t *value,
                     size_t nvalue, pp__label *const *label, size_t nlabel)
{
    pb_sample s = PERFTOOLS__PROFILES__SAMPLE__INIT, *one = &s;
    /* the library takes non-const arrays, and only reads them */
    s.location_id = (uint64_t *)loc;
    s.n_location_id = nloc;
    s.value = (int64_t *)value;
    s.n_value = nvalue;
    s.label = (pp__label **)label;
    s.n_label = nlabel;
    pp__profile m = PERFTOOLS__PROFILES__PROFILE__INIT;
    m.sample = &one;
    m.n_sample = 1;
    return pack(out, &m);
}

int pp__write_tables(FILE *out, pp__tables *t, pp__profile *head)
{
    size_t nl = t->nlocations, nf = t->nfunctions, nm = t->nmappings;
    pb_location *locs = calloc(nl + 1, sizeof *locs), **plocs = calloc(nl + 1, sizeof *plocs);
    pb_line *lines = calloc(nl + 1, sizeof *lines), **plines = calloc(nl + 1, sizeof *plines);
    pb_function **pfns = calloc(nf + 1, sizeof *pfns);
    pb_mapping *maps = calloc(nm + 1, sizeof *maps), **pmaps = calloc(nm + 1, sizeof *pmaps);
    int rc = -1;
    if (!locs || !plocs || !lines || !plines || !pfns || !maps || !pmaps) {
        errno = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nl; i++) {
        const loc *l = &t->locations[i];
        lines[i] = (pb_line)PERFTOOLS__PROFILES__LINE__INIT;
        lines[i].function_id = l->function;
        lines[i].line = l->line;
        plines[i] = &lines[i];
        locs[i] = (pb_location)PERFTOOLS__PROFILES__LOCATION__INIT;
        locs[i].id = i + 1;
        locs[i].mapping_id = t->functions[l->function - 1].mapping;
        locs[i].line = &plines[i];
        locs[i].n_line = 1;
        plocs[i] = &locs[i];
    }
    for (size_t i = 0; i < nf; i++)
        pfns[i] = &t->functions[i].f;
    for (size_t i = 0; i < nm; i++) {
        maps[i] = (pb_mapping)PERFTOOLS__PROFILES__MAPPING__INIT;
        maps[i].id = i + 1;
        int64_t name = t->mappings[i];
        maps[i].filename = name < 0 ? ~name : name;
        maps[i].has_functions = 1;
        maps[i].has_filenames = maps[i].has_line_numbers = name < 0;
        pmaps[i] = &maps[i];
    }
    head->mapping = pmaps;
    head->n_mapping = nm;
    head->location = plocs;
    head->n_location = nl;
    head->function = pfns;
    head->n_function = nf;
    head->string_table = t->strings;
    head->n_string_table = t->nstrings;
    rc = pack(out, head);
    head->mapping = NULL, head->location = NULL, head->function = NULL;
    head->string_table = NULL;
    head->n_mapping = head->n_location = head->n_function = head->n_string_table = 0;
done:
    free(locs);
    free(plocs);
    free(lines);
    free(plines);
    free(pfns);
    free(maps);
    free(pmaps);
    return rc;
}
