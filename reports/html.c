/*
 * html.c - one self-contained HTML page (flame.h): the profile's graph and
 * tables as JSON in the page, drawn by a small script of our own
 * (reports/html/flame.js, flame.css, compiled in by the Makefile), so the
 * page fetches nothing and works from a file:// URL or an e-mail.
 *
 * The numbers come from the same code as the text report (report_text.h:
 * histograms, ranking), so the page and the terminal agree.
 */
#include "flame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "explorer.h"
#include "jsonw.h"
#include "report_text.h"

/* Generated from reports/html/ at build time (Makefile: html_assets.c). */
extern const unsigned char fl_html_js[];
extern const unsigned char fl_html_css[];
extern const unsigned char fl_html_explorer_js[];
extern const unsigned char fl_html_explorer_css[];

#define TOP_OPS 15
#define TOP_FUNCTIONS 30

static int scope_module(pf_scope s) { return s == PF_SCOPE_MODULE; }
/* as in the text report: class bodies are neither side */
static int scope_local(pf_scope s) { return s > PF_SCOPE_CLASS && s < PF_SCOPE_COUNT; }

static void put_header(jw *w, const pf_profile *p, const fl_graph *g, const fl_options *o)
{
    jw_key(w, "argv");
    jw_begin_array(w);
    for (size_t i = 0; i < p->argc; i++)
        jw_string(w, p->argv[i]);
    jw_end_array(w);
    jw_key(w, "python");
    jw_string(w, p->python_version ? p->python_version : "");
    jw_key(w, "collector");
    jw_string(w, p->collector ? p->collector : "");
    jw_key(w, "counted");
    jw_bool(w, p->counted);
    jw_key(w, "timed");
    jw_bool(w, p->timed);
    jw_key(w, "stacks");
    jw_bool(w, g->from_stacks);
    jw_key(w, "opcodes");
    jw_bool(w, o->opcodes);
    jw_key(w, "metric");
    jw_string(w, fl_metric_name(g->metric));
    jw_key(w, "instructions");
    jw_uint(w, p->instructions);
    jw_key(w, "time_ns");
    jw_uint(w, p->time_ns);
    jw_key(w, "wall_ns");
    jw_uint(w, p->wall_ns);
    jw_key(w, "samples_taken");
    jw_uint(w, p->samples);
    jw_key(w, "incomplete");
    jw_bool(w, p->incomplete);
    const char *note = fl_note(p, o);
    jw_key(w, "note");
    if (note)
        jw_string(w, note);
    else
        jw_null(w);
}

/* The call tree, node by node in the graph's order: [parent (-1 for a
 * root), frame, instructions, time_ns], self counts of both metrics and
 * the nodes either has, so that the page can switch between them and its
 * hover shows true counts and times.  A node is a few bytes however deep
 * it is: the page grows with the tree, not with the depth of its paths. */
static void put_graph(jw *w, const fl_graph *g)
{
    jw_key(w, "frames");
    jw_begin_array(w);
    for (size_t i = 0; i < g->nframes; i++) {
        jw_begin_array(w);
        jw_string(w, g->frames[i].name);
        if (g->frames[i].file)
            jw_string(w, g->frames[i].file);
        else
            jw_null(w);
        jw_int(w, g->frames[i].line);
        /* the explorer's function (its id), -1 for an opcode */
        jw_int(w, g->frames[i].function == FL_NO_FUNCTION ? -1 : (int64_t)g->frames[i].function);
        jw_end_array(w);
    }
    jw_end_array(w);
    jw_key(w, "nodes");
    jw_begin_array(w);
    for (size_t i = 0; i < g->nnodes; i++) {
        const fl_node *v = &g->nodes[i];
        jw_begin_array(w);
        jw_int(w, v->parent == FL_NO_NODE ? -1 : (int64_t)v->parent);
        jw_uint(w, v->frame);
        jw_uint(w, v->instructions);
        jw_uint(w, v->time_ns);
        jw_end_array(w);
    }
    jw_end_array(w);
}

