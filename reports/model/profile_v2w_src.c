/*
 * profile_v2w_src.c - the v2 writer's "sources" (profile_v2w.h): the
 * source text of the lines of the functions that ran, per file, its line
 * numbers as steps and its text zlib-compressed in base64.
 */
#include "profile_v2w.h"

#include <stdlib.h>
#include <zlib.h>

#include "sourcetext.h"

/* Python source deflates 3-4x at any level: on a run of two CPython test
 * modules (1.3 MB of lines) level 6, zlib's default, made the profile 2%
 * smaller than 1 and took 20 ms more at the end of the run. */
#define LEVEL 1

void v2w_put_sources(v2 *x)
{
    const pf_profile *p = x->p;
    jw *w = x->w;
    if (!p->nsources && !p->sources_omitted)
        return;
    jw_key(w, "sources");
    jw_begin_object(w);
    jw_key(w, "omitted");
    jw_uint(w, p->sources_omitted);
    jw_key(w, "files");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nsources; i++) {
        const pf_source *s = &p->sources[i];
        int64_t file = stt_find(&x->strings, s->file);
        char *text = s->nlines ? stx_encode(s, LEVEL) : NULL;
        if (!s->nlines || file < 0 || !text) {
            x->oom |= s->nlines != 0;   /* interned with the functions' names */
            free(text);
            continue;
        }
        jw_begin_object(w);
        jw_key(w, "file");
        jw_uint(w, (uint64_t)file);
        jw_key(w, "lines");
        jw_begin_array(w);
        v2w_runs r = {w, 0, 0, 0};
        for (size_t k = 0; k < s->nlines; k++)
            v2w_runs_put(&r, s->lines[k] - (k ? s->lines[k - 1] : 0));
        v2w_runs_flush(&r);
        jw_end_array(w);
        jw_key(w, "text");
        jw_string(w, text);
        jw_end_object(w);
        free(text);
    }
    jw_end_array(w);
    jw_end_object(w);
}
