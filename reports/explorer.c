/*
 * explorer.c - the bytecode explorer's data for the HTML page
 * (explorer.h).
 */
#include "explorer.h"

#include <inttypes.h>
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
/* A function of more code units than this (a generated module of 300,000
 * instructions: 60 MB to disassemble and pack) shows its lines' totals
 * only; annotate lists its instructions. */
#define BIG_FUNCTION 20000

/* What the page knows of one file: the lines its functions show. */
typedef struct hx_file {
    uint32_t *lines;
    size_t n, cap;
    uint32_t chunk;           /* of its source lines; UINT32_MAX: none */
} hx_file;

typedef struct hx_chunk {
    long at;                  /* where its base64 starts in the spool */
    size_t len;
} hx_chunk;

struct hx_page {
    st_tab ops;               /* the opnames the page shows (borrowed: static or p's) */
    st_tab files;             /* the functions' files (borrowed from p) */
    hx_file *file;            /* by index into files */
    size_t capfile;
    uint32_t *file_of;        /* per function: index into files */
    uint32_t *chunk_of;       /* per function */
    size_t nfns, capfns;
    hx_chunk *chunks;
    size_t nchunks, capchunks;
    FILE *spool;              /* the chunks' base64, one after the other */
    char *spool_buf;          /* when no temporary file could be made: memory */
    size_t spool_len;
    char *cur;                /* the chunk being filled: JSON */
    size_t curlen;
    FILE *curf;
    jw curw;
    int forms;                /* some function has its final forms */
    int any_source;           /* the profile has source text */
    int oom;
};

/* One row of a function's listing. */
typedef struct row {
    uint32_t offset;
    const char *opname;
    long arg;                 /* -1: none */
    const char *argrepr;
    int line;
    const pf_instr *ran;      /* NULL: never ran */
} row;

static const pf_instr *executed(const pf_function *f, uint32_t offset)
{
    size_t lo = 0, hi = f->ncode;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->code[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->ncode && f->code[lo].offset == offset ? &f->code[lo] : NULL;
}

/* f's whole listing: its code disassembled (dz keeps the texts), v1's
 * stored listing, else what ran.  NULL when out of memory. */
static row *rows_of(const pf_profile *p, const pf_function *f, dz_listing *dz, size_t *n)
{
    char err[128];
    dz_code c;
    row *v;
    if (f->codeinfo) {
        pf_code_as_dz(f->codeinfo, pf_minor(p), &c);
        if (dz_disassemble(&c, dz, err, sizeof err) == 0) {
            if (!(v = calloc(dz->n + 1, sizeof *v)))
                return NULL;
            for (size_t i = 0; i < dz->n; i++) {
                const dz_instr *d = &dz->v[i];
                v[i] = (row){(uint32_t)d->offset, d->opname, d->arg, d->argrepr, d->line,
                             executed(f, (uint32_t)d->offset)};
            }
            *n = dz->n;
            return v;
        }
    }
    if (f->nlisting) {
        if (!(v = calloc(f->nlisting + 1, sizeof *v)))
            return NULL;
        for (size_t i = 0; i < f->nlisting; i++) {
            const pf_listing *l = &f->listing[i];
            v[i] = (row){l->offset, pf_opname(p, l->op), l->arg, l->argrepr ? l->argrepr : "",
                         l->line, executed(f, l->offset)};
        }
        *n = f->nlisting;
        return v;
    }
    if (!(v = calloc(f->ncode + 1, sizeof *v)))
        return NULL;
    for (size_t i = 0; i < f->ncode; i++)
        v[i] = (row){f->code[i].offset, pf_opname(p, f->code[i].op), -1, "", f->code[i].line,
                     &f->code[i]};
    *n = f->ncode;
    return v;
}

static uint64_t op_index(hx_page *x, const char *name)
{
    int64_t i = stt_intern(&x->ops, name);
    if (i < 0)
        x->oom = 1;
    return i < 0 ? 0 : (uint64_t)i;
}

/* Every instruction: "o" offsets and "l" lines (0: none) as steps from
 * the value before, "op" opnames, "a" arguments as dis prints them, "c"
 * counts, then "t" and "s" (time, samples) when it has any and "f" (the
 * final form, -1 for the generic one) when the profile has forms. */
static void put_instructions(hx_page *x, jw *w, const pf_profile *p, const pf_function *f)
{
    dz_listing dz = {0};
    size_t n = 0;
    row *v = rows_of(p, f, &dz, &n);
    if (!v)
        x->oom = 1;
    jw_key(w, "o");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++)
        jw_int(w, (int64_t)v[i].offset - (i ? (int64_t)v[i - 1].offset : 0));
    jw_end_array(w);
    jw_key(w, "op");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++)
        jw_uint(w, op_index(x, v[i].opname));
    jw_end_array(w);
    jw_key(w, "a");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++) {
        char arg[160] = "";
        if (v[i].arg >= 0 && v[i].argrepr[0])
            snprintf(arg, sizeof arg, "%ld (%s)", v[i].arg, v[i].argrepr);
        else if (v[i].arg >= 0)
            snprintf(arg, sizeof arg, "%ld", v[i].arg);
        jw_string(w, arg);
    }
    jw_end_array(w);
    jw_key(w, "l");
    jw_begin_array(w);
    for (size_t i = 0, last = 0; v && i < n; i++) {
        size_t line = v[i].line > 0 ? (size_t)v[i].line : 0;
        jw_int(w, (int64_t)line - (int64_t)last);
        last = line;
    }
    jw_end_array(w);
    jw_key(w, "c");
    jw_begin_array(w);
    for (size_t i = 0; v && i < n; i++)
        jw_uint(w, v[i].ran ? v[i].ran->count : 0);
    jw_end_array(w);
    if (f->ntimes) {   /* p->timed is not known yet while a reader reads functions */
        jw_key(w, "t");
        jw_begin_array(w);
        for (size_t i = 0; v && i < n; i++)
            jw_uint(w, v[i].ran ? pf_instr_time(f, (size_t)(v[i].ran - f->code)) : 0);
        jw_end_array(w);
        jw_key(w, "s");
        jw_begin_array(w);
        for (size_t i = 0; v && i < n; i++)
            jw_uint(w, v[i].ran ? pf_instr_samples(f, (size_t)(v[i].ran - f->code)) : 0);
        jw_end_array(w);
    }
    if (f->forms) {
        jw_key(w, "f");
        jw_begin_array(w);
        for (size_t i = 0; v && i < n; i++) {
            uint16_t form = v[i].ran ? f->forms[v[i].ran - f->code] : PF_NO_FORM;
            jw_int(w, form == PF_NO_FORM ? -1 : (int64_t)op_index(x, pf_opname(p, form)));
        }
        jw_end_array(w);
    }
    free(v);
    dz_listing_release(&dz);
}

