/*
 * profile_read.c - JSON -> model.  Everything the writer writes is read
 * back; unknown fields are ignored (version 1 may grow), missing required
 * ones are an error.
 */
#include "profile_read.h"

#include "profile_read_v2.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int pfr_fail(rd *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int pfr_get_string(rd *r, json_t *obj, const char *key, char **dst, int required)
{
    json_t *v = json_object_get(obj, key);
    if (!v && !required)
        return 0;
    if (!json_is_string(v))
        return pfr_fail(r, "field \"%s\" is missing or not a string", key);
    if (pf_set_string(dst, json_string_value(v)) < 0)
        return pfr_fail(r, "out of memory");
    return 0;
}

int pfr_get_uint(rd *r, json_t *obj, const char *key, uint64_t *dst, int required)
{
    json_t *v = json_object_get(obj, key);
    if (!v && !required)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return pfr_fail(r, "field \"%s\" is missing or not a count", key);
    *dst = (uint64_t)json_integer_value(v);
    return 0;
}

int pfr_get_int(rd *r, json_t *obj, const char *key, int *dst)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return pfr_fail(r, "field \"%s\" is missing or not an integer", key);
    *dst = (int)json_integer_value(v);
    return 0;
}

static int read_python(rd *r, json_t *py)
{
    pf_profile *p = r->p;
    uint64_t hex = 0;
    if (!json_is_object(py))
        return pfr_fail(r, "field \"python\" is missing");
    if (pfr_get_string(r, py, "version", &p->python_version, 1) < 0 ||
        pfr_get_string(r, py, "implementation", &p->implementation, 1) < 0 ||
        pfr_get_uint(r, py, "hexversion", &hex, 1) < 0 ||
        pfr_get_string(r, py, "build", &p->python_build, 0) < 0 ||
        pfr_get_string(r, py, "prefix", &p->python_prefix, 0) < 0 ||
        pfr_get_string(r, py, "executable", &p->executable, 0) < 0)
        return -1;
    p->hexversion = (unsigned long)hex;
    p->specialization = json_is_true(json_object_get(py, "specialization"));
    return 0;
}

static int read_code(rd *r, pf_function *f, json_t *code)
{
    if (!json_is_array(code))
        return pfr_fail(r, "function %u: \"code\" is not an array", f->id);
    size_t n = json_array_size(code);
    f->code = calloc(n ? n : 1, sizeof *f->code);
    if (!f->code)
        return pfr_fail(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *in = json_array_get(code, i);
        json_t *name = json_object_get(in, "opname");
        json_t *line = json_object_get(in, "line");
        uint64_t off = 0, count = 0, t = 0, samples = 0;
        if (!json_is_object(in) || !json_is_string(name) ||
            pfr_get_uint(r, in, "offset", &off, 1) < 0 || pfr_get_uint(r, in, "count", &count, 1) < 0 ||
            pfr_get_uint(r, in, "time_ns", &t, 0) < 0 || pfr_get_uint(r, in, "samples", &samples, 0) < 0)
            return r->err[0] ? -1 : pfr_fail(r, "function %u: bad instruction %zu", f->id, i);
        int op = pf_opname_index(r->p, json_string_value(name));
        if (op < 0)
            return pfr_fail(r, "out of memory");
        if (samples > PF_MAX_SAMPLES)
            return pfr_fail(r, "function %u: instruction %zu has more samples than 2^32-1", f->id, i);
        f->code[f->ncode++] = (pf_instr){
            .offset = (uint32_t)off, .op = (uint16_t)op,
            .line = json_is_integer(line) ? (int)json_integer_value(line) : -1,
            .count = count};
        if (pf_add_instr_time(f, f->ncode - 1, t, samples) < 0)
            return pfr_fail(r, "out of memory");
    }
    return 0;
}

