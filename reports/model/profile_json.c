/*
 * profile_json.c - what both JSON versions share, and saving.
 */
#include "profile_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../jsonw.h"
#include "../outfile.h"

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

/* "signal", "crash", "native_sampling", "native_stacks" and
 * "native_modules": present only when the run ended by a signal / ran with
 * --native (the modules when some frame's is known). */
void pfj_signal_and_native(jw *w, const pf_profile *p)
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
    if (!p->nnative_modules)   /* as files from before they were recorded */
        return;
    jw_key(w, "native_modules");
    jw_begin_array(w);
    for (size_t i = 0; i < p->nnative_modules; i++) {
        jw_begin_array(w);
        jw_string(w, p->native_modules[i].label);
        jw_string(w, p->native_modules[i].module);
        jw_end_array(w);
    }
    jw_end_array(w);
}

void pfj_function_measures(jw *w, const pf_profile *p, const pf_function *f)
{
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
}

/* Everything before "functions", the same in both versions but for
 * v2's "counted" (always) and "totals.exit_ns". */
void pfj_header(jw *w, const pf_profile *p, int version)
{
    jw_begin_object(w);
    jw_key(w, "schema");
    jw_string(w, PF_SCHEMA);
    jw_key(w, "version");
    jw_uint(w, (uint64_t)version);
    jw_key(w, "python");
    jw_begin_object(w);
    jw_key(w, "version");
    jw_string(w, p->python_version ? p->python_version : "");
    jw_key(w, "implementation");
    jw_string(w, p->implementation ? p->implementation : "cpython");
    jw_key(w, "hexversion");
    jw_uint(w, p->hexversion);
    jw_key(w, "build");
    jw_string(w, p->python_build ? p->python_build : "");
    jw_key(w, "specialization");
    jw_bool(w, p->specialization);
    jw_key(w, "prefix");
    jw_string(w, p->python_prefix ? p->python_prefix : "");
    jw_key(w, "executable");
    jw_string(w, p->executable ? p->executable : "");
    jw_end_object(w);
    jw_key(w, "root");
    jw_string(w, p->root ? p->root : "");
    jw_key(w, "hash_seed");
    jw_string(w, p->hash_seed ? p->hash_seed : "random");
    jw_key(w, "argv");
    jw_begin_array(w);
    for (size_t i = 0; i < p->argc; i++)
        jw_string(w, p->argv[i]);
    jw_end_array(w);
    jw_key(w, "exit_status");
    jw_int(w, p->exit_status);
    jw_key(w, "incomplete");
    jw_bool(w, p->incomplete);
    if (p->incomplete_reason) {
        jw_key(w, "incomplete_reason");
        jw_string(w, p->incomplete_reason);
    }
    jw_key(w, "collector");
    jw_string(w, p->collector ? p->collector : "");
    if (p->run_id && version >= 2) {
        jw_key(w, "run_id");
        jw_string(w, p->run_id);
    }
    if (!p->counted || version >= 2) {
        /* --time-only: no counting hook ran; "count" fields are 0 */
        jw_key(w, "counted");
        jw_bool(w, p->counted);
    }
    jw_key(w, "stacks_enabled");
    jw_bool(w, p->stacks_enabled);
    jw_key(w, "totals");
    jw_begin_object(w);
    jw_key(w, "instructions");
    jw_uint(w, p->instructions);
    jw_key(w, "wall_ns");
    jw_uint(w, p->wall_ns);
    if (version >= 2) {
        jw_key(w, "exit_ns");
        jw_uint(w, p->exit_ns);
    }
    if (p->timed) {
        jw_key(w, "time_ns");
        jw_uint(w, p->time_ns);
    }
    jw_end_object(w);
    if (p->timed) {
        /* how the times were obtained, so a reader can judge them */
        jw_key(w, "timing");
        jw_begin_object(w);
        jw_key(w, "method");
        jw_string(w, p->timing_method ? p->timing_method : "");
        jw_key(w, "clock");
        jw_string(w, p->timing_clock ? p->timing_clock : "");
        jw_key(w, "rate_hz");
        jw_uint(w, p->rate_hz);
        jw_key(w, "samples");
        jw_uint(w, p->samples);
        jw_key(w, "sampled_ns");
        jw_uint(w, p->sampled_ns);
        jw_key(w, "overhead_ns");
        jw_uint(w, p->overhead_ns);
        jw_key(w, "unattributed_ns");
        jw_uint(w, p->unattributed_ns);
        jw_end_object(w);
    }
}

