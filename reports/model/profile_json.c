/*
 * profile_json.c - profile v1 as JSON, and atomic saving.
 */
#include "profile_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../jsonw.h"
#include "../outfile.h"

/* by_op[op] for every opcode; most frequent first: easier to read.
 * Consumes by_op (entries are zeroed as they are written). */
static void write_opcodes(jw *w, const pf_profile *p, pf_opcount *by_op)
{
    jw_begin_object(w);
    for (;;) {
        size_t best = p->nopnames;
        for (size_t op = 0; op < p->nopnames; op++)
            if ((by_op[op].count || by_op[op].time_ns) &&
                (best == p->nopnames || by_op[op].count > by_op[best].count ||
                 (by_op[op].count == by_op[best].count &&
                  strcmp(p->opnames[op] ? p->opnames[op] : "",
                         p->opnames[best] ? p->opnames[best] : "") < 0)))
                best = op;  /* ties by name: the order of the name table is no order */
        if (best == p->nopnames)
            break;
        jw_key(w, p->opnames[best] ? p->opnames[best] : "<unknown>");
        jw_begin_object(w);
        jw_key(w, "count");
        jw_uint(w, by_op[best].count);
        if (p->timed) {
            jw_key(w, "time_ns");
            jw_uint(w, by_op[best].time_ns);
        }
        jw_end_object(w);
        by_op[best].count = by_op[best].time_ns = 0;
    }
    jw_end_object(w);
}

static void write_function(jw *w, const pf_profile *p, const pf_function *f,
                           pf_opcount *by_op)
{
    jw_begin_object(w);
    jw_key(w, "id");
    jw_uint(w, f->id);
    jw_key(w, "file");
    jw_string(w, f->file);
    if (!jw_is_utf8(f->file, strlen(f->file))) {
        /* the exact bytes of a file name that is not UTF-8 */
        char *hex = malloc(2 * strlen(f->file) + 1);
        for (size_t i = 0; hex && f->file[i]; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)f->file[i]);
        jw_key(w, "file_hex");
        jw_string(w, hex ? hex : "");
        free(hex);
    }
    jw_key(w, "name");
    jw_string(w, f->name);
    jw_key(w, "qualname");
    jw_string(w, f->qualname);
    jw_key(w, "firstlineno");
    jw_int(w, f->firstlineno);
    jw_key(w, "scope");
    jw_string(w, pf_scope_name(f->scope));
    jw_key(w, "calls");
    jw_uint(w, f->calls);
    jw_key(w, "instructions");
    jw_uint(w, f->instructions);
    if (p->timed) {
        jw_key(w, "time_ns");
        jw_uint(w, f->time_ns);
        if (p->stacks_enabled) {  /* it takes the stack to know what is below */
            jw_key(w, "cumulative_ns");
            jw_uint(w, f->cumulative_ns);
        }
    }
    jw_key(w, "opcodes");
    pf_function_opcodes(p, f, by_op);
    write_opcodes(w, p, by_op);
    jw_key(w, "code");
    jw_begin_array(w);
    for (size_t i = 0; i < f->ncode; i++) {
        const pf_instr *in = &f->code[i];
        jw_begin_object(w);
        jw_key(w, "offset");
        jw_uint(w, in->offset);
        jw_key(w, "opname");
        jw_string(w, in->op < p->nopnames && p->opnames[in->op]
                         ? p->opnames[in->op] : "<unknown>");
        jw_key(w, "line");
        if (in->line < 0)
            jw_null(w);
        else
            jw_int(w, in->line);
        jw_key(w, "count");
        jw_uint(w, in->count);
        if (p->timed) {
            jw_key(w, "time_ns");
            jw_uint(w, in->time_ns);
            jw_key(w, "samples");
            jw_uint(w, in->samples);
        }
        jw_end_object(w);
    }
    jw_end_array(w);
    if (f->nlisting) {
        jw_key(w, "listing");
        jw_begin_array(w);
        for (size_t i = 0; i < f->nlisting; i++) {
            const pf_listing *l = &f->listing[i];
            jw_begin_array(w);  /* [offset, opname, arg, argrepr, line]: compact */
            jw_uint(w, l->offset);
            jw_string(w, pf_opname(p, l->op));
            if (l->arg < 0)
                jw_null(w);
            else
                jw_int(w, l->arg);
            jw_string(w, l->argrepr ? l->argrepr : "");
            if (l->line < 0)
                jw_null(w);
            else
                jw_int(w, l->line);
            jw_end_array(w);
        }
        jw_end_array(w);
    }
    jw_end_object(w);
}

