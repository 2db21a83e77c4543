/* OTEL_* variables: defaults, precedence, decoding, and a message naming the variable for every
 * invalid value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "obs/otel_config.h"

static const char *const *g_env;

static const char *fake_getenv(const char *name)
{
    for (const char *const *e = g_env; e && *e; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static int load(otel_config *c, const char *const *env, char *err, size_t errlen)
{
    g_env = env;
    return otel_config_load(c, fake_getenv, "1.2.3", "pod-7", err, errlen);
}

static void off_without_endpoint(void **state)
{
    (void)state;
    otel_config c;
    char err[512];
    const char *env[] = {"OTEL_SERVICE_NAME", "x", NULL};
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_false(c.enabled);
    assert_int_equal(c.sampler, TRACE_SAMPLER_PARENT_ALWAYS_ON);
}

static void endpoints_and_defaults(void **state)
{
    (void)state;
    otel_config c;
    char err[512];
    const char *env[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", NULL};
    assert_int_equal(load(&c, env, err, sizeof err), 0);
    assert_true(c.enabled);
    assert_string_equal(c.endpoint, "http://collector:4318/v1/traces");
    assert_string_equal(c.exporter.endpoint.host, "collector");
    assert_string_equal(c.exporter.endpoint.port, "4318");
    assert_string_equal(c.exporter.endpoint.path, "/v1/traces");
    assert_false(c.exporter.json);
    assert_true(c.exporter.timeout == 10.0 && c.exporter.delay == 5.0);
    assert_int_equal(c.exporter.queue_size, 2048);
    assert_int_equal(c.exporter.batch_size, 512);
    assert_string_equal(otlp_resource_get(&c.exporter.resource, "service.name"), "kronosd");
    assert_string_equal(otlp_resource_get(&c.exporter.resource, "service.version"), "1.2.3");
    assert_string_equal(otlp_resource_get(&c.exporter.resource, "service.instance.id"), "pod-7");

    const char *env2[] = {"OTEL_EXPORTER_OTLP_ENDPOINT",
                          "http://ignored:1",
                          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                          "http://[::1]:9999/x/y",
                          "OTEL_EXPORTER_OTLP_PROTOCOL",
                          "http/protobuf",
                          "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                          "http/json",
                          "OTEL_EXPORTER_OTLP_HEADERS",
                          "a=1, b = two%20words ",
                          "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                          "2500",
                          "OTEL_RESOURCE_ATTRIBUTES",
                          "service.name=from-attrs,k8s.pod.name=p%2C1",
                          "OTEL_SERVICE_NAME",
                          "wins",
                          "OTEL_TRACES_SAMPLER",
                          "parentbased_traceidratio",
                          "OTEL_TRACES_SAMPLER_ARG",
                          "0.1",
                          NULL};
    assert_int_equal(load(&c, env2, err, sizeof err), 0);
    assert_string_equal(c.endpoint, "http://[::1]:9999/x/y");
    assert_string_equal(c.exporter.endpoint.host, "::1");
    assert_string_equal(c.exporter.endpoint.path, "/x/y");
    assert_true(c.exporter.json);
    assert_string_equal(c.exporter.headers, "a: 1\r\nb: two words\r\n");
    assert_true(c.exporter.timeout == 2.5);
    assert_string_equal(otlp_resource_get(&c.exporter.resource, "service.name"), "wins");
    assert_string_equal(otlp_resource_get(&c.exporter.resource, "k8s.pod.name"), "p,1");
    assert_int_equal(c.sampler, TRACE_SAMPLER_PARENT_RATIO);
    assert_true(c.ratio == 0.1);

    const char *env3[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_SDK_DISABLED",
                          "TRUE", NULL};
    assert_int_equal(load(&c, env3, err, sizeof err), 0);
    assert_false(c.enabled);
    const char *env4[] = {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_TRACES_EXPORTER",
                          "none", NULL};
    assert_int_equal(load(&c, env4, err, sizeof err), 0);
    assert_false(c.enabled);
}

static void invalid_values_name_the_variable(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"OTEL_TRACES_SAMPLER", "jaeger_remote"},
        {"OTEL_TRACES_SAMPLER_ARG", "-0.1"},
        {"OTEL_TRACES_SAMPLER_ARG", "half"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "c:4318"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:99999/v1/traces"},
        {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
        {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml"},
        {"OTEL_EXPORTER_OTLP_HEADERS", "bad header=1"},
        {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=%zz"},
        {"OTEL_EXPORTER_OTLP_TIMEOUT", "0"},
        {"OTEL_BSP_MAX_QUEUE_SIZE", "100000"},
        {"OTEL_BSP_SCHEDULE_DELAY", "5s"},
        {"OTEL_SDK_DISABLED", "yes"},
        {"OTEL_TRACES_EXPORTER", "zipkin"},
        {"OTEL_RESOURCE_ATTRIBUTES", "novalue"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* the bad value first: the fake environment answers the first match */
        const char *env[] = {bad[i][0],
                             bad[i][1],
                             "OTEL_EXPORTER_OTLP_ENDPOINT",
                             "http://c:4318",
                             "OTEL_TRACES_SAMPLER",
                             "traceidratio",
                             NULL};
        otel_config c;
        char err[512] = "";
        if (load(&c, env, err, sizeof err) != -1)
            fail_msg("%s=%s accepted", bad[i][0], bad[i][1]);
        if (!strstr(err, bad[i][0]))
            fail_msg("%s=%s: message does not name it: %s", bad[i][0], bad[i][1], err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(off_without_endpoint),
        cmocka_unit_test(endpoints_and_defaults),
        cmocka_unit_test(invalid_values_name_the_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
