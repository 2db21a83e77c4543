/*
 * The service metric set: every SPEC §3 family and fixed label combination present at start,
 * recorders landing in the right series, info replacement, and the full exposition accepted by
 * `promtool check metrics` (text) and python3-prometheus-client's OpenMetrics parser when those
 * are installed. The expositions are left in the working directory (metrics_service.prom/.om)
 * for manual inspection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "obs/service_metrics.h"

#define TRACE "0af7651916cd43dd8448eb211c80319c"

static char *render(enum metric_format fmt)
{
    strbuf b = {0};
    assert_int_equal(service_metrics_render(fmt, &b), 0);
    return b.data;
}

static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("series not found: %s", series);
    return -1;
}

static int setup(void **state)
{
    (void)state;
    const char *containers[] = {"localhost", "svc-a", "localhost", "unknown"};
    char err[256];
    if (service_metrics_init(containers, 4, err, sizeof err) != 0) {
        fprintf(stderr, "init: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    service_metrics_shutdown();
    return 0;
}

static void every_family_at_zero(void **state)
{
    (void)state;
    char *t = render(METRIC_FMT_TEXT);
    static const char *families[] = {"kronos_requests_total counter",
                                     "kronos_request_duration_seconds histogram",
                                     "kronos_model_inference_seconds histogram",
                                     "kronos_concurrent_requests gauge",
                                     "kronos_timeouts_total counter",
                                     "kronos_prediction_input_size histogram",
                                     "kronos_security_events_total counter",
                                     "kronos_rate_limit_hits_total counter",
                                     "kronos_request_size_rejections_total counter",
                                     "kronos_queue_depth gauge",
                                     "kronos_queue_capacity gauge",
                                     "kronos_queue_wait_seconds histogram",
                                     "kronos_batch_items histogram",
                                     "kronos_predicted_points_total counter",
                                     "kronos_request_size_bytes histogram",
                                     "kronos_response_size_bytes histogram",
                                     "kronos_model_loaded gauge",
                                     "kronos_model_load_seconds gauge",
                                     "kronos_model_load_failures_total counter",
                                     "kronos_model_info gauge",
                                     "kronos_build_info gauge",
                                     "process_cpu_seconds_total counter",
                                     "process_resident_memory_bytes gauge",
                                     "process_virtual_memory_bytes gauge",
                                     "process_open_fds gauge",
                                     "process_max_fds gauge",
                                     "process_start_time_seconds gauge",
                                     "process_threads gauge",
                                     "kronos_memory_limit_bytes gauge"};
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        char line[128];
        snprintf(line, sizeof line, "# TYPE %s\n", families[i]);
        if (!strstr(t, line))
            fail_msg("missing %s", line);
    }
    char s[256];
    for (int r = 0; r < SM_ROUTE_COUNT; r++) {
        for (int st = 0; st < SM_STATUS_COUNT; st++) {
            snprintf(s, sizeof s, "kronos_requests_total{route=\"%s\",status=\"%s\"}",
                     sm_route_names[r], sm_status_names[st]);
            assert_true(value_of(t, s) == 0);
        }
        snprintf(s, sizeof s, "kronos_request_duration_seconds_bucket{route=\"%s\",le=\"300\"}",
                 sm_route_names[r]);
        assert_true(value_of(t, s) == 0);
    }
    for (int e = 0; e < SM_EVENT_COUNT; e++) {
        for (int c = 0; c < 3; c++) {
            static const char *cs[] = {"localhost", "svc-a", "unknown"};
            snprintf(s, sizeof s, "kronos_security_events_total{event=\"%s\",container=\"%s\"}",
                     sm_event_names[e], cs[c]);
            assert_true(value_of(t, s) == 0);
        }
    }
    /* The duplicate "localhost" and the configured "unknown" do not make extra series. */
    assert_null(strstr(strstr(t, "kronos_rate_limit_hits_total{container=\"unknown\"}") + 1,
                       "kronos_rate_limit_hits_total{container=\"unknown\"}"));
    assert_true(
        value_of(t, "kronos_model_inference_seconds_count{endpoint=\"/v1/predict/batch\"}") == 0);
    assert_true(value_of(t, "kronos_batch_items_bucket{le=\"64\"}") == 0);
    assert_true(value_of(t, "kronos_request_size_bytes_bucket{route=\"other\",le=\"16777216\"}") ==
                0);
    assert_true(value_of(t, "process_open_fds") > 0);
    assert_true(value_of(t, "process_start_time_seconds") > 1.6e9);
    /* At least what the process holds, at most what a 64-bit machine could (cgroup "max" is
     * not a limit: MemTotal then). */
    assert_true(value_of(t, "kronos_memory_limit_bytes") >
                value_of(t, "process_resident_memory_bytes"));
    assert_true(value_of(t, "kronos_memory_limit_bytes") < 1.8e19);
    assert_non_null(strstr(t, "kronos_build_info{version=\""));
    assert_non_null(strstr(t, "kronos_model_info{engine=\"none\",model=\"none\",tokenizer=\"none\","
                              "max_context=\"0\"} 1\n"));
    free(t);
}

