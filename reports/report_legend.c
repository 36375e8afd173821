/*
 * report_legend.c - the report's last section: what each opcode its
 * tables showed means, one line each, from the glossary (glossary.h).
 */
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "report_text.h"
#include "wrap.h"

int rt_legend_add(rt_legend *l, const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        const char **v = realloc(l->names, cap * sizeof *v);
        if (!v) {
            l->failed = 1;
            return -1;
        }
        l->names = v;
        l->cap = cap;
    }
    l->names[l->n++] = name;
    return 0;
}

void rt_legend_release(rt_legend *l)
{
    free(l->names);
    memset(l, 0, sizeof *l);
}

void rt_put_legend(const rt_ctx *c)
{
    const rt_legend *l = c->legend;
    if (!l || !l->n)
        return;
    int wname = 0;
    for (size_t i = 0; i < l->n; i++) {
        int w = (int)strlen(l->names[i]);
        wname = w > wname ? w : wname;
    }
    rt_heading(c, "legend (opprof explain NAME tells more; --no-legend leaves this out)");
    for (size_t i = 0; i < l->n; i++) {
        const char *meaning = ex_short(l->names[i]);
        fputs("  ", c->out);
        rt_put_plain(c->out, l->names[i]);
        rt_pad(c->out, wname - (int)strlen(l->names[i]) + 2);
        wr_words(c->out, c->width, meaning ? meaning : "(not in opprof's glossary)", wname + 4,
                 wname + 4);
    }
}
