/*
 * wrap.c - wrap.h.
 */
#include "wrap.h"

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
