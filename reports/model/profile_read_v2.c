/*
 * profile_read_v2.c - a v2 profile -> model, streaming (profile-v2.md).
 *
 * The big parts (strings, functions, nodes) go from tokens straight into
 * the model, so reading takes about the memory of what is kept; the small
 * header keys become a jansson object that the v1 reader's code reads.
 * The writer's key order is relied on where a value refers to another:
 * strings and opnames come before functions, functions and threads before
 * nodes.  Unknown keys are skipped (v2 may grow).
 */
#include "profile_read_v2.h"

#include <stdlib.h>
#include <string.h>

#include "strtab.h"

/* ---- functions ---------------------------------------------------------- */

enum { C_OFFSETS, C_COUNTS, C_OPS, C_LINES, C_TIMES, C_FORMS, C_FORM_TIMES, C_OPSET };

/* The columns read into r->buf, made into f->code. */
static int assemble(rv *r, pf_function *f, const int seen[])
{
    size_t n = r->nbuf[C_OFFSETS];
    if (!seen[C_OFFSETS] || !seen[C_COUNTS] || r->nbuf[C_COUNTS] != n ||
        (seen[C_OPS] && r->nbuf[C_OPS] != n) || (seen[C_LINES] && r->nbuf[C_LINES] != n) ||
        (seen[C_FORMS] && r->nbuf[C_FORMS] != n))
        return FAIL(r, "function %zu: its offsets, counts, ops, lines and forms differ in "
                       "length", r->p->nfunctions - 1);
    if ((!seen[C_OPS] || !seen[C_LINES]) && !f->codeinfo)
        return FAIL(r, "function %zu: no ops or lines, and no code to take them from",
                    r->p->nfunctions - 1);
    f->code = calloc(n + 1, sizeof *f->code);
    if (!f->code)
        return FAIL(r, "out of memory");
    size_t line_at = 0;
    runs_cursor deltas = pfr_runs_at(r, C_OFFSETS), counts = pfr_runs_at(r, C_COUNTS);
    runs_cursor ops = pfr_runs_at(r, C_OPS);
    int64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        pf_instr *in = &f->code[i];
        int64_t d = pfr_runs_next(&deltas);   /* deltas to offsets, which must rise */
        if (i && (!d || d > INT32_MAX - off))
            return FAIL(r, "function %zu: offsets not rising", r->p->nfunctions - 1);
        off = i ? off + d : d;
        in->offset = (uint32_t)off;
        in->count = (uint64_t)pfr_runs_next(&counts);
        int64_t op = seen[C_OPS] ? pfr_runs_next(&ops)
                     : (uint64_t)off < f->codeinfo->nbytes ? f->codeinfo->bytes[off] : -1;
        if (op < 0 || (size_t)op >= r->p->nopnames)
            return FAIL(r, "function %zu: instruction %zu has no opcode name",
                        r->p->nfunctions - 1, i);
        in->op = (uint16_t)op;
        in->line = seen[C_LINES] ? (int)r->buf[C_LINES][i]
                                 : pf_code_line_next(f->codeinfo, in->offset, &line_at);
    }
    f->ncode = n;
    if (seen[C_TIMES]) {
        const int64_t *t = r->buf[C_TIMES];
        if (r->nbuf[C_TIMES] % 3)
            return FAIL(r, "function %zu: times are not triples", r->p->nfunctions - 1);
        for (size_t k = 0; k < r->nbuf[C_TIMES]; k += 3) {
            if ((uint64_t)t[k] >= n || (k && t[k] <= t[k - 3]))
                return FAIL(r, "function %zu: times name instructions out of order or that "
                               "it does not have", r->p->nfunctions - 1);
            if ((uint64_t)t[k + 2] > PF_MAX_SAMPLES)
                return FAIL(r, "function %zu: more samples than 2^32-1", r->p->nfunctions - 1);
            if (pf_add_instr_time(f, (size_t)t[k], (uint64_t)t[k + 1], (uint64_t)t[k + 2]) < 0)
                return FAIL(r, "out of memory");
        }
    }
    if (seen[C_FORMS]) {
        if (!(f->forms = calloc(n + 1, sizeof *f->forms)))
            return FAIL(r, "out of memory");
        for (size_t i = 0; i < n; i++) {
            int64_t v = r->buf[C_FORMS][i];
            if (v >= (int64_t)r->p->nopnames)
                return FAIL(r, "function %zu: a form that is not an opcode",
                            r->p->nfunctions - 1);
            f->forms[i] = v < 0 ? PF_NO_FORM : (uint16_t)v;
        }
    }
    if (seen[C_FORM_TIMES]) {
        const int64_t *t = r->buf[C_FORM_TIMES];
        if (r->nbuf[C_FORM_TIMES] % 4)
            return FAIL(r, "function %zu: form_times are not quadruples", r->p->nfunctions - 1);
        f->nform_times = r->nbuf[C_FORM_TIMES] / 4;
        if (!(f->form_times = calloc(f->nform_times + 1, sizeof *f->form_times)))
            return FAIL(r, "out of memory");
        for (size_t k = 0; k < f->nform_times; k++) {
            if ((uint64_t)t[4 * k] >= n || (uint64_t)t[4 * k + 1] >= r->p->nopnames)
                return FAIL(r, "function %zu: form_times name what it does not have",
                            r->p->nfunctions - 1);
            f->form_times[k] = (pf_form_time){(uint32_t)t[4 * k], (uint16_t)t[4 * k + 1],
                                              (uint64_t)t[4 * k + 2], (uint64_t)t[4 * k + 3]};
        }
    }
    return 0;
}

