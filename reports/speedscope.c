/*
 * speedscope.c - a speedscope file (flame.h): the frames once, in
 * "shared", and one sampled profile per thread whose weights are
 * instructions or nanoseconds.  speedscope's own format keeps file and
 * line apart from the name, and keeps threads apart; folded stacks do not.
 */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* "scope_loop.py 100 (instructions)": what speedscope shows as the title. */
static void put_title(jw *w, const pf_profile *p, const fl_graph *g)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m) {
        for (size_t i = 0; i < p->argc; i++)
            fprintf(m, "%s%s", i ? " " : "", p->argv[i]);
        fprintf(m, "%s(%s)", p->argc ? " " : "", g->metric == FL_METRIC_TIME
                                                     ? "CPU time" : "instructions");
    }
    if (!m || fclose(m) != 0) {
        w->error = 1;
        free(buf);
        return;
    }
    jw_string(w, buf);
    free(buf);
}

int fl_write_speedscope(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                        size_t errlen)
{
    fl_graph g;
    if (fl_build(p, o, FL_BY_THREAD, &g, err, errlen) < 0)
        return -1;
    jw w;
    jw_init(&w, out, 0);
    jw_begin_object(&w);
    jw_key(&w, "$schema");
    jw_string(&w, SPEEDSCOPE_SCHEMA);
    jw_key(&w, "exporter");
    jw_string(&w, "opprof");
    jw_key(&w, "name");
    put_title(&w, p, &g);
    jw_key(&w, "activeProfileIndex");
    jw_uint(&w, 0);
    jw_key(&w, "shared");
    jw_begin_object(&w);
    jw_key(&w, "frames");
    jw_begin_array(&w);
    for (size_t i = 0; i < g.nframes; i++) {
        const fl_frame *f = &g.frames[i];
        jw_begin_object(&w);
        jw_key(&w, "name");
        jw_string(&w, f->name);
        if (f->file) {
            jw_key(&w, "file");
            jw_string(&w, f->file);
            jw_key(&w, "line");
            jw_int(&w, f->line);
        }
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_end_object(&w);
    jw_key(&w, "profiles");
    jw_begin_array(&w);
    size_t s = 0;
    for (size_t t = 0; t < g.nthreads; t++) {
        jw_begin_object(&w);
        jw_key(&w, "type");
        jw_string(&w, "sampled");
        jw_key(&w, "name");
        jw_string(&w, g.threads[t]);
        jw_key(&w, "unit");
        jw_string(&w, g.metric == FL_METRIC_TIME ? "nanoseconds" : "none");
        jw_key(&w, "startValue");
        jw_uint(&w, 0);
        jw_key(&w, "endValue");
        jw_uint(&w, g.thread_total[t]);
        size_t first = s;
        jw_key(&w, "samples");
        jw_begin_array(&w);
        for (; s < g.nsamples && g.samples[s].thread == t; s++) {
            jw_begin_array(&w);
            for (size_t k = 0; k < g.samples[s].nframes; k++)
                jw_uint(&w, g.samples[s].frames[k]);
            jw_end_array(&w);
        }
        jw_end_array(&w);
        jw_key(&w, "weights");
        jw_begin_array(&w);
        for (size_t k = first; k < s; k++)
            jw_uint(&w, g.samples[k].weight);
        jw_end_array(&w);
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_end_object(&w);
    fl_release(&g);
    if (jw_finish(&w) < 0)
        return fl_write_error(err, errlen);
    return 0;
}
