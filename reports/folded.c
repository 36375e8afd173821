/*
 * folded.c - Brendan Gregg's collapsed stacks, the input of flamegraph.pl,
 * inferno and speedscope (flame.h).
 *
 * The format repeats each path in full on its line, so its size grows with
 * the square of the depth; the writer does not: it escapes each frame's
 * name once and keeps the current path's line, frame by frame, as it walks
 * the tree.
 */
#include "flame.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

uint64_t fl__folded_warn_bytes = 100000000;

/* Whether the character at s passes unescaped; its length in *n. */
static int plain(const unsigned char *s, size_t *n)
{
    *n = 1;
    if (*s < 0x80)
        return *s != ';' && *s != '\\' && *s >= 0x20 && *s != 0x7f;
    /* a whole valid sequence passes, anything else is escaped */
    *n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : 2;
    if (strnlen((const char *)s, *n) < *n || !jw_is_utf8((const char *)s, *n)) {
        *n = 1;
        return 0;
    }
    /* U+2028, U+2029: line breaks to JavaScript's regular expressions */
    if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
        *n = 1;
        return 0;
    }
    return 1;
}

size_t fl_put_folded_name(FILE *out, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t written = 0, run = 0, n;
    while (s[run]) {
        if (plain(s + run, &n)) {
            run += n;
            continue;
        }
        fwrite(s, 1, run, out);
        written += run;
        s += run;
        run = 0;
        if (*s == '\\') {
            fputs("\\\\", out);
            written += 2;
        } else {
            fprintf(out, "\\x%02x", *s);
            written += 4;
        }
        s++;
    }
    fwrite(s, 1, run, out);
    return written + run;
}

/* Every frame's name as it goes on a line: names + at[f], at[f + 1] - at[f]
 * bytes long.  NULL when out of memory. */
static char *escaped_names(const fl_graph *g, size_t *at)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return NULL;
    at[0] = 0;
    for (size_t f = 0; f < g->nframes; f++)
        at[f + 1] = at[f] + fl_put_folded_name(m, g->frames[f].name);
    if (fclose(m) != 0 || len != at[g->nframes]) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void warn_size(void)
{
    uint64_t n = fl__folded_warn_bytes;
    fprintf(stderr, "opprof: the folded output passed %" PRIu64 " %s: folded stacks repeat "
            "every path in full; speedscope or html grow linearly\n",
            n >= 1000000 ? n / 1000000 : n, n >= 1000000 ? "MB" : "bytes");
}

int fl_write_folded(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                    size_t errlen)
{
    fl_graph g;
    if (fl_build(p, o, 0, &g, err, errlen) < 0)
        return -1;
    size_t *at = malloc((g.nframes + 1) * sizeof *at);
    size_t *end = calloc(g.height + 1, sizeof *end);   /* end[d]: the line up to depth d */
    char *names = at ? escaped_names(&g, at) : NULL, *line = NULL;
    size_t cap = 0;
    uint64_t bytes = 0;
    int rc = 0;
    if (!at || !end || !names) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < g.nnodes && !ferror(out); i++) {
        const fl_node *v = &g.nodes[i];
        size_t len = end[v->depth], name = at[v->frame + 1] - at[v->frame];
        if (len + name + 32 > cap) {
            size_t c = 2 * cap > len + name + 32 ? 2 * cap : len + name + 32;
            char *l = realloc(line, c);
            if (!l) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            line = l;
            cap = c;
        }
        if (v->depth)
            line[len++] = ';';
        memcpy(line + len, names + at[v->frame], name);
        end[v->depth + 1] = len += name;
        if (!v->weight)
            continue;
        len += (size_t)snprintf(line + len, 32, " %" PRIu64 "\n", v->weight);
        fwrite(line, 1, len, out);
        if (bytes <= fl__folded_warn_bytes && bytes + len > fl__folded_warn_bytes)
            warn_size();
        bytes += len;
    }
    free(at);
    free(end);
    free(names);
    free(line);
    fl_release(&g);
    if (rc < 0)
        return -1;
    return fflush(out) != 0 || ferror(out) ? fl_write_error(err, errlen) : 0;
}
