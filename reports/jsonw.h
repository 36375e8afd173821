/*
 * jsonw.h - a small streaming JSON writer.
 *
 * Commas and nesting are tracked for the caller.  Strings are bytes: valid
 * UTF-8 passes through, control characters are escaped, and any byte that
 * is not part of valid UTF-8 (a Linux file name can hold any byte but NUL
 * and '/') is written as U+FFFD: strict JSON readers (jansson among them)
 * refuse the lone surrogates of Python's surrogateescape.  Callers that
 * must keep such bytes write them a second time, in hex (jw_is_utf8()).
 *
 * Errors are sticky: calls after a failure do nothing, and jw_finish()
 * reports whether everything was written.  The writer does not own `out`.
 */
#ifndef OPPROF_JSONW_H
#define OPPROF_JSONW_H

#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH 32

typedef struct jw {
    FILE *out;
    int depth;
    int error;
    int pretty;
    unsigned char need_comma[JW_MAX_DEPTH];
    unsigned char after_key;
} jw;

void jw_init(jw *w, FILE *out, int pretty);
void jw_begin_object(jw *w);
void jw_end_object(jw *w);
void jw_begin_array(jw *w);
void jw_end_array(jw *w);
/* Whether the n bytes at s are valid UTF-8. */
int jw_is_utf8(const char *s, size_t n);

void jw_key(jw *w, const char *key);
void jw_string(jw *w, const char *s);
void jw_string_n(jw *w, const char *s, size_t n);
/* jw_string, and 1 when s was not all UTF-8 (what was not is U+FFFD). */
int jw_string_lossy(jw *w, const char *s);
void jw_uint(jw *w, uint64_t v);
/* n values of an array, as n jw_uint calls would write them. */
void jw_uints(jw *w, const uint64_t *v, size_t n);
void jw_int(jw *w, int64_t v);
/* Six significant digits; null for infinities and NaN. */
void jw_double(jw *w, double v);
void jw_bool(jw *w, int v);
void jw_null(jw *w);
/* One document in two pieces, the second written to another stream (by
 * another thread) and appended after the first's bytes: *second starts
 * where w will stand once it has written key `key` with an array (when
 * key is not NULL) and `items` values in it; jw_join takes its state back
 * once its bytes follow w's. */
void jw_fork(const jw *w, jw *second, FILE *out, const char *key, int items);
void jw_join(jw *w, const jw *second);
/* 0 when the document is complete and every write succeeded, else -1. */
int jw_finish(jw *w);

#endif
