/*
 * explorer.c - the bytecode explorer's data for the HTML page
 * (explorer.h).
 */
#include "explorer_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "flame.h"
#include "glossary.h"
#include "model/sourcetext.h"
#include "model/strtab.h"

/* A chunk closes past this much JSON: small enough that opening a
 * function inflates little, large enough that zlib finds its repeats. */
#define CHUNK_BYTES (96 * 1024)

/* JSON json[0, len) zlib'd, in base64, to the end of the spool. */
static int spool_chunk(hx_page *x, const char *json, size_t len)
{
    uLongf zlen = compressBound((uLong)len);
    unsigned char *z = malloc(zlen);
    char *b = NULL;
    if (z && compress2(z, &zlen, (const Bytef *)json, (uLong)len, Z_DEFAULT_COMPRESSION) == Z_OK)
        b = pf_base64_encode(z, zlen);
    free(z);
    if (b && x->nchunks == x->capchunks) {
        size_t cap = x->capchunks ? 2 * x->capchunks : 64;
        hx_chunk *v = realloc(x->chunks, cap * sizeof *v);
        if (v) {
            x->chunks = v;
            x->capchunks = cap;
        }
    }
    int rc = -1;
    if (b && x->nchunks < x->capchunks) {
        size_t n = strlen(b);
        long at = ftell(x->spool);
        if (at >= 0 && fwrite(b, 1, n, x->spool) == n) {
            x->chunks[x->nchunks++] = (hx_chunk){at, n};
            rc = 0;
        }
    }
    free(b);
    return rc;
}

static int open_chunk(hx_page *x)
{
    if (!(x->curf = open_memstream(&x->cur, &x->curlen)))
        return -1;
    jw_init(&x->curw, x->curf, 0);
    jw_begin_object(&x->curw);
    jw_key(&x->curw, "fns");
    jw_begin_object(&x->curw);
    return 0;
}

/* The chunk being filled, closed and spooled. */
static int close_chunk(hx_page *x)
{
    if (!x->curf)
        return 0;
    jw_end_object(&x->curw);
    jw_end_object(&x->curw);
    int bad = jw_finish(&x->curw) < 0;
    bad |= fclose(x->curf) != 0;
    x->curf = NULL;
    bad = bad || spool_chunk(x, x->cur, x->curlen) < 0;
    free(x->cur);
    x->cur = NULL;
    return bad ? -1 : 0;
}

hx_page *hx_new(void)
{
    hx_page *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    stt_init(&x->ops);
    stt_init(&x->files);
    x->spool = tmpfile();
    if (!x->spool)
        x->spool = open_memstream(&x->spool_buf, &x->spool_len);
    if (!x->spool) {
        free(x);
        return NULL;
    }
    return x;
}

static int file_lines(hx_page *x, uint32_t k, const uint32_t *lines, size_t n)
{
    if (k >= x->capfile) {
        size_t cap = x->capfile ? 2 * x->capfile : 64;
        while (cap <= k)
            cap *= 2;
        hx_file *v = realloc(x->file, cap * sizeof *v);
        if (!v)
            return -1;
        memset(v + x->capfile, 0, (cap - x->capfile) * sizeof *v);
        x->file = v;
        x->capfile = cap;
    }
    hx_file *h = &x->file[k];
    if (h->n + n > h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        while (cap < h->n + n)
            cap *= 2;
        uint32_t *v = realloc(h->lines, cap * sizeof *v);
        if (!v)
            return -1;
        h->lines = v;
        h->cap = cap;
    }
    if (n)
        memcpy(h->lines + h->n, lines, n * sizeof *lines);
    h->n += n;
    return 0;
}

int hx_add_function(hx_page *x, const pf_profile *p, size_t i)
{
    const pf_function *f = &p->functions[i];
    if (i >= x->capfns) {
        size_t cap = x->capfns ? 2 * x->capfns : 1024;
        while (cap <= i)
            cap *= 2;
        uint32_t *a = realloc(x->file_of, cap * sizeof *a);
        if (a)
            x->file_of = a;
        uint32_t *b = a ? realloc(x->chunk_of, cap * sizeof *b) : NULL;
        if (!b)
            return -1;
        x->chunk_of = b;
        x->capfns = cap;
    }
    int64_t k = stt_intern(&x->files, f->file ? f->file : "?");
    if (k < 0 || (!x->curf && open_chunk(x) < 0))
        return -1;
    x->nfns = i + 1 > x->nfns ? i + 1 : x->nfns;
    x->file_of[i] = (uint32_t)k;
    x->chunk_of[i] = (uint32_t)x->nchunks;
    x->forms |= f->forms != NULL;
    uint32_t *lines = NULL;
    size_t n = 0;
    hx__put_function(x, &x->curw, p, f, &lines, &n);
    int bad = x->oom || file_lines(x, (uint32_t)k, lines, n) < 0 || fflush(x->curf) != 0;
    free(lines);
    if (!bad && x->curlen > CHUNK_BYTES)
        bad = close_chunk(x) < 0;
    return bad ? -1 : 0;
}