/* The function's opset (r->buf[C_OPSET], rising), for its nodes. */
static int keep_opset(rv *r, int seen)
{
    size_t f = r->p->nfunctions - 1, n = seen ? r->nbuf[C_OPSET] : 0;
    if (f >= r->capopset) {
        size_t cap = r->capopset ? 2 * r->capopset : 256;
        uint16_t **v = realloc(r->opset, cap * sizeof *v);
        if (v)
            r->opset = v;
        size_t *nv = v ? realloc(r->nopset, cap * sizeof *nv) : NULL;
        if (nv)
            r->nopset = nv;
        uint64_t **sv = nv ? realloc(r->siteset, cap * sizeof *sv) : NULL;
        if (sv)
            r->siteset = sv;
        size_t *nsv = sv ? realloc(r->nsiteset, cap * sizeof *nsv) : NULL;
        if (!nsv)
            return FAIL(r, "out of memory");
        r->nsiteset = nsv;
        memset(r->opset + r->capopset, 0, (cap - r->capopset) * sizeof *r->opset);
        memset(r->siteset + r->capopset, 0, (cap - r->capopset) * sizeof *r->siteset);
        r->capopset = cap;
    }
    /* a function's code may be taken by a hook: its sites are found now */
    if (pf_function_sitekeys(&r->p->functions[f], &r->siteset[f], &r->nsiteset[f]) < 0)
        return FAIL(r, "out of memory");
    r->nopset[f] = n;
    if (!(r->opset[f] = malloc((n + 1) * sizeof **r->opset)))
        return FAIL(r, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t op = r->buf[C_OPSET][i];
        if ((size_t)op >= r->p->nopnames || (i && op <= r->buf[C_OPSET][i - 1]))
            return FAIL(r, "function %zu: its opset is not rising opcodes", f);
        r->opset[f][i] = (uint16_t)op;
    }
    return 0;
}

