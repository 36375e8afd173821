/*
 * jsonpull.c - the JSON pull parser's tokens: a state machine with an
 * explicit stack of open containers over the windows of text that
 * jsonpull_src.c provides.  The hot paths (whitespace, ASCII runs in
 * strings, numbers) scan the window in place; only a token cut by the
 * window's end takes the byte-at-a-time path.
 */
#include "jsonpull_src.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "'x'" or "byte 0xNN", for "found ..." */
static const char *show(int c, char buf[16])
{
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", (unsigned)c & 0xff);
    return buf;
}

/* c: the byte found (-1 end of file, -2 an error already reported). */
static jp_token expected(jp_reader *r, int c, const char *what)
{
    char b[16];
    if (c == -1)
        jps_fail(r, "unexpected end of file");
    else if (c >= 0)
        jps_fail(r, "expected %s, found %s", what, show(c, b));
    return JP_ERROR;
}

/* ---- bytes ------------------------------------------------------------ */

/* The next byte, consumed; -1 at the end of the input, -2 on an error. */
static inline int getb(jp_reader *r)
{
    if (r->pos == r->end) {
        int st = jps_refill(r);
        if (st <= 0)
            return st == 0 ? -1 : -2;
    }
    return *r->pos++;
}

/* The next byte that is not whitespace, not consumed; -1, -2 as getb. */
static inline int skip_ws(jp_reader *r)
{
    for (;;) {
        const unsigned char *p = r->pos, *e = r->end;
        for (; p < e; p++) {
            unsigned c = *p;
            if (c > ' ' || (c != ' ' && c != '\n' && c != '\t' && c != '\r')) {
                r->pos = p;
                return (int)c;
            }
            if (c == '\n') {
                r->line++;
                r->line_start = r->base + (uint64_t)(p + 1 - r->chunk);
            }
        }
        r->pos = p;
        int st = jps_refill(r);
        if (st <= 0)
            return st == 0 ? -1 : -2;
    }
}

/* ---- strings ---------------------------------------------------------- */

static int put(jp_reader *r, const void *s, size_t n)
{
    if (r->discard)
        return 0;
    if (r->text_cap - r->text_len <= n &&
        jps_grow(r, &r->text, &r->text_cap, r->text_len + n + 1) < 0)
        return -1;
    memcpy(r->text + r->text_len, s, n);
    r->text_len += n;
    return 0;
}

static int eof_in_string(jp_reader *r, int c)
{
    return c == -1 ? jps_fail(r, "unexpected end of file in a string") : -1;
}

static long hex4(jp_reader *r, uint64_t at)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = getb(r);
        if (c < 0)
            return eof_in_string(r, c);
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return jps_fail_at(r, at, "invalid \\u escape");
        v = v << 4 | d;
    }
    return v;
}

