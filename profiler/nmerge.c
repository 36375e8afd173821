/*
 * nmerge.c - the mixed-stack merge (nmerge.h).
 */
#include "nmerge.h"

size_t nm_merge(const unsigned char *is_eval, size_t nnative, size_t npython,
                const uint16_t *groups, size_t ngroups, nm_item *out, size_t max)
{
    /* take[i]: how many Python frames native frame i stands for; the
     * innermost groups first, the rest to the outermost eval frame */
    uint32_t take[256] = {0};
    size_t left = npython, g = 0, outermost = nnative, n = 0;
    if (nnative > 256)
        nnative = 256;
    for (size_t i = 0; i < nnative; i++) {
        if (!is_eval[i])
            continue;
        outermost = i;
        size_t want = groups && g < ngroups ? groups[g] : 0;
        g++;
        if (want > left)
            want = left;
        take[i] = (uint32_t)want;
        left -= want;
    }
    if (outermost < nnative)
        take[outermost] += (uint32_t)left;
    else if (left) {
        /* no interpreter frame found: the Python stack goes on top */
        for (size_t k = 0; k < npython && n < max; k++)
            out[n++] = (nm_item){1, (uint32_t)k};
        left = 0;
    }
    size_t next_py = 0;
    for (size_t j = nnative; j-- > 0 && n < max;) {
        if (is_eval[j] && take[j]) {
            for (uint32_t k = 0; k < take[j] && n < max; k++)
                out[n++] = (nm_item){1, (uint32_t)next_py++};
        } else {
            out[n++] = (nm_item){0, (uint32_t)j};
        }
    }
    return n;
}