static int read_function(rv *r)
{
    pf_function *f = pf_add_function(r->p);
    if (!f)
        return FAIL(r, "out of memory");
    int seen[8] = {0}, have_scope = 0, have_names = 0;
    const char *name;
    for (int more; (more = pfr_next_key(r, &name)) != 0;) {
        if (more < 0)
            return -1;
        char key[32];
        snprintf(key, sizeof key, "%s", name);
        static const char *const cols[] = {"offset_deltas", "counts", "ops", "lines", "times",
                                           "forms", "form_times", "opset"};
        static const int64_t lo[] = {0, 0, 0, -1, 0, -1, 0, 0};
        int col = -1;
        for (int i = 0; i < 8; i++)
            if (strcmp(key, cols[i]) == 0)
                col = i;
        if (col >= 0) {
            int64_t hi = col == C_OFFSETS ? INT32_MAX : col == C_LINES ? INT32_MAX
                         : col == C_OPS || col == C_FORMS || col == C_OPSET ? UINT16_MAX - 1
                                                                             : INT64_MAX;
            /* the columns assemble() reads in order stay runs */
            int runs = col == C_OFFSETS || col == C_COUNTS || col == C_OPS;
            if (pfr_read_ints(r, key, lo[col], hi, &r->buf[col], &r->nbuf[col],
                          runs ? &r->rep[col] : NULL, runs ? &r->nrun[col] : NULL) < 0)
                return -1;
            seen[col] = 1;
            continue;
        }
        if (strcmp(key, "code") == 0) {
            if (pfr_read_code(r, f) < 0)
                return -1;
            continue;
        }
        if (strcmp(key, "per_process") == 0) {
            if (pfr_read_per_process(r, f) < 0)
                return -1;
            continue;
        }
        if (strcmp(key, "scope") == 0) {
            if (pfr_expect(r, JP_STRING, "scope") < 0)
                return -1;
            f->scope = pf_scope_from_name(jp_text(r->jp, NULL));
            if (f->scope == PF_SCOPE_COUNT)
                return FAIL(r, "function %zu: unknown scope", r->p->nfunctions - 1);
            have_scope = 1;
            continue;
        }
        if (pfr_expect(r, JP_INT, key) < 0)
            return -1;
        int64_t v = jp_int(r->jp);
        if (v < 0 && strcmp(key, "firstlineno") != 0)
            return FAIL(r, "%s: %lld is out of range", key, (long long)v);
        if (strcmp(key, "file") == 0)
            have_names += pfr_sref(r, v, &f->file, key) == 0 ? 1 : -100;
        else if (strcmp(key, "name") == 0)
            have_names += pfr_sref(r, v, &f->name, key) == 0 ? 1 : -100;
        else if (strcmp(key, "qualname") == 0)
            have_names += pfr_sref(r, v, &f->qualname, key) == 0 ? 1 : -100;
        else if (strcmp(key, "firstlineno") == 0)
            f->firstlineno = v < INT32_MIN || v > INT32_MAX ? 0 : (int)v;
        else if (strcmp(key, "process") == 0)
            f->process = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        else if (strcmp(key, "calls") == 0)
            f->calls = (uint64_t)v;
        else if (strcmp(key, "instructions") == 0)
            f->instructions = (uint64_t)v;
        else if (strcmp(key, "time_ns") == 0)
            f->time_ns = (uint64_t)v;
        else if (strcmp(key, "cumulative_ns") == 0)
            f->cumulative_ns = (uint64_t)v;
        if (have_names < 0)
            return -1;
    }
    if (have_names != 3 || !have_scope)
        return FAIL(r, "function %zu: no file, name, qualname or scope", r->p->nfunctions - 1);
    if (assemble(r, f, seen) < 0 || keep_opset(r, seen[C_OPSET]) < 0)
        return -1;
    if (f->codeinfo && !(r->keep & PF_KEEP_CODE)) {   /* its ops and lines are taken */
        pf_code_release(f->codeinfo);
        free(f->codeinfo);
        f->codeinfo = NULL;
    }
    return 0;
}