/* After "\u"; `at` is the backslash. */
static int unicode(jp_reader *r, uint64_t at)
{
    long u = hex4(r, at);
    if (u < 0)
        return -1;
    if (u >= 0xdc00 && u <= 0xdfff)
        return jps_fail_at(r, at, "lone surrogate \\u%04lx", u);
    if (u >= 0xd800 && u <= 0xdbff) {
        int c = getb(r);
        if (c == '\\')
            c = getb(r);
        else if (c >= 0)
            c = 0;
        if (c == -2)
            return -1;
        if (c != 'u')
            return jps_fail_at(r, at, "lone surrogate \\u%04lx", u);
        long lo = hex4(r, at);
        if (lo < 0)
            return -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return jps_fail_at(r, at, "lone surrogate \\u%04lx", u);
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
    }
    unsigned char b[4];
    size_t n;
    if (u < 0x80) {
        b[0] = (unsigned char)u;
        n = 1;
    } else if (u < 0x800) {
        b[0] = (unsigned char)(0xc0 | u >> 6);
        b[1] = (unsigned char)(0x80 | (u & 0x3f));
        n = 2;
    } else if (u < 0x10000) {
        b[0] = (unsigned char)(0xe0 | u >> 12);
        b[1] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
        b[2] = (unsigned char)(0x80 | (u & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | u >> 18);
        b[1] = (unsigned char)(0x80 | (u >> 12 & 0x3f));
        b[2] = (unsigned char)(0x80 | (u >> 6 & 0x3f));
        b[3] = (unsigned char)(0x80 | (u & 0x3f));
        n = 4;
    }
    return put(r, b, n);
}

/* After a backslash. */
static int escape(jp_reader *r)
{
    uint64_t at = jps_here(r) - 1;
    int c = getb(r);
    char ch, b[16];
    switch (c) {
    case -1: case -2: return eof_in_string(r, c);
    case '"': case '\\': case '/': ch = (char)c; break;
    case 'b': ch = '\b'; break;
    case 'f': ch = '\f'; break;
    case 'n': ch = '\n'; break;
    case 'r': ch = '\r'; break;
    case 't': ch = '\t'; break;
    case 'u': return unicode(r, at);
    default: return jps_fail_at(r, at, "invalid escape: backslash then %s", show(c, b));
    }
    return put(r, &ch, 1);
}

/* One multibyte character, its lead byte at pos (RFC 3629's table: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8(jp_reader *r)
{
    uint64_t at = jps_here(r);
    unsigned char b[4];
    unsigned c = *r->pos++, lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return jps_fail_at(r, at, "invalid UTF-8 in a string (byte 0x%02x)", c);
    }
    b[0] = (unsigned char)c;
    for (size_t i = 1; i < n; i++) {
        int d = getb(r);
        if (d == -2)
            return -1;
        if (d < (int)lo || d > (int)hi)
            return jps_fail_at(r, at, "invalid UTF-8 in a string (byte 0x%02x then %s)", c,
                           d < 0 ? "the end of file" : "a byte out of place");
        b[i] = (unsigned char)d;
        lo = 0x80;
        hi = 0xbf;
    }
    return put(r, b, n);
}

/* After the opening quote: the text into r->text. */
static int read_string(jp_reader *r)
{
    r->text_len = 0;
    for (;;) {
        const unsigned char *s = r->pos, *p = s, *e = r->end;
        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > s && put(r, s, (size_t)(p - s)) < 0)
            return -1;
        r->pos = p;
        if (p == e) {
            int st = jps_refill(r);
            if (st <= 0)
                return eof_in_string(r, st == 0 ? -1 : -2);
            continue;
        }
        unsigned c = *p;
        if (c == '"') {
            r->pos++;
            break;
        }
        if (c == '\\') {
            r->pos++;
            if (escape(r) < 0)
                return -1;
        } else if (c < 0x20) {
            return jps_fail(r, "control character 0x%02x in a string (it must be escaped)", c);
        } else if (utf8(r) < 0) {
            return -1;
        }
    }
    r->text[r->text_len] = '\0';
    return 0;
}

/* ---- numbers ---------------------------------------------------------- */

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* the bytes a number can hold, for finding where it ends */
static const unsigned char numc[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1,
};

/* t[0, n): the bytes that can be part of a number, starting with '-' or
 * a digit; checked against RFC 8259's grammar here. */
