/*
 * speedscope.c - a speedscope file (flame.h): the frames once, in
 * "shared", and one evented profile per thread on an axis of instructions
 * or nanoseconds.  speedscope's own format keeps file and line apart from
 * the name, and keeps threads apart; folded stacks do not.
 *
 * Evented, not sampled: a sample lists its whole stack, an event names
 * one frame, so the file grows with the nodes and not with their depth.
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

static void put_event(jw *w, const char *type, uint32_t frame, uint64_t at)
{
    jw_begin_object(w);
    jw_key(w, "type");
    jw_string(w, type);
    jw_key(w, "frame");
    jw_uint(w, frame);
    jw_key(w, "at");
    jw_uint(w, at);
    jw_end_object(w);
}

/* Thread t's nodes from node i on: each opens where the line has got to,
 * its subtree follows, then its self weight, and it closes.  `path` (room
 * for the graph's height) holds the path the walk is in.  Returns the
 * first node of the next thread. */
static size_t put_events(jw *w, const fl_graph *g, size_t i, size_t t, uint32_t *path)
{
    uint64_t at = 0;
    size_t depth = 0;
    for (;; i++) {
        int more = i < g->nnodes && g->nodes[i].thread == t;
        size_t keep = more ? g->nodes[i].depth : 0;
        while (depth > keep) {
            const fl_node *v = &g->nodes[path[--depth]];
            at += v->weight;
            put_event(w, "C", v->frame, at);
        }
        if (!more)
            return i;
        put_event(w, "O", g->nodes[i].frame, at);
        path[depth++] = (uint32_t)i;
    }
}

int fl_write_speedscope(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                        size_t errlen)
{
    fl_graph g;
    if (fl_build(p, o, FL_BY_THREAD, &g, err, errlen) < 0)
        return -1;
    uint32_t *path = malloc((g.height + 1) * sizeof *path);
    if (!path) {
        fl_release(&g);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
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
    size_t i = 0;
    for (size_t t = 0; t < g.nthreads; t++) {
        jw_begin_object(&w);
        jw_key(&w, "type");
        jw_string(&w, "evented");
        jw_key(&w, "name");
        jw_string(&w, g.threads[t]);
        jw_key(&w, "unit");
        jw_string(&w, g.metric == FL_METRIC_TIME ? "nanoseconds" : "none");
        jw_key(&w, "startValue");
        jw_uint(&w, 0);
        jw_key(&w, "endValue");
        jw_uint(&w, g.thread_total[t]);
        jw_key(&w, "events");
        jw_begin_array(&w);
        i = put_events(&w, &g, i, t, path);
        jw_end_array(&w);
        jw_end_object(&w);
    }
    jw_end_array(&w);
    jw_end_object(&w);
    free(path);
    fl_release(&g);
    if (jw_finish(&w) < 0)
        return fl_write_error(err, errlen);
    return 0;
}
