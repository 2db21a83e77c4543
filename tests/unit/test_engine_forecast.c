#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engine/engine.h"

static void free_releases_and_clears(void **state)
{
    (void)state;
    engine_forecast f = {.mean = malloc(8), .samples = malloc(8)};
    engine_forecast_free(&f);
    assert_null(f.mean);
    assert_null(f.samples);
    engine_forecast_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(free_releases_and_clears)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
