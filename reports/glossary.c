/*
 * glossary.c - lookups in the generated glossary (glossary.h).
 */
#include "glossary.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_upper(const char *key, const char *name)
{
    for (;; key++, name++) {
        int a = toupper((unsigned char)*key), b = (unsigned char)*name;
        if (a != b || !a)
            return a - b;
    }
}

const gl_entry *gl_find(const char *name)
{
    size_t lo = 0, hi = gl_nentries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_upper(name, gl_entries[mid].name);
        if (c == 0)
            return &gl_entries[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *gl_category_title(gl_category c)
{
    static const char *const titles[GL_NCATEGORIES] = {
        "name access", "constants and stack", "arithmetic and comparison", "containers",
        "attributes", "calls", "control flow", "exceptions", "generators and async",
        "imports", "functions and classes", "interpreter internals", "specialized",
    };
    return (unsigned)c < GL_NCATEGORIES ? titles[c] : "?";
}

const char *gl_base_in(const gl_entry *e, int minor)
{
    if (minor < 10 || minor > 14)
        return NULL;
    for (size_t i = 0; i < e->nspec; i++)
        if (e->spec[i].versions & GL_VERSION_BIT(minor))
            return e->spec[i].base;
    return NULL;
}

int gl_in_version(const gl_entry *e, int minor)
{
    return minor >= 10 && minor <= 14 && (e->versions & GL_VERSION_BIT(minor));
}

void gl_versions_text(unsigned mask, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int v = 10; v <= 14 && used < n; v++) {
        if (!(mask & GL_VERSION_BIT(v)) || (v > 10 && (mask & GL_VERSION_BIT(v - 1))))
            continue;
        int end = v;
        while (end < 14 && (mask & GL_VERSION_BIT(end + 1)))
            end++;
        int k = end == v ? snprintf(buf + used, n - used, "%s3.%d", used ? ", " : "", v)
                         : snprintf(buf + used, n - used, "%s3.%d-3.%d", used ? ", " : "", v, end);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/* Levenshtein distance, case-insensitive; names are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return la > lb ? la : lb;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = toupper((unsigned char)a[i - 1]) != (unsigned char)b[j - 1];
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

size_t gl_closest(const char *name, const gl_entry **out, size_t cap)
{
    size_t n = 0, dist[16];
    if (cap > 16)
        cap = 16;
    /* a name that contains the query ("SUBSCR") is as good as a typo */
    char up[64];
    size_t k = 0;
    for (; name[k] && k < sizeof up - 1; k++)
        up[k] = (char)toupper((unsigned char)name[k]);
    up[k] = 0;
    for (size_t i = 0; i < gl_nentries; i++) {
        size_t d = distance(name, gl_entries[i].name);
        if (k >= 4 && strstr(gl_entries[i].name, up))
            d = d < 2 ? d : 2;
        if (d > 4 + strlen(name) / 4)
            continue;
        size_t at = n < cap ? n : cap;
        while (at > 0 && dist[at - 1] > d)
            at--;
        if (at >= cap)
            continue;
        size_t last = n < cap ? n : cap - 1;
        memmove(out + at + 1, out + at, (last - at) * sizeof *out);
        memmove(dist + at + 1, dist + at, (last - at) * sizeof *dist);
        out[at] = &gl_entries[i];
        dist[at] = d;
        if (n < cap)
            n++;
    }
    return n;
}