static jp_token convert(jp_reader *r, const char *t, size_t n, uint64_t at)
{
    size_t i = t[0] == '-';
    int neg = (int)i, big = 0, real = 0;
    uint64_t v = 0;
    if (i == n || !is_digit(t[i]))
        goto bad;
    if (t[i] == '0' && i + 1 < n && is_digit(t[i + 1])) {
        jps_fail_at(r, at, "invalid number (a leading zero)");
        return JP_ERROR;
    }
    for (; i < n && is_digit(t[i]); i++) {
        unsigned d = (unsigned)(t[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            big = 1;
        else
            v = v * 10 + d;
    }
    if (i < n && t[i] == '.') {
        real = 1;
        if (++i == n || !is_digit(t[i]))
            goto bad;
        while (i < n && is_digit(t[i]))
            i++;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        real = 1;
        if (++i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i == n || !is_digit(t[i]))
            goto bad;
        while (i < n && is_digit(t[i]))
            i++;
    }
    if (i != n)
        goto bad;
    if (!real) {
        if (big || v > (uint64_t)INT64_MAX + (uint64_t)neg) {
            jps_fail_at(r, at, "number out of range");
            return JP_ERROR;
        }
        r->ival = !neg ? (int64_t)v : v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
        r->dval = (double)r->ival;
        return JP_INT;
    }
    if (t != r->num)
        memcpy(r->num, t, n);
    r->num[n] = '\0';
    r->ival = 0;
    r->dval = strtod_l(r->num, NULL, r->c_locale);
    if (isinf(r->dval)) {
        jps_fail_at(r, at, "number out of range");
        return JP_ERROR;
    }
    return JP_REAL;
bad:
    jps_fail_at(r, at, "invalid number");
    return JP_ERROR;
}

/* Integers of up to 18 digits (no overflow) wholly in the window, the
 * bulk of a profile, in one pass. */
static int small_int(jp_reader *r)
{
    const unsigned char *p = r->pos, *e = r->end;
    int neg = *p == '-';
    p += neg;
    const unsigned char *d = p;
    uint64_t v = 0;
    while (p < e && p - d < 18 && (unsigned)(*p - '0') < 10u)
        v = v * 10 + (unsigned)(*p++ - '0');
    if (p == d || p == e || numc[*p] || (*d == '0' && p - d > 1))
        return 0;  /* the general path decides */
    r->pos = p;
    r->ival = neg ? -(int64_t)v : (int64_t)v;
    r->dval = (double)r->ival;
    return 1;
}

static jp_token number(jp_reader *r)
{
    if (small_int(r))
        return JP_INT;
    uint64_t at = jps_here(r);
    const unsigned char *s = r->pos, *p = s, *e = r->end;
    while (p < e && numc[*p])
        p++;
    size_t n = (size_t)(p - s);
    r->pos = p;
    if (n > JP_MAX_NUMBER)
        goto too_long;
    if (p < e)
        return convert(r, (const char *)s, n, at);
    /* it may go on in the next window, which overwrites this one */
    memcpy(r->num, s, n);
    for (;;) {
        int st = jps_refill(r);
        if (st < 0)
            return JP_ERROR;
        if (st == 0)
            break;
        s = p = r->pos;
        e = r->end;
        while (p < e && numc[*p])
            p++;
        r->pos = p;
        if ((size_t)(p - s) > JP_MAX_NUMBER - n)
            goto too_long;
        memcpy(r->num + n, s, (size_t)(p - s));
        n += (size_t)(p - s);
        if (p < e)
            break;
    }
    return convert(r, r->num, n, at);
too_long:
    jps_fail_at(r, at, "number too long (more than %d bytes)", JP_MAX_NUMBER);
    return JP_ERROR;
}

/* ---- the state machine ------------------------------------------------ */

static void mark(jp_reader *r)
{
    r->tok_off = jps_here(r);
    r->tok_line = r->line;
    r->tok_line_start = r->line_start;
}

static jp_token literal(jp_reader *r, const char *word, jp_token t)
{
    uint64_t at = jps_here(r);
    for (const char *w = word; *w; w++) {
        int c = getb(r);
        if (c == -2)
            return JP_ERROR;
        if (c != *w) {
            jps_fail_at(r, at, "invalid literal (expected %s)", word);
            return JP_ERROR;
        }
    }
    return t;
}

/* A value starting with c (not consumed). */
static jp_token value(jp_reader *r, int c)
{
    mark(r);
    r->state = ST_AFTER;
    switch (c) {
    case '{':
    case '[':
        if (r->depth == JP_MAX_DEPTH) {
            jps_fail(r, "nesting deeper than %d levels", JP_MAX_DEPTH);
            return JP_ERROR;
        }
        r->stack[r->depth++] = (unsigned char)c;
        r->pos++;
        r->state = c == '{' ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
        return c == '{' ? JP_OBJECT : JP_ARRAY;
    case '"':
        r->pos++;
        return read_string(r) < 0 ? JP_ERROR : JP_STRING;
    case 't':
        return literal(r, "true", JP_TRUE);
    case 'f':
        return literal(r, "false", JP_FALSE);
    case 'n':
        return literal(r, "null", JP_NULL);
    default:
        if (c == '-' || is_digit(c))
            return number(r);
        return expected(r, c, "a value");
    }
}

static jp_token key(jp_reader *r, int c, const char *what)
{
    if (c != '"')
        return expected(r, c, what);
    mark(r);
    r->pos++;
    if (read_string(r) < 0)
        return JP_ERROR;
    r->state = ST_COLON;
    return JP_KEY;
}

static jp_token close_(jp_reader *r)
{
    mark(r);
    r->pos++;
    r->state = ST_AFTER;
    return r->stack[--r->depth] == '{' ? JP_OBJECT_END : JP_ARRAY_END;
}

static jp_token next(jp_reader *r)
{
    if (r->state == ST_ERROR)
        return JP_ERROR;
    if (r->state == ST_EOF)
        return JP_EOF;
    int c = skip_ws(r);
    if (c == -2)
        return JP_ERROR;
    switch (r->state) {
    case ST_START:
        if (c == -1) {
            jps_fail(r, "empty file");
            return JP_ERROR;
        }
        return value(r, c);
    case ST_ARRAY_FIRST:
        return c == ']' ? close_(r) : value(r, c);
    case ST_OBJECT_FIRST:
        return c == '}' ? close_(r) : key(r, c, "a string key or '}'");
    case ST_COLON:
        if (c != ':')
            return expected(r, c, "':'");
        r->pos++;
        c = skip_ws(r);
        return c == -2 ? JP_ERROR : value(r, c);
    default: {
        char b[16];
        if (r->depth == 0) {
            if (c == -1) {
                r->state = ST_EOF;
                return JP_EOF;
            }
            jps_fail(r, "unexpected data after the JSON value: %s", show(c, b));
            return JP_ERROR;
        }
        int obj = r->stack[r->depth - 1] == '{';
        if (c == (obj ? '}' : ']'))
            return close_(r);
        if (c != ',')
            return expected(r, c, obj ? "',' or '}'" : "',' or ']'");
        r->pos++;
        c = skip_ws(r);
        if (c == -2)
            return JP_ERROR;
        return obj ? key(r, c, "a string key") : value(r, c);
    }
    }
}

/* ---- the API ---------------------------------------------------------- */

jp_token jp_next(jp_reader *r)
{
    jp_token t = next(r);
    r->last = t;
    return t;
}

const char *jp_text(const jp_reader *r, size_t *len)
{
    int ok = r->last == JP_KEY || r->last == JP_STRING;
    if (len)
        *len = ok ? r->text_len : 0;
    return ok ? r->text : "";
}

int64_t jp_int(const jp_reader *r)
{
    return r->last == JP_INT ? r->ival : 0;
}

double jp_real(const jp_reader *r)
{
    return r->last == JP_INT || r->last == JP_REAL ? r->dval : 0;
}

int jp_skip(jp_reader *r)
{
    jp_token t = r->last;
    if (r->state == ST_ERROR)
        return -1;
    if (t != JP_OBJECT && t != JP_ARRAY && t != JP_KEY)
        return 0;
    /* back to the depth around the value: the key's, or the container's parent */
    int d = t == JP_KEY ? r->depth : r->depth - 1;
    r->discard = 1;
    do
        t = jp_next(r);
    while (t != JP_ERROR && r->depth > d);
    r->discard = 0;
    r->text_len = 0;
    r->text[0] = '\0';
    return t == JP_ERROR ? -1 : 0;
}

int jp_depth(const jp_reader *r)
{
    return r->depth;
}

const char *jp_token_name(jp_token t)
{
    switch (t) {
    case JP_ERROR: return "an error";
    case JP_EOF: return "the end of the file";
    case JP_OBJECT: return "an object";
    case JP_OBJECT_END: return "the end of an object";
    case JP_ARRAY: return "an array";
    case JP_ARRAY_END: return "the end of an array";
    case JP_KEY: return "a key";
    case JP_STRING: return "a string";
    case JP_INT: return "an integer";
    case JP_REAL: return "a real number";
    case JP_TRUE: return "true";
    case JP_FALSE: return "false";
    case JP_NULL: return "null";
    }
    return "?";
}

