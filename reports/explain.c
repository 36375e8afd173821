/*
 * explain.c - explain.h's pages.
 */
#include "explain.h"

#include <string.h>

#include "wrap.h"

#define WIDTH 78

/* `text` in words wrapped to WIDTH, continuation lines after `indent`
 * spaces; the first line continues a label of `col` columns (padded to
 * `indent` when shorter). */
static void wrap(FILE *out, const char *text, int indent, int col)
{
    if (col < indent) {
        fprintf(out, "%*s", indent - col, "");
        col = indent;
    }
    wr_words(out, WIDTH, text, col, indent);
}

/* The specialized forms of `base` in 3.<minor>, comma-separated. */
static void family(FILE *out, const char *base, int minor, int indent, int col)
{
    char line[4096];
    size_t used = 0;
    line[0] = 0;
    for (size_t i = 0; i < gl_nentries && used < sizeof line; i++) {
        const char *b = gl_base_in(&gl_entries[i], minor);
        if (!b || strcmp(b, base) != 0)
            continue;
        int k = snprintf(line + used, sizeof line - used, "%s%s", used ? ", " : "",
                         gl_entries[i].name);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    wrap(out, used ? line : "none", indent, col);
}

static int has_family(const char *base, int minor)
{
    for (size_t i = 0; i < gl_nentries; i++) {
        const char *b = gl_base_in(&gl_entries[i], minor);
        if (b && strcmp(b, base) == 0)
            return 1;
    }
    return 0;
}

int ex_print_entry(FILE *out, const gl_entry *e, int minor)
{
    char vers[64];
    gl_versions_text(e->versions, vers, sizeof vers);
    fprintf(out, "%s: %s\n\n", e->name, e->shortdesc);
    wrap(out, e->text, 2, 0);
    fputc('\n', out);
    fprintf(out, "  %-12s%s\n", "category", gl_category_title(e->category));
    fprintf(out, "  %-12s%s\n", "example", e->example);   /* code: as written */
    fprintf(out, "  %-12s%s (this opprof runs 3.%d: %s)\n", "versions", vers, minor,
            gl_in_version(e, minor) ? "has it" : "does not have it");
    fprintf(out, "  %-12s", "history");
    wrap(out, e->history, 14, 14);
    if (e->pseudo) {
        gl_versions_text(e->pseudo, vers, sizeof vers);
        fprintf(out, "  %-12s", "pseudo");
        char why[224];
        snprintf(why, sizeof why, "in %s only the compiler uses this name; the code it "
                 "builds never holds it, so a profile never shows it", vers);
        wrap(out, why, 14, 14);
    }
    for (size_t i = 0; i < e->nspec; i++) {
        char line[256];
        gl_versions_text(e->spec[i].versions, vers, sizeof vers);
        snprintf(line, sizeof line, "%s, in %s: the interpreter installs it in place of %s "
                 "where its guess holds (opprof explain %s)", e->spec[i].base, vers,
                 e->spec[i].base, e->spec[i].base);
        fprintf(out, "  %-12s", "specializes");
        wrap(out, line, 14, 14);
    }
    if (!e->nspec && minor >= 11 && has_family(e->name, minor)) {
        char label[32];
        int k = snprintf(label, sizeof label, "  specialized forms in 3.%d: ", minor);
        fputs(label, out);
        family(out, e->name, minor, 4, k);
    }
    return ferror(out) ? -1 : 0;
}

int ex_print_all(FILE *out, int minor)
{
    int w = 0;
    for (size_t i = 0; i < gl_nentries; i++)
        if (gl_in_version(&gl_entries[i], minor) && (int)strlen(gl_entries[i].name) > w)
            w = (int)strlen(gl_entries[i].name);
    fprintf(out, "The instructions of CPython 3.%d, by category (opprof explain NAME tells "
            "more):\n", minor);
    for (int c = 0; c < GL_NCATEGORIES; c++) {
        size_t shown = 0;
        for (size_t i = 0; i < gl_nentries; i++) {
            const gl_entry *e = &gl_entries[i];
            int spec = gl_base_in(e, minor) != NULL;
            if (!gl_in_version(e, minor) || (spec ? c != GL_SPECIALIZED : (int)e->category != c))
                continue;
            if (!shown++)
                fprintf(out, "\n%s\n", gl_category_title((gl_category)c));
            fprintf(out, "  %-*s  %s%s\n", w, e->name, e->shortdesc,
                    e->pseudo & GL_VERSION_BIT(minor) ? " (compiler only)" : "");
        }
    }
    return ferror(out) ? -1 : 0;
}

int ex_print_names(FILE *out, int minor)
{
    for (size_t i = 0; i < gl_nentries; i++)
        if (gl_in_version(&gl_entries[i], minor))
            fprintf(out, "%s\n", gl_entries[i].name);
    return ferror(out) ? -1 : 0;
}

const char *ex_short(const char *opname)
{
    const gl_entry *e = gl_find(opname);
    return e ? e->shortdesc : NULL;
}

int ex_print_code(FILE *out, const char *title, const dz_listing *l, int minor,
                  const char *const *source, size_t nsource)
{
    fprintf(out, "%s\n", title);
    int wop = 24;   /* dis's column, wider for 3.13+'s superinstructions */
    for (size_t i = 0; i < l->n; i++)
        wop = (int)strlen(l->v[i].opname) > wop ? (int)strlen(l->v[i].opname) : wop;
    for (size_t i = 0; i < l->n; i++) {
        const dz_instr *d = &l->v[i];
        if (d->starts_line && d->line > 0) {
            const char *src = (size_t)d->line <= nsource && source ? source[d->line - 1] : NULL;
            if (src) {
                while (*src == ' ' || *src == '\t')
                    src++;
                fprintf(out, "%s%5d | %s\n", i ? "\n" : "", d->line, src);
            } else if (i) {
                fputc('\n', out);
            }
        }
        char mark[12] = "";
        if (d->is_jump_target) {
            if (minor >= 13 && d->label)
                snprintf(mark, sizeof mark, "L%d:", d->label);
            else
                strcpy(mark, ">>");
        }
        char arg[64] = "";
        if (d->arg >= 0)
            snprintf(arg, sizeof arg, "%ld%s%.30s%s", d->arg, d->argrepr[0] ? " (" : "",
                     d->argrepr, d->argrepr[0] ? ")" : "");
        const char *meaning = ex_short(d->opname);
        fprintf(out, "%5s %6d  %-*s %-20s %s\n", mark, d->offset, wop, d->opname, arg,
                meaning ? meaning : "");
    }
    return ferror(out) ? -1 : 0;
}
