/*
 * report_findings.c - the report's "findings" section (findings.h): what
 * the numbers say about the code, with evidence and a change to try.
 */
#include <string.h>

#include "findings.h"
#include "report_text.h"
#include "wrap.h"

int rt_put_findings(const rt_ctx *c)
{
    rt_heading(c, "findings (what the numbers say; README \"Findings\" gives the thresholds)");
    if (!c->p->counted) {
        fputs("  findings need exact counts: this profile has sampled times only (--time-only)\n",
              c->out);
        return 0;
    }
    fd_list l;
    if (fd_find(c->p, &l) < 0)
        return -1;
    if (!l.n)
        fputs("  nothing stands out: no hot loop at module level, global or attribute lookups\n"
              "  repeated in loops, exceptions as control flow or cheap generator items above\n"
              "  the thresholds\n", c->out);
    for (size_t i = 0; i < l.n && i < 8; i++) {
        const fd_finding *f = &l.v[i];
        char head[32];
        int k = snprintf(head, sizeof head, "  %zu. [%s]", i + 1, fd_kind_name(f->kind));
        rt_sgr(c, "1");
        fputs(head, c->out);
        rt_sgr(c, "0");
        fputc(' ', c->out);
        wr_words(c->out, c->width, f->title, k + 1, 7);
        fputs("     evidence: ", c->out);
        wr_words(c->out, c->width, f->evidence, 15, 7);
        fputs("     try: ", c->out);
        wr_words(c->out, c->width, f->change, 10, 7);
    }
    if (l.n > 8)
        fprintf(c->out, "  ... %zu more\n", l.n - 8);
    fd_list_release(&l);
    return 0;
}
