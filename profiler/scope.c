/*
 * scope.c - scope classification.
 *
 * Names decide first because comprehensions and generator expressions
 * carry generator/coroutine flags too; flags decide the rest.  Class bodies
 * are the only named code that runs without fast locals (CO_OPTIMIZED):
 * module code and exec'd strings are called "<module>".
 */
#include "scope.h"

#include <string.h>

pf_scope sc_classify(unsigned flags, const char *name)
{
    static const char *const comprehensions[] = {
        "<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>",
    };
    for (size_t i = 0; i < sizeof comprehensions / sizeof *comprehensions; i++)
        if (strcmp(name, comprehensions[i]) == 0)
            return PF_SCOPE_COMPREHENSION;
    if (strcmp(name, "<module>") == 0)
        return PF_SCOPE_MODULE;
    if (flags & SC_CO_ASYNC_GENERATOR)
        return PF_SCOPE_ASYNC_GENERATOR;
    if (flags & SC_CO_COROUTINE)
        return PF_SCOPE_COROUTINE;
    if (flags & SC_CO_GENERATOR)
        return PF_SCOPE_GENERATOR;
    if (strcmp(name, "<lambda>") == 0)
        return PF_SCOPE_LAMBDA;
    if (!(flags & SC_CO_OPTIMIZED))
        return PF_SCOPE_CLASS;
    return PF_SCOPE_FUNCTION;
}
