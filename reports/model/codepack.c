/*
 * codepack.c - co_code without inline caches, and the constants it loads
 * (codepack.h).  Walks the code units the way disasm.c's unpack does.
 */
#include "codepack.h"
#include "opcodes.h"

#include <stdlib.h>
#include <string.h>

typedef struct walk {
    const oc_table *t;
    const unsigned char *code;
    size_t len;
} walk;

/* The cache units after the instruction at byte i; -1 when they run past
 * the end. */
static int caches_at(const walk *w, size_t i, size_t *caches)
{
    unsigned base = w->t->ops[w->code[i]].base;
    *caches = w->t->ops[base].caches;
    return *caches > (w->len - i) / 2 - 1 ? -1 : 0;
}

int cp_pack(int minor, const unsigned char *code, size_t len, unsigned char **out,
            size_t *outlen)
{
    walk w = {oc_table_for(minor), code, len};
    *out = NULL;
    *outlen = 0;
    if (!w.t || len % 2 || !code)
        return 0;
    /* packed while checked, in one pass: the packed code is never longer */
    unsigned char *v = malloc(len ? len : 1);
    if (!v)
        return -1;
    size_t caches, n = 0;
    for (size_t i = 0; i < len; i += 2 + 2 * caches) {
        int whole = caches_at(&w, i, &caches) < 0;
        for (size_t k = i + 2; !whole && k < i + 2 + 2 * caches; k++)
            whole = code[k] != 0;   /* not the unspecialized bytes: keep them whole */
        if (whole) {
            free(v);
            return 0;
        }
        memcpy(v + n, code + i, 2);
        n += 2;
    }
    if (n == len) {
        free(v);
        return 0;
    }
    *out = v;
    *outlen = n;
    return 1;
}

int cp_unpack(int minor, const unsigned char *packed, size_t len, unsigned char **out,
              size_t *outlen)
{
    const oc_table *t = oc_table_for(minor);
    *out = NULL;
    *outlen = 0;
    if (!t || len % 2 || (len && !packed))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 2) {
        size_t units = 1 + t->ops[t->ops[packed[i]].base].caches;
        if (n > (size_t)1 << 30)
            return -1;   /* no code object is a GB */
        n += 2 * units;
    }
    unsigned char *v = calloc(n ? n : 1, 1);
    if (!v)
        return -1;
    n = 0;
    for (size_t i = 0; i < len; i += 2) {
        memcpy(v + n, packed + i, 2);
        n += 2 * (1 + t->ops[t->ops[packed[i]].base].caches);
    }
    *out = v;
    *outlen = n;
    return 0;
}

int cp_consts_used(int minor, const unsigned char *code, size_t len, unsigned char *used,
                   size_t nconsts)
{
    walk w = {oc_table_for(minor), code, len};
    memset(used, 0, nconsts);
    if (!w.t || len % 2 || (len && !code))
        goto all;
    size_t caches;
    unsigned long long ext = 0;
    for (size_t i = 0; i < len; i += 2 + 2 * caches) {
        if (caches_at(&w, i, &caches) < 0)
            goto all;
        const oc_op *base = &w.t->ops[w.t->ops[code[i]].base];
        if (!(base->flags & OC_F_ARG)) {
            ext = 0;
            continue;
        }
        unsigned long long arg = code[i + 1] | ext;
        int is_ext = base->name && strcmp(base->name, "EXTENDED_ARG") == 0;
        ext = is_ext && arg < (1ull << 32) ? arg << 8 : 0;
        if (!is_ext && base->kind == OC_K_CONST && arg < nconsts)
            used[arg] = 1;
    }
    return 0;
all:
    memset(used, 1, nconsts);
    return -1;
}
