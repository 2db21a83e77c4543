/*
 * Exposition: golden files for text 0.0.4 and OpenMetrics 1.0.0, escaping, number formatting,
 * content negotiation, bounded labels and registration errors.
 * KRONOS_UPDATE_GOLDEN=1 rewrites the golden files from the current output (review the diff!).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "obs/exposition.h"
#include "util/gzip.h"
#include "obs/metrics.h"

#define TRACE_A "0af7651916cd43dd8448eb211c80319c"
#define TRACE_B "4bf92f3577b34da6a3ce929d0e0e4736"

static double callback_value(void *arg)
{
    return *(double *)arg;
}

static double g_cb = 42.5;

/* A small registry with every type, labels, escaping, exemplars and special values. */
static struct metric_registry *golden_registry(void)
{
    struct metric_registry *r = metric_registry_new();
    char err[128];

    static const char *const counter_labels[] = {"method", "path"};
    struct metric_family_opts c = {.name = "demo_requests_total",
                                   .help = "Requests with \"quotes\", a \\ backslash,\na newline "
                                           "and non-ASCII: caf\xC3\xA9 \xE2\x82\xAC.",
                                   .type = METRIC_COUNTER,
                                   .label_names = counter_labels,
                                   .n_labels = 2,
                                   .exemplars = true};
    struct metric_family *cf = metric_registry_add(r, &c, err, sizeof err);
    assert_non_null(cf);
    struct metric *get = metric_family_get(cf, (const char *const[]){"GET", "/a"});
    struct metric *odd = metric_family_get(
        cf, (const char *const[]){"POST", "quote\" back\\slash\nnewline caf\xC3\xA9 bad\xFF"});
    assert_non_null(get);
    assert_non_null(odd);
    metric_counter_inc(get);
    metric_counter_add_exemplar_at(get, 2, TRACE_A, 1700000000.125);
    metric_counter_add(odd, 0.25);
    metric_counter_add(odd, -5); /* ignored: counters only go up */

    struct metric_family_opts g = {
        .name = "demo_temperature", .help = "Plain gauge.", .type = METRIC_GAUGE};
    struct metric *temp = metric_family_get(metric_registry_add(r, &g, err, sizeof err), NULL);
    metric_gauge_set(temp, -3.75);

    static const char *const kind_label[] = {"kind"};
    struct metric_family_opts sp = {.name = "demo_special",
                                    .help = "Special values.",
                                    .type = METRIC_GAUGE,
                                    .label_names = kind_label,
                                    .n_labels = 1};
    struct metric_family *spf = metric_registry_add(r, &sp, err, sizeof err);
    metric_gauge_set(metric_family_get(spf, (const char *const[]){"pinf"}), INFINITY);
    metric_gauge_set(metric_family_get(spf, (const char *const[]){"ninf"}), -INFINITY);
    metric_gauge_set(metric_family_get(spf, (const char *const[]){"nan"}), NAN);
    metric_gauge_set(metric_family_get(spf, (const char *const[]){"big"}), 1e21);
    metric_gauge_set(metric_family_get(spf, (const char *const[]){"third"}), 1.0 / 3);
    metric_gauge_set(metric_family_get(spf, (const char *const[]){"int"}), 123456789);

    struct metric_family_opts cb = {
        .name = "demo_queue_depth", .help = "Read at scrape time.", .type = METRIC_GAUGE};
    struct metric *cbm = metric_family_get(metric_registry_add(r, &cb, err, sizeof err), NULL);
    assert_int_equal(metric_set_callback(cbm, callback_value, &g_cb), 0);

    static const double buckets[] = {0.005, 0.1, 1, 2.5};
    static const char *const route_label[] = {"route"};
    struct metric_family_opts h = {.name = "demo_latency_seconds",
                                   .help = "Latency.",
                                   .type = METRIC_HISTOGRAM,
                                   .label_names = route_label,
                                   .n_labels = 1,
                                   .buckets = buckets,
                                   .n_buckets = 4,
                                   .exemplars = true};
    struct metric_family *hf = metric_registry_add(r, &h, err, sizeof err);
    struct metric *h1 = metric_family_get(hf, (const char *const[]){"/x"});
    metric_family_get(hf, (const char *const[]){"/empty"});
    metric_histogram_observe_exemplar_at(h1, 0.05, TRACE_A, 1700000001.5);
    metric_histogram_observe(h1, 0.1); /* on the bound: le is inclusive */
    metric_histogram_observe_exemplar_at(h1, 7, TRACE_B, 1700000002);
    metric_histogram_observe_exemplar_at(h1, 0.001, "not-a-trace-id", 1700000003);

