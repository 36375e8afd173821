/*
 * profile_read_v2_cols.c - the v2 reader's pieces below a function or a
 * node: an object's keys, integer columns with their runs, the string
 * table, and small values as jansson objects for the header readers.
 */
#include "profile_read_v2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pfr_expect(rv *r, jp_token want, const char *what)
{
    jp_token t = jp_next(r->jp);
    if (t == want)
        return 0;
    if (t == JP_ERROR)
        return -1;
    return FAIL(r, "%s: expected %s, found %s", what, jp_token_name(want), jp_token_name(t));
}

/* The longest column a reader takes: a bound on what a run (-k) may make
 * a small file cost (256 MB of values). */
#define MAX_COLUMN ((size_t)1 << 25)

int pfr_next_key(rv *r, const char **key)
{
    jp_token t = jp_next(r->jp);
    if (t == JP_OBJECT_END)
        return 0;
    if (t != JP_KEY)
        return -1;   /* only an error comes where a key can */
    *key = jp_text(r->jp, NULL);
    return 1;
}

/* An array of integers into *v (malloc'd), each in [lo, hi]; where lo is
 * 0, runs (-k) are expanded, or kept as runs when rep is not NULL: then v
 * holds *nrun values, the k-th repeated 1 + (*rep)[k] times (a function
 * of 300,000 instructions that ran once each is a few runs, not 300,000
 * values).  *n: the values, runs expanded. */
int pfr_read_ints(rv *r, const char *what, int64_t lo, int64_t hi, int64_t **v, size_t *n,
                  uint32_t **rep, size_t *nrun)
{
    size_t cap = 64, len = 0;   /* len: entries of *v */
    *n = 0;
    free(*v);
    *v = malloc(cap * sizeof **v);
    if (rep) {
        free(*rep);
        *rep = malloc(cap * sizeof **rep);
        *nrun = 0;
    }
    if (!*v || (rep && !*rep))
        return FAIL(r, "out of memory");
    if (pfr_expect(r, JP_ARRAY, what) < 0)
        return -1;
    for (;;) {
        jp_token t = jp_next(r->jp);
        if (t == JP_ARRAY_END) {
            if (rep)
                *nrun = len;
            return 0;
        }
        if (t != JP_INT)
            return t == JP_ERROR ? -1 : FAIL(r, "%s: expected an integer, found %s", what,
                                             jp_token_name(t));
        int64_t x = jp_int(r->jp), more = 1;
        if (x < 0 && lo >= 0) {   /* -k: k more of the value before (profile-v2.md) */
            if (!*n || x < -(int64_t)(MAX_COLUMN - *n))
                return FAIL(r, "%s: a run (%lld) %s", what, (long long)x,
                            *n ? "makes the column too long" : "with no value before it");
            more = -x;
            x = (*v)[len - 1];
            if (rep) {
                (*rep)[len - 1] += (uint32_t)more;
                *n += (size_t)more;
                continue;
            }
        } else if (x < lo || x > hi) {
            return FAIL(r, "%s: %lld is out of range", what, (long long)x);
        }
        if (*n + (size_t)more > MAX_COLUMN)
            return FAIL(r, "%s: more than %zu values", what, MAX_COLUMN);
        if (len + (size_t)more > cap) {
            while (len + (size_t)more > cap)
                cap *= 2;
            int64_t *w = realloc(*v, cap * sizeof *w);
            if (w)
                *v = w;
            uint32_t *k = w && rep ? realloc(*rep, cap * sizeof *k) : NULL;
            if (k)
                *rep = k;
            if (!w || (rep && !k))
                return FAIL(r, "out of memory");
        }
        if (rep)
            (*rep)[len] = 0;
        for (; more > 0; more--)
            (*v)[len++] = x;
        *n = rep ? *n + 1 : len;
    }
}

int pfr_read_ints_to(rv *r, const char *what, int64_t lo, int64_t hi, int slot)
{
    return pfr_read_ints(r, what, lo, hi, &r->buf[slot], &r->nbuf[slot], NULL, NULL);
}

/* A string of the table: a copy in *dst. */
int pfr_sref(rv *r, int64_t i, char **dst, const char *what)
{
    if (i < 0 || (size_t)i >= r->nstr)
        return FAIL(r, "%s: string %lld is not in the table", what, (long long)i);
    return pf_set_string(dst, r->str[i]) < 0 ? FAIL(r, "out of memory") : 0;
}

