/*
 * folded.c - Brendan Gregg's collapsed stacks, the input of flamegraph.pl,
 * inferno and speedscope (flame.h).
 */
#include "flame.h"

#include <inttypes.h>
#include <string.h>

#include "jsonw.h"

void fl_put_folded_name(FILE *out, const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    while (*s) {
        size_t n = 1;
        if (*s >= 0x80) {   /* a whole valid sequence passes, anything else is escaped */
            n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : 2;
            if (strnlen((const char *)s, n) < n || !jw_is_utf8((const char *)s, n))
                n = 0;
            /* U+2028, U+2029: line breaks to JavaScript's regular expressions */
            else if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
                n = 0;
            if (n) {
                fwrite(s, 1, n, out);
                s += n;
                continue;
            }
            n = 1;
        } else if (*s != ';' && *s != '\\' && *s >= 0x20 && *s != 0x7f) {
            fputc(*s++, out);
            continue;
        }
        if (*s == '\\')
            fputs("\\\\", out);
        else
            fprintf(out, "\\x%02x", *s);
        s += n;
    }
}

int fl_write_folded(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                    size_t errlen)
{
    fl_graph g;
    if (fl_build(p, o, 0, &g, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < g.nsamples; i++) {
        const fl_sample *s = &g.samples[i];
        for (size_t k = 0; k < s->nframes; k++) {
            if (k)
                fputc(';', out);
            fl_put_folded_name(out, g.frames[s->frames[k]].name);
        }
        fprintf(out, " %" PRIu64 "\n", s->weight);
    }
    fl_release(&g);
    return fflush(out) != 0 || ferror(out) ? fl_write_error(err, errlen) : 0;
}
