/* KRONOS_MAX_BATCH_ROWS: default 1024, whole numbers in [1, 1048576], anything else refused
 * naming the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char *value;

static const char *fake_getenv(const char *name)
{
    return strcmp(name, "KRONOS_MAX_BATCH_ROWS") == 0 ? value : NULL;
}

static int load(const char *v, config *c, char *err, size_t n)
{
    static char *argv[] = {"kronosd", NULL};
    value = v;
    strbuf out;
    sb_init(&out, 0);
    int rc = config_load(c, 1, argv, fake_getenv, &out, err, n);
    sb_free(&out);
    return rc;
}

static void batch_rows(void **state)
{
    (void)state;
    config c;
    char err[512];
    assert_int_equal(load(NULL, &c, err, sizeof(err)), CONFIG_OK);
    assert_int_equal(c.max_batch_rows, 1024);
    config_free(&c);
    assert_int_equal(load("1", &c, err, sizeof(err)), CONFIG_OK);
    assert_int_equal(c.max_batch_rows, 1);
    config_free(&c);
    assert_int_equal(load("1048576", &c, err, sizeof(err)), CONFIG_OK);
    assert_int_equal(c.max_batch_rows, 1048576);
    config_free(&c);
    const char *bad[] = {"0", "-5", "1048577", "lots", "1.5", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_not_equal(load(bad[i], &c, err, sizeof(err)), CONFIG_OK);
        assert_non_null(strstr(err, "KRONOS_MAX_BATCH_ROWS"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(batch_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
