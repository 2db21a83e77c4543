/*
 * Writers hammer a counter and a histogram (with exemplars) from several threads, in waves so
 * threads exit mid-run, while a scraper renders in a loop. Every scrape must be internally
 * consistent and monotone; the final totals must be exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "obs/exposition.h"
#include "obs/metrics.h"

#define WRITERS 4
#define WAVES 3
#define ITERS 100000

static struct metric_registry *g_reg;
static struct metric *g_counter, *g_hist;
static atomic_bool g_done;

/* Observations are 0.5 or 2 only, so a consistent scrape has sum == 0.5*n_small + 2*n_big. */
static void *writer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    char trace[33];
    snprintf(trace, sizeof trace, "%032x", id + 1);
    for (unsigned i = 0; i < ITERS; i++) {
        metric_counter_inc(g_counter);
        double v = ((i + id) & 1) ? 2.0 : 0.5;
        if ((i & 63) == 0)
            metric_histogram_observe_exemplar(g_hist, v, trace);
        else
            metric_histogram_observe(g_hist, v);
    }
    return NULL;
}

/* The value on the line that starts with `series ` ("name{labels}"), or -1 if absent. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

struct scrape_stats {
    unsigned scrapes;
    char failure[256];
};

static void check_scrape(const char *t, double *last_count, double *last_counter,
                         struct scrape_stats *st)
{
    double b05 = value_of(t, "h_seconds_bucket{le=\"0.5\"}");
    double b1 = value_of(t, "h_seconds_bucket{le=\"1\"}");
    double b2 = value_of(t, "h_seconds_bucket{le=\"2\"}");
    double inf = value_of(t, "h_seconds_bucket{le=\"+Inf\"}");
    double sum = value_of(t, "h_seconds_sum");
    double count = value_of(t, "h_seconds_count");
    double c = value_of(t, "c_total");
    const char *why = NULL;
    if (b05 < 0 || b1 < 0 || b2 < 0 || inf < 0 || sum < 0 || count < 0 || c < 0)
        why = "missing series";
    else if (!(b05 <= b1 && b1 <= b2 && b2 <= inf))
        why = "buckets not monotone";
    else if (count != inf)
        why = "_count != +Inf bucket";
    else if (b1 != b05 || inf != b2)
        why = "observation in an impossible bucket";
    else if (sum != 0.5 * b05 + 2 * (count - b05))
        why = "_sum does not match the buckets";
    else if (count < *last_count || c < *last_counter)
        why = "went backwards";
    if (why && !st->failure[0])
        snprintf(st->failure, sizeof st->failure,
                 "%s: b05=%.0f b1=%.0f b2=%.0f inf=%.0f sum=%.1f count=%.0f counter=%.0f", why, b05,
                 b1, b2, inf, sum, count, c);
    *last_count = count;
    *last_counter = c;
}

static void *scraper(void *arg)
{
    struct scrape_stats *st = arg;
    strbuf b = {0};
    double last_count = 0, last_counter = 0;
    while (!atomic_load(&g_done)) {
        sb_reset(&b);
        enum metric_format fmt = (st->scrapes & 1) ? METRIC_FMT_OPENMETRICS : METRIC_FMT_TEXT;
        if (metric_registry_render(g_reg, fmt, &b) != 0)
            break;
        check_scrape(b.data, &last_count, &last_counter, st);
        if (fmt == METRIC_FMT_OPENMETRICS && strstr(b.data, "# {trace_id=\"") &&
            !strstr(b.data, "# {trace_id=\"0000000000000000000000000000000") && !st->failure[0])
            snprintf(st->failure, sizeof st->failure, "malformed exemplar");
        st->scrapes++;
    }
    sb_free(&b);
    return NULL;
}

static void hammer_while_scraping(void **state)
{
    (void)state;
    char err[128];
    g_reg = metric_registry_new();
    struct metric_family_opts c = {
        .name = "c_total", .help = "c", .type = METRIC_COUNTER, .exemplars = true};
    struct metric_family_opts h = {.name = "h_seconds",
                                   .help = "h",
                                   .type = METRIC_HISTOGRAM,
                                   .buckets = (const double[]){0.5, 1, 2},
                                   .n_buckets = 3,
                                   .exemplars = true};
    g_counter = metric_family_get(metric_registry_add(g_reg, &c, err, sizeof err), NULL);
    g_hist = metric_family_get(metric_registry_add(g_reg, &h, err, sizeof err), NULL);
    assert_non_null(g_counter);
    assert_non_null(g_hist);

    struct scrape_stats st = {0};
    pthread_t scr;
    atomic_store(&g_done, false);
    assert_int_equal(pthread_create(&scr, NULL, scraper, &st), 0);
    for (int wave = 0; wave < WAVES; wave++) {
        pthread_t w[WRITERS];
        for (uintptr_t i = 0; i < WRITERS; i++)
            assert_int_equal(pthread_create(&w[i], NULL, writer, (void *)i), 0);
        for (int i = 0; i < WRITERS; i++)
            pthread_join(w[i], NULL);
    }
    atomic_store(&g_done, true);
    pthread_join(scr, NULL);
    if (st.failure[0])
        fail_msg("after %u scrapes: %s", st.scrapes, st.failure);
    assert_true(st.scrapes > 0);
    print_message("%u consistent scrapes\n", st.scrapes);

    strbuf b = {0};
    assert_int_equal(metric_registry_render(g_reg, METRIC_FMT_OPENMETRICS, &b), 0);
    double total = (double)WAVES * WRITERS * ITERS;
    assert_true(value_of(b.data, "c_total") == total);
    assert_true(value_of(b.data, "h_seconds_count") == total);
    assert_true(value_of(b.data, "h_seconds_bucket{le=\"0.5\"}") == total / 2);
    assert_true(value_of(b.data, "h_seconds_sum") == total / 2 * 0.5 + total / 2 * 2);
    assert_non_null(strstr(b.data, "# {trace_id=\"0000000000000000000000000000000"));
    sb_free(&b);
    metric_registry_free(g_reg);
}

#define CREATORS 2
#define SERIES_PER_CREATOR 2000

static struct metric_family *g_fam;

/* Looks up (creating) labelled series while scrapes run: the cold path under contention. */
static void *creator(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < SERIES_PER_CREATOR; i++) {
        char v[32];
        snprintf(v, sizeof v, "s%u", i); /* both creators share the same label values */
        const char *values[] = {v};
        struct metric *m = metric_family_get(g_fam, values);
        if (!m)
            return (void *)1;
        metric_counter_add(m, id + 1);
    }
    return NULL;
}

