/*
 * strtab.h - a string table for the v2 writer: each distinct string gets
 * one index, in order of first interning, so equal profiles give equal
 * tables.  The table borrows the strings: they must outlive it.
 */
#ifndef OPPROF_STRTAB_H
#define OPPROF_STRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_tab {
    const char **v;          /* by index */
    size_t n;
    uint32_t *slot;          /* index + 1; 0: empty */
    size_t cap;              /* a power of two */
} st_tab;

void stt_init(st_tab *t);
void stt_release(st_tab *t);
/* The index of s (NULL is ""), added when new; -1 when out of memory. */
int64_t stt_intern(st_tab *t, const char *s);
/* The index of s, or -1 when it is not in the table; changes nothing, so
 * threads may look up at once. */
int64_t stt_find(const st_tab *t, const char *s);

/* base64 (RFC 4648, padded) of n bytes: a malloc'd string, NULL on OOM. */
char *pf_base64_encode(const unsigned char *b, size_t n);
/* Decodes a padded base64 string: malloc'd bytes (*n set), NULL when
 * out of memory or not base64. */
unsigned char *pf_base64_decode(const char *s, size_t len, size_t *n);

#endif
