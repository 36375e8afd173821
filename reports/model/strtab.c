/*
 * strtab.c - the v2 writer's string table, and base64 (strtab.h).
 */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

void stt_init(st_tab *t)
{
    memset(t, 0, sizeof *t);
}

void stt_release(st_tab *t)
{
    free(t->v);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int grow(st_tab *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1024;
    uint32_t *slot = calloc(cap, sizeof *slot);
    const char **v = realloc(t->v, cap / 2 * sizeof *v);
    if (!slot || !v) {
        free(slot);
        if (v)
            t->v = v;
        return -1;
    }
    t->v = v;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = hash(v[i]) & (cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

int64_t stt_find(const st_tab *t, const char *s)
{
    if (!s)
        s = "";
    if (!t->cap)
        return -1;
    for (size_t j = hash(s) & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1))
        if (strcmp(t->v[t->slot[j] - 1], s) == 0)
            return t->slot[j] - 1;
    return -1;
}

int64_t stt_intern(st_tab *t, const char *s)
{
    if (!s)
        s = "";
    if (2 * (t->n + 1) > t->cap && grow(t) < 0)
        return -1;
    size_t j = hash(s) & (t->cap - 1);
    for (; t->slot[j]; j = (j + 1) & (t->cap - 1))
        if (strcmp(t->v[t->slot[j] - 1], s) == 0)
            return t->slot[j] - 1;
    t->v[t->n] = s;
    t->slot[j] = (uint32_t)++t->n;
    return (int64_t)t->n - 1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *pf_base64_encode(const unsigned char *b, size_t n)
{
    char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = 0;
    return s;
}

static int value_of(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 'A' && u <= 'Z' ? u - 'A' : u >= 'a' && u <= 'z' ? u - 'a' + 26
           : u >= '0' && u <= '9' ? u - '0' + 52 : u == '+' ? 62 : u == '/' ? 63 : -1;
}

unsigned char *pf_base64_decode(const char *s, size_t len, size_t *n)
{
    if (len % 4)
        return NULL;
    unsigned char *b = malloc(len / 4 * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; b && i < len; i += 4) {
        int pad = (s[i + 2] == '=') + (s[i + 3] == '=');
        int v[4];
        for (int j = 0; j < 4; j++)
            v[j] = j >= 4 - pad ? 0 : value_of(s[i + j]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (pad && i + 4 != len) ||
            (s[i + 3] != '=' && s[i + 2] == '=')) {
            free(b);
            return NULL;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        b[k++] = (unsigned char)(w >> 16);
        if (pad < 2)
            b[k++] = (unsigned char)(w >> 8);
        if (pad < 1)
            b[k++] = (unsigned char)w;
    }
    if (b)
        *n = k;
    return b;
}
