/*
 * summary.c - totals and top functions, for the end of `opprof run`.
 */
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The file's last path component: a summary line has little room. */
static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int pf_summary_write(const pf_profile *p, FILE *out, size_t top)
{
    size_t *order = pf_functions_by_instructions(p);
    if (!order)
        return -1;
    fprintf(out, "opprof: %" PRIu64 " instructions in %zu functions, "
                 "%.3f s wall, Python %s%s\n",
            p->instructions, p->nfunctions, (double)p->wall_ns / 1e9,
            p->python_version ? p->python_version : "?",
            p->incomplete ? " (incomplete)" : "");
    if (p->incomplete_reason)
        fprintf(out, "opprof: incomplete: %s\n", p->incomplete_reason);
    if (top > p->nfunctions)
        top = p->nfunctions;
    if (top)
        fprintf(out, "opprof: %14s %6s %10s  %s\n", "instructions", "%",
                "calls", "function");
    for (size_t i = 0; i < top; i++) {
        const pf_function *f = &p->functions[order[i]];
        if (f->instructions == 0)
            break;
        double pct = p->instructions
                         ? 100.0 * (double)f->instructions / (double)p->instructions
                         : 0.0;
        fprintf(out, "opprof: %14" PRIu64 " %5.1f%% %10" PRIu64 "  %s (%s:%d)\n",
                f->instructions, pct, f->calls, f->qualname,
                basename_of(f->file), f->firstlineno);
    }
    free(order);
    return ferror(out) ? -1 : 0;
}