static void write_stack(jw *w, const pf_profile *p, const pf_stack *s,
                        pf_opcount *by_op)
{
    jw_begin_object(w);
    jw_key(w, "thread");
    jw_string(w, s->thread < p->nthreads && p->threads[s->thread]
                     ? p->threads[s->thread] : "?");
    jw_key(w, "frames");
    jw_begin_array(w);
    for (size_t i = 0; i < s->nframes; i++)
        jw_uint(w, s->frames[i]);
    jw_end_array(w);
    jw_key(w, "instructions");
    jw_uint(w, s->instructions);
    if (p->timed) {
        jw_key(w, "time_ns");
        jw_uint(w, s->time_ns);
    }
    jw_key(w, "opcodes");
    memset(by_op, 0, p->nopnames * sizeof *by_op);
    for (size_t i = 0; i < s->nops; i++) {
        if (s->ops[i].op < p->nopnames) {
            by_op[s->ops[i].op].count += s->ops[i].count;
            by_op[s->ops[i].op].time_ns += s->ops[i].time_ns;
        }
    }
    write_opcodes(w, p, by_op);
    jw_end_object(w);
}

static void write_native_frame(jw *w, const pf_native_frame *f)
{
    jw_begin_object(w);
    jw_key(w, "address");
    jw_uint(w, f->address);
    if (f->function) {
        jw_key(w, "function");
        jw_string(w, f->function);
    }
    jw_key(w, "offset");
    jw_uint(w, f->offset);
    if (f->module) {
        jw_key(w, "module");
        jw_string(w, f->module);
    }
    jw_end_object(w);
}

/* "signal", "crash", "native_sampling" and "native_stacks": present only
 * when the run ended by a signal / ran with --native. */
static void write_signal_and_native(jw *w, const pf_profile *p)
{
    if (p->signal) {
        jw_key(w, "signal");
        jw_string(w, p->signal);
    }
    const pf_crash *c = p->crash;
    if (c) {
        jw_key(w, "crash");
        jw_begin_object(w);
        jw_key(w, "thread");
        if (c->thread)
            jw_string(w, c->thread);
        else
            jw_null(w);
        jw_key(w, "address");
        jw_uint(w, c->address);
        jw_key(w, "native_backtrace");
        jw_begin_array(w);
        for (size_t i = 0; i < c->nnative; i++)
            write_native_frame(w, &c->native[i]);
        jw_end_array(w);
        jw_key(w, "python_stack");
        jw_begin_array(w);
        for (size_t i = 0; i < c->npython; i++) {
            jw_begin_object(w);
            jw_key(w, "function");
            jw_string(w, c->python[i].function ? c->python[i].function : "?");
            jw_key(w, "file");
            jw_string(w, c->python[i].file ? c->python[i].file : "?");
            jw_key(w, "line");
            jw_int(w, c->python[i].line);
            jw_end_object(w);
        }
        jw_end_array(w);
        jw_end_object(w);
    }
    if (!p->native)
        return;
    const pf_native_stats *n = &p->native_stats;
    jw_key(w, "native_sampling");
    jw_begin_object(w);
    jw_key(w, "samples");
    jw_uint(w, n->samples);
    jw_key(w, "merged");
    jw_uint(w, n->merged);
    jw_key(w, "native_only");
    jw_uint(w, n->native_only);
    jw_key(w, "dropped");
    jw_uint(w, n->dropped);
    jw_key(w, "unresolved_frames");
    jw_uint(w, n->unresolved);
    jw_end_object(w);
    jw_key(w, "native_stacks");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nnative_stacks; i++) {
        const pf_native_stack *s = &p->native_stacks[i];
        jw_begin_object(w);
        jw_key(w, "thread");
        jw_string(w, s->thread < p->nthreads ? p->threads[s->thread] : "?");
        jw_key(w, "frames");
        jw_begin_array(w);
        for (size_t k = 0; k < s->nframes; k++)
            jw_string(w, s->frames[k]);
        jw_end_array(w);
        jw_key(w, "samples");
        jw_uint(w, s->samples);
        jw_key(w, "time_ns");
        jw_uint(w, s->time_ns);
        jw_end_object(w);
    }
    jw_end_array(w);
}