static void create_series_while_scraping(void **state)
{
    (void)state;
    char err[128];
    g_reg = metric_registry_new();
    static const char *const labels[] = {"id"};
    struct metric_family_opts o = {.name = "made_total",
                                   .help = "m",
                                   .type = METRIC_COUNTER,
                                   .label_names = labels,
                                   .n_labels = 1};
    g_fam = metric_registry_add(g_reg, &o, err, sizeof err);
    assert_non_null(g_fam);
    pthread_t th[CREATORS];
    for (uintptr_t i = 0; i < CREATORS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, creator, (void *)i), 0);
    strbuf b = {0};
    unsigned scrapes = 0;
    for (; scrapes < 200; scrapes++) {
        sb_reset(&b);
        assert_int_equal(metric_registry_render(g_reg, METRIC_FMT_TEXT, &b), 0);
    }
    for (int i = 0; i < CREATORS; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    sb_reset(&b);
    assert_int_equal(metric_registry_render(g_reg, METRIC_FMT_TEXT, &b), 0);
    size_t lines = 0;
    for (const char *p = b.data; (p = strstr(p, "made_total{")); p++)
        lines++;
    assert_int_equal(lines, SERIES_PER_CREATOR); /* one series per value, whoever created it */
    assert_true(value_of(b.data, "made_total{id=\"s0\"}") == 3);
    assert_true(value_of(b.data, "made_total{id=\"s1999\"}") == 3);
    sb_free(&b);
    metric_registry_free(g_reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(hammer_while_scraping),
                                       cmocka_unit_test(create_series_while_scraping)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