static int read_listing(rd *r, pf_function *f, json_t *listing)
{
    if (!listing)
        return 0;
    if (!json_is_array(listing))
        return pfr_fail(r, "function %u: \"listing\" is not an array", f->id);
    size_t n = json_array_size(listing);
    f->listing = calloc(n ? n : 1, sizeof *f->listing);
    if (!f->listing)
        return pfr_fail(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(listing, i);
        json_t *off = json_array_get(e, 0), *name = json_array_get(e, 1);
        json_t *arg = json_array_get(e, 2), *repr = json_array_get(e, 3);
        json_t *line = json_array_get(e, 4);
        if (!json_is_array(e) || !json_is_integer(off) || !json_is_string(name) ||
            !json_is_string(repr))
            return pfr_fail(r, "function %u: bad listing entry %zu", f->id, i);
        int op = pf_opname_index(r->p, json_string_value(name));
        pf_listing *l = &f->listing[f->nlisting++];
        l->offset = (uint32_t)json_integer_value(off);
        l->op = (uint16_t)(op < 0 ? 0 : op);
        l->arg = json_is_integer(arg) ? (int32_t)json_integer_value(arg) : -1;
        l->line = json_is_integer(line) ? (int)json_integer_value(line) : -1;
        if (op < 0 || pf_set_string(&l->argrepr, json_string_value(repr)) < 0)
            return pfr_fail(r, "out of memory");
    }
    return 0;
}

static int read_functions(rd *r, json_t *fns)
{
    if (!json_is_array(fns))
        return pfr_fail(r, "field \"functions\" is missing or not an array");
    for (size_t i = 0; i < json_array_size(fns); i++) {
        json_t *fo = json_array_get(fns, i);
        pf_function *f = pf_add_function(r->p);
        if (!f)
            return pfr_fail(r, "out of memory");
        uint64_t id = 0;
        char *scope = NULL;
        if (!json_is_object(fo))
            return pfr_fail(r, "function %zu is not an object", i);
        if (pfr_get_uint(r, fo, "id", &id, 1) < 0 || pfr_get_string(r, fo, "file", &f->file, 1) < 0 ||
            pfr_get_string(r, fo, "name", &f->name, 1) < 0 ||
            pfr_get_string(r, fo, "qualname", &f->qualname, 1) < 0 ||
            pfr_get_int(r, fo, "firstlineno", &f->firstlineno) < 0 ||
            pfr_get_uint(r, fo, "calls", &f->calls, 1) < 0 ||
            pfr_get_uint(r, fo, "instructions", &f->instructions, 1) < 0 ||
            pfr_get_uint(r, fo, "time_ns", &f->time_ns, 0) < 0 ||
            pfr_get_uint(r, fo, "cumulative_ns", &f->cumulative_ns, 0) < 0 ||
            pfr_get_string(r, fo, "scope", &scope, 1) < 0)
            return -1;
        f->scope = pf_scope_from_name(scope);
        free(scope);
        if (id != i)
            return pfr_fail(r, "function %zu has id %llu: ids must be array indices", i,
                        (unsigned long long)id);
        if (f->scope == PF_SCOPE_COUNT)
            return pfr_fail(r, "function %zu: unknown scope", i);
        if (read_code(r, f, json_object_get(fo, "code")) < 0 ||
            read_listing(r, f, json_object_get(fo, "listing")) < 0)
            return -1;
    }
    return 0;
}

static int read_opcounts(rd *r, pf_node *s, json_t *ops)
{
    const char *name;
    json_t *o;
    json_object_foreach(ops, name, o) {
        uint64_t count = 0, t = 0;
        int op = pf_opname_index(r->p, name);
        if (op < 0)
            return pfr_fail(r, "out of memory");
        if (pfr_get_uint(r, o, "count", &count, 1) < 0 || pfr_get_uint(r, o, "time_ns", &t, 0) < 0)
            return -1;
        /* two v1 stacks of one path add up */
        if (pf_node_add_op(s, (uint16_t)op, count, t) < 0)
            return pfr_fail(r, "out of memory");
    }
    return 0;
}

/* v1 stacks are paths with their own counts: the node at the end of each
 * path, made with the nodes above it. */
