/*
 * jsonpull_src.c - the bytes under the JSON pull parser: a FILE read in
 * 64 KiB freads (never seeking: pipes work) or a buffer, inflated when it
 * starts with gzip's magic, shown to jsonpull.c one window at a time;
 * the record jp_slurp returns; the readers' life cycle and errors.
 */
#include "jsonpull_src.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A window never points at NULL: pointer arithmetic on it stays defined. */
static const unsigned char nothing[1];

/* ---- errors ---------------------------------------------------------- */

static int failv(jp_reader *r, uint64_t off, uint64_t line, uint64_t line_start,
                 const char *fmt, va_list ap)
{
    if (r->state == ST_ERROR)
        return -1;  /* the first error is the cause; later ones follow from it */
    r->state = ST_ERROR;
    r->last = JP_ERROR;
    int n = snprintf(r->err, r->errcap, "%s: line %" PRIu64 " column %" PRIu64 ": ", r->name,
                     line, off - line_start + 1);
    if (n > 0 && (size_t)n < r->errcap)
        vsnprintf(r->err + n, r->errcap - (size_t)n, fmt, ap);
    /* one line whatever the file name or a caller's reason holds */
    for (char *p = r->err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return -1;
}

int jps_fail_at(jp_reader *r, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(r, off, r->line, r->line_start, fmt, ap);
    va_end(ap);
    return -1;
}

int jp_fail(jp_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(r, r->tok_off, r->tok_line, r->tok_line_start, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_error(jp_reader *r)
{
    return jps_fail(r, "read error (%s)", strerror(errno ? errno : EIO));
}

const char *jp_error(const jp_reader *r)
{
    return r->state == ST_ERROR ? r->err : "";
}

/* ---- the source ------------------------------------------------------ */

int jps_grow(jp_reader *r, char **buf, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 256;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return jps_fail(r, "out of memory");
        c *= 2;
    }
    char *b = realloc(*buf, c);
    if (!b)
        return jps_fail(r, "out of memory");
    *buf = b;
    *cap = c;
    return 0;
}

static void window(jp_reader *r, const unsigned char *p, size_t n)
{
    r->chunk = r->pos = p;
    r->end = p + n;
}

/* Checks the first bytes for gzip's magic, which needs the first fread. */
static int start(jp_reader *r)
{
    const unsigned char *p = r->src;
    size_t n = r->src_len;
    r->started = 1;
    if (r->f) {
        errno = 0;
        n = fread(r->in, 1, JPS_CHUNK, r->f);
        if (n == 0 && ferror(r->f))
            return read_error(r);
        p = r->in;
        r->pending = n;
    }
    if (n < 2 || p[0] != 0x1f || p[1] != 0x8b)
        return 0;
    r->gzip = 1;
    r->pending = 0;
    r->out = malloc(JPS_CHUNK);
    if (!r->out)
        return jps_fail(r, "out of memory");
    if (inflateInit2(&r->z, 15 + 16) != Z_OK)  /* 16: gzip framing only */
        return jps_fail(r, "out of memory");
    r->z_live = 1;
    if (r->f) {
        r->z.next_in = r->in;
        r->z.avail_in = (uInt)n;
    }
    return 0;
}

/* More compressed bytes for zlib: 1, 0 at their end, -1 on an error. */
static int fill_in(jp_reader *r)
{
    if (r->f) {
        errno = 0;
        size_t n = fread(r->in, 1, JPS_CHUNK, r->f);
        if (n == 0)
            return ferror(r->f) ? read_error(r) : 0;
        r->z.next_in = r->in;
        r->z.avail_in = (uInt)n;
        return 1;
    }
    size_t n = r->src_len - r->src_off;
    if (n == 0)
        return 0;
    if (n > (1u << 30))
        n = 1u << 30;  /* avail_in is 32 bits */
    r->z.next_in = r->src + r->src_off;
    r->z.avail_in = (uInt)n;
    r->src_off += n;
    return 1;
}

static int inflate_more(jp_reader *r)
{
    for (;;) {
        if (r->member_done) {
            /* concatenated members are one stream, as for gunzip */
            if (r->z.avail_in == 0) {
                int st = fill_in(r);
                if (st <= 0)
                    return st;
            }
            if (r->z.next_in[0] != 0x1f)  /* else it looks truncated */
                return jps_fail(r, "not valid gzip data (other data after its end)");
            if (inflateReset(&r->z) != Z_OK)
                return jps_fail(r, "not valid gzip data");
            r->member_done = 0;
        }
        if (r->z.avail_in == 0) {
            int st = fill_in(r);
            if (st < 0)
                return -1;
            if (st == 0)
                return jps_fail(r, "unexpected end of file: the gzip data is truncated");
        }
        r->z.next_out = r->out;
        r->z.avail_out = JPS_CHUNK;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END)
            r->member_done = 1;
        else if (zr == Z_MEM_ERROR)
            return jps_fail(r, "out of memory");
        /* Z_BUF_ERROR is "no progress": only legitimate without input */
        else if (zr != Z_OK && !(zr == Z_BUF_ERROR && r->z.avail_in == 0))
            return jps_fail(r, "not valid gzip data (%s)", r->z.msg ? r->z.msg : "zlib error");
        size_t n = JPS_CHUNK - r->z.avail_out;
        if (n) {
            window(r, r->out, n);
            return 1;
        }
    }
}

int jps_refill(jp_reader *r)
{
    if (r->state == ST_ERROR)
        return -1;
    r->base += (uint64_t)(r->end - r->chunk);
    r->chunk = r->pos = r->end;
    if (!r->started && start(r) < 0)
        return -1;
    int st;
    if (r->gzip) {
        st = inflate_more(r);
    } else if (!r->f) {
        st = r->src_off < r->src_len;
        if (st)
            window(r, r->src, r->src_len);
        r->src_off = r->src_len;
    } else if (r->pending) {
        window(r, r->in, r->pending);
        r->pending = 0;
        st = 1;
    } else {
        errno = 0;
        size_t n = fread(r->in, 1, JPS_CHUNK, r->f);
        if (n == 0 && ferror(r->f))
            return read_error(r);
        window(r, r->in, n);
        st = n > 0;
    }
    if (st > 0 && r->recording && (r->f || r->gzip)) {
        size_t n = (size_t)(r->end - r->chunk);
        if (r->rec_cap - r->rec_len < n && jps_grow(r, &r->rec, &r->rec_cap, r->rec_len + n) < 0)
            return -1;
        memcpy(r->rec + r->rec_len, r->chunk, n);
        r->rec_len += n;
    }
    return st;
}

/* ---- the API ---------------------------------------------------------- */

static jp_reader *open_(const char *name)
{
    jp_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!name)
        name = "<input>";
    size_t n = strlen(name);
    r->name = malloc(n + 1);
    r->errcap = n + 512;
    r->err = malloc(r->errcap);
    r->text_cap = 256;
    r->text = malloc(r->text_cap);
    r->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!r->name || !r->err || !r->text || !r->c_locale) {
        jp_close(r);
        return NULL;
    }
    memcpy(r->name, name, n + 1);
    r->err[0] = r->text[0] = '\0';
    r->chunk = r->pos = r->end = nothing;
    r->line = r->tok_line = 1;
    r->recording = 1;
    r->last = JP_EOF;
    return r;
}