static void put_scopes(jw *w, const pf_profile *p)
{
    uint64_t count[PF_SCOPE_COUNT] = {0}, time[PF_SCOPE_COUNT] = {0};
    uint64_t samples[PF_SCOPE_COUNT] = {0};
    int present[PF_SCOPE_COUNT] = {0};
    for (size_t i = 0; i < p->nfunctions; i++) {
        const pf_function *f = &p->functions[i];
        if ((unsigned)f->scope >= PF_SCOPE_COUNT)
            continue;
        present[f->scope] = 1;
        count[f->scope] += f->instructions;
        time[f->scope] += f->time_ns;
        samples[f->scope] += pf_function_samples(f);
    }
    jw_key(w, "scopes");
    jw_begin_array(w);
    for (int s = 0; s < PF_SCOPE_COUNT; s++) {
        if (!present[s])
            continue;
        jw_begin_array(w);
        jw_string(w, pf_scope_name((pf_scope)s));
        jw_uint(w, count[s]);
        jw_uint(w, time[s]);
        jw_uint(w, samples[s]);
        jw_end_array(w);
    }
    jw_end_array(w);
}

/* One side of the comparison: its top opcodes and its name-access groups. */
static void put_side(jw *w, const rt_hist *h)
{
    uint64_t gc[3] = {0}, gt[3] = {0};
    jw_begin_object(w);
    jw_key(w, "count");
    jw_uint(w, h->count);
    jw_key(w, "time_ns");
    jw_uint(w, h->time_ns);
    jw_key(w, "rows");
    jw_uint(w, h->nonzero);
    jw_key(w, "ops");
    jw_begin_array(w);
    for (size_t i = 0; i < h->nonzero && i < TOP_OPS; i++) {
        jw_begin_array(w);
        jw_string(w, h->ops[i].name);
        jw_uint(w, h->ops[i].count);
        jw_uint(w, h->ops[i].time_ns);
        jw_uint(w, h->ops[i].samples);
        jw_end_array(w);
    }
    jw_end_array(w);
    for (size_t i = 0; i < h->nops; i++) {
        int k = rt_name_group(h->ops[i].name);
        gc[k] += h->ops[i].count;
        gt[k] += h->ops[i].time_ns;
    }
    jw_key(w, "dict");
    jw_begin_array(w);
    jw_uint(w, gc[1]);
    jw_uint(w, gt[1]);
    jw_end_array(w);
    jw_key(w, "array");
    jw_begin_array(w);
    jw_uint(w, gc[2]);
    jw_uint(w, gt[2]);
    jw_end_array(w);
    jw_end_object(w);
}

static int put_comparison(jw *w, const pf_profile *p)
{
    rt_options ro;
    rt_options_init(&ro);
    rt_ctx c = {p, &ro, NULL, 100, TOP_OPS};
    c.by_count = !p->timed;    /* the text report's default order */
    rt_hist mod, fun;
    if (rt_names_init(&c) < 0)
        return -1;
    if (rt_hist_build(&c, scope_module, &mod) < 0) {
        rt_names_release(&c);
        return -1;
    }
    if (rt_hist_build(&c, scope_local, &fun) < 0) {
        rt_hist_release(&mod);
        rt_names_release(&c);
        return -1;
    }
    rt_hist_sort(&c, &mod);
    rt_hist_sort(&c, &fun);
    jw_key(w, "by_count");
    jw_bool(w, c.by_count);
    jw_key(w, "module");
    put_side(w, &mod);
    jw_key(w, "function");
    put_side(w, &fun);
    rt_hist_release(&mod);
    rt_hist_release(&fun);
    rt_names_release(&c);
    return 0;
}