static int read_stacks(rd *r, json_t *stacks)
{
    if (!stacks)
        return 0;
    if (!json_is_array(stacks))
        return pfr_fail(r, "field \"stacks\" is not an array");
    pf_node_index *x = pf_node_index_new(r->p);
    uint32_t *path = NULL;
    int rc = -1;
    if (!x) {
        pfr_fail(r, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(stacks); i++) {
        json_t *so = json_array_get(stacks, i);
        json_t *frames = json_object_get(so, "frames");
        json_t *thread = json_object_get(so, "thread");
        if (!json_is_array(frames) || !json_is_string(thread) || !json_array_size(frames)) {
            pfr_fail(r, "stack %zu has no frames or thread", i);
            goto done;
        }
        int t = pf_thread_index(r->p, json_string_value(thread));
        uint32_t *pv = realloc(path, (json_array_size(frames) + 1) * sizeof *pv);
        if (t < 0 || !pv) {
            pfr_fail(r, "out of memory");
            goto done;
        }
        path = pv;
        for (size_t k = 0; k < json_array_size(frames); k++) {
            json_t *id = json_array_get(frames, k);
            if (!json_is_integer(id) || json_integer_value(id) < 0 ||
                (size_t)json_integer_value(id) >= r->p->nfunctions) {
                pfr_fail(r, "stack %zu refers to a function that does not exist", i);
                goto done;
            }
            path[k] = (uint32_t)json_integer_value(id);
        }
        int64_t node = pf_node_of_path(x, r->p, (uint32_t)t, path, json_array_size(frames));
        uint64_t n = 0, time = 0;
        if (node < 0) {
            pfr_fail(r, "out of memory");
            goto done;
        }
        if (pfr_get_uint(r, so, "instructions", &n, 1) < 0 || pfr_get_uint(r, so, "time_ns", &time, 0) < 0 ||
            read_opcounts(r, &r->p->nodes[node], json_object_get(so, "opcodes")) < 0)
            goto done;
        pf_node *s = &r->p->nodes[node];
        s->instructions = pf_add_sat(s->instructions, n);
        s->time_ns = pf_add_sat(s->time_ns, time);
    }
    rc = 0;
done:
    free(path);
    pf_node_index_release(x);
    return rc;
}

static int read_argv(rd *r, json_t *argv)
{
    if (!json_is_array(argv))
        return pfr_fail(r, "field \"argv\" is missing or not an array");
    size_t n = json_array_size(argv);
    const char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return pfr_fail(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i] = json_string_value(json_array_get(argv, i));
        if (!v[i]) {
            free(v);
            return pfr_fail(r, "field \"argv\" holds something that is not a string");
        }
    }
    int rc = pf_set_argv(r->p, v, n);
    free(v);
    return rc < 0 ? pfr_fail(r, "out of memory") : 0;
}

static int read_timing(rd *r, json_t *t)
{
    pf_profile *p = r->p;
    uint64_t rate = 0;
    if (!t)
        return 0;
    if (!json_is_object(t))
        return pfr_fail(r, "field \"timing\" is not an object");
    p->timed = 1;
    if (pfr_get_string(r, t, "method", &p->timing_method, 0) < 0 ||
        pfr_get_string(r, t, "clock", &p->timing_clock, 0) < 0 ||
        pfr_get_uint(r, t, "rate_hz", &rate, 0) < 0 || pfr_get_uint(r, t, "samples", &p->samples, 0) < 0 ||
        pfr_get_uint(r, t, "sampled_ns", &p->sampled_ns, 0) < 0 ||
        pfr_get_uint(r, t, "overhead_ns", &p->overhead_ns, 0) < 0 ||
        pfr_get_uint(r, t, "unattributed_ns", &p->unattributed_ns, 0) < 0)
        return -1;
    p->rate_hz = (unsigned)rate;
    return 0;
}

