/*
 * profile_read_v2.h - internal to the readers: the v2 reader
 * (profile_read_v2.c) and what it shares with the v1 reader
 * (profile_read.c).
 */
#ifndef OPPROF_PROFILE_READ_V2_H
#define OPPROF_PROFILE_READ_V2_H

#include <jansson.h>

#include "jsonpull.h"
#include "profile.h"
#include "profile_read.h"

/* ---- the jansson readers (profile_read.c, profile_read_native.c) ------- */

typedef struct rd {
    pf_profile *p;
    char *err;
    size_t errlen;
} rd;

/* The reason into r->err; returns -1. */
int pfr_fail(rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* obj[key] into *dst: 0, or -1 with the reason when it is not there
 * (required) or not of the type. */
int pfr_get_string(rd *r, json_t *obj, const char *key, char **dst, int required);
int pfr_get_uint(rd *r, json_t *obj, const char *key, uint64_t *dst, int required);
int pfr_get_int(rd *r, json_t *obj, const char *key, int *dst);
/* "crash"; "native_sampling", "native_stacks" and "native_modules" (all
 * may be NULL: not in the file).  0, or -1 with the reason. */
int pfr_read_crash(rd *r, json_t *crash);
int pfr_read_native(rd *r, json_t *stats, json_t *stacks, json_t *mods);

/* ---- internal to profile_read_v2.c and profile_read_v2_tree.c ---------- */

/* The reader's state. */
typedef struct rv {
    jp_reader *jp;
    pf_profile *p;
    unsigned keep;            /* PF_KEEP_* */
    const pf_read_hooks *hooks;   /* or NULL */
    int threads_read;         /* p->threads came from head before the nodes */
    char **str;               /* the string table */
    size_t nstr;
    json_t *head;             /* the small keys */
    int have_functions, have_threads;
    uint16_t **opset;         /* per function: the opcodes its nodes' vectors count */
    size_t *nopset;
    size_t capopset;          /* of opset, nopset, siteset, nsiteset */
    uint64_t **siteset;       /* per function: the sites (pf_site_key) its nodes' sites
                                 count over (pf_function_sitekeys) */
    size_t *nsiteset;
    int64_t *buf[9];          /* columns; [8]: scratch */
    int64_t top_thread;       /* the highest thread of the nodes not kept, -1: none */
    size_t top_thread_node;   /* ... and the first node with it */
    size_t nbuf[9];           /* values, runs expanded */
    uint32_t *rep[9];         /* where a column is read as runs: buf[k] holds
                                 nrun[k] values, each 1 + rep[k][i] times */
    size_t nrun[9];
} rv;


/* jp_fail: the error, positioned at the last token; returns -1. */
#define FAIL(r, ...) jp_fail((r)->jp, __VA_ARGS__)

/* ---- profile_read_v2_cols.c: keys, columns, strings, small values ----- */

/* The next token must be `want`; 0, or -1 (the reader's error set). */
int pfr_expect(rv *r, jp_token want, const char *what);
/* The next key of an object: 1 with *key (valid until the next token),
 * 0 at the object's end, -1 on an error (the reader's error set). */
int pfr_next_key(rv *r, const char **key);
/* An array of integers in [lo, hi] into *v (malloc'd, replacing what it
 * held); where lo is 0, runs (-k) are expanded, or kept as runs when rep
 * is not NULL: then *v holds *nrun values, the k-th repeated 1 +
 * (*rep)[k] times.  *n: the values, runs expanded.  0, or -1 (the
 * reader's error set). */
int pfr_read_ints(rv *r, const char *what, int64_t lo, int64_t hi, int64_t **v, size_t *n,
                  uint32_t **rep, size_t *nrun);
/* An array of integers in [lo, hi] into r->buf[slot] (r->nbuf[slot]);
 * where lo is 0, runs (-k) are expanded. */
int pfr_read_ints_to(rv *r, const char *what, int64_t lo, int64_t hi, int slot);

/* A column read as runs (pfr_read_ints), value by value. */
typedef struct runs_cursor {
    const int64_t *v;
    const uint32_t *rep;
    size_t run, left;         /* left: more copies of v[run] to come */
} runs_cursor;

static inline runs_cursor pfr_runs_at(const rv *r, int slot)
{
    return (runs_cursor){r->buf[slot], r->rep[slot], 0, r->nrun[slot] ? r->rep[slot][0] + 1 : 0};
}

/* The next value; the caller reads no more than the column holds. */
static inline int64_t pfr_runs_next(runs_cursor *c)
{
    while (!c->left) {
        c->run++;
        c->left = c->rep[c->run] + 1u;
    }
    c->left--;
    return c->v[c->run];
}

/* String i of the table: a copy in *dst (freeing what it held). */
int pfr_sref(rv *r, int64_t i, char **dst, const char *what);
/* An array of strings into *v (malloc'd, as each string), *n of them. */
int pfr_read_strings(rv *r, char ***v, size_t *n, const char *what);
/* "strings_hex": [[index, "hex"], ...], replacing table strings that are
 * not UTF-8, byte for byte. */
int pfr_read_strings_hex(rv *r);
/* The value that starts with token t, as a jansson value (the caller's
 * reference), or NULL (the reader's error set). */
json_t *pfr_to_json(rv *r, jp_token t);

/* ---- the rest of the v2 reader ------------------------------------------- */

/* A function's "code" object (after its key), into f->codeinfo. */
int pfr_read_code(rv *r, pf_function *f);
/* "nodes" (after its key), into r->p->nodes. */
int pfr_read_nodes(rv *r);
/* "sources" (after its key), into r->p->sources; without PF_KEEP_SOURCES
 * read, checked and dropped (profile_read_v2_src.c). */
int pfr_read_sources(rv *r);
/* Threads from r->head (once: r->threads_read), 0 or -1 with err. */
int pfr_read_threads(rv *r, char *err, size_t errlen);
/* A function's per_process (at the key's value), into f. */
int pfr_read_per_process(rv *r, pf_function *f);
/* Threads and processes from r->head, and the checks that need them. */
int pfr_from_head(rv *r, char *err, size_t errlen);

/* The fields of a profile's header (python, argv, totals, timing, crash,
 * native, ...) from `root`, which holds them as in a v1 file (extra keys
 * are ignored).  0, or -1 with a reason in err. */
int pfr_header(pf_profile *p, json_t *root, char *err, size_t errlen);

/* The rest of a v2 profile: jp is just past the value of "version".
 * Fills p; 0, or -1 with the reason in jp_error(jp) or err. */
int pfr_v2(jp_reader *jp, pf_profile *p, unsigned keep, const pf_read_hooks *hooks, char *err,
           size_t errlen);

#endif
