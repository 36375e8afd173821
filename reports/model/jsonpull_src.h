/*
 * jsonpull_src.h - internal to the JSON pull parser: the reader that
 * jsonpull.c (tokens) and jsonpull_src.c (bytes: a FILE or a buffer,
 * gunzip, the record for jp_slurp; errors) share.
 */
#ifndef OPPROF_JSONPULL_SRC_H
#define OPPROF_JSONPULL_SRC_H

#ifndef ZLIB_CONST
#define ZLIB_CONST
#endif
#include <locale.h>
#include <stdint.h>
#include <zlib.h>

#include "jsonpull.h"

#define JPS_CHUNK (64 * 1024)

enum {
    ST_START,         /* before the top-level value */
    ST_AFTER,         /* after a value: ',', a close, or the end of the file */
    ST_ARRAY_FIRST,   /* after '[': a value or ']' */
    ST_OBJECT_FIRST,  /* after '{': a key or '}' */
    ST_COLON,         /* after a key */
    ST_EOF,
    ST_ERROR,
};

struct jp_reader {
    /* the window: text bytes [chunk, end), the parser at pos */
    const unsigned char *chunk, *pos, *end;
    uint64_t base;                 /* text offset of chunk[0] */
    uint64_t line, line_start;     /* pos's line, text offset of its start */
    uint64_t tok_off, tok_line, tok_line_start;  /* the last token's start */
    int state;
    int depth;
    unsigned char stack[JP_MAX_DEPTH];  /* '{' or '[' per open container */
    jp_token last;
    int discard;                   /* jp_skip: strings are checked, not kept */
    char *text;
    size_t text_len, text_cap;
    int64_t ival;
    double dval;
    char num[JP_MAX_NUMBER + 1];
    locale_t c_locale;
    /* the source */
    FILE *f;                       /* NULL: reading a buffer */
    const unsigned char *src;
    size_t src_len, src_off;
    unsigned char *in;             /* FILE: bytes as read */
    size_t pending;                /* FILE, not gzip: in[] holds a first window */
    unsigned char *out;            /* gzip: inflated bytes */
    int started, gzip, z_live, member_done;
    z_stream z;
    /* jp_slurp's record of the text (not kept for a plain buffer: it is
     * the buffer) */
    int recording;
    char *rec;
    size_t rec_len, rec_cap;
    char *name;
    char *err;
    size_t errcap;
};

static inline uint64_t jps_here(const jp_reader *r)
{
    return r->base + (uint64_t)(r->pos - r->chunk);
}

/* Moves the window to the next bytes of text: 1, 0 at the end of the
 * input, -1 on an error (reported). */
int jps_refill(jp_reader *r);

/* Enters the error state with the reason at text offset `off` (on pos's
 * line); the first error stays.  Returns -1. */
int jps_fail_at(jp_reader *r, uint64_t off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define jps_fail(r, ...) jps_fail_at((r), jps_here(r), __VA_ARGS__)

/* Grows *buf to at least `need` bytes (doubling); -1 out of memory. */
int jps_grow(jp_reader *r, char **buf, size_t *cap, size_t need);

#endif
