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

static double pct_of(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int pf_summary_write(const pf_profile *p, FILE *out, size_t top)
{
    size_t *order = pf_functions_by_instructions(p);
    if (!order)
        return -1;
    if (p->counted)
        fprintf(out, "opprof: %" PRIu64 " instructions in %zu functions, ", p->instructions,
                p->nfunctions);
    else
        fprintf(out, "opprof: %zu functions (--time-only: no counts), ", p->nfunctions);
    fprintf(out, "%.3f s wall", (double)p->wall_ns / 1e9);
    if (p->timed)
        fprintf(out, ", %.3f s CPU sampled (%" PRIu64 " samples, %.1f%% in opprof)",
                (double)p->sampled_ns / 1e9, p->samples, pct_of(p->overhead_ns, p->sampled_ns));
    fprintf(out, ", Python %s%s\n", p->python_version ? p->python_version : "?",
            p->incomplete ? " (incomplete)" : "");
    if (p->incomplete_reason)
        fprintf(out, "opprof: incomplete: %s\n", p->incomplete_reason);
    if (top > p->nfunctions)
        top = p->nfunctions;
    if (top)
        fprintf(out, "opprof: %14s %6s %10s %6s %10s  %s\n", "instructions", "%", "self ms", "%",
                "calls", "function");
    for (size_t i = 0; i < top; i++) {
        const pf_function *f = &p->functions[order[i]];
        if (f->instructions == 0 && f->time_ns == 0)
            break;
        fprintf(out, "opprof: %14" PRIu64 " %5.1f%% %10.1f %5.1f%% %10" PRIu64 "  %s (%s:%d)\n",
                f->instructions, pct_of(f->instructions, p->instructions),
                (double)f->time_ns / 1e6, pct_of(f->time_ns, p->time_ns), f->calls, f->qualname,
                basename_of(f->file), f->firstlineno);
    }
    free(order);
    return ferror(out) ? -1 : 0;
}
