/*
 * diff_json.c - the machine-readable formats of `opprof diff`: `json` and
 * `junit`.
 *
 * JSON, schema "opprof-diff" version 1.  Fields may be added in version 1;
 * none are removed or change meaning.
 *
 *   {"schema": "opprof-diff", "version": 1,
 *    "base": "base.json", "new": "new.json",    // as given on the command line
 *    "metric": "instructions",                  // or "time" (values in ns)
 *    "limits": {"threshold": 2.0,               // % on the gated total; null: none
 *               "function_threshold": null,     // % per function; null: none
 *               "soft": false,                  // limits only warn
 *               "min_instructions": 1000,       // smaller functions are not gated
 *               "include_imports": false},      // importlib's bootstrap is gated
 *    "verdict": "regression",                   // "ok" | "warning" | "regression"
 *    "total": {"before": 1000, "after": 1031, "delta": 31,
 *              "pct": 3.1, "over_limit": true}, // gated functions only
 *    "counts": {"regressions": 1, "improvements": 0, "added": 0, "removed": 0},
 *    "warnings": ["one line each"],
 *    "despecialized": ["a.py:14 f: LOAD_ATTR held LOAD_ATTR_INSTANCE_VALUE, now generic"],
 *                                               // information, not in the verdict
 *    "functions": [                             // all, unchanged ones too; by
 *      {"key": "pkg/a.py:Outer.work",           // |delta|, largest first
 *       "file": "pkg/a.py", "qualname": "Outer.work", "line": 12,
 *       "status": "changed",                    // same | changed | added | removed
 *       "gated": true, "before": 900, "after": 931, "delta": 31,
 *       "pct": 3.44444,                         // % of before; null when added
 *       "over_limit": false,                    // past function_threshold
 *       "opcodes": [{"opname": "LOAD_GLOBAL",   // largest |delta| first
 *                    "before": 10, "after": 41, "delta": 31}]}]}
 *
 * Percentages have 6 significant digits.
 */
#include "diff_render.h"

#include <math.h>
#include <string.h>

#include "jsonw.h"

static void key_double(jw *w, const char *key, double v)
{
    jw_key(w, key);
    jw_double(w, v);
}

static void key_int(jw *w, const char *key, int64_t v)
{
    jw_key(w, key);
    jw_int(w, v);
}

