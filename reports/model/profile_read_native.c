/*
 * profile_read_native.c - what a fatal signal and --native leave in a
 * profile, read back (v1 and v2: the header's "crash", "native_sampling",
 * "native_stacks" and "native_modules").
 */
#include "profile_read_v2.h"

#include <stdlib.h>
#include <string.h>

int pfr_read_crash(rd *r, json_t *c)
{
    if (!c)
        return 0;
    pf_crash *k = pf_crash_get(r->p);
    json_t *nat = json_object_get(c, "native_backtrace");
    json_t *py = json_object_get(c, "python_stack");
    if (!k)
        return pfr_fail(r, "out of memory");
    if (!json_is_object(c) || !json_is_array(nat) || !json_is_array(py))
        return pfr_fail(r, "field \"crash\" has no native_backtrace or python_stack");
    if (pfr_get_string(r, c, "thread", &k->thread, 0) < 0 && !json_is_null(json_object_get(c, "thread")))
        return -1;
    k->native = calloc(json_array_size(nat) + 1, sizeof *k->native);
    k->python = calloc(json_array_size(py) + 1, sizeof *k->python);
    if (!k->native || !k->python || pfr_get_uint(r, c, "address", &k->address, 0) < 0)
        return k->native && k->python ? -1 : pfr_fail(r, "out of memory");
    for (size_t i = 0; i < json_array_size(nat); i++) {
        pf_native_frame *f = &k->native[k->nnative++];
        json_t *o = json_array_get(nat, i);
        if (pfr_get_uint(r, o, "address", &f->address, 1) < 0 ||
            pfr_get_uint(r, o, "offset", &f->offset, 0) < 0 ||
            pfr_get_string(r, o, "function", &f->function, 0) < 0 ||
            pfr_get_string(r, o, "module", &f->module, 0) < 0)
            return -1;
    }
    for (size_t i = 0; i < json_array_size(py); i++) {
        pf_crash_frame *f = &k->python[k->npython++];
        json_t *o = json_array_get(py, i);
        if (pfr_get_string(r, o, "function", &f->function, 1) < 0 ||
            pfr_get_string(r, o, "file", &f->file, 1) < 0 || pfr_get_int(r, o, "line", &f->line) < 0)
            return -1;
    }
    return 0;
}

/* [[label, module], ...]: distinct labels, sorted (pf_native_module). */
static int read_native_modules(rd *r, json_t *mods)
{
    pf_profile *p = r->p;
    size_t n = json_array_size(mods);
    if (mods && !(p->native_modules = calloc(n + 1, sizeof *p->native_modules)))
        return pfr_fail(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(mods, i);
        const char *label = json_string_value(json_array_get(m, 0));
        const char *module = json_string_value(json_array_get(m, 1));
        if (json_array_size(m) != 2 || !label || !module ||
            (i && strcmp(p->native_modules[i - 1].label, label) >= 0))
            return pfr_fail(r, "native_modules[%zu] is not a [label, module] pair of strings, "
                        "by label, distinct", i);
        pf_native_module *x = &p->native_modules[p->nnative_modules++];
        if (pf_set_string(&x->label, label) < 0 || pf_set_string(&x->module, module) < 0)
            return pfr_fail(r, "out of memory");
    }
    return mods && !json_is_array(mods) ? pfr_fail(r, "field \"native_modules\" is not an array") : 0;
}

int pfr_read_native(rd *r, json_t *stats, json_t *stacks, json_t *mods)
{
    if (!stats && !stacks && !mods)
        return 0;
    pf_native_stats *n = &r->p->native_stats;
    r->p->native = 1;
    if (!json_is_object(stats) || !json_is_array(stacks))
        return pfr_fail(r, "fields \"native_sampling\" and \"native_stacks\" go together");
    if (pfr_get_uint(r, stats, "samples", &n->samples, 1) < 0 ||
        pfr_get_uint(r, stats, "merged", &n->merged, 0) < 0 ||
        pfr_get_uint(r, stats, "native_only", &n->native_only, 0) < 0 ||
        pfr_get_uint(r, stats, "dropped", &n->dropped, 0) < 0 ||
        pfr_get_uint(r, stats, "unresolved_frames", &n->unresolved, 0) < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(stacks); i++) {
        json_t *so = json_array_get(stacks, i);
        json_t *frames = json_object_get(so, "frames");
        json_t *thread = json_object_get(so, "thread");
        pf_native_stack *s = pf_add_native_stack(r->p);
        if (!s)
            return pfr_fail(r, "out of memory");
        if (!json_is_array(frames) || !json_is_string(thread))
            return pfr_fail(r, "native stack %zu has no frames or thread", i);
        int t = pf_thread_index(r->p, json_string_value(thread));
        s->frames = calloc(json_array_size(frames) + 1, sizeof *s->frames);
        if (t < 0 || !s->frames)
            return pfr_fail(r, "out of memory");
        s->thread = (uint32_t)t;
        for (size_t k = 0; k < json_array_size(frames); k++) {
            json_t *f = json_array_get(frames, k);
            if (!json_is_string(f))
                return pfr_fail(r, "native stack %zu has a frame that is not a string", i);
            if (pf_set_string(&s->frames[s->nframes++], json_string_value(f)) < 0)
                return pfr_fail(r, "out of memory");
        }
        if (pfr_get_uint(r, so, "samples", &s->samples, 1) < 0 ||
            pfr_get_uint(r, so, "time_ns", &s->time_ns, 0) < 0)
            return -1;
    }
    return read_native_modules(r, mods);
}