static int put_functions(jw *w, const pf_profile *p)
{
    size_t *r = pf_functions_by_weight(p);
    if (!r)
        return -1;
    jw_key(w, "functions");
    jw_begin_array(w);
    for (size_t i = 0, n = 0; i < p->nfunctions && n < TOP_FUNCTIONS; i++) {
        const pf_function *f = &p->functions[r[i]];
        if (!f->time_ns && !f->instructions && !f->calls)
            continue;   /* what never ran is no row */
        n++;
        jw_begin_object(w);
        jw_key(w, "id");
        jw_uint(w, r[i]);
        jw_key(w, "qualname");
        jw_string(w, f->qualname ? f->qualname : "?");
        jw_key(w, "file");
        jw_string(w, fl_relative_file(p, f->file));
        jw_key(w, "line");
        jw_int(w, f->firstlineno);
        jw_key(w, "scope");
        jw_string(w, pf_scope_name(f->scope));
        jw_key(w, "calls");
        jw_uint(w, f->calls);
        jw_key(w, "instructions");
        jw_uint(w, f->instructions);
        jw_key(w, "time_ns");
        jw_uint(w, f->time_ns);
        jw_key(w, "samples");
        jw_uint(w, pf_function_samples(f));
        jw_key(w, "cumulative_ns");
        if (p->timed && p->stacks_enabled)
            jw_uint(w, f->cumulative_ns);
        else
            jw_null(w);
        jw_end_object(w);
    }
    jw_end_array(w);
    free(r);
    return 0;
}

/* The terminal report, for what the page does not draw (the verdict). */
static int put_report(jw *w, const pf_profile *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return -1;
    rt_options ro;
    rt_options_init(&ro);
    int rc = rt_render(p, &ro, m);
    if (fclose(m) != 0)
        rc = -1;
    if (rc == 0) {
        jw_key(w, "report");
        jw_string_n(w, buf, len);
    }
    free(buf);
    return rc;
}

/* The data as JSON, in memory: it goes into a <script> element. */
static char *page_data(const pf_profile *p, const fl_options *o, const fl_graph *g,
                       const hx_page *x, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    if (!m)
        return NULL;
    jw w;
    jw_init(&w, m, 0);
    jw_begin_object(&w);
    put_header(&w, p, g, o);
    put_graph(&w, g);
    put_scopes(&w, p);
    int bad = put_comparison(&w, p) < 0 || put_functions(&w, p) < 0 || put_report(&w, p) < 0;
    jw_key(&w, "explorer");
    hx_put_index(&w, x, p);
    jw_end_object(&w);
    bad |= jw_finish(&w) < 0;
    bad |= fclose(m) != 0;
    if (bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void put_html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default:
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, out);
        }
    }
}

int fl_write_html(const pf_profile *p, const fl_options *o, FILE *out, char *err,
                  size_t errlen)
{
    fl_graph g;
    size_t len = 0;
    if (fl_build(p, o, FL_BOTH_METRICS, &g, err, errlen) < 0)
        return -1;
    /* a reader may have built it as it read the functions */
    hx_page *own = o->explorer ? NULL : hx_build(p), *x = o->explorer ? o->explorer : own;
    char *data = x ? page_data(p, o, &g, x, &len) : NULL;
    fl_release(&g);
    if (!data) {
        hx_release(own);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>opprof: ", out);
    for (size_t i = 0; i < p->argc; i++) {
        if (i)
            fputc(' ', out);
        put_html_text(out, p->argv[i]);
    }
    fprintf(out, "</title>\n<style>\n%s%s</style>\n</head>\n<body>\n"
            "<noscript>This page draws its flame graph with JavaScript.</noscript>\n"
            "<script type=\"application/json\" id=\"opprof-data\">", (const char *)fl_html_css,
            (const char *)fl_html_explorer_css);
    /* '<' only occurs inside JSON strings, where \u003c means the same and
     * no "</script>" can end the element early */
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '<')
            fputs("\\u003c", out);
        else
            fputc(data[i], out);
    }
    free(data);
    fputs("</script>\n", out);
    int bad = hx_put_chunks(out, x) < 0;
    hx_release(own);
    fprintf(out, "<script>\n%s</script>\n<script>\n%s</script>\n</body>\n</html>\n",
            (const char *)fl_html_explorer_js, (const char *)fl_html_js);
    if (bad && !ferror(out)) {
        snprintf(err, errlen, "the explorer's temporary file: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    return fflush(out) != 0 || ferror(out) ? fl_write_error(err, errlen) : 0;
}
