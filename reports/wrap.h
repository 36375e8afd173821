/*
 * wrap.h - words wrapped to a width, for the texts the reports and
 * `explain` print (meanings, findings, verdicts).
 */
#ifndef OPPROF_WRAP_H
#define OPPROF_WRAP_H

#include <stddef.h>
#include <stdio.h>

/* Writes s's words (split on spaces) to out, `col` columns already being
 * on the line: the first word right there, each next one after a space or,
 * past `width`, on a new line after `hang` spaces.  Control characters
 * are written as '?' (names in profiles may hold any byte).  Ends the
 * line. */
void wr_words(FILE *out, int width, const char *s, int col, int hang);

/* argv joined by spaces, cut to `most` characters (UTF-8 sequences, not
 * bytes, so that a name is never split inside one; the last of them "…")
 * when longer: a string to free, or NULL when out of memory.  `most` is
 * at least 1. */
char *wr_argv(char *const *argv, size_t argc, size_t most);

#endif
