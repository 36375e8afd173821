/*
 * jsonpull.h - a streaming JSON pull parser, for readers whose memory must
 * be the data they keep rather than a DOM of the whole file (jansson's DOM
 * costs 10-25 times the text).
 *
 * The caller asks for one token at a time (jp_next) and builds its own
 * structures.  The grammar is RFC 8259's, strictly: every structure error
 * (a missing comma or colon, a trailing comma, "01", "1.", "+1", NaN, a
 * lone surrogate, invalid UTF-8, data after the top-level value, ...) is
 * found by jp_next itself.  Input is untrusted: the parser never recurses
 * (nesting deeper than JP_MAX_DEPTH is an error), never reads out of
 * bounds, and every error is one line,
 *     "NAME: line L column C: reason"
 * with L and C counted from 1, C in bytes.  Errors are sticky: after
 * JP_ERROR every jp_next returns JP_ERROR again, and after JP_EOF, JP_EOF.
 *
 * gzip input (it starts with 1f 8b) is inflated on the fly, also from a
 * pipe: nothing seeks.  Concatenated gzip members are read as one stream,
 * as gunzip does; any other data after the last member is an error.
 *
 * Numbers: JP_INT is an integer literal (no fraction, no exponent) in
 * [INT64_MIN, INT64_MAX]; one outside is "number out of range", as is a
 * real that overflows a double.  A number longer than JP_MAX_NUMBER bytes
 * is refused.  Reals are read in the C locale whatever setlocale says.
 *
 * Not thread-safe per reader; separate readers are independent.
 */
#ifndef OPPROF_JSONPULL_H
#define OPPROF_JSONPULL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JP_MAX_DEPTH 512
#define JP_MAX_NUMBER 1024

typedef struct jp_reader jp_reader;

typedef enum jp_token {
    JP_ERROR = -1,   /* jp_error() says why */
    JP_EOF = 0,      /* one complete top-level value, then only whitespace */
    JP_OBJECT,
    JP_OBJECT_END,
    JP_ARRAY,
    JP_ARRAY_END,
    JP_KEY,          /* jp_text() */
    JP_STRING,       /* jp_text() */
    JP_INT,          /* jp_int() */
    JP_REAL,         /* jp_real() */
    JP_TRUE,
    JP_FALSE,
    JP_NULL,
} jp_token;

/* Reads f from its current position, in 64 KiB freads, until its end.
 * The reader does not own f.  `name` (copied) starts every message.
 * NULL only when out of memory; read errors come from jp_next. */
jp_reader *jp_open_file(FILE *f, const char *name);
/* Reads buf[0, len), which is not copied and must outlive the reader. */
jp_reader *jp_open_buffer(const char *buf, size_t len, const char *name);
/* Frees the reader and everything it owns (NULL is fine). */
void jp_close(jp_reader *r);

jp_token jp_next(jp_reader *r);

/* The decoded text of the last JP_KEY or JP_STRING, NUL-terminated, with
 * *len its length (len may be NULL; the text may hold \u0000 bytes):
 * valid UTF-8, valid until the next call that moves the reader.  "" after
 * any other token. */
const char *jp_text(const jp_reader *r, size_t *len);
/* The value of the last JP_INT; 0 after any other token. */
int64_t jp_int(const jp_reader *r);
/* The value of the last JP_REAL, or of the last JP_INT as a double (a
 * reader wanting a number takes either); 0 after any other token. */
double jp_real(const jp_reader *r);

/* Skips the value the last token started: after JP_OBJECT or JP_ARRAY to
 * past its end, after JP_KEY the key's whole value; after a scalar or an
 * end, nothing.  Skipped strings are checked but not kept.  0, or -1 when
 * the skip ran into an error (the reader is then in the JP_ERROR state). */
int jp_skip(jp_reader *r);

/* How many containers enclose the position: 0 at the top level, 1 just
 * after the first JP_OBJECT/JP_ARRAY and again after a value inside it,
 * 0 after its matching end. */
int jp_depth(const jp_reader *r);

/* The one-line reason of the error, "" when there was none. */
const char *jp_error(const jp_reader *r);
/* Puts the reader in the error state with a reason of the caller's (one
 * line; the schema's errors: "\"count\" is not an integer"), positioned at
 * the start of the last token.  Only the first error is kept.  Returns -1. */
int jp_fail(jp_reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A name for messages: "an object", "a string", "end of file", ... */
const char *jp_token_name(jp_token t);

/* Recording, for a reader that finds out after a few tokens that it wants
 * the whole text (an old format read by another parser).  From the open
 * until jp_stop_recording() every input byte read (after gunzip) is kept,
 * so a reader that decides to stream must stop it, or the record grows to
 * the whole input.  jp_slurp() returns a malloc'd, NUL-terminated copy of
 * the whole text from the start, what was parsed and everything left,
 * with *len its length; the reader is at JP_EOF after it.  NULL (with the
 * reader in the error state, jp_error saying why) on a read or gzip error
 * or when out of memory, and NULL after jp_stop_recording() or an earlier
 * error. */
char *jp_slurp(jp_reader *r, size_t *len);
/* Frees the record and stops keeping bytes. */
void jp_stop_recording(jp_reader *r);

#endif
