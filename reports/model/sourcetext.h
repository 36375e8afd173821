/*
 * sourcetext.h - a profile's source text (pf_source, profile.h): the
 * lines of the functions that ran, as the run read them at its end, so
 * that annotate and the HTML page show them after the file changed or on
 * another machine.  Building it (the run's capture in profiler/sources.c,
 * the readers, merge), finding a line, and the compressed form the v2 file
 * and the HTML page hold (zlib, then base64).
 */
#ifndef OPPROF_SOURCETEXT_H
#define OPPROF_SOURCETEXT_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

/* The most text of one file a reader inflates: more is refused as a bad
 * profile (a few bytes of a crafted file could otherwise inflate to GBs). */
#define STX_FILE_MAX ((size_t)64 << 20)

/* The source of `file` in p, added (with no line) where missing, in the
 * file order p->sources keeps.  *added (may be NULL) says whether it is
 * new.  NULL when out of memory; the pointer is valid until the next
 * stx_file(). */
pf_source *stx_file(pf_profile *p, const char *file, int *added);
/* The source of `file`, or NULL. */
const pf_source *stx_find(const pf_profile *p, const char *file);

/* Appends line `line` (> 0, above s's last) with text[0, len): bytes that
 * are not UTF-8, and '\n', '\r' and NUL, become U+FFFD, so that a line
 * stays one line.  0, or -1 when out of memory or the line does not rise. */
int stx_add_line(pf_source *s, uint32_t line, const char *text, size_t len);
/* The text of `line` (*len bytes, not NUL-terminated), NULL when s has
 * no such line. */
const char *stx_line(const pf_source *s, uint32_t line, size_t *len);
/* The index of the first line of s at or after `line` (s->nlines: none). */
size_t stx_lower_bound(const pf_source *s, uint32_t line);

/* Frees p's sources (sources_omitted stays). */
void stx_drop(pf_profile *p);

/* Adds src's files and lines to dst's (a line both have keeps dst's
 * text) and its sources_omitted.  0, or -1 when out of memory. */
int stx_merge(pf_profile *dst, const pf_profile *src);

/* The lines a view of f shows, rising, into *lines (malloc'd; the caller
 * frees it): a module's or class body's, the lines its instructions are
 * on (its functions' bodies are theirs); any other function's, every line
 * from its first line to its last instruction's, comments and blank lines
 * too.  From its code's line table, else its instructions.  0, or -1 when
 * out of memory. */
int stx_function_lines(const pf_function *f, uint32_t **lines, size_t *n);

/* s's text zlib-compressed at `level` (zlib's 0-9), in base64: malloc'd,
 * NULL when out of memory. */
char *stx_encode(const pf_source *s, int level);
/* Fills s (with no line yet) from its `nlines` line numbers (rising, > 0)
 * and the base64 text b64[0, len) stx_encode made: one line of text per
 * number.  0, or -1 with one line in err (bad base64 or zlib data, text
 * over STX_FILE_MAX, another number of lines, not UTF-8). */
int stx_decode(pf_source *s, const uint32_t *lines, size_t nlines, const char *b64, size_t len,
               char *err, size_t errlen);

#endif
