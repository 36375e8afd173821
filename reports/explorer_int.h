/*
 * explorer_int.h - internal to explorer*.c: the page's state, and one
 * function's details (explorer_fn.c).
 */
#ifndef OPPROF_EXPLORER_INT_H
#define OPPROF_EXPLORER_INT_H

#include <stdint.h>
#include <stdio.h>

#include "explorer.h"
#include "model/strtab.h"

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

/* Function f as "<id>": {...} (explorer_fn.c); *lines, *nlines: the lines
 * it shows (malloc'd), for its file's source chunk.  Out of memory sets
 * x->oom. */
void hx__put_function(hx_page *x, jw *w, const pf_profile *p, const pf_function *f,
                      uint32_t **lines, size_t *nlines);

#endif
