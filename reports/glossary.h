/*
 * glossary.h - what each CPython instruction means, for `opprof explain`,
 * the report's legend and `annotate --explain`.
 *
 * The texts live in reports/glossary/ (one .txt per theme), one record per instruction
 * name of CPython 3.10-3.14 (generic, specialized, pseudo and
 * instrumented); scripts/gen_glossary.py turns them into C data at build
 * time.  Which versions have a name, and which generic instruction a
 * specialized one replaces, were read off each interpreter's opcode
 * module; tests/e2e/e2e_explain.py checks them against every interpreter
 * present.  Everything here is static, read-only data: nothing to free.
 */
#ifndef OPPROF_GLOSSARY_H
#define OPPROF_GLOSSARY_H

#include <stddef.h>

typedef enum {
    GL_NAMES, GL_STACK, GL_ARITHMETIC, GL_CONTAINERS, GL_ATTRIBUTES, GL_CALLS, GL_FLOW,
    GL_EXCEPTIONS, GL_GENERATORS, GL_IMPORTS, GL_FUNCTIONS, GL_INTERNALS,
    GL_SPECIALIZED,             /* not a record's category: the listing's group */
    GL_NCATEGORIES
} gl_category;

/* Bit (minor - 10) stands for Python 3.<minor>. */
#define GL_VERSION_BIT(minor) (1u << ((minor) - 10))

typedef struct gl_spec {
    const char *base;           /* the generic instruction it specializes */
    unsigned versions;          /* in which versions */
} gl_spec;

typedef struct gl_entry {
    const char *name;
    gl_category category;       /* a specialized one: its base's */
    unsigned versions;          /* GL_VERSION_BIT of each version that has it */
    unsigned pseudo;            /* versions where only the compiler has it */
    const gl_spec *spec;        /* specialized forms: what they replace */
    size_t nspec;
    const char *shortdesc;      /* one line, at most 90 characters */
    const char *example;        /* one line of source */
    const char *history;        /* one line */
    const char *text;           /* a paragraph, unwrapped */
} gl_entry;

/* All records, sorted by name (generated). */
extern const gl_entry gl_entries[];
extern const size_t gl_nentries;

/* The record of `name`, matched without regard to case; NULL if none. */
const gl_entry *gl_find(const char *name);

/* "name access", ... (GL_SPECIALIZED: "specialized"). */
const char *gl_category_title(gl_category c);

/* The generic instruction e specializes in 3.<minor>, or NULL. */
const char *gl_base_in(const gl_entry *e, int minor);

/* 1 when 3.<minor> has the name. */
int gl_in_version(const gl_entry *e, int minor);

/* Writes "3.10-3.12, 3.14" for a version mask into buf. */
void gl_versions_text(unsigned mask, char *buf, size_t n);

/* The up to `cap` names closest to `name` (edit distance, ignoring case),
 * best first, into out; returns how many.  For "did you mean". */
size_t gl_closest(const char *name, const gl_entry **out, size_t cap);

#endif
