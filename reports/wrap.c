/*
 * wrap.c - wrap.h.
 */
#include "wrap.h"

#include <stdlib.h>
#include <string.h>

void wr_words(FILE *out, int width, const char *s, int col, int hang)
{
    s += strspn(s, " ");
    for (int first = 1; *s; first = 0) {
        int len = (int)strcspn(s, " ");
        if (!first && col + 1 + len > width) {
            fprintf(out, "\n%*s", hang, "");
            col = hang;
        } else if (!first) {
            fputc(' ', out);
            col++;
        }
        for (int i = 0; i < len; i++)
            fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], out);
        col += len;
        s += len;
        s += strspn(s, " ");
    }
    fputc('\n', out);
}

char *wr_argv(char *const *argv, size_t argc, size_t most)
{
    size_t len = 1;
    for (size_t i = 0; i < argc; i++)
        len += (argv[i] ? strlen(argv[i]) : 0) + 1;
    char *s = malloc(len + 4), *end = s;   /* room for the "…" it may grow by */
    if (!s)
        return NULL;
    for (size_t i = 0; i < argc; i++) {
        if (i)
            *end++ = ' ';
        size_t n = argv[i] ? strlen(argv[i]) : 0;
        memcpy(end, argv[i] ? argv[i] : "", n);
        end += n;
    }
    *end = 0;
    /* where the characters start: a continuation byte (10xxxxxx) is no start */
    size_t chars = 0, cut = 0;
    most = most ? most : 1;
    for (size_t i = 0; s[i]; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars == most)
            cut = i;
    if (chars > most)
        strcpy(s + cut, "\xe2\x80\xa6");
    return s;
}
