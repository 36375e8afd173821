/*
 * jsonw.c - streaming JSON writer; see jsonw.h for the escaping rules.
 */
#include "jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void jw_init(jw *w, FILE *out, int pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
}

/* Unlocked: one writer owns the stream while it writes, and the lock
 * per token was a good part of writing a profile of millions of them. */
static void put(jw *w, const char *s, size_t n)
{
    if (w->error)
        return;
    if (n == 1) {
        if (putc_unlocked(*s, w->out) == EOF)
            w->error = 1;
    } else if (fwrite_unlocked(s, 1, n, w->out) != n) {
        w->error = 1;
    }
}

static void newline(jw *w)
{
    if (!w->pretty)
        return;
    put(w, "\n", 1);
    for (int i = 0; i < w->depth; i++)
        put(w, " ", 1);
}

/* Separator and indentation before a value or a key. */
static void before_item(jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (w->need_comma[w->depth])
            put(w, ",", 1);
        w->need_comma[w->depth] = 1;
        newline(w);
    }
}

static void open_(jw *w, char c)
{
    before_item(w);
    put(w, &c, 1);
    if (w->depth + 1 >= JW_MAX_DEPTH) {
        w->error = 1;
        return;
    }
    w->need_comma[++w->depth] = 0;
}

static void close_(jw *w, char c)
{
    if (w->depth <= 0) {
        w->error = 1;
        return;
    }
    int had_items = w->need_comma[w->depth];
    w->depth--;
    if (had_items)
        newline(w);
    put(w, &c, 1);
}

void jw_begin_object(jw *w) { open_(w, '{'); }
void jw_end_object(jw *w) { close_(w, '}'); }
void jw_begin_array(jw *w) { open_(w, '['); }
void jw_end_array(jw *w) { close_(w, ']'); }

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* 1 when some of it was not UTF-8 (written as U+FFFD), else 0. */
static int put_string(jw *w, const char *str, size_t n)
{
    int lossy = 0;
    const unsigned char *s = (const unsigned char *)str;
    char buf[16];
    put(w, "\"", 1);
    size_t i = 0;
    while (i < n) {
        /* a run of what needs no escape goes out in one write: a profile's
         * strings are mostly plain ASCII, and a write per character was
         * most of their cost */
        size_t run = i;
        for (;;) {
            while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
                run++;
            size_t len = run < n && s[run] >= 0x80 ? utf8_len(s + run, n - run) : 0;
            if (!len)
                break;
            run += len;
        }
        if (run > i) {
            put(w, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        unsigned c = s[i++];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default: break;
        }
        if (esc) {
            put(w, esc, strlen(esc));
        } else if (c < 0x20) {
            snprintf(buf, sizeof buf, "\\u%04x", c);
            put(w, buf, 6);
        } else {   /* not UTF-8 */
            put(w, "\\ufffd", 6);
            lossy = 1;
        }
    }
    put(w, "\"", 1);
    return lossy;
}

int jw_is_utf8(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(s + i, n - i);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

void jw_key(jw *w, const char *key)
{
    before_item(w);
    put_string(w, key, strlen(key));
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = 1;
}

void jw_string_n(jw *w, const char *s, size_t n)
{
    before_item(w);
    put_string(w, s, n);
}

int jw_string_lossy(jw *w, const char *s)
{
    before_item(w);
    return put_string(w, s, strlen(s));
}

void jw_string(jw *w, const char *s)
{
    jw_string_n(w, s, strlen(s));
}

/* Digits by hand: a profile is millions of small integers, and
 * snprintf's format parsing was most of the time it took to write one. */
static size_t put_digits(char *end, uint64_t v)
{
    char *p = end;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10));
    return (size_t)(end - p);
}

void jw_uint(jw *w, uint64_t v)
{
    char buf[24];
    before_item(w);
    size_t n = put_digits(buf + sizeof buf, v);
    put(w, buf + sizeof buf - n, n);
}

void jw_uints(jw *w, const uint64_t *v, size_t n)
{
    if (w->pretty || w->after_key || w->depth <= 0) {
        for (size_t i = 0; i < n; i++)
            jw_uint(w, v[i]);
        return;
    }
    /* one write per kilobyte, not one per number: node vectors are most of
     * a profile's numbers */
    char buf[1024], digits[24];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (used > sizeof buf - sizeof digits - 1) {
            put(w, buf, used);
            used = 0;
        }
        if (w->need_comma[w->depth])
            buf[used++] = ',';
        w->need_comma[w->depth] = 1;
        size_t k = put_digits(digits + sizeof digits, v[i]);
        memcpy(buf + used, digits + sizeof digits - k, k);
        used += k;
    }
    put(w, buf, used);
}

void jw_int(jw *w, int64_t v)
{
    char buf[24];
    before_item(w);
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    size_t n = put_digits(buf + sizeof buf, m);
    if (v < 0)
        buf[sizeof buf - ++n] = '-';
    put(w, buf + sizeof buf - n, n);
}

void jw_double(jw *w, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        jw_null(w);  /* JSON has no infinity or NaN */
        return;
    }
    before_item(w);
    int n = snprintf(buf, sizeof buf, "%.6g", v);
    put(w, buf, (size_t)n);
}

void jw_bool(jw *w, int v)
{
    before_item(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(jw *w)
{
    before_item(w);
    put(w, "null", 4);
}

void jw_fork(const jw *w, jw *second, FILE *out, const char *key, int items)
{
    *second = *w;
    second->out = out;
    if (key) {   /* what jw_key and jw_begin_array leave */
        if (second->depth + 1 >= JW_MAX_DEPTH) {
            second->error = 1;
            return;
        }
        second->need_comma[second->depth] = 1;
        second->need_comma[++second->depth] = 0;
        second->after_key = 0;
    }
    if (items && second->depth > 0)
        second->need_comma[second->depth] = 1;
}

void jw_join(jw *w, const jw *second)
{
    FILE *out = w->out;
    int error = w->error | second->error;
    *w = *second;
    w->out = out;
    w->error = error;
}

int jw_finish(jw *w)
{
    if (w->depth != 0 || w->after_key)
        w->error = 1;
    put(w, "\n", 1);
    if (fflush(w->out) != 0 || ferror(w->out))
        w->error = 1;
    return w->error ? -1 : 0;
}