static double depth_cb(void *arg)
{
    return *(double *)arg;
}

static double capacity_cb(void *arg)
{
    (void)arg;
    return 64;
}

static void recorders_land_in_their_series(void **state)
{
    (void)state;
    sm_request_done(SM_ROUTE_PREDICT_SINGLE, SM_STATUS_SUCCESS, 0.2, 3000, 70000, TRACE);
    sm_request_done(SM_ROUTE_PREDICT_SINGLE, SM_STATUS_SUCCESS, 45, 100, 100, NULL);
    sm_request_done((enum sm_route)99, (enum sm_status)99, 0.001, 0, 0, NULL);
    sm_concurrent_inc();
    sm_concurrent_inc();
    sm_concurrent_dec();
    sm_inference(SM_ENDPOINT_BATCH, 1.5, TRACE);
    sm_timeout(SM_ENDPOINT_SINGLE);
    sm_queue_wait(SM_ENDPOINT_SINGLE, 0.02);
    sm_input_size(SM_ENDPOINT_SINGLE, 512);
    sm_batch_items(3);
    sm_predicted_points(SM_ENDPOINT_BATCH, 120);
    sm_security_event(SM_EVENT_BLOCKED, "intruder");
    sm_security_event(SM_EVENT_UNAUTHORIZED, "svc-a");
    sm_rate_limit_hit("localhost");
    sm_size_rejection(NULL);
    double depth = 5;
    sm_queue_callbacks(depth_cb, capacity_cb, &depth);
    sm_model_loaded(true);
    sm_model_load_seconds(2.75);
    sm_model_load_failure();
    sm_model_info("kronos", "Kronos-small", "Kronos-Tokenizer-base", 512);

    char *t = render(METRIC_FMT_TEXT);
    assert_true(value_of(t, "kronos_requests_total{route=\"/v1/predict/single\",status="
                            "\"success\"}") == 2);
    assert_true(value_of(t, "kronos_requests_total{route=\"other\",status=\"error\"}") == 1);
    assert_true(value_of(t, "kronos_request_duration_seconds_bucket{route=\"/v1/predict/single\","
                            "le=\"0.25\"}") == 1);
    assert_true(value_of(t, "kronos_request_duration_seconds_bucket{route=\"/v1/predict/single\","
                            "le=\"30\"}") == 1);
    assert_true(value_of(t, "kronos_request_duration_seconds_bucket{route=\"/v1/predict/single\","
                            "le=\"60\"}") == 2);
    assert_true(value_of(t, "kronos_request_duration_seconds_sum{route=\"/v1/predict/single\"}") ==
                45.2);
    assert_true(value_of(t, "kronos_request_size_bytes_bucket{route=\"/v1/predict/single\","
                            "le=\"4096\"}") == 2);
    assert_true(value_of(t, "kronos_response_size_bytes_bucket{route=\"/v1/predict/single\","
                            "le=\"65536\"}") == 1);
    assert_true(value_of(t, "kronos_concurrent_requests") == 1);
    assert_true(
        value_of(t, "kronos_model_inference_seconds_count{endpoint=\"/v1/predict/batch\"}") == 1);
    assert_true(value_of(t, "kronos_timeouts_total{endpoint=\"/v1/predict/single\"}") == 1);
    assert_true(value_of(t, "kronos_queue_wait_seconds_count{endpoint=\"/v1/predict/single\"}") ==
                1);
    assert_true(value_of(t, "kronos_prediction_input_size_bucket{endpoint=\"/v1/predict/single\","
                            "le=\"400\"}") == 0);
    assert_true(value_of(t, "kronos_prediction_input_size_bucket{endpoint=\"/v1/predict/single\","
                            "le=\"800\"}") == 1);
    assert_true(value_of(t, "kronos_batch_items_bucket{le=\"4\"}") == 1);
    assert_true(value_of(t, "kronos_predicted_points_total{endpoint=\"/v1/predict/batch\"}") ==
                120);
    assert_true(value_of(t, "kronos_security_events_total{event=\"blocked\",container="
                            "\"unknown\"}") == 1);
    assert_true(value_of(t, "kronos_security_events_total{event=\"unauthorized\",container="
                            "\"svc-a\"}") == 1);
    assert_true(value_of(t, "kronos_rate_limit_hits_total{container=\"localhost\"}") == 1);
    assert_true(value_of(t, "kronos_request_size_rejections_total{container=\"unknown\"}") == 1);
    assert_true(value_of(t, "kronos_queue_depth") == 5);
    assert_true(value_of(t, "kronos_queue_capacity") == 64);
    assert_true(value_of(t, "kronos_model_loaded") == 1);
    assert_true(value_of(t, "kronos_model_load_seconds") == 2.75);
    assert_true(value_of(t, "kronos_model_load_failures_total") == 1);
    assert_true(value_of(t, "kronos_model_info{engine=\"kronos\",model=\"Kronos-small\","
                            "tokenizer=\"Kronos-Tokenizer-base\",max_context=\"512\"}") == 1);
    assert_null(strstr(t, "model=\"none\""));
    assert_null(strstr(t, "intruder"));
    free(t);

    char *om = render(METRIC_FMT_OPENMETRICS);
    assert_non_null(strstr(om, "kronos_requests_total{route=\"/v1/predict/single\",status="
                               "\"success\"} 2 # {trace_id=\"" TRACE "\"} 1 "));
    assert_non_null(strstr(om,
                           "kronos_model_inference_seconds_bucket{endpoint=\"/v1/predict/batch\","
                           "le=\"2\"} 1 # {trace_id=\"" TRACE "\"} 1.5 "));
    assert_non_null(strstr(om, "# TYPE kronos_requests counter\n"));
    assert_non_null(strstr(om, "# UNIT kronos_request_duration_seconds seconds\n"));
    size_t n = strlen(om);
    assert_true(n > 6 && strcmp(om + n - 6, "# EOF\n") == 0);
    free(om);
}