static void key_string(jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

static void key_bool(jw *w, const char *key, int v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

static void write_function(jw *w, const df_function *f)
{
    jw_begin_object(w);
    key_string(w, "key", f->key);
    key_string(w, "file", f->file);
    key_string(w, "qualname", f->qualname);
    key_int(w, "line", f->line);
    key_string(w, "status", df_status_label(f->status));
    key_bool(w, "gated", f->gated);
    key_int(w, "before", f->before);
    key_int(w, "after", f->after);
    key_int(w, "delta", f->after - f->before);
    key_double(w, "pct", f->pct);
    key_bool(w, "over_limit", f->over_limit);
    jw_key(w, "opcodes");
    jw_begin_array(w);
    for (size_t i = 0; i < f->nops; i++) {
        jw_begin_object(w);
        key_string(w, "opname", f->ops[i].opname);
        key_int(w, "before", f->ops[i].before);
        key_int(w, "after", f->ops[i].after);
        key_int(w, "delta", f->ops[i].after - f->ops[i].before);
        jw_end_object(w);
    }
    jw_end_array(w);
    jw_end_object(w);
}

int df_render_json(const df_result *r, FILE *out)
{
    jw w;
    jw_init(&w, out, 1);
    jw_begin_object(&w);
    key_string(&w, "schema", "opprof-diff");
    key_int(&w, "version", 1);
    key_string(&w, "base", r->base_name);
    key_string(&w, "new", r->new_name);
    key_string(&w, "metric", r->opts.metric == DF_TIME ? "time" : "instructions");
    jw_key(&w, "limits");
    jw_begin_object(&w);
    key_double(&w, "threshold", r->opts.threshold < 0 ? NAN : r->opts.threshold);
    key_double(&w, "function_threshold",
               r->opts.function_threshold < 0 ? NAN : r->opts.function_threshold);
    key_bool(&w, "soft", r->opts.soft);
    jw_key(&w, "min_instructions");
    jw_uint(&w, r->opts.min_instructions);
    key_bool(&w, "include_imports", r->opts.include_imports);
    jw_end_object(&w);
    key_string(&w, "verdict", df_verdict_label(r->verdict));
    jw_key(&w, "total");
    jw_begin_object(&w);
    key_int(&w, "before", r->total_before);
    key_int(&w, "after", r->total_after);
    key_int(&w, "delta", r->total_after - r->total_before);
    key_double(&w, "pct", r->total_pct);
    key_bool(&w, "over_limit", r->total_over_limit);
    jw_end_object(&w);
    jw_key(&w, "counts");
    jw_begin_object(&w);
    const size_t counts[] = {r->regressions, r->improvements, r->added, r->removed};
    const char *const names[] = {"regressions", "improvements", "added", "removed"};
    for (size_t i = 0; i < 4; i++) {
        jw_key(&w, names[i]);
        jw_uint(&w, counts[i]);
    }
    jw_end_object(&w);
    jw_key(&w, "warnings");
    jw_begin_array(&w);
    for (size_t i = 0; i < r->nwarnings; i++)
        jw_string(&w, r->warnings[i]);
    jw_end_array(&w);
    jw_key(&w, "despecialized");
    jw_begin_array(&w);
    for (size_t i = 0; i < r->ndespecialized; i++)
        jw_string(&w, r->despecialized[i]);
    jw_end_array(&w);
    jw_key(&w, "functions");
    jw_begin_array(&w);
    for (size_t i = 0; i < r->nfunctions; i++)
        write_function(&w, &r->functions[i]);
    jw_end_array(&w);
    jw_end_object(&w);
    return jw_finish(&w);
}

/* ---- junit --------------------------------------------------------------- */

/* The length of the character at s - 1 for a byte that starts no valid
 * UTF-8 - and in *ok whether XML 1.0 allows it.  File names can hold any
 * byte but NUL and '/'. */
static size_t xml_char(const char *s, size_t n, int *ok)
{
    unsigned char c = (unsigned char)s[0];
    *ok = c >= 0x20 || c == '\t' || c == '\n' || c == '\r';
    for (size_t len = 1; len <= 4 && len <= n; len++) {
        if (jw_is_utf8(s, len)) {
            /* U+FFFE and U+FFFF are not characters in XML */
            if (len == 3 && memcmp(s, "\xef\xbf", 2) == 0 && (unsigned char)s[2] >= 0xbe)
                *ok = 0;
            return len;
        }
    }
    *ok = 0;
    return 1;
}

/* Escaped for text and attribute values alike; what XML cannot hold
 * becomes U+FFFD. */
static void put_xml(FILE *out, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        int ok;
        size_t len = xml_char(s + i, n - i, &ok);
        const char *esc = NULL;
        switch (ok ? s[i] : 0) {
        case 0: esc = "\xef\xbf\xbd"; break;
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&apos;"; break;
        case '\t': esc = "&#9;"; break;      /* attribute values would */
        case '\n': esc = "&#10;"; break;     /* turn raw ones into spaces */
        case '\r': esc = "&#13;"; break;
        default: break;
        }
        if (esc)
            fputs(esc, out);
        else
            fwrite(s + i, 1, len, out);
        i += len;
    }
}

/* "4,800,000 -> 6,000,000 instructions, +1,200,000 (+25.0%)" */
static void put_change(FILE *out, const df_result *r, int64_t before, int64_t after,
                       double pct)
{
    char a[DF_NUM_LEN], b[DF_NUM_LEN];
    fprintf(out, "%s", df_fmt_count(a, before, 0));
    fprintf(out, " -&gt; %s %s, ", df_fmt_count(a, after, 0), df_unit(r));
    fprintf(out, "%s (%s)", df_fmt_count(a, after - before, 1),
            df_fmt_pct(b, pct, after - before));
}

static void put_details(FILE *out, const df_result *r, const df_function *f)
{
    char a[DF_NUM_LEN];
    if (!f) {
        put_xml(out, r->base_name);
        fputs(" -&gt; ", out);
        put_xml(out, r->new_name);
        fputs(": ", out);
        put_change(out, r, r->total_before, r->total_after, r->total_pct);
        return;
    }
    put_xml(out, f->file);
    fprintf(out, ":%d: ", f->line);
    put_change(out, r, f->before, f->after, f->pct);
    /* sorted by size, so the first zero ends the changes */
    for (size_t k = 0; k < f->nops && k < DF_MAX_OPS; k++) {
        int64_t delta = f->ops[k].after - f->ops[k].before;
        if (delta == 0)
            break;
        fprintf(out, "\n%s ", df_fmt_count(a, delta, 1));
        put_xml(out, f->ops[k].opname);
    }
}

/* One testcase: a function, or the total when f is NULL.  Over its limit it
 * fails; with --soft its story goes to <system-out> instead, so the suite
 * passes and the text stays visible. */
static void write_case(FILE *out, const df_result *r, const df_function *f)
{
    int hard = !r->opts.soft;
    fputs("  <testcase classname=\"opprof\" name=\"", out);
    put_xml(out, f ? f->key : "total");
    if (!(f ? f->over_limit : r->total_over_limit)) {
        fputs("\"/>\n", out);
        return;
    }
    fputs(hard ? "\">\n    <failure message=\"" : "\">\n    <system-out>", out);
    if (f)
        df_put_function_change(out, r, f, put_xml);
    else
        df_put_total_change(out, r, put_xml);
    fputs(hard ? "\">" : "\n", out);
    put_details(out, r, f);
    fputs(hard ? "</failure>\n" : "</system-out>\n", out);
    fputs("  </testcase>\n", out);
}

int df_render_junit(const df_result *r, FILE *out)
{
    int hard = !r->opts.soft;
    size_t tests = 1, failures = hard && r->total_over_limit;
    for (size_t i = 0; i < r->nfunctions; i++) {
        tests += r->functions[i].gated != 0;
        failures += hard && r->functions[i].gated && r->functions[i].over_limit;
    }
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<testsuite name=\"opprof diff\" tests=\"%zu\" failures=\"%zu\" "
                 "errors=\"0\">\n", tests, failures);
    write_case(out, r, NULL);
    for (size_t i = 0; i < r->nfunctions; i++)
        if (r->functions[i].gated)
            write_case(out, r, &r->functions[i]);
    if (r->nwarnings) {
        fputs("  <system-out>", out);
        for (size_t i = 0; i < r->nwarnings; i++) {
            fputs(i ? "\nwarning: " : "warning: ", out);
            put_xml(out, r->warnings[i]);
        }
        fputs("</system-out>\n", out);
    }
    fputs("</testsuite>\n", out);
    return df_finish(out);
}