static int read_functions(rv *r)
{
    if (!r->str || !r->p->opnames)
        return FAIL(r, "functions: they come after strings and opnames");
    if (pfr_expect(r, JP_ARRAY, "functions") < 0)
        return -1;
    for (;;) {
        jp_token t = jp_next(r->jp);
        if (t == JP_ARRAY_END)
            break;
        if (t != JP_OBJECT)
            return t == JP_ERROR ? -1 : FAIL(r, "functions: expected an object");
        if (read_function(r) < 0)
            return -1;
        size_t i = r->p->nfunctions - 1;
        if (r->hooks && r->hooks->function) {
            char why[256];
            if (pf_check_function(r->p, i, why, sizeof why) < 0)
                return FAIL(r, "%s", why);
            if (r->hooks->function(r->hooks->ctx, r->p, i) < 0)
                return FAIL(r, "out of memory");
        }
    }
    r->have_functions = 1;
    pf_fit_functions(r->p);   /* its doubling's slack was up to half of it */
    return 0;
}

int pfr_v2(jp_reader *jp, pf_profile *p, unsigned keep, const pf_read_hooks *hooks, char *err,
           size_t errlen)
{
    rv r = {.jp = jp, .p = p, .keep = keep, .hooks = hooks, .head = json_object(),
            .top_thread = -1};
    int rc = -1;
    if (!r.head) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    err[0] = 0;
    const char *name;
    for (int more; (more = pfr_next_key(&r, &name)) != 0;) {
        if (more < 0)
            goto done;
        char key[64];
        snprintf(key, sizeof key, "%s", name);
        int bad = 0;
        if (strcmp(key, "strings") == 0)
            bad = r.str || pfr_read_strings(&r, &r.str, &r.nstr, "strings") < 0;
        else if (strcmp(key, "strings_hex") == 0)
            bad = !r.str || r.have_functions || pfr_read_strings_hex(&r) < 0;
        else if (strcmp(key, "opnames") == 0)
            bad = p->opnames || pfr_read_strings(&r, &p->opnames, &p->nopnames, "opnames") < 0 ||
                  (p->nopnames > UINT16_MAX && FAIL(&r, "opnames: too many"));
        else if (strcmp(key, "functions") == 0)
            bad = read_functions(&r) < 0;
        else if (strcmp(key, "nodes") == 0)
            bad = pfr_read_nodes(&r) < 0;
        else if (strcmp(key, "sources") == 0)
            bad = pfr_read_sources(&r) < 0;
        else {
            json_t *v = pfr_to_json(&r, jp_next(jp));
            bad = !v || json_object_set_new(r.head, key, v) < 0;
            json_t *hex = !bad && strcmp(key, "python") == 0 ? json_object_get(v, "hexversion")
                                                             : NULL;
            if (json_is_integer(hex) && json_integer_value(hex) >= 0)
                p->hexversion = (unsigned long)json_integer_value(hex);   /* for the hooks */
        }
        if (bad) {
            if (!jp_error(jp)[0])
                FAIL(&r, "%s: not as profile v2 has it", key);
            goto done;
        }
    }
    if (jp_next(jp) != JP_EOF)
        goto done;
    if (!r.str || !p->opnames || !r.have_functions) {
        snprintf(err, errlen, "a v2 profile without strings, opnames or functions");
        goto done;
    }
    /* the threads first: --native's stacks name theirs, which must find
     * them, not add them again before the file's (the nodes' indices) */
    rc = pfr_read_threads(&r, err, errlen) < 0 || pfr_header(p, r.head, err, errlen) < 0 ||
         pfr_from_head(&r, err, errlen) < 0 ? -1 : 0;

done:
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "%s", jp_error(jp));
    if (keep & PF_KEEP_CODE) {   /* codes point into it (profile_read_v2_code.c) */
        p->pool = r.str;
        p->npool = r.nstr;
    } else {
        for (size_t i = 0; i < r.nstr; i++)
            free(r.str[i]);
        free(r.str);
    }
    for (int i = 0; i < 9; i++) {
        free(r.buf[i]);
        free(r.rep[i]);
    }
    for (size_t i = 0; i < p->nfunctions && i < r.capopset; i++) {
        free(r.opset[i]);
        free(r.siteset[i]);
    }
    free(r.opset);
    free(r.nopset);
    free(r.siteset);
    free(r.nsiteset);
    json_decref(r.head);
    return rc;
}