int pfr_read_strings(rv *r, char ***v, size_t *n, const char *what)
{
    size_t cap = 256;
    *n = 0;
    if (!(*v = malloc(cap * sizeof **v)))
        return FAIL(r, "out of memory");
    if (pfr_expect(r, JP_ARRAY, what) < 0)
        return -1;
    for (;;) {
        jp_token t = jp_next(r->jp);
        if (t == JP_ARRAY_END)
            return 0;
        if (t != JP_STRING)
            return t == JP_ERROR ? -1 : FAIL(r, "%s: expected a string, found %s", what,
                                             jp_token_name(t));
        size_t len;
        const char *s = jp_text(r->jp, &len);
        if (*n == cap) {
            char **w = realloc(*v, (cap *= 2) * sizeof *w);
            if (!w)
                return FAIL(r, "out of memory");
            *v = w;
        }
        (*v)[*n] = NULL;
        if (pf_set_string(&(*v)[*n], s) < 0)
            return FAIL(r, "out of memory");
        (*n)++;
    }
}

/* [[index, "hex"], ...]: strings that are not UTF-8, byte for byte. */
int pfr_read_strings_hex(rv *r)
{
    if (pfr_expect(r, JP_ARRAY, "strings_hex") < 0)
        return -1;
    for (;;) {
        jp_token t = jp_next(r->jp);
        if (t == JP_ARRAY_END)
            return 0;
        if (t != JP_ARRAY || pfr_expect(r, JP_INT, "strings_hex") < 0)
            return t == JP_ERROR ? -1 : FAIL(r, "strings_hex: expected [index, \"hex\"]");
        int64_t i = jp_int(r->jp);
        if (i < 0 || (size_t)i >= r->nstr)
            return FAIL(r, "strings_hex: string %lld is not in the table", (long long)i);
        if (pfr_expect(r, JP_STRING, "strings_hex") < 0)
            return -1;
        size_t len;
        const char *hex = jp_text(r->jp, &len);
        char *s = malloc(len / 2 + 1);
        if (!s)
            return FAIL(r, "out of memory");
        size_t k = 0;
        for (; len % 2 == 0 && 2 * k < len; k++) {
            unsigned v;
            if (sscanf(hex + 2 * k, "%2x", &v) != 1 || !v)
                break;
            s[k] = (char)v;
        }
        s[k] = 0;
        if (2 * k != len) {
            free(s);
            return FAIL(r, "strings_hex: string %lld is not hex bytes", (long long)i);
        }
        free(r->str[i]);
        r->str[i] = s;
        if (pfr_expect(r, JP_ARRAY_END, "strings_hex") < 0)
            return -1;
    }
}

/* A small value as a jansson value, for the header readers.  jp's depth
 * limit bounds the stack. */
json_t *pfr_to_json(rv *r, jp_token t)
{
    json_t *stack[JP_MAX_DEPTH + 2], *root = NULL;
    char *keys[JP_MAX_DEPTH + 2];
    int depth = 0;
    for (;; t = jp_next(r->jp)) {
        json_t *v = NULL;
        int open = 0;
        switch (t) {
        case JP_OBJECT: v = json_object(); open = 1; break;
        case JP_ARRAY: v = json_array(); open = 1; break;
        case JP_STRING: {
            size_t len;
            const char *s = jp_text(r->jp, &len);
            v = json_stringn_nocheck(s, len);
            break;
        }
        case JP_INT: v = json_integer(jp_int(r->jp)); break;
        case JP_REAL: v = json_real(jp_real(r->jp)); break;
        case JP_TRUE: v = json_true(); break;
        case JP_FALSE: v = json_false(); break;
        case JP_NULL: v = json_null(); break;
        case JP_KEY: {
            size_t len;
            const char *s = jp_text(r->jp, &len);
            if (!(keys[depth - 1] = strdup(s)))
                goto oom;
            continue;
        }
        case JP_OBJECT_END:
        case JP_ARRAY_END:
            if (--depth == 0)
                return root;
            continue;
        default:
            goto fail;
        }
        if (!v)
            goto oom;
        if (depth == 0) {
            root = v;
            if (!open)
                return root;
        } else {
            json_t *c = stack[depth - 1];
            int rc = json_is_object(c) ? json_object_set_new(c, keys[depth - 1], v)
                                       : json_array_append_new(c, v);
            if (json_is_object(c)) {
                free(keys[depth - 1]);
                keys[depth - 1] = NULL;
            }
            if (rc < 0)
                goto oom;
        }
        if (open) {
            keys[depth] = NULL;
            stack[depth++] = v;
        }
    }
oom:
    FAIL(r, "out of memory");
fail:
    for (int i = 0; i < depth; i++)
        free(keys[i]);
    json_decref(root);
    return NULL;
}
