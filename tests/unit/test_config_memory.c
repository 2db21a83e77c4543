/*
 * The start-up memory check: workers x per-forecast worst case + weights must fit the machine
 * (or its cgroup); otherwise the message names every variable that sets the figure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void load_defaults(config *c)
{
    static char *argv[] = {"kronosd", NULL};
    char err[256];
    strbuf out;
    sb_init(&out, 0);
    assert_int_equal(config_load(c, 1, argv, no_env, &out, err, sizeof(err)), CONFIG_OK);
    sb_free(&out);
}

static void worst_case_is_workers_times_job_plus_weights(void **state)
{
    (void)state;
    config_memory m = {.workers = 3, .per_job = 1000, .weights = 7, .machine = 3007};
    assert_int_equal(config_memory_worst(&m), 3007);
    m.workers = 0; /* never fewer than one worker */
    assert_int_equal(config_memory_worst(&m), 1007);
    m.workers = 1024;
    m.per_job = UINT64_MAX / 512;
    assert_true(config_memory_worst(&m) == UINT64_MAX); /* saturates, never wraps */
}

static void fits_or_names_the_variables(void **state)
{
    (void)state;
    config c;
    load_defaults(&c);
    char err[1024] = "";
    config_memory m = {.workers = 2,
                       .per_job = 1 << 20,
                       .weights = 1 << 20,
                       .machine = 3 << 20,
                       .machine_source = "MemTotal"};
    assert_int_equal(config_check_memory(&c, &m, err, sizeof(err)), CONFIG_OK);
    m.machine = (3 << 20) - 1;
    m.machine_source = "cgroup v2 memory.max /pod";
    assert_int_equal(config_check_memory(&c, &m, err, sizeof(err)), CONFIG_INVALID);
    static const char *const needles[] = {"3.0 MiB",
                                          "2 workers x 1.0 MiB per forecast + 1.0 MiB of weights",
                                          "cgroup v2 memory.max /pod",
                                          "KRONOS_MAX_CANDLES (2048)",
                                          "KRONOS_MAX_CONTEXT (512)",
                                          "KRONOS_MAX_PRED_LEN (512)",
                                          "KRONOS_MAX_SAMPLE_COUNT (16)",
                                          "KRONOS_MAX_BATCH_ITEMS (64)",
                                          "KRONOS_INFERENCE_THREADS",
                                          "docs/PERFORMANCE.md"};
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
        if (!strstr(err, needles[i]))
            fail_msg("message lacks \"%s\": %s", needles[i], err);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worst_case_is_workers_times_job_plus_weights),
        cmocka_unit_test(fits_or_names_the_variables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