int pf_json_write(const pf_profile *p, FILE *out)
{
    pf_opcount *by_op = calloc(p->nopnames ? p->nopnames : 1, sizeof *by_op);
    if (!by_op)
        return -1;
    jw w;
    jw_init(&w, out, 0);
    jw_begin_object(&w);
    jw_key(&w, "schema");
    jw_string(&w, PF_SCHEMA);
    jw_key(&w, "version");
    jw_uint(&w, PF_VERSION);
    jw_key(&w, "python");
    jw_begin_object(&w);
    jw_key(&w, "version");
    jw_string(&w, p->python_version ? p->python_version : "");
    jw_key(&w, "implementation");
    jw_string(&w, p->implementation ? p->implementation : "cpython");
    jw_key(&w, "hexversion");
    jw_uint(&w, p->hexversion);
    jw_key(&w, "build");
    jw_string(&w, p->python_build ? p->python_build : "");
    jw_key(&w, "specialization");
    jw_bool(&w, p->specialization);
    jw_key(&w, "prefix");
    jw_string(&w, p->python_prefix ? p->python_prefix : "");
    jw_key(&w, "executable");
    jw_string(&w, p->executable ? p->executable : "");
    jw_end_object(&w);
    jw_key(&w, "root");
    jw_string(&w, p->root ? p->root : "");
    jw_key(&w, "hash_seed");
    jw_string(&w, p->hash_seed ? p->hash_seed : "random");
    jw_key(&w, "argv");
    jw_begin_array(&w);
    for (size_t i = 0; i < p->argc; i++)
        jw_string(&w, p->argv[i]);
    jw_end_array(&w);
    jw_key(&w, "exit_status");
    jw_int(&w, p->exit_status);
    jw_key(&w, "incomplete");
    jw_bool(&w, p->incomplete);
    if (p->incomplete_reason) {
        jw_key(&w, "incomplete_reason");
        jw_string(&w, p->incomplete_reason);
    }
    jw_key(&w, "collector");
    jw_string(&w, p->collector ? p->collector : "");
    if (!p->counted) {
        /* --time-only: no counting hook ran; "count" fields are 0 */
        jw_key(&w, "counted");
        jw_bool(&w, 0);
    }
    jw_key(&w, "stacks_enabled");
    jw_bool(&w, p->stacks_enabled);
    jw_key(&w, "totals");
    jw_begin_object(&w);
    jw_key(&w, "instructions");
    jw_uint(&w, p->instructions);
    jw_key(&w, "wall_ns");
    jw_uint(&w, p->wall_ns);
    if (p->timed) {
        jw_key(&w, "time_ns");
        jw_uint(&w, p->time_ns);
    }
    jw_end_object(&w);
    if (p->timed) {
        /* how the times were obtained, so a reader can judge them */
        jw_key(&w, "timing");
        jw_begin_object(&w);
        jw_key(&w, "method");
        jw_string(&w, p->timing_method ? p->timing_method : "");
        jw_key(&w, "clock");
        jw_string(&w, p->timing_clock ? p->timing_clock : "");
        jw_key(&w, "rate_hz");
        jw_uint(&w, p->rate_hz);
        jw_key(&w, "samples");
        jw_uint(&w, p->samples);
        jw_key(&w, "sampled_ns");
        jw_uint(&w, p->sampled_ns);
        jw_key(&w, "overhead_ns");
        jw_uint(&w, p->overhead_ns);
        jw_key(&w, "unattributed_ns");
        jw_uint(&w, p->unattributed_ns);
        jw_end_object(&w);
    }
    jw_key(&w, "functions");
    jw_begin_array(&w);
    for (size_t i = 0; i < p->nfunctions; i++)
        write_function(&w, p, &p->functions[i], by_op);
    jw_end_array(&w);
    jw_key(&w, "stacks");
    jw_begin_array(&w);
    for (size_t i = 0; i < p->nstacks; i++)
        write_stack(&w, p, &p->stacks[i], by_op);
    jw_end_array(&w);
    write_signal_and_native(&w, p);
    jw_end_object(&w);
    free(by_op);
    return jw_finish(&w);
}

int pf_json_write_to(void *profile, FILE *out, char *err, size_t errlen)
{
    if (pf_json_write(profile, out) == 0)
        return 0;
    snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
}

int pf_json_save(const pf_profile *p, const char *path, char *err, size_t errlen)
{
    of_target *t;
    if (of_plan(path, NULL, &t, err, errlen) < 0)
        return -1;
    int rc = of_write(t, NULL, pf_json_write_to, (void *)p, err, errlen);
    of_release(t);
    return rc;
}
