// prometheus-cpp side of the metrics benchmark: the same operations as bench_kronos.c.
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"

using namespace prometheus;

static Counter *g_counter;
static Histogram *g_hist;
static double g_values[BENCH_VALUES];

static void counter_loop()
{
    for (long i = 0; i < BENCH_OPS; i++)
        g_counter->Increment();
}

static void hist_loop()
{
    for (long i = 0; i < BENCH_OPS; i++)
        g_hist->Observe(g_values[i & (BENCH_VALUES - 1)]);
}

static std::atomic<int> g_go;

static void runner(void (*loop)(), int cpu, double *ns)
{
    bench_pin(cpu);
    while (!g_go.load()) {
    }
    double t0 = bench_thread_cpu();
    loop();
    *ns = (bench_thread_cpu() - t0) * 1e9 / BENCH_OPS;
}

// CPU ns per operation per thread (mean over threads, median of repeats), threads started together.
static double run_threads(void (*loop)(), int threads)
{
    double t[BENCH_REPEATS];
    for (int r = 0; r < BENCH_REPEATS; r++) {
        std::vector<std::thread> th;
        double ns[2] = {0, 0};
        g_go = 0;
        for (int i = 0; i < threads; i++)
            th.emplace_back(runner, loop, i, &ns[i]);
        g_go = 1;
        t[r] = 0;
        for (int i = 0; i < threads; i++) {
            th[i].join();
            t[r] += ns[i] / threads;
        }
    }
    return bench_median(t, BENCH_REPEATS);
}

static double lookup_inc(Family<Counter> &f)
{
    static const char *const routes[4] = {"/v1/predict/single", "/v1/predict/batch", "/v1/healthz",
                                          "/v1/metrics"};
    double t[BENCH_REPEATS];
    for (int r = 0; r < BENCH_REPEATS; r++) {
        double t0 = bench_now();
        for (long i = 0; i < BENCH_LOOKUPS; i++)
            f.Add({{"route", routes[i & 3]}, {"status", "success"}}).Increment();
        t[r] = (bench_now() - t0) * 1e9 / BENCH_LOOKUPS;
    }
    return bench_median(t, BENCH_REPEATS);
}

int main()
{
    auto reg = std::make_shared<Registry>();
    for (int i = 0; i < BENCH_VALUES; i++)
        g_values[i] = bench_value(i);
    g_counter = &BuildCounter().Name("bench_total").Help("c").Register(*reg).Add({});
    Histogram::BucketBoundaries bounds(bench_buckets, bench_buckets + 15);
    g_hist = &BuildHistogram().Name("bench_seconds").Help("h").Register(*reg).Add({}, bounds);
    auto &lf = BuildCounter().Name("bench_labelled_total").Help("l").Register(*reg);

    printf("counter_inc_1t %.3f\n", run_threads(counter_loop, 1));
    printf("counter_inc_2t %.3f\n", run_threads(counter_loop, 2));
    printf("lookup_inc %.3f\n", lookup_inc(lf));
    printf("histogram_observe_1t %.3f\n", run_threads(hist_loop, 1));
    printf("histogram_observe_2t %.3f\n", run_threads(hist_loop, 2));

    auto big = std::make_shared<Registry>();
    auto &sf = BuildCounter()
                   .Name("bench_series_total")
                   .Help("Series for the exposition benchmark.")
                   .Register(*big);
    size_t heap0 = bench_heap_in_use();
    for (int i = 0; i < BENCH_SERIES; i++)
        sf.Add({{"id", std::to_string(i)}}).Increment(i);
    size_t heap1 = bench_heap_in_use();
    printf("heap_bytes_per_series %.1f\n", (double)(heap1 - heap0) / BENCH_SERIES);

    TextSerializer ser;
    double t[BENCH_EXPOSE_ROUNDS];
    size_t bytes = 0;
    for (int r = 0; r < BENCH_EXPOSE_ROUNDS; r++) {
        double t0 = bench_now();
        std::string out = ser.Serialize(big->Collect());
        t[r] = (bench_now() - t0) * 1e6;
        bytes = out.size();
    }
    printf("expose_10k_us %.1f\n", bench_median(t, BENCH_EXPOSE_ROUNDS));
    fprintf(stderr, "prometheus-cpp: exposition of %d series = %zu bytes\n", BENCH_SERIES, bytes);
    return 0;
}
