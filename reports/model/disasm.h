/*
 * disasm.h - dis.get_instructions() in C, for the readers: the profile
 * stores each code object's co_code and the strings dis prints, and the
 * listing is made at read time, without libpython, for any of the
 * versions opcodes.h has a table for.
 *
 * The result equals dis.get_instructions(code) of that version with the
 * default flags (not adaptive, no CACHE entries): the same offsets,
 * opcodes, opnames, args and argreprs (3.13+: jumps as "to L<n>"), the
 * same starts_line and jump targets.  tests/e2e/disasm_check.py compares
 * it with dis on every local interpreter.
 *
 * Input is untrusted (profiles are files): every index is checked and a
 * bad input is an error, never a read out of bounds.  It is also an error
 * where dis would raise (an index out of range) and in a few cases dis
 * lets pass but no compiler produces: an odd length, inline caches or an
 * EXTENDED_ARG running past the end, an oparg beyond 32 bits.
 *
 * Ownership: dz_code and its strings belong to the caller and are only
 * read during dz_disassemble.  The listing owns its instructions and
 * their argrepr strings; opname strings are static.  Free with
 * dz_listing_release (also safe on a zeroed or released listing).
 */
#ifndef OPPROF_DISASM_H
#define OPPROF_DISASM_H

#include <stddef.h>

#define DZ_NO_LINE (-1)

/* One entry of co_lines(): code units [start, end) are on `line`
 * (DZ_NO_LINE for None).  Offsets in bytes, as co_lines gives them. */
typedef struct dz_line_range {
    int start, end, line;
} dz_line_range;

/* One code object as the profile stores it. */
typedef struct dz_code {
    int minor;                       /* Python 3.<minor> */
    const unsigned char *code;       /* co_code (PyCode_GetCode: unspecialized) */
    size_t code_len;                 /* bytes */
    const char *const *names;        /* co_names */
    size_t n_names;
    const char *const *consts;       /* repr() of each co_consts item */
    size_t n_consts;
    /* the variables an oparg indexes: 3.10 co_varnames; 3.11+ the
     * "localsplus" names, co._varname_from_oparg(i) for i = 0, 1, ...
     * (co_varnames, then cells that are not arguments, then free vars) */
    const char *const *locals;
    size_t n_locals;
    const char *const *cells;        /* 3.10 only: co_cellvars + co_freevars */
    size_t n_cells;
    const dz_line_range *lines;      /* co_lines(), in its order */
    size_t n_lines;
} dz_code;

typedef struct dz_instr {
    int offset;          /* bytes from the start of co_code */
    int start_offset;    /* offset of its first EXTENDED_ARG (3.13's start_offset) */
    unsigned opcode;
    unsigned base;       /* the generic opcode (== opcode in co_code) */
    const char *opname;  /* "<N>" for an opcode the version does not have */
    long arg;            /* -1: no argument */
    char *argrepr;       /* "" when none; never NULL */
    int line;            /* line of the instruction, DZ_NO_LINE if none
                            (3.13's line_number; before, the co_lines range's) */
    int starts_line;     /* dis's starts_line is set (before 3.13: the line) */
    int is_jump_target;  /* another instruction jumps here */
    int label;           /* 3.13's label number (jump targets in offset
                            order from 1), 0 when none; set on all versions */
    int has_target;      /* a jump: target is its argval (an offset) */
    long long target;
} dz_instr;

typedef struct dz_listing {
    dz_instr *v;
    size_t n;
    char *strings;       /* the argreprs live here */
} dz_listing;

/* Disassembles c into *out (which it overwrites: release it first).
 * 0, or -1 with a one-line reason in err (errlen > 0) and *out empty. */
int dz_disassemble(const dz_code *c, dz_listing *out, char *err, size_t errlen);

void dz_listing_release(dz_listing *l);

#endif