/* SPEC §3's status classes, spelled out here rather than read back from the table under test. */
static void status_classes_follow_the_spec(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *status;
    } cases[] = {{200, "success"}, {204, "success"},      {304, "success"},   {400, "invalid"},
                 {401, "invalid"}, {403, "invalid"},      {404, "invalid"},   {413, "invalid"},
                 {422, "invalid"}, {429, "rate_limited"}, {499, "cancelled"}, {500, "error"},
                 {502, "error"},   {503, "unavailable"},  {504, "timeout"},   {505, "error"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        enum sm_status st = sm_status_from_http(cases[i].code);
        assert_in_range(st, 0, SM_STATUS_COUNT - 1);
        if (strcmp(sm_status_names[st], cases[i].status) != 0)
            fail_msg("HTTP %d is %s, want %s", cases[i].code, sm_status_names[st], cases[i].status);
        sm_request_done(SM_ROUTE_PREDICT_BATCH, st, 0.01, 10, 10, NULL);
    }

    static const char *const spec[] = {"success", "invalid",   "rate_limited", "unavailable",
                                       "timeout", "cancelled", "error"};
    static const double want[] = {3, 6, 1, 1, 1, 1, 3};
    assert_int_equal(SM_STATUS_COUNT, sizeof spec / sizeof *spec);
    char *t = render(METRIC_FMT_TEXT);
    char s[256];
    for (size_t i = 0; i < sizeof spec / sizeof *spec; i++) {
        snprintf(s, sizeof s, "kronos_requests_total{route=\"/v1/predict/batch\",status=\"%s\"}",
                 spec[i]);
        assert_true(value_of(t, s) == want[i]);
        snprintf(s, sizeof s, "kronos_requests_total{route=\"other\",status=\"%s\"}", spec[i]);
        assert_true(value_of(t, s) == 0);
    }
    assert_null(strstr(t, "status=\"rejected\""));
    free(t);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs cmd; returns its exit status and its combined output in out. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

static void external_parsers_accept_it(void **state)
{
    (void)state;
    char *t = render(METRIC_FMT_TEXT);
    char *om = render(METRIC_FMT_OPENMETRICS);
    write_file("metrics_service.prom", t);
    write_file("metrics_service.om", om);
    char out[4096];
    if (access("/usr/bin/promtool", X_OK) == 0) {
        int rc =
            run("/usr/bin/promtool check metrics < metrics_service.prom 2>&1", out, sizeof out);
        if (rc != 0 || out[0])
            fail_msg("promtool (rc %d): %s", rc, out);
    } else {
        print_message("promtool not installed: skipped\n");
    }
    if (access("/usr/bin/python3", X_OK) == 0 &&
        run("/usr/bin/python3 -c 'import prometheus_client' 2>&1", out, sizeof out) == 0) {
        int rc = run("/usr/bin/python3 -c '"
                     "from prometheus_client.openmetrics.parser import "
                     "text_string_to_metric_families as om\n"
                     "from prometheus_client.parser import text_string_to_metric_families as tx\n"
                     "a = sum(len(f.samples) for f in om(open(\"metrics_service.om\").read()))\n"
                     "b = sum(len(f.samples) for f in tx(open(\"metrics_service.prom\").read()))\n"
                     "assert a == b and a > 400, (a, b)\n"
                     "' 2>&1",
                     out, sizeof out);
        if (rc != 0)
            fail_msg("python parsers: %s", out);
    } else {
        print_message("python3-prometheus-client not installed: skipped\n");
    }
    free(t);
    free(om);
}

static void recorders_are_noops_before_init(void **state)
{
    (void)state;
    service_metrics_shutdown();
    sm_request_done(SM_ROUTE_ROOT, SM_STATUS_SUCCESS, 1, 1, 1, TRACE);
    sm_security_event(SM_EVENT_BLOCKED, "x");
    sm_model_info("a", "b", "c", 1);
    strbuf b = {0};
    assert_int_equal(service_metrics_render(METRIC_FMT_TEXT, &b), -1);
    sb_free(&b);
    assert_int_equal(setup(NULL), 0);
    char err[64];
    assert_int_equal(service_metrics_init(NULL, 0, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_family_at_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(recorders_land_in_their_series, setup, teardown),
        cmocka_unit_test_setup_teardown(status_classes_follow_the_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(external_parsers_accept_it, setup, teardown),
        cmocka_unit_test_setup_teardown(recorders_are_noops_before_init, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