int hx_read_hook(void *ctx, pf_profile *p, size_t i)
{
    return hx_add_function(ctx, p, i);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* One file's source lines, the ones its functions show that the profile
 * has the text of, as a chunk {"src": [[line, text], ...]}. */
static int source_chunk(hx_page *x, hx_file *h, const pf_source *s)
{
    char *buf = NULL;
    size_t len = 0, any = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return -1;
    jw w;
    jw_init(&w, m, 0);
    jw_begin_object(&w);
    jw_key(&w, "src");
    jw_begin_array(&w);
    qsort(h->lines, h->n, sizeof *h->lines, cmp_u32);
    for (size_t k = 0; k < h->n; k++) {
        size_t tl;
        const char *t = k && h->lines[k] == h->lines[k - 1] ? NULL : stx_line(s, h->lines[k], &tl);
        if (!t)
            continue;
        jw_begin_array(&w);
        jw_uint(&w, h->lines[k]);
        jw_string_n(&w, t, tl);
        jw_end_array(&w);
        any = 1;
    }
    jw_end_array(&w);
    jw_end_object(&w);
    int bad = jw_finish(&w) < 0;
    bad |= fclose(m) != 0;
    h->chunk = UINT32_MAX;
    if (!bad && any) {
        h->chunk = (uint32_t)x->nchunks;
        bad = spool_chunk(x, buf, len) < 0;
    }
    free(buf);
    return bad ? -1 : 0;
}

int hx_finish(hx_page *x, const pf_profile *p)
{
    for (size_t i = x->nfns; i < p->nfunctions; i++)   /* no hook added them: a v1 file */
        if (hx_add_function(x, p, i) < 0)
            return -1;
    if (close_chunk(x) < 0)
        return -1;
    x->any_source = p->nsources > 0;
    for (size_t k = 0; k < x->files.n; k++) {
        if (k >= x->capfile && file_lines(x, (uint32_t)k, NULL, 0) < 0)
            return -1;
        const pf_source *s = stx_find(p, x->files.v[k]);
        x->file[k].chunk = UINT32_MAX;
        if (s && source_chunk(x, &x->file[k], s) < 0)
            return -1;
    }
    return fflush(x->spool) != 0 ? -1 : 0;
}

hx_page *hx_build(const pf_profile *p)
{
    hx_page *x = hx_new();
    if (!x || hx_finish(x, p) < 0) {
        hx_release(x);
        return NULL;
    }
    return x;
}

void hx_release(hx_page *x)
{
    if (!x)
        return;
    if (x->curf)
        fclose(x->curf);
    free(x->cur);
    if (x->spool)
        fclose(x->spool);
    free(x->spool_buf);
    stt_release(&x->ops);
    stt_release(&x->files);
    for (size_t i = 0; i < x->capfile; i++)
        free(x->file[i].lines);
    free(x->file);
    free(x->chunks);
    free(x->file_of);
    free(x->chunk_of);
    free(x);
}

void hx_put_index(jw *w, const hx_page *x, const pf_profile *p)
{
    jw_begin_object(w);
    /* [name relative to the root, the chunk of its source lines or -1] */
    jw_key(w, "files");
    jw_begin_array(w);
    for (size_t i = 0; i < x->files.n; i++) {
        jw_begin_array(w);
        jw_string(w, fl_relative_file(p, x->files.v[i]));
        jw_int(w, i < x->capfile && x->file[i].chunk != UINT32_MAX ? (int64_t)x->file[i].chunk
                                                                   : -1);
        jw_end_array(w);
    }
    jw_end_array(w);
    jw_key(w, "scopes");
    jw_begin_array(w);
    for (int s = 0; s < PF_SCOPE_COUNT; s++)
        jw_string(w, pf_scope_name((pf_scope)s));
    jw_end_array(w);
    /* the instructions the page shows, and what each means */
    jw_key(w, "ops");
    jw_begin_array(w);
    for (size_t i = 0; i < x->ops.n; i++)
        jw_string(w, x->ops.v[i]);
    jw_end_array(w);
    jw_key(w, "means");
    jw_begin_array(w);
    for (size_t i = 0; i < x->ops.n; i++) {
        const gl_entry *e = gl_find(x->ops.v[i]);
        jw_begin_array(w);
        jw_string(w, e ? e->shortdesc : "");
        jw_string(w, e ? gl_category_title(e->category) : "");
        jw_end_array(w);
    }
    jw_end_array(w);
    jw_key(w, "forms");
    jw_bool(w, x->forms);
    jw_key(w, "omitted");
    jw_uint(w, p->sources_omitted);
    jw_key(w, "any_source");
    jw_bool(w, x->any_source);
    /* [qualname, file, first line, scope, calls, instructions, time_ns,
     * samples, chunk], by function id */
    jw_key(w, "fns");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nfunctions && i < x->nfns; i++) {
        const pf_function *f = &p->functions[i];
        jw_begin_array(w);
        jw_string(w, f->qualname ? f->qualname : "?");
        jw_uint(w, x->file_of[i]);
        jw_int(w, f->firstlineno);
        jw_uint(w, (unsigned)f->scope < PF_SCOPE_COUNT ? (unsigned)f->scope : 0);
        jw_uint(w, f->calls);
        jw_uint(w, f->instructions);
        jw_uint(w, f->time_ns);
        jw_uint(w, pf_function_samples(f));
        jw_uint(w, x->chunk_of[i]);
        jw_end_array(w);
    }
    jw_end_array(w);
    jw_end_object(w);
}

int hx_put_chunks(FILE *out, hx_page *x)
{
    char buf[65536];
    if (fflush(x->spool) != 0)
        return -1;
    for (size_t i = 0; i < x->nchunks; i++) {
        fprintf(out, "<script type=\"application/octet-stream\" id=\"opprof-z%zu\">", i);
        if (x->spool_buf) {
            fwrite(x->spool_buf + x->chunks[i].at, 1, x->chunks[i].len, out);
        } else if (fseek(x->spool, x->chunks[i].at, SEEK_SET) == 0) {
            for (size_t left = x->chunks[i].len; left;) {
                size_t k = fread(buf, 1, left < sizeof buf ? left : sizeof buf, x->spool);
                if (!k)
                    return -1;
                fwrite(buf, 1, k, out);
                left -= k;
            }
        } else {
            return -1;
        }
        fputs("</script>\n", out);
    }
    return ferror(out) ? -1 : 0;
}
