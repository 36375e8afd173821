/*
 * nmerge.h - one mixed stack from a native stack and a Python stack, the
 * way py-spy shows them: each C frame of the interpreter loop is replaced
 * by the Python frames it ran.  Pure: no libpython, no libunwind.
 *
 * `groups` says how many Python frames each interpreter-loop C frame runs,
 * innermost first (3.11+: one C call runs several Python frames; 3.10:
 * one each).  Python frames are dealt out from the innermost; when the
 * groups run out (or none are given), the outermost interpreter frame
 * takes what is left, and interpreter frames left without Python frames
 * stay as native frames.  Native frames are never dropped.
 */
#ifndef OPPROF_NMERGE_H
#define OPPROF_NMERGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct nm_item {
    int python;              /* 1: a Python frame, 0: a native one */
    uint32_t index;          /* into the Python stack (root first) or the native one (leaf first) */
} nm_item;

/* is_eval[i]: native frame i (leaf first) is an interpreter-loop frame.
 * npython Python frames, root first.  Writes at most `max` items, root
 * first, and returns how many. */
size_t nm_merge(const unsigned char *is_eval, size_t nnative, size_t npython,
                const uint16_t *groups, size_t ngroups, nm_item *out, size_t max);

#endif