jp_reader *jp_open_file(FILE *f, const char *name)
{
    jp_reader *r = open_(name);
    if (!r)
        return NULL;
    r->f = f;
    r->in = malloc(JPS_CHUNK);
    if (!r->in) {
        jp_close(r);
        return NULL;
    }
    return r;
}

jp_reader *jp_open_buffer(const char *buf, size_t len, const char *name)
{
    jp_reader *r = open_(name);
    if (!r)
        return NULL;
    r->src = len ? (const unsigned char *)buf : nothing;
    r->src_len = len;
    return r;
}

void jp_close(jp_reader *r)
{
    if (!r)
        return;
    if (r->z_live)
        inflateEnd(&r->z);
    if (r->c_locale)
        freelocale(r->c_locale);
    free(r->in);
    free(r->out);
    free(r->rec);
    free(r->text);
    free(r->err);
    free(r->name);
    free(r);
}

char *jp_slurp(jp_reader *r, size_t *len)
{
    size_t dummy;
    if (!len)
        len = &dummy;
    *len = 0;
    if (!r->recording || r->state == ST_ERROR)
        return NULL;
    int st;
    do {
        r->pos = r->end;
        st = jps_refill(r);
    } while (st > 0);
    if (st < 0)
        return NULL;
    char *s;
    size_t n;
    if (!r->f && !r->gzip) {
        n = r->src_len;
        s = malloc(n + 1);
        if (!s) {
            jps_fail(r, "out of memory");
            return NULL;
        }
        memcpy(s, r->src, n);
    } else {
        if (r->rec_cap - r->rec_len < 1 && jps_grow(r, &r->rec, &r->rec_cap, r->rec_len + 1) < 0)
            return NULL;
        s = r->rec;
        n = r->rec_len;
        r->rec = NULL;
    }
    s[n] = '\0';
    jp_stop_recording(r);
    r->state = ST_EOF;
    r->last = JP_EOF;
    *len = n;
    return s;
}

void jp_stop_recording(jp_reader *r)
{
    free(r->rec);
    r->rec = NULL;
    r->rec_len = r->rec_cap = 0;
    r->recording = 0;
}

