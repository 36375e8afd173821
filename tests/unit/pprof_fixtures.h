/*
 * pprof_fixtures.h - reading a pprof output back for the tests (test_pprof.c,
 * test_processes.c): zlib and the same libprotobuf-c messages, the checks
 * pprof itself makes, and stacks as text.
 */
#ifndef OPPROF_TEST_PPROF_FIXTURES_H
#define OPPROF_TEST_PPROF_FIXTURES_H

#include "flame_fixtures.h"

#include <zlib.h>

#include "../../reports/pprof.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb;

/* ---- reading the output ------------------------------------------------ */

typedef struct out {
    unsigned char *gz;
    size_t ngz;
    pb *m;
} out;

static inline pb *decode(const unsigned char *gz, size_t n)
{
    size_t cap = 1 << 16, len = 0;
    unsigned char *raw = malloc(cap);
    z_stream z = {0};
    assert_non_null(raw);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);   /* gzip only */
    z.next_in = (unsigned char *)gz;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (len == cap) {
            raw = realloc(raw, cap *= 2);
            assert_non_null(raw);
        }
        z.next_out = raw + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    } while (rc == Z_OK);
    assert_int_equal(rc, Z_STREAM_END);
    assert_int_equal(z.avail_in, 0);   /* one gzip member, nothing after it */
    inflateEnd(&z);
    pb *m = perftools__profiles__profile__unpack(NULL, len, raw);
    free(raw);
    assert_non_null(m);
    return m;
}

static inline int write_to(const pf_profile *p, const fl_options *o, out *r, char *err)
{
    FILE *f = open_memstream((char **)&r->gz, &r->ngz);
    assert_non_null(f);
    int rc = pp_write(p, o, f, err, 256);
    assert_int_equal(fclose(f), 0);
    r->m = rc == 0 ? decode(r->gz, r->ngz) : NULL;
    return rc;
}

static inline out must_write(const pf_profile *p, const fl_options *o)
{
    out r = {0};
    char err[256] = "";
    if (write_to(p, o, &r, err) < 0)
        fail_msg("pp_write: %s", err);
    return r;
}

static inline void out_release(out *r)
{
    free(r->gz);
    if (r->m)
        perftools__profiles__profile__free_unpacked(r->m, NULL);
}

static inline const char *str(const pb *m, int64_t i)
{
    assert_true(i >= 0 && (size_t)i < m->n_string_table);
    return m->string_table[i];
}

static inline const Perftools__Profiles__Location *location(const pb *m, uint64_t id)
{
    for (size_t i = 0; i < m->n_location; i++)
        if (m->location[i]->id == id)
            return m->location[i];
    fail_msg("no location %llu", (unsigned long long)id);
    return NULL;
}

static inline const Perftools__Profiles__Function *function(const pb *m, uint64_t id)
{
    for (size_t i = 0; i < m->n_function; i++)
        if (m->function[i]->id == id)
            return m->function[i];
    fail_msg("no function %llu", (unsigned long long)id);
    return NULL;
}

/* What pprof's CheckValid and its readers rely on. */
static inline void check_valid(const pb *m)
{
    assert_true(m->n_string_table > 0);
    assert_string_equal(m->string_table[0], "");
    for (size_t i = 0; i < m->n_sample_type; i++)
        str(m, m->sample_type[i]->type), str(m, m->sample_type[i]->unit);
    str(m, m->default_sample_type);
    for (size_t i = 0; i < m->n_comment; i++)
        str(m, m->comment[i]);
    for (size_t i = 0; i < m->n_mapping; i++) {
        assert_int_equal(m->mapping[i]->id, i + 1);
        assert_true(m->mapping[i]->has_functions);
        str(m, m->mapping[i]->filename);
    }
    for (size_t i = 0; i < m->n_function; i++) {
        const Perftools__Profiles__Function *f = m->function[i];
        assert_int_equal(f->id, i + 1);
        assert_true(str(m, f->name)[0]);
        /* never equal to the name with <...>: pprof would strip it */
        assert_true(f->system_name == 0 || strcmp(str(m, f->system_name), str(m, f->name)) != 0 ||
                    !strchr(str(m, f->name), '<'));
        str(m, f->filename);
    }
    for (size_t i = 0; i < m->n_location; i++) {
        const Perftools__Profiles__Location *l = m->location[i];
        assert_int_equal(l->id, i + 1);
        assert_true(l->mapping_id <= m->n_mapping);
        assert_int_equal(l->n_line, 1);
        function(m, l->line[0]->function_id);
    }
    for (size_t i = 0; i < m->n_sample; i++) {
        const Perftools__Profiles__Sample *s = m->sample[i];
        assert_int_equal(s->n_value, m->n_sample_type);
        assert_true(s->n_location_id > 0);
        for (size_t k = 0; k < s->n_location_id; k++)
            location(m, s->location_id[k]);
        int nonzero = 0;
        for (size_t k = 0; k < s->n_value; k++)
            nonzero |= s->value[k] != 0;
        assert_true(nonzero);
        for (size_t k = 0; k < s->n_label; k++) {
            str(m, s->label[k]->key);
            if (!s->label[k]->num)
                str(m, s->label[k]->str);
        }
    }
}

/* The index of sample type `type`, -1 when there is none. */
static inline int type_index(const pb *m, const char *type)
{
    for (size_t i = 0; i < m->n_sample_type; i++)
        if (strcmp(str(m, m->sample_type[i]->type), type) == 0)
            return (int)i;
    return -1;
}

static inline uint64_t total(const pb *m, const char *type)
{
    int k = type_index(m, type);
    assert_true(k >= 0);
    uint64_t sum = 0;
    for (size_t i = 0; i < m->n_sample; i++)
        sum += (uint64_t)m->sample[i]->value[k];
    return sum;
}

/* A sample's stack, leaf first: "name:line;name:line". */
static inline void stack_of(const pb *m, const Perftools__Profiles__Sample *s, char *buf,
                            size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t k = 0; k < s->n_location_id; k++) {
        const Perftools__Profiles__Line *l = location(m, s->location_id[k])->line[0];
        at += (size_t)snprintf(buf + at, n - at, "%s%s:%lld", k ? ";" : "",
                               str(m, function(m, l->function_id)->name), (long long)l->line);
        assert_true(at < n);
    }
}

static inline const char *label(const pb *m, const Perftools__Profiles__Sample *s,
                                const char *key, int64_t *num)
{
    for (size_t k = 0; k < s->n_label; k++)
        if (strcmp(str(m, s->label[k]->key), key) == 0) {
            if (num)
                *num = s->label[k]->num;
            return s->label[k]->num ? "" : str(m, s->label[k]->str);
        }
    return NULL;
}

/* The value of sample type `type` of the samples whose stack is `stack`
 * (their sum); -1 when there is none. */
static inline int64_t value_of(const pb *m, const char *stack, const char *type)
{
    char buf[1024];
    int k = type_index(m, type);
    int64_t v = -1;
    for (size_t i = 0; i < m->n_sample; i++) {
        stack_of(m, m->sample[i], buf, sizeof buf);
        if (strcmp(buf, stack) == 0)
            v = (v < 0 ? 0 : v) + m->sample[i]->value[k];
    }
    return v;
}

#endif