int pfr_header(pf_profile *p, json_t *root, char *err, size_t errlen)
{
    rd rr = {p, err, errlen}, *r = &rr;
    json_t *totals = json_object_get(root, "totals");
    if (read_python(r, json_object_get(root, "python")) < 0 ||
        read_argv(r, json_object_get(root, "argv")) < 0 ||
        pfr_get_int(r, root, "exit_status", &p->exit_status) < 0 ||
        pfr_get_string(r, root, "incomplete_reason", &p->incomplete_reason, 0) < 0 ||
        pfr_get_string(r, root, "collector", &p->collector, 0) < 0 ||
        pfr_get_string(r, root, "root", &p->root, 0) < 0 ||
        pfr_get_string(r, root, "hash_seed", &p->hash_seed, 0) < 0)
        return -1;
    p->incomplete = json_is_true(json_object_get(root, "incomplete"));
    p->counted = !json_is_false(json_object_get(root, "counted"));
    p->stacks_enabled = json_is_true(json_object_get(root, "stacks_enabled"));
    if (!json_is_object(totals) || pfr_get_uint(r, totals, "wall_ns", &p->wall_ns, 0) < 0)
        return pfr_fail(r, "field \"totals\" is missing");
    if (read_timing(r, json_object_get(root, "timing")) < 0 ||
        pfr_get_uint(r, totals, "time_ns", &p->time_ns, 0) < 0 ||
        pfr_get_uint(r, totals, "exit_ns", &p->exit_ns, 0) < 0 ||
        pfr_get_uint(r, totals, "instructions", &p->instructions, 1) < 0 ||
        pfr_get_string(r, root, "signal", &p->signal, 0) < 0 ||
        pfr_read_crash(r, json_object_get(root, "crash")) < 0 ||
        pfr_read_native(r, json_object_get(root, "native_sampling"),
                    json_object_get(root, "native_stacks"),
                    json_object_get(root, "native_modules")) < 0)
        return -1;
    return 0;
}

static int read_v1(rd *r, json_t *root)
{
    json_t *schema = json_object_get(root, "schema");
    json_t *version = json_object_get(root, "version");
    if (!json_is_object(root) || !json_is_string(schema) ||
        strcmp(json_string_value(schema), PF_SCHEMA) != 0)
        return pfr_fail(r, "not an opprof profile (no \"schema\": \"%s\")", PF_SCHEMA);
    if (json_is_integer(version) && json_integer_value(version) == PF_VERSION)
        return pfr_fail(r, "a version %d profile must start with \"schema\" and \"version\"",
                    PF_VERSION);
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return pfr_fail(r, "unsupported profile version %lld (this opprof reads versions 1 and %d)",
                    json_is_integer(version) ? (long long)json_integer_value(version) : -1LL,
                    PF_VERSION);
    if (pfr_header(r->p, root, r->err, r->errlen) < 0 ||
        read_functions(r, json_object_get(root, "functions")) < 0 ||
        read_stacks(r, json_object_get(root, "stacks")) < 0 || pf_ensure_process(r->p) < 0)
        return r->err[0] ? -1 : pfr_fail(r, "out of memory");
    return 0;
}

/* Messages quote the input (jansson's context, strings of the file): one
 * line whatever it holds. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* The first keys tell the version: v2 streams on, anything else is read
 * whole by jansson (v1, and what is no profile, for its messages). */
int pf_read_stream(FILE *f, const char *name, pf_profile **out, char *err, size_t errlen)
{
    return pf_read_stream_keep(f, name, PF_KEEP_ALL, out, err, errlen);
}

static int read_file(const char *path, unsigned keep, const pf_read_hooks *hooks,
                     pf_profile **out, char *err, size_t errlen);