    struct metric_family_opts sz = {.name = "demo_body_bytes",
                                    .help = "Sizes.",
                                    .type = METRIC_HISTOGRAM,
                                    .buckets = (const double[]){256, 1024},
                                    .n_buckets = 2};
    struct metric *szm = metric_family_get(metric_registry_add(r, &sz, err, sizeof err), NULL);
    metric_histogram_observe(szm, 300);

    static const char *const info_labels[] = {"engine", "model"};
    struct metric_family_opts info = {.name = "demo_model_info",
                                      .help = "Info.",
                                      .type = METRIC_GAUGE,
                                      .label_names = info_labels,
                                      .n_labels = 2};
    struct metric_family *inf = metric_registry_add(r, &info, err, sizeof err);
    assert_non_null(metric_family_replace(inf, (const char *const[]){"none", "none"}, 1));
    assert_non_null(metric_family_replace(inf, (const char *const[]){"kronos", "small"}, 1));
    return r;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static void check_golden(enum metric_format fmt, const char *file)
{
    struct metric_registry *r = golden_registry();
    strbuf b = {0};
    assert_int_equal(metric_registry_render(r, fmt, &b), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/metrics/%s", KRONOS_TEST_DATA_DIR, file);
    if (getenv("KRONOS_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(b.data, f);
        fclose(f);
    }
    char *want = read_file(path);
    assert_non_null(want);
    assert_string_equal(b.data, want);
    free(want);
    sb_free(&b);
    metric_registry_free(r);
}

static void golden_text(void **state)
{
    (void)state;
    check_golden(METRIC_FMT_TEXT, "golden.prom");
}

static void golden_openmetrics(void **state)
{
    (void)state;
    check_golden(METRIC_FMT_OPENMETRICS, "golden.om");
}

static void expect_double(double v, const char *want)
{
    char out[METRIC_DOUBLE_MAX];
    size_t n = metric_format_double(v, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void float_formatting(void **state)
{
    (void)state;
    expect_double(0, "0");
    expect_double(-0.0, "0");
    expect_double(1, "1");
    expect_double(-17, "-17");
    expect_double(0.1, "0.1");
    expect_double(0.005, "0.005");
    expect_double(1.0 / 3, "0.3333333333333333");
    expect_double(0.1 + 0.2, "0.30000000000000004");
    expect_double(2.5e-7, "2.5e-07");
    expect_double(1e15, "1e+15");
    expect_double(999999999999999, "999999999999999");
    expect_double(9007199254740993.0, "9007199254740992");
    expect_double(1e300, "1e+300");
    expect_double(5e-324, "4.94065645841247e-324"); /* round-trips; not the shortest */
    expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_double(INFINITY, "+Inf");
    expect_double(-INFINITY, "-Inf");
    expect_double(NAN, "NaN");
    /* Every output reads back as the same double. */
    double samples[] = {0.1, 123.456, 1e-10, 6.02214076e23, 3.141592653589793, 1.0000000000000002};
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        char out[METRIC_DOUBLE_MAX];
        metric_format_double(samples[i], out);
        assert_true(strtod(out, NULL) == samples[i]);
    }
}

static void bucket_index(void **state)
{
    (void)state;
    double b[METRIC_MAX_BUCKETS];
    for (uint32_t n = 1; n <= METRIC_MAX_BUCKETS; n++) {
        for (uint32_t i = 0; i < n; i++)
            b[i] = (double)i * 1.5 - 3;
        for (int k = -10; k < 3 * (int)n + 10; k++) {
            double v = k * 0.5 - 3;
            uint32_t want = 0;
            while (want < n && !(v <= b[want]))
                want++;
            assert_int_equal(metric_bucket_index(b, n, v), want);
        }
        assert_int_equal(metric_bucket_index(b, n, NAN), n);
        assert_int_equal(metric_bucket_index(b, n, INFINITY), n);
        assert_int_equal(metric_bucket_index(b, n, -INFINITY), 0);
    }
}

/* A scrape swaps a histogram's halves and folds them back: scrapes repeat, later observations add.
 */
static void histogram_scrapes_accumulate(void **state)
{
    (void)state;
    struct metric_registry *r = metric_registry_new();
    char err[128];
    struct metric_family_opts o = {.name = "acc_seconds",
                                   .help = "h",
                                   .type = METRIC_HISTOGRAM,
                                   .buckets = (const double[]){1, 2},
                                   .n_buckets = 2};
    struct metric *h = metric_family_get(metric_registry_add(r, &o, err, sizeof err), NULL);
    assert_non_null(h);
    static const char *const want[] = {
        "acc_seconds_bucket{le=\"1\"} 1\nacc_seconds_bucket{le=\"2\"} 1\n"
        "acc_seconds_bucket{le=\"+Inf\"} 1\nacc_seconds_sum 0.5\nacc_seconds_count 1\n",
        "acc_seconds_bucket{le=\"1\"} 1\nacc_seconds_bucket{le=\"2\"} 3\n"
        "acc_seconds_bucket{le=\"+Inf\"} 4\nacc_seconds_sum 13.5\nacc_seconds_count 4\n",
    };
    strbuf b = {0};
    for (int scrape = 0; scrape < 6; scrape++) {
        if (scrape == 0)
            metric_histogram_observe(h, 0.5);
        if (scrape == 3) { /* after an odd number of swaps: the other half is hot */
            metric_histogram_observe(h, 1.5);
            metric_histogram_observe(h, 1.5);
            metric_histogram_observe(h, 10);
        }
        sb_reset(&b);
        assert_int_equal(metric_registry_render(r, METRIC_FMT_TEXT, &b), 0);
        assert_non_null(strstr(b.data, want[scrape >= 3]));
    }
    sb_free(&b);
    metric_registry_free(r);
}

static void expect_fmt(const char *accept, enum metric_format want)
{
    const char *ct = NULL;
    enum metric_format got = metric_negotiate(accept, &ct);
    if (got != want)
        fail_msg("Accept '%s': got %d want %d", accept ? accept : "(null)", got, want);
    assert_string_equal(ct, want == METRIC_FMT_TEXT ? "text/plain; version=0.0.4; charset=utf-8"
                                                    : "application/openmetrics-text; "
                                                      "version=1.0.0; charset=utf-8");
}

static void negotiation(void **state)
{
    (void)state;
    enum metric_format T = METRIC_FMT_TEXT, O = METRIC_FMT_OPENMETRICS;
    expect_fmt(NULL, T);
    expect_fmt("", T);
    expect_fmt("*/*", T);
    expect_fmt("text/plain", T);
    expect_fmt("application/openmetrics-text", O);
    expect_fmt("application/openmetrics-text; version=1.0.0", O);
    expect_fmt("application/openmetrics-text;version=0.0.1", O);
    expect_fmt("application/openmetrics-text;version=2.0.0", T);
    /* What Prometheus 2.x sends by default. */
    expect_fmt("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
               O);
    /* q-values decide, not order. */
    expect_fmt("text/plain;q=0.5, application/openmetrics-text;q=0.9", O);
    expect_fmt("application/openmetrics-text;q=0.4, text/plain;version=0.0.4;q=0.6", T);
    /* Equal q: header order. */
    expect_fmt("text/plain, application/openmetrics-text", T);
    expect_fmt("application/openmetrics-text, text/plain", O);
    /* Wildcards never select OpenMetrics; the first concrete match does. */
    expect_fmt("*/*;q=1, application/openmetrics-text;q=0.2", O);
    expect_fmt("application/*", T);
    /* Unknown versions and types are skipped. */
    expect_fmt("text/plain;version=9.9, application/openmetrics-text;q=0.1", O);
    expect_fmt("application/json, text/html", T);
    /* q=0 means not acceptable. */
    expect_fmt("application/openmetrics-text;q=0", T);
    /* Garbage does not crash and falls back to text. */
    expect_fmt(";;;,,,/,a/b/c,q=,===", T);
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_fmt(big, T);
    expect_fmt("application/openmetrics-text ; version = 1.0.0 ; q = 0.8 ,text/plain;q=0.7", O);
    assert_int_equal(metric_negotiate("text/plain", NULL), T);
}

/* Random bytes never crash the header parsers and always give a valid answer. */
static void header_parsers_survive_garbage(void **state)
{
    (void)state;
    static const char alphabet[] = "ab/*;=,q .01tx-plainopenmetrics-textversiongzip\t\"";
    unsigned seed = 12345;
    char h[200];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % (sizeof h - 1));
        for (size_t i = 0; i < n; i++) {
            int r = rand_r(&seed);
            h[i] = (r & 7) ? alphabet[r % (sizeof alphabet - 1)] : (char)(r % 255 + 1);
        }
        h[n] = '\0';
        const char *ct = NULL;
        enum metric_format f = metric_negotiate(h, &ct);
        assert_true(f == METRIC_FMT_TEXT || f == METRIC_FMT_OPENMETRICS);
        assert_non_null(ct);
        (void)gzip_accepted(h);
    }
}

static void bounded_labels(void **state)
{
    (void)state;
    struct metric_registry *r = metric_registry_new();
    char err[128];
    static const char *const labels[] = {"route", "container"};
    static const char *const routes[] = {"/a", "/b"};
    const struct metric_label_bound bounds[] = {
        {"route", routes, 2, 0, "other"},
        {"container", NULL, 0, 2, "unknown"},
    };
    struct metric_family_opts o = {.name = "b_total",
                                   .help = "h",
                                   .type = METRIC_COUNTER,
                                   .label_names = labels,
                                   .n_labels = 2,
                                   .bounds = bounds,
                                   .n_bounds = 2};
    struct metric_family *f = metric_registry_add(r, &o, err, sizeof err);
    assert_non_null(f);
    struct metric *a1 = metric_family_get(f, (const char *const[]){"/a", "c1"});
    struct metric *x1 = metric_family_get(f, (const char *const[]){"/zzz", "c1"});
    struct metric *o1 = metric_family_get(f, (const char *const[]){"other", "c1"});
    struct metric *a2 = metric_family_get(f, (const char *const[]){"/a", "c2"});
    struct metric *a3 = metric_family_get(f, (const char *const[]){"/a", "c3"});
    struct metric *a4 = metric_family_get(f, (const char *const[]){"/a", "c4"});
    struct metric *au = metric_family_get(f, (const char *const[]){"/a", "unknown"});
    assert_ptr_equal(x1, o1); /* outside the allowed set: the fallback series */
    assert_ptr_not_equal(a1, a2);
    assert_ptr_equal(a3, a4); /* past the cap of 2 containers */
    assert_ptr_equal(a3, au);
    assert_ptr_equal(metric_family_get(f, (const char *const[]){"/a", "c1"}), a1);
    assert_null(metric_family_get(f, (const char *const[]){"/a", NULL}));
    metric_counter_inc(a3);
    metric_counter_inc(a4);
    strbuf b = {0};
    metric_registry_render(r, METRIC_FMT_TEXT, &b);
    assert_non_null(strstr(b.data, "b_total{route=\"/a\",container=\"unknown\"} 2\n"));
    assert_non_null(strstr(b.data, "b_total{route=\"other\",container=\"c1\"} 0\n"));
    assert_null(strstr(b.data, "c3"));
    assert_null(strstr(b.data, "/zzz"));
    sb_free(&b);
    metric_registry_free(r);
}

static void registration_errors(void **state)
{
    (void)state;
    struct metric_registry *r = metric_registry_new();
    char err[128] = "";
    struct metric_family_opts o = {.name = "no_suffix", .help = "h", .type = METRIC_COUNTER};
    assert_null(metric_registry_add(r, &o, err, sizeof err));
    assert_non_null(strstr(err, "_total"));
    o.name = "1bad";
    assert_null(metric_registry_add(r, &o, err, sizeof err));
    o = (struct metric_family_opts){.name = "ok_total", .help = "h", .type = METRIC_COUNTER};
    assert_non_null(metric_registry_add(r, &o, err, sizeof err));
    assert_null(metric_registry_add(r, &o, err, sizeof err));
    assert_non_null(strstr(err, "already registered"));
    o.type = METRIC_GAUGE;
    o.name = "ok"; /* would clash with the counter's OpenMetrics family name */
    assert_null(metric_registry_add(r, &o, err, sizeof err));
    o.name = "ok_total"; /* a gauge with the counter's text name */
    assert_null(metric_registry_add(r, &o, err, sizeof err));
    static const char *const le[] = {"le"};
    struct metric_family_opts h = {.name = "h_seconds",
                                   .help = "h",
                                   .type = METRIC_HISTOGRAM,
                                   .label_names = le,
                                   .n_labels = 1,
                                   .buckets = (const double[]){1},
                                   .n_buckets = 1};
    assert_null(metric_registry_add(r, &h, err, sizeof err));
    h.n_labels = 0;
    h.buckets = (const double[]){2, 1};
    h.n_buckets = 2;
    assert_null(metric_registry_add(r, &h, err, sizeof err));
    assert_non_null(strstr(err, "increasing"));
    h.buckets = (const double[]){1, INFINITY};
    assert_null(metric_registry_add(r, &h, err, sizeof err));
    static const char *const dup[] = {"a", "a"};
    struct metric_family_opts d = {
        .name = "d", .help = "h", .type = METRIC_GAUGE, .label_names = dup, .n_labels = 2};
    assert_null(metric_registry_add(r, &d, err, sizeof err));
    static const char *const reserved[] = {"__name"};
    d.label_names = reserved;
    d.n_labels = 1;
    assert_null(metric_registry_add(r, &d, err, sizeof err));
    metric_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_text),
        cmocka_unit_test(golden_openmetrics),
        cmocka_unit_test(float_formatting),
        cmocka_unit_test(negotiation),
        cmocka_unit_test(bucket_index),
        cmocka_unit_test(histogram_scrapes_accumulate),
        cmocka_unit_test(header_parsers_survive_garbage),
        cmocka_unit_test(bounded_labels),
        cmocka_unit_test(registration_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
