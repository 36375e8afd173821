/*
 * codepack.h - the compact forms a profile stores a code object in
 * (profile-v2.md, `code`): co_code without its inline caches, which are
 * zeros in the unspecialized bytes and about half of them on 3.12+; and
 * which constants an instruction loads, so that the run need not keep the
 * reprs of the others (a function's docstring, mostly).
 *
 * No libpython: the profiler (at the end of a run) and the readers both
 * use the opcode tables of opcodes.h.  Output buffers are malloc'd and
 * owned by the caller.
 */
#ifndef OPPROF_CODEPACK_H
#define OPPROF_CODEPACK_H

#include <stddef.h>

/* co_code of Python 3.<minor> without its CACHE code units, in *out.
 * 1: packed; 0: left as it is (no table for that version, a cache unit
 * that is not zero, or code that does not parse), *out NULL; -1: out of
 * memory. */
int cp_pack(int minor, const unsigned char *code, size_t len, unsigned char **out,
            size_t *outlen);

/* The reverse: the caches put back as zeros.  0, or -1 when `packed`
 * is not packed code of that version (or out of memory). */
int cp_unpack(int minor, const unsigned char *packed, size_t len, unsigned char **out,
              size_t *outlen);

/* used[i] = 1 for each constant i < nconsts that an instruction of the
 * code loads (as dis renders it: the argument of a const-kind opcode),
 * else 0.  0, or -1 when there is no table or the code does not parse
 * (then every used[i] is 1: keep them all). */
int cp_consts_used(int minor, const unsigned char *code, size_t len, unsigned char *used,
                   size_t nconsts);

#endif