static int read_stream(FILE *f, const char *name, unsigned keep, const pf_read_hooks *hooks,
                       pf_profile **out, char *err, size_t errlen)
{
    rd r = {pf_profile_new(), err, errlen};
    jp_reader *jp = r.p ? jp_open_file(f, name) : NULL;
    json_t *root = NULL;
    int rc = -1, schema = 0;
    int64_t version = -1;
    err[0] = 0;
    *out = NULL;
    if (!jp) {
        pfr_fail(&r, "out of memory");
        goto done;
    }
    if (jp_next(jp) == JP_OBJECT) {
        for (int k = 0; k < 2 && jp_next(jp) == JP_KEY; k++) {
            const char *key = jp_text(jp, NULL);
            if (strcmp(key, "schema") == 0 && jp_next(jp) == JP_STRING)
                schema = strcmp(jp_text(jp, NULL), PF_SCHEMA) == 0;
            else if (strcmp(key, "version") == 0 && jp_next(jp) == JP_INT)
                version = jp_int(jp);
            else
                break;
        }
    }
    if (jp_error(jp)[0]) {   /* "NAME: line 1 column 1: empty file" */
        const char *why = jp_error(jp);
        if (strncmp(why, name, strlen(name)) == 0 && strncmp(why + strlen(name), ": ", 2) == 0)
            why += strlen(name) + 2;
        pfr_fail(&r, "%s: not valid JSON (%s)", name, why);
        goto done;
    }
    if (schema && version == PF_VERSION) {
        jp_stop_recording(jp);
        char why[512];
        if (pfr_v2(jp, r.p, keep, hooks, why, sizeof why) < 0) {
            if (strncmp(why, name, strlen(name)) == 0)   /* jp's name the file */
                pfr_fail(&r, "%s", why);
            else
                pfr_fail(&r, "%s: %s", name, why);
            goto done;
        }
        rc = 0;
    } else {
        size_t len = 0;
        char *text = jp_slurp(jp, &len);
        json_error_t je;
        if (!text) {
            pfr_fail(&r, "%s", jp_error(jp)[0] ? jp_error(jp) : "out of memory");
            goto done;
        }
        if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
            pfr_fail(&r, "%s: not valid JSON (line %d: %s)", name, je.line, je.text);
        free(text);
        if (!root)
            goto done;
        if ((rc = read_v1(&r, root)) < 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            pfr_fail(&r, "%s: %s", name, why);
        }
    }
    /* with hooks, each function was checked before its hook took it */
    if (rc == 0 && (hooks && schema && version == PF_VERSION ? pf_check_totals(r.p, err, errlen)
                                    : pf_check_sums(r.p, err, errlen)) < 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", err);
        pfr_fail(&r, "%s: %s", name, why);
        rc = -1;
    }
done:
    jp_close(jp);
    json_decref(root);
    one_line(err);
    if (rc < 0) {
        if (!err[0])
            pfr_fail(&r, "%s: not a profile", name);
        pf_profile_release(r.p);
        return -1;
    }
    *out = r.p;
    return 0;
}

int pf_read_stream_keep(FILE *f, const char *name, unsigned keep, pf_profile **out, char *err,
                        size_t errlen)
{
    return read_stream(f, name, keep, NULL, out, err, errlen);
}

int pf_read_stream_hooked(FILE *f, const char *name, unsigned keep, const pf_read_hooks *hooks,
                          pf_profile **out, char *err, size_t errlen)
{
    return read_stream(f, name, keep, hooks, out, err, errlen);
}

int pf_read_file(const char *path, pf_profile **out, char *err, size_t errlen)
{
    return pf_read_file_keep(path, PF_KEEP_ALL, out, err, errlen);
}

int pf_read_file_keep(const char *path, unsigned keep, pf_profile **out, char *err,
                      size_t errlen)
{
    return read_file(path, keep, NULL, out, err, errlen);
}

int pf_read_file_hooked(const char *path, unsigned keep, const pf_read_hooks *hooks,
                        pf_profile **out, char *err, size_t errlen)
{
    return read_file(path, keep, hooks, out, err, errlen);
}

static int read_file(const char *path, unsigned keep, const pf_read_hooks *hooks,
                     pf_profile **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strcmp(path, "-") == 0)
        return read_stream(stdin, path, keep, hooks, out, err, errlen);
    /* pipes are streams like "-"; what is no file at all gets its name */
    struct stat sb;
    const char *what = NULL;
    if (stat(path, &sb) == 0)
        what = S_ISDIR(sb.st_mode) ? "a directory" : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode)
                                                        ? "a device"
                                                    : S_ISSOCK(sb.st_mode) ? "a socket" : NULL;
    FILE *f = what ? NULL : fopen(path, "rb");
    if (!f) {
        if (what)
            snprintf(err, errlen, "%s: is %s, not a profile", path, what);
        else
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        one_line(err);
        return -1;
    }
    int rc = read_stream(f, path, keep, hooks, out, err, errlen);
    fclose(f);
    return rc;
}
