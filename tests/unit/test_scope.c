/*
 * test_scope.c - unit tests for profiler/scope.c (sc_classify) and
 * pf_scope_name() from reports/model/profile.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../profiler/scope.h"

/* What CPython sets on ordinary function code. */
#define FN (SC_CO_OPTIMIZED | SC_CO_NEWLOCALS)

static void test_flag_values(void **state)
{
    (void)state;
    /* CPython's values (Include/cpython/code.h, 3.10-3.13) */
    assert_int_equal(SC_CO_OPTIMIZED, 0x0001);
    assert_int_equal(SC_CO_NEWLOCALS, 0x0002);
    assert_int_equal(SC_CO_GENERATOR, 0x0020);
    assert_int_equal(SC_CO_COROUTINE, 0x0080);
    assert_int_equal(SC_CO_ASYNC_GENERATOR, 0x0200);
}

static void test_module(void **state)
{
    (void)state;
    assert_int_equal(sc_classify(0, "<module>"), PF_SCOPE_MODULE);
    /* exec'd strings and compile() results are "<module>" too */
    assert_int_equal(sc_classify(0x1000000, "<module>"), PF_SCOPE_MODULE);
    /* the name decides, whatever the flags (top-level await sets COROUTINE) */
    assert_int_equal(sc_classify(SC_CO_COROUTINE, "<module>"), PF_SCOPE_MODULE);
    assert_int_equal(sc_classify(FN, "<module>"), PF_SCOPE_MODULE);
}

static void test_class(void **state)
{
    (void)state;
    /* class bodies run without fast locals: no CO_OPTIMIZED */
    assert_int_equal(sc_classify(0, "Foo"), PF_SCOPE_CLASS);
    assert_int_equal(sc_classify(SC_CO_NEWLOCALS, "Foo"), PF_SCOPE_CLASS);
    assert_int_equal(sc_classify(0x0100 /* CO_NESTED */, "Inner"), PF_SCOPE_CLASS);
    /* "<module>"-like names are not prefixes */
    assert_int_equal(sc_classify(0, "<module>x"), PF_SCOPE_CLASS);
    assert_int_equal(sc_classify(0, "<modul"), PF_SCOPE_CLASS);
}

static void test_function(void **state)
{
    (void)state;
    assert_int_equal(sc_classify(FN, "f"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(SC_CO_OPTIMIZED, "f"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN | 0x0004 | 0x0008, "varargs"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN, "__init__"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN, ""), PF_SCOPE_FUNCTION);
    /* near misses of special names are ordinary functions */
    assert_int_equal(sc_classify(FN, "<listcomp>x"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN, "<listcomp"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN, "<lambda>2"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN, "<Lambda>"), PF_SCOPE_FUNCTION);
    assert_int_equal(sc_classify(FN, "listcomp"), PF_SCOPE_FUNCTION);
}

static void test_lambda(void **state)
{
    (void)state;
    assert_int_equal(sc_classify(FN, "<lambda>"), PF_SCOPE_LAMBDA);
    assert_int_equal(sc_classify(SC_CO_OPTIMIZED, "<lambda>"), PF_SCOPE_LAMBDA);
    /* `lambda: (yield)` is a generator first */
    assert_int_equal(sc_classify(FN | SC_CO_GENERATOR, "<lambda>"), PF_SCOPE_GENERATOR);
}

static void test_comprehension(void **state)
{
    (void)state;
    static const char *const names[] = {
        "<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>",
    };
    static const unsigned flags[] = {
        0,
        FN,
        FN | SC_CO_GENERATOR,          /* every <genexpr> */
        FN | SC_CO_COROUTINE,          /* async comprehensions */
        FN | SC_CO_ASYNC_GENERATOR,    /* async generator expressions */
        FN | SC_CO_GENERATOR | SC_CO_COROUTINE | SC_CO_ASYNC_GENERATOR,
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (size_t j = 0; j < sizeof flags / sizeof *flags; j++)
            assert_int_equal(sc_classify(flags[j], names[i]), PF_SCOPE_COMPREHENSION);
}

static void test_generator(void **state)
{
    (void)state;
    assert_int_equal(sc_classify(FN | SC_CO_GENERATOR, "gen"), PF_SCOPE_GENERATOR);
    assert_int_equal(sc_classify(SC_CO_GENERATOR, "gen"), PF_SCOPE_GENERATOR);
    /* types.coroutine-decorated generators: CO_ITERABLE_COROUTINE (0x100) */
    assert_int_equal(sc_classify(FN | SC_CO_GENERATOR | 0x0100, "gen"), PF_SCOPE_GENERATOR);
}

static void test_coroutine(void **state)
{
    (void)state;
    assert_int_equal(sc_classify(FN | SC_CO_COROUTINE, "main"), PF_SCOPE_COROUTINE);
    assert_int_equal(sc_classify(SC_CO_COROUTINE, "main"), PF_SCOPE_COROUTINE);
    /* coroutine outranks generator */
    assert_int_equal(sc_classify(FN | SC_CO_COROUTINE | SC_CO_GENERATOR, "main"),
                     PF_SCOPE_COROUTINE);
    assert_int_equal(sc_classify(FN | SC_CO_COROUTINE, "<lambda>"), PF_SCOPE_COROUTINE);
}

static void test_async_generator(void **state)
{
    (void)state;
    assert_int_equal(sc_classify(FN | SC_CO_ASYNC_GENERATOR, "agen"),
                     PF_SCOPE_ASYNC_GENERATOR);
    assert_int_equal(sc_classify(SC_CO_ASYNC_GENERATOR, "agen"),
                     PF_SCOPE_ASYNC_GENERATOR);
    /* async generator outranks coroutine and generator */
    assert_int_equal(sc_classify(FN | SC_CO_ASYNC_GENERATOR | SC_CO_COROUTINE |
                                 SC_CO_GENERATOR, "agen"),
                     PF_SCOPE_ASYNC_GENERATOR);
}

static void test_scope_names(void **state)
{
    (void)state;
    assert_string_equal(pf_scope_name(PF_SCOPE_MODULE), "module");
    assert_string_equal(pf_scope_name(PF_SCOPE_CLASS), "class");
    assert_string_equal(pf_scope_name(PF_SCOPE_FUNCTION), "function");
    assert_string_equal(pf_scope_name(PF_SCOPE_LAMBDA), "lambda");
    assert_string_equal(pf_scope_name(PF_SCOPE_COMPREHENSION), "comprehension");
    assert_string_equal(pf_scope_name(PF_SCOPE_GENERATOR), "generator");
    assert_string_equal(pf_scope_name(PF_SCOPE_COROUTINE), "coroutine");
    assert_string_equal(pf_scope_name(PF_SCOPE_ASYNC_GENERATOR), "async_generator");
    assert_int_equal(PF_SCOPE_COUNT, 8);
}

static void test_scope_name_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(pf_scope_name(PF_SCOPE_COUNT), "unknown");
    assert_string_equal(pf_scope_name((pf_scope)(PF_SCOPE_COUNT + 1)), "unknown");
    assert_string_equal(pf_scope_name((pf_scope)1000), "unknown");
    assert_string_equal(pf_scope_name((pf_scope)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flag_values),
        cmocka_unit_test(test_module),
        cmocka_unit_test(test_class),
        cmocka_unit_test(test_function),
        cmocka_unit_test(test_lambda),
        cmocka_unit_test(test_comprehension),
        cmocka_unit_test(test_generator),
        cmocka_unit_test(test_coroutine),
        cmocka_unit_test(test_async_generator),
        cmocka_unit_test(test_scope_names),
        cmocka_unit_test(test_scope_name_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