static int write_error(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
    return -1;
}

int pf_json_write_to(void *profile, FILE *out, char *err, size_t errlen)
{
    return pf_json_write(profile, out) == 0 ? 0 : write_error(err, errlen);
}

int pf_json_write_v1_to(void *profile, FILE *out, char *err, size_t errlen)
{
    return pf_json_write_v1(profile, out) == 0 ? 0 : write_error(err, errlen);
}

/* ---- gzip: a FILE whose bytes are deflated into another --------------- */

typedef struct gz_cookie {
    z_stream z;
    FILE *out;
    int failed;
    unsigned char buf[1 << 16];
} gz_cookie;

static int gz_pump(gz_cookie *c, int flush)
{
    do {
        c->z.next_out = c->buf;
        c->z.avail_out = sizeof c->buf;
        int rc = deflate(&c->z, flush);
        if (rc == Z_STREAM_ERROR)
            return -1;
        size_t n = sizeof c->buf - c->z.avail_out;
        if (n && fwrite(c->buf, 1, n, c->out) != n)
            return -1;
        if (flush == Z_FINISH && rc == Z_STREAM_END)
            return 0;
    } while (c->z.avail_out == 0 || flush == Z_FINISH);
    return 0;
}

static ssize_t gz_cookie_write(void *cookie, const char *data, size_t n)
{
    gz_cookie *c = cookie;
    c->z.next_in = (unsigned char *)data;
    c->z.avail_in = (uInt)n;
    if (c->failed || gz_pump(c, Z_NO_FLUSH) < 0) {
        c->failed = 1;
        errno = errno ? errno : EIO;
        return -1;
    }
    return (ssize_t)n;
}

int pf_gzip_to(FILE *out, int (*fn)(void *ctx, FILE *gz, char *err, size_t errlen), void *ctx,
               char *err, size_t errlen)
{
    gz_cookie *c = calloc(1, sizeof *c);
    /* windowBits 15 + 16: a gzip wrapper, whose header deflate writes
     * with mtime 0 and no name */
    if (!c || deflateInit2(&c->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->out = out;
    err[0] = 0;
    FILE *f = fopencookie(c, "w", (cookie_io_functions_t){.write = gz_cookie_write});
    int rc = -1, said = 0;
    if (f) {
        setvbuf(f, NULL, _IOFBF, 1 << 16);
        rc = fn(ctx, f, err, errlen);
        said = rc < 0 && err[0];   /* fn's own reason beats a failed write's */
        rc |= fclose(f) != 0 ? -1 : 0;
    }
    c->z.next_in = NULL;
    c->z.avail_in = 0;
    if (rc == 0 && !c->failed && gz_pump(c, Z_FINISH) == 0 && fflush(out) == 0)
        rc = 0;
    else
        rc = -1;
    deflateEnd(&c->z);
    free(c);
    return rc == 0 ? 0 : said ? -1 : write_error(err, errlen);
}

int pf_json_write_gz_to(void *profile, FILE *out, char *err, size_t errlen)
{
    return pf_gzip_to(out, pf_json_write_to, profile, err, errlen);
}

int pf_json_wants_gz(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

int pf_json_save(const pf_profile *p, const char *path, char *err, size_t errlen)
{
    of_target *t;
    if (of_plan(path, NULL, &t, err, errlen) < 0)
        return -1;
    int rc = of_write(t, NULL, pf_json_wants_gz(path) ? pf_json_write_gz_to : pf_json_write_to,
                      (void *)p, err, errlen);
    of_release(t);
    return rc;
}
