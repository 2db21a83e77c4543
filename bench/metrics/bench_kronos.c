/* kronosd's metrics library side of the benchmark; prints "name value" lines for run.sh. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "bench_common.h"
#include "obs/exposition.h"
#include "obs/metrics.h"

static struct metric *g_counter, *g_hist;
static double g_values[BENCH_VALUES];

static void counter_loop(void)
{
    for (long i = 0; i < BENCH_OPS; i++)
        metric_counter_inc(g_counter);
}

static void hist_loop(void)
{
    for (long i = 0; i < BENCH_OPS; i++)
        metric_histogram_observe(g_hist, g_values[i & (BENCH_VALUES - 1)]);
}

static atomic_int g_go;

struct job {
    void (*loop)(void);
    int cpu;
    double ns;
};

static void *runner(void *arg)
{
    struct job *j = arg;
    bench_pin(j->cpu);
    while (!atomic_load(&g_go)) {
    }
    double t0 = bench_thread_cpu();
    j->loop();
    j->ns = (bench_thread_cpu() - t0) * 1e9 / BENCH_OPS;
    return NULL;
}

/* CPU ns per operation per thread (mean over threads, median of repeats), threads started together.
 */
static double run_threads(void (*loop)(void), int threads)
{
    double t[BENCH_REPEATS];
    for (int r = 0; r < BENCH_REPEATS; r++) {
        pthread_t th[2];
        struct job jobs[2] = {{loop, 0, 0}, {loop, 1, 0}};
        atomic_store(&g_go, 0);
        for (int i = 0; i < threads; i++)
            pthread_create(&th[i], NULL, runner, &jobs[i]);
        atomic_store(&g_go, 1);
        t[r] = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            t[r] += jobs[i].ns / threads;
        }
    }
    return bench_median(t, BENCH_REPEATS);
}

static double lookup_inc(struct metric_family *f)
{
    static const char *const routes[4] = {"/v1/predict/single", "/v1/predict/batch", "/v1/healthz",
                                          "/v1/metrics"};
    double t[BENCH_REPEATS];
    for (int r = 0; r < BENCH_REPEATS; r++) {
        double t0 = bench_thread_cpu();
        for (long i = 0; i < BENCH_LOOKUPS; i++) {
            const char *v[2] = {routes[i & 3], "success"};
            metric_counter_inc(metric_family_get(f, v));
        }
        t[r] = (bench_thread_cpu() - t0) * 1e9 / BENCH_LOOKUPS;
    }
    return bench_median(t, BENCH_REPEATS);
}

int main(void)
{
    char err[128];
    struct metric_registry *reg = metric_registry_new();
    for (int i = 0; i < BENCH_VALUES; i++)
        g_values[i] = bench_value(i);

    struct metric_family_opts c = {.name = "bench_total", .help = "c", .type = METRIC_COUNTER};
    g_counter = metric_family_get(metric_registry_add(reg, &c, err, sizeof err), NULL);
    struct metric_family_opts h = {.name = "bench_seconds",
                                   .help = "h",
                                   .type = METRIC_HISTOGRAM,
                                   .buckets = bench_buckets,
                                   .n_buckets = 15};
    g_hist = metric_family_get(metric_registry_add(reg, &h, err, sizeof err), NULL);
    static const char *const ln[2] = {"route", "status"};
    struct metric_family_opts l = {.name = "bench_labelled_total",
                                   .help = "l",
                                   .type = METRIC_COUNTER,
                                   .label_names = ln,
                                   .n_labels = 2};
    struct metric_family *lf = metric_registry_add(reg, &l, err, sizeof err);

    printf("counter_inc_1t %.3f\n", run_threads(counter_loop, 1));
    printf("counter_inc_2t %.3f\n", run_threads(counter_loop, 2));
    printf("lookup_inc %.3f\n", lookup_inc(lf));
    printf("histogram_observe_1t %.3f\n", run_threads(hist_loop, 1));
    printf("histogram_observe_2t %.3f\n", run_threads(hist_loop, 2));

    /* 10k labelled series: heap per series, then exposition time. */
    struct metric_registry *big = metric_registry_new();
    static const char *const idl[1] = {"id"};
    struct metric_family_opts s = {.name = "bench_series_total",
                                   .help = "Series for the exposition benchmark.",
                                   .type = METRIC_COUNTER,
                                   .label_names = idl,
                                   .n_labels = 1};
    struct metric_family *sf = metric_registry_add(big, &s, err, sizeof err);
    size_t heap0 = bench_heap_in_use();
    for (int i = 0; i < BENCH_SERIES; i++) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        const char *v[1] = {id};
        metric_counter_add(metric_family_get(sf, v), (double)i);
    }
    size_t heap1 = bench_heap_in_use();
    printf("heap_bytes_per_series %.1f\n", (double)(heap1 - heap0) / BENCH_SERIES);

    strbuf out = {0};
    double t[BENCH_EXPOSE_ROUNDS];
    size_t bytes = 0;
    for (int r = 0; r < BENCH_EXPOSE_ROUNDS; r++) {
        sb_reset(&out);
        double t0 = bench_thread_cpu();
        metric_registry_render(big, METRIC_FMT_TEXT, &out);
        t[r] = (bench_thread_cpu() - t0) * 1e6;
        bytes = out.len;
    }
    printf("expose_10k_us %.1f\n", bench_median(t, BENCH_EXPOSE_ROUNDS));
    fprintf(stderr, "kronos: exposition of %d series = %zu bytes\n", BENCH_SERIES, bytes);
    sb_free(&out);
    metric_registry_free(big);
    metric_registry_free(reg);
    return 0;
}