typedef struct line_sum {
    uint32_t line;
    uint64_t count, time_ns;
} line_sum;

static int by_line(const void *a, const void *b)
{
    uint32_t x = ((const line_sum *)a)->line, y = ((const line_sum *)b)->line;
    return (x > y) - (x < y);
}

/* A function too big to list: "big" its code units, and per line (its
 * code's line table, with what ran) "bl" the lines as steps, "bc" the
 * instructions that ran there and "bt" their time. */
static void put_line_totals(hx_page *x, jw *w, const pf_function *f, size_t units)
{
    size_t nt = f->codeinfo ? f->codeinfo->nlines : 0, n = 0;
    line_sum *v = malloc((f->ncode + nt + 1) * sizeof *v);
    if (!v) {
        x->oom = 1;
        return;
    }
    for (size_t i = 0; i < nt; i++)
        if (f->codeinfo->lines[i].line > 0)
            v[n++] = (line_sum){(uint32_t)f->codeinfo->lines[i].line, 0, 0};
    for (size_t i = 0; i < f->ncode; i++)
        if (f->code[i].line > 0)
            v[n++] = (line_sum){(uint32_t)f->code[i].line, f->code[i].count, pf_instr_time(f, i)};
    qsort(v, n, sizeof *v, by_line);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && v[k - 1].line == v[i].line) {
            v[k - 1].count = pf_add_sat(v[k - 1].count, v[i].count);
            v[k - 1].time_ns = pf_add_sat(v[k - 1].time_ns, v[i].time_ns);
        } else {
            v[k++] = v[i];
        }
    }
    jw_key(w, "big");
    jw_uint(w, units);
    jw_key(w, "bl");
    jw_begin_array(w);
    for (size_t i = 0; i < k; i++)
        jw_uint(w, v[i].line - (i ? v[i - 1].line : 0));
    jw_end_array(w);
    jw_key(w, "bc");
    jw_begin_array(w);
    for (size_t i = 0; i < k; i++)
        jw_uint(w, v[i].count);
    jw_end_array(w);
    jw_key(w, "bt");
    jw_begin_array(w);
    for (size_t i = 0; i < k; i++)
        jw_uint(w, v[i].time_ns);
    jw_end_array(w);
    free(v);
}

/* Function f as "<id>": {its instructions, or its lines' totals when it
 * is too big to list; "r" the first and last line a function (not a
 * body) shows}.  *lines, *nlines: those lines (for the file's source
 * chunk). */
static void put_function(hx_page *x, jw *w, const pf_profile *p, const pf_function *f,
                         uint32_t **lines, size_t *nlines)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu32, f->id);
    jw_key(w, key);
    jw_begin_object(w);
    size_t units = f->codeinfo ? f->codeinfo->nbytes / 2 : f->nlisting ? f->nlisting : f->ncode;
    if (units > BIG_FUNCTION)
        put_line_totals(x, w, f, units);
    else
        put_instructions(x, w, p, f);
    if (stx_function_lines(f, lines, nlines) < 0)
        x->oom = 1;
    if (*nlines && f->scope != PF_SCOPE_MODULE && f->scope != PF_SCOPE_CLASS) {
        jw_key(w, "r");
        jw_begin_array(w);
        jw_uint(w, (*lines)[0]);
        jw_uint(w, (*lines)[*nlines - 1]);
        jw_end_array(w);
    }
    jw_end_object(w);
}

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
    put_function(x, &x->curw, p, f, &lines, &n);
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
