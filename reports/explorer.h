/*
 * explorer.h - the data of the HTML page's bytecode explorer (html.c,
 * reports/html/explorer.js): every function of the profile, its source
 * lines (the profile's text) and its whole disassembly with the run's
 * count, time and final form of each instruction.
 *
 * A small index goes into the page's JSON (names, files, totals: what the
 * search box and the tables need); the details go in chunks, a few
 * functions' instructions each, or one file's source lines,
 * zlib-compressed and in base64, each in a <script> element the page
 * inflates only when one of its functions is opened (DecompressionStream):
 * a test suite's page stays within its size bound and opens without
 * parsing what nobody looks at.  The chunks wait in a temporary file
 * between the reading and the writing, not in memory.  Only the glossary
 * entries of the instructions the page shows are embedded.
 */
#ifndef OPPROF_EXPLORER_H
#define OPPROF_EXPLORER_H

#include <stdio.h>

#include "jsonw.h"
#include "model/profile.h"

typedef struct hx_page hx_page;

/* A page built as the profile is read, function by function, so that a
 * reader need not keep every function's code (hx_read_hook): */
hx_page *hx_new(void);                      /* NULL when out of memory */
/* Function i of p (its code still there) into the page: 0, or -1 when
 * out of memory.  A function whose code does not disassemble shows its
 * executed instructions alone. */
int hx_add_function(hx_page *x, const pf_profile *p, size_t i);
/* A pf_read_hooks.function (ctx: the page) adding each function read. */
int hx_read_hook(void *ctx, pf_profile *p, size_t i);
/* With p complete: the functions no hook added (a v1 file calls none),
 * then the source text, which p need not keep after.  0, or -1 when out
 * of memory or the temporary file fails. */
int hx_finish(hx_page *x, const pf_profile *p);
/* All of p at once (new, add, finish); NULL when out of memory. */
hx_page *hx_build(const pf_profile *p);
void hx_release(hx_page *x);

/* The index, as the value of key "explorer" of the page's data. */
void hx_put_index(jw *w, const hx_page *x, const pf_profile *p);
/* The chunks, one <script type="application/octet-stream"> element each
 * (id "opprof-z<k>"): 0, or -1 on a read or write error. */
int hx_put_chunks(FILE *out, hx_page *x);

#endif
